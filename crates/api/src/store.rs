//! The state file on disk: atomic, private, and never half-loaded.
//!
//! A save writes `state.toml.tmp` (mode 0600), fsyncs it, makes the current `state.toml`
//! also `state.toml.bak` (the last good copy) without moving it, renames the temporary file
//! over `state.toml` and fsyncs the directory. `state.toml` is replaced by that one rename,
//! so it is never absent: whatever instant the process is killed it holds a complete
//! version, and whatever instant the power goes one of `state.toml` or `state.toml.bak`
//! does. At load a file that does not parse or
//! breaks a rule of the schema is moved aside to `state.toml.corrupt` (so it is not
//! rotated over the good backup) and the backup is used, with a warning naming the file.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::state::State;

/// The state file's name inside the state directory.
pub const STATE_FILE: &str = "state.toml";
/// The last good copy.
pub const BACKUP_FILE: &str = "state.toml.bak";
/// Where a save is prepared.
pub const TEMP_FILE: &str = "state.toml.tmp";
/// Where the backup is staged before it replaces [`BACKUP_FILE`].
pub const BACKUP_TEMP_FILE: &str = "state.toml.bak.tmp";
/// Where an unreadable state file is kept for inspection.
pub const CORRUPT_FILE: &str = "state.toml.corrupt";

/// Why the state could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The state could not be serialised (a bug).
    #[error("cannot serialise the state: {0}")]
    Serialize(#[from] toml::ser::Error),
}

/// Where the loaded state came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadSource {
    /// `state.toml`, as saved.
    Primary,
    /// `state.toml.bak`, because `state.toml` was missing or unreadable (the reason).
    Backup(String),
    /// No state at all: first start.
    Empty,
    /// Neither file was usable (the reason); the caller starts from factory settings.
    Lost(String),
}

/// The state directory.
#[derive(Debug, Clone)]
pub struct StateStore {
    dir: PathBuf,
}

impl StateStore {
    /// Uses `dir`, creating it (mode 0700) if needed.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let dir = dir.into();
        if !dir.exists() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(&dir)
                .map_err(|source| io_error(&dir, source))?;
        }
        Ok(Self { dir })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Loads the newest good state; `None` with [`LoadSource::Empty`] or
    /// [`LoadSource::Lost`] when there is none.
    pub fn load(&self) -> Result<(Option<State>, LoadSource), StoreError> {
        let primary = self.path(STATE_FILE);
        let (reason, primary_missing) = match read_state(&primary) {
            Ok(Some(state)) => return Ok((Some(state), LoadSource::Primary)),
            Ok(None) => (format!("{} is missing", primary.display()), true),
            Err(reason) => {
                let reason = format!("{} is unreadable: {reason}", primary.display());
                log::warn!("{reason}; keeping it as {CORRUPT_FILE}");
                let aside = self.path(CORRUPT_FILE);
                fs::rename(&primary, &aside).map_err(|source| io_error(&primary, source))?;
                (reason, false)
            }
        };
        let backup = self.path(BACKUP_FILE);
        match read_state(&backup) {
            Ok(Some(state)) => {
                log::warn!("{reason}; using the last good copy {}", backup.display());
                Ok((Some(state), LoadSource::Backup(reason)))
            }
            Ok(None) if primary_missing => Ok((None, LoadSource::Empty)),
            Ok(None) => {
                log::warn!("{reason}; no last good copy, starting from factory settings");
                Ok((None, LoadSource::Lost(reason)))
            }
            Err(backup_reason) => {
                let reason = format!(
                    "{reason}; {} is unreadable: {backup_reason}",
                    backup.display()
                );
                log::warn!("{reason}; starting from factory settings");
                Ok((None, LoadSource::Lost(reason)))
            }
        }
    }

    /// Writes `state` durably and atomically; on error the previous state is intact.
    pub fn save(&self, state: &State) -> Result<(), StoreError> {
        let text = toml::to_string(state)?;
        let temp = self.path(TEMP_FILE);
        let primary = self.path(STATE_FILE);
        write_private(&temp, text.as_bytes())?;
        if primary.exists() {
            self.keep_as_backup(&primary)?;
        }
        fs::rename(&temp, &primary).map_err(|source| io_error(&temp, source))?;
        File::open(&self.dir)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| io_error(&self.dir, source))
    }
}

impl StateStore {
    /// Makes the current file the last good copy while leaving it in place. Moving it to
    /// the backup name instead would leave no `state.toml` until the new one is renamed
    /// in, and a daemon killed in between would restart from the backup (found by the
    /// SIGKILL test in `crates/ipcamd/tests/crash.rs`). A second name (a hard link, or a
    /// copy where the file system has no links) is staged and renamed over the backup.
    fn keep_as_backup(&self, primary: &Path) -> Result<(), StoreError> {
        let staged = self.path(BACKUP_TEMP_FILE);
        match fs::remove_file(&staged) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(io_error(&staged, source)),
        }
        if fs::hard_link(primary, &staged).is_err() {
            let bytes = fs::read(primary).map_err(|source| io_error(primary, source))?;
            write_private(&staged, &bytes)?;
        }
        let backup = self.path(BACKUP_FILE);
        fs::rename(&staged, &backup).map_err(|source| io_error(&staged, source))
    }
}

fn io_error(path: &Path, source: io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Creates `path` afresh with mode 0600, writes `bytes` and fsyncs.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(source) => return Err(io_error(path, source)),
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| io_error(path, source))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))
        .and_then(|()| file.write_all(bytes))
        .and_then(|()| file.sync_all())
        .map_err(|source| io_error(path, source))
}

/// `Ok(None)` if the file does not exist; `Err(reason)` if it cannot be used.
fn read_state(path: &Path) -> Result<Option<State>, String> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let state: State = toml::from_str(&text).map_err(|e| e.message().to_owned())?;
    state.validate().map_err(|e| e.to_string())?;
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path().join("state")).expect("store");
        (dir, store)
    }

    fn version(n: u8) -> State {
        let mut state = State::factory("pw");
        state.image.brightness = n;
        state
    }

    #[test]
    fn first_start_finds_nothing() {
        let (_dir, store) = store();
        assert_eq!(store.load().expect("load"), (None, LoadSource::Empty));
    }

    #[test]
    fn saved_state_survives_a_restart_with_mode_0600() {
        let (_dir, store) = store();
        store.save(&version(7)).expect("save");
        let reopened = StateStore::new(store.dir()).expect("store");
        assert_eq!(
            reopened.load().expect("load"),
            (Some(version(7)), LoadSource::Primary)
        );
        let mode = fs::metadata(store.path(STATE_FILE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!store.path(TEMP_FILE).exists());
    }

    #[test]
    fn the_previous_version_is_kept_as_backup() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        store.save(&version(2)).expect("save");
        let backup = read_state(&store.path(BACKUP_FILE)).expect("readable");
        assert_eq!(backup, Some(version(1)));
    }

    #[test]
    fn a_save_keeps_the_replaced_file_as_backup_and_no_staging_file() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        store.save(&version(2)).expect("save");
        store.save(&version(3)).expect("save");
        assert_eq!(read_state(&store.path(BACKUP_FILE)), Ok(Some(version(2))));
        assert_eq!(read_state(&store.path(STATE_FILE)), Ok(Some(version(3))));
        assert!(!store.path(BACKUP_TEMP_FILE).exists());
        let mode = fs::metadata(store.path(BACKUP_FILE))
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_torn_file_falls_back_to_the_last_good_copy() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        store.save(&version(2)).expect("save");
        let text = fs::read_to_string(store.path(STATE_FILE)).expect("read");
        fs::write(store.path(STATE_FILE), &text[..text.len() / 2]).expect("tear");
        let (state, source) = store.load().expect("load");
        assert_eq!(state, Some(version(1)));
        assert!(matches!(source, LoadSource::Backup(reason) if reason.contains(STATE_FILE)));
        assert!(store.path(CORRUPT_FILE).exists());
        // The next save must not rotate the corrupt file over the good backup.
        store.save(&version(3)).expect("save");
        assert_eq!(read_state(&store.path(BACKUP_FILE)), Ok(Some(version(1))));
        assert_eq!(
            store.load().expect("load"),
            (Some(version(3)), LoadSource::Primary)
        );
    }

    #[test]
    fn invalid_values_count_as_corrupt() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        store.save(&version(2)).expect("save");
        let text = fs::read_to_string(store.path(STATE_FILE)).expect("read");
        fs::write(
            store.path(STATE_FILE),
            text.replace("brightness = 2", "brightness = 200"),
        )
        .expect("edit");
        assert_eq!(store.load().expect("load").0, Some(version(1)));
    }

    #[test]
    fn a_crash_between_the_renames_loads_the_backup() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        fs::rename(store.path(STATE_FILE), store.path(BACKUP_FILE)).expect("rename");
        let (state, source) = store.load().expect("load");
        assert_eq!(state, Some(version(1)));
        assert!(matches!(source, LoadSource::Backup(_)));
    }

    #[test]
    fn both_files_unusable_is_reported_as_lost() {
        let (_dir, store) = store();
        fs::write(store.path(STATE_FILE), "version = [").expect("write");
        fs::write(store.path(BACKUP_FILE), "garbage").expect("write");
        let (state, source) = store.load().expect("load");
        assert_eq!(state, None);
        assert!(matches!(source, LoadSource::Lost(_)));
    }
}
