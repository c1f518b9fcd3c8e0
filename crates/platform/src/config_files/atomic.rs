//! Writing a system file so that its reader never sees half of it.
//!
//! networkd, wpa_supplicant, timesyncd and pppd may read their file at any moment (a
//! reload, a boot, a crash). The content goes to a temporary file in the same directory,
//! which `tempfile` creates with mode 0600, so a secret is never readable by others for
//! an instant; it is flushed to disk, given its final mode and renamed over the old file,
//! and the directory is flushed so the rename survives a power cut. A file whose content
//! and mode are already right is not touched: no write wears the flash, and the caller
//! learns that nothing has to re-read it.

use std::fs::{self, File, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ipcam_api::PlatformError;

/// Writes `content` to `path` with `mode` unless the file already holds exactly that.
/// Returns whether the file changed.
pub fn write_if_changed(path: &Path, content: &[u8], mode: u32) -> Result<bool, PlatformError> {
    if is_current(path, content, mode)? {
        return Ok(false);
    }
    let dir = path.parent().ok_or_else(|| PlatformError::Malformed {
        what: path.display().to_string(),
    })?;
    let io = |what: &str| {
        let what = format!("{what} {}", path.display());
        move |source| PlatformError::Io { what, source }
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".ipcamd-")
        .tempfile_in(dir)
        .map_err(io("creating a temporary file for"))?;
    temp.write_all(content).map_err(io("writing"))?;
    temp.as_file()
        .set_permissions(Permissions::from_mode(mode))
        .map_err(io("setting the mode of"))?;
    temp.as_file().sync_all().map_err(io("flushing"))?;
    temp.persist(path)
        .map_err(|error| error.error)
        .map_err(io("renaming into place"))?;
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(io("flushing the directory of"))?;
    Ok(true)
}

/// Whether `path` is a regular file with exactly `content` and `mode`.
fn is_current(path: &Path, content: &[u8], mode: u32) -> Result<bool, PlatformError> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(false),
        Err(source) => {
            return Err(PlatformError::Io {
                what: format!("reading {}", path.display()),
                source,
            })
        }
    };
    if !metadata.is_file()
        || metadata.permissions().mode() & 0o7777 != mode
        || metadata.len() != content.len() as u64
    {
        return Ok(false);
    }
    let current = fs::read(path).map_err(|source| PlatformError::Io {
        what: format!("reading {}", path.display()),
        source,
    })?;
    Ok(current == content)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt;

    use super::*;

    fn mode_of(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn writes_a_new_file_with_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pppoe.peer");
        assert!(write_if_changed(&path, b"secret\n", 0o600).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"secret\n");
        assert_eq!(mode_of(&path), 0o600);
        let public = dir.path().join("wired.network");
        assert!(write_if_changed(&public, b"[Match]\n", 0o644).unwrap());
        assert_eq!(mode_of(&public), 0o644);
    }

    #[test]
    fn unchanged_content_is_not_written_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("timesyncd.conf");
        assert!(write_if_changed(&path, b"[Time]\n", 0o644).unwrap());
        let inode = fs::metadata(&path).unwrap().ino();
        assert!(!write_if_changed(&path, b"[Time]\n", 0o644).unwrap());
        assert_eq!(
            fs::metadata(&path).unwrap().ino(),
            inode,
            "the file was replaced"
        );
    }

    #[test]
    fn new_content_or_mode_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wpa_supplicant.conf");
        assert!(write_if_changed(&path, b"one\n", 0o644).unwrap());
        assert!(write_if_changed(&path, b"one\n", 0o600).unwrap());
        assert_eq!(mode_of(&path), 0o600);
        assert!(write_if_changed(&path, b"two\n", 0o600).unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two\n");
    }

    #[test]
    fn a_symlink_in_place_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let elsewhere = dir.path().join("elsewhere");
        fs::write(&elsewhere, "keep").unwrap();
        let path = dir.path().join("wired.network");
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        assert!(write_if_changed(&path, b"keep", 0o644).unwrap());
        assert_eq!(fs::read(&elsewhere).unwrap(), b"keep");
        assert!(fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn no_temporary_file_is_left_behind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wired.network");
        write_if_changed(&path, b"a", 0o644).unwrap();
        write_if_changed(&path, b"b", 0o644).unwrap();
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(names, ["wired.network"]);
    }

    #[test]
    fn a_missing_directory_is_an_io_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("wired.network");
        let error = write_if_changed(&path, b"a", 0o644).unwrap_err();
        assert!(matches!(error, PlatformError::Io { .. }), "{error:?}");
        assert!(error.to_string().contains("wired.network"), "{error}");
    }
}
