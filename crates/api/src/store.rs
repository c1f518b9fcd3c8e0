//! The state file on disk: atomic, private, and never half-loaded.
//!
//! A save writes `state.toml.tmp` (mode 0600), fsyncs it, makes the current `state.toml`
//! also `state.toml.bak` (the last good copy) without moving it, renames the temporary file
//! over `state.toml` and fsyncs the directory. `state.toml` is replaced by that one rename,
//! so it is never absent: whatever instant the process is killed it holds a complete
//! version, and whatever instant the power goes one of `state.toml` or `state.toml.bak`
//! does. At load a file that does not parse or
//! breaks a rule of the schema is moved aside to `state.toml.corrupt` (so it is not
//! rotated over the good backup) and the backup is used, with a warning naming the file,
//! line and column but no value from it (it may hold passwords). A file that cannot be
//! read at all (permissions, I/O errors) is not corrupt: loading fails and nothing moves.

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
    /// `state.toml.bak`, because `state.toml` was missing or corrupt (the reason).
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
    ///
    /// Only a file that does not parse or breaks the schema counts as corrupt. Any other
    /// failure to read (permission denied, an I/O error, a directory in its place) is
    /// returned as [`StoreError::Io`] before anything is moved, so that a fixable
    /// problem never costs the configuration.
    pub fn load(&self) -> Result<(Option<State>, LoadSource), StoreError> {
        let primary = self.path(STATE_FILE);
        let corrupt = match read_state(&primary)? {
            Read::Loaded(state) => return Ok((Some(*state), LoadSource::Primary)),
            Read::Missing => None,
            Read::Corrupt(reason) => Some(format!("{} is corrupt: {reason}", primary.display())),
        };
        let backup = self.path(BACKUP_FILE);
        let backup_read = read_state(&backup)?;
        if let Some(reason) = &corrupt {
            log::warn!("{reason}; keeping it as {CORRUPT_FILE}");
            let aside = self.path(CORRUPT_FILE);
            fs::rename(&primary, &aside).map_err(|source| io_error(&primary, source))?;
        }
        let primary_missing = corrupt.is_none();
        let reason = corrupt.unwrap_or_else(|| format!("{} is missing", primary.display()));
        match backup_read {
            Read::Loaded(state) => {
                log::warn!("{reason}; using the last good copy {}", backup.display());
                Ok((Some(*state), LoadSource::Backup(reason)))
            }
            Read::Missing if primary_missing => Ok((None, LoadSource::Empty)),
            Read::Missing => {
                log::warn!("{reason}; no last good copy, starting from factory settings");
                Ok((None, LoadSource::Lost(reason)))
            }
            Read::Corrupt(backup_reason) => {
                let reason = format!("{reason}; {} is corrupt: {backup_reason}", backup.display());
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

/// What a state file held.
#[derive(Debug, PartialEq)]
enum Read {
    /// A valid state (boxed: it is large, the other variants are small).
    Loaded(Box<State>),
    /// No such file.
    Missing,
    /// Text that is not a valid state: why, without any value from the file.
    Corrupt(String),
}

/// Reads and validates `path`; `Err` only when the file could not be read at all.
fn read_state(path: &Path) -> Result<Read, StoreError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Read::Missing),
        Err(source) => return Err(io_error(path, source)),
    };
    let Ok(text) = String::from_utf8(bytes) else {
        return Ok(Read::Corrupt("not UTF-8 text".into()));
    };
    let state: State = match toml::from_str(&text) {
        Ok(state) => state,
        Err(e) => return Ok(Read::Corrupt(describe_toml_error(&text, &e))),
    };
    // The schema's messages name the parameter and the rule, never the value.
    Ok(match state.validate() {
        Ok(()) => Read::Loaded(Box::new(state)),
        Err(e) => Read::Corrupt(e.to_string()),
    })
}

/// Where the parser stopped and the kind of error, without the rest of its message:
/// serde and toml quote the offending value there (``invalid type: integer `1234` ``),
/// and in this file that value may be a password.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = error.message();
    let kind_end = message
        .find(|c: char| !(c.is_ascii_alphabetic() || c == ' ' || c == '-'))
        .unwrap_or(message.len());
    let kind = match message[..kind_end].trim() {
        "" => "syntax error",
        kind => kind,
    };
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            format!("line {line}, column {column}: {kind}")
        }
        None => kind.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, StateStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = StateStore::new(dir.path().join("state")).expect("store");
        (dir, store)
    }

    /// The valid state in `path`; anything else fails the test.
    fn loaded(path: &Path) -> State {
        match read_state(path) {
            Ok(Read::Loaded(state)) => *state,
            other => panic!("{}: {other:?}", path.display()),
        }
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
        assert_eq!(loaded(&store.path(BACKUP_FILE)), version(1));
    }

    #[test]
    fn a_save_keeps_the_replaced_file_as_backup_and_no_staging_file() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        store.save(&version(2)).expect("save");
        store.save(&version(3)).expect("save");
        assert_eq!(loaded(&store.path(BACKUP_FILE)), version(2));
        assert_eq!(loaded(&store.path(STATE_FILE)), version(3));
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
        assert_eq!(loaded(&store.path(BACKUP_FILE)), version(1));
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

    /// Replaces `name` by a directory: reading it fails with EISDIR, as root too.
    fn make_unreadable(store: &StateStore, name: &str) {
        let path = store.path(name);
        if path.exists() {
            fs::remove_file(&path).expect("remove");
        }
        fs::create_dir(&path).expect("mkdir");
    }

    fn assert_io_error_naming(result: Result<(Option<State>, LoadSource), StoreError>, name: &str) {
        match result {
            Err(StoreError::Io { path, source }) => {
                assert!(path.ends_with(name), "{}", path.display());
                assert_eq!(source.raw_os_error(), Some(nix::libc::EISDIR));
                let message = StoreError::Io { path, source }.to_string();
                assert!(
                    message.contains(name) && message.contains("directory"),
                    "{message}"
                );
            }
            other => panic!("expected an I/O error naming {name}: {other:?}"),
        }
    }

    #[test]
    fn an_unreadable_state_file_stops_the_load_and_moves_nothing() {
        let (_dir, store) = store();
        store.save(&version(1)).expect("save");
        store.save(&version(2)).expect("save");
        make_unreadable(&store, STATE_FILE);
        assert_io_error_naming(store.load(), STATE_FILE);
        assert!(store.path(STATE_FILE).is_dir(), "left where it was");
        assert!(!store.path(CORRUPT_FILE).exists());
        assert_eq!(loaded(&store.path(BACKUP_FILE)), version(1));
    }

    #[test]
    fn an_unreadable_backup_stops_the_load_before_the_corrupt_file_is_moved() {
        let (_dir, store) = store();
        fs::write(store.path(STATE_FILE), "version = [").expect("write");
        make_unreadable(&store, BACKUP_FILE);
        assert_io_error_naming(store.load(), BACKUP_FILE);
        assert_eq!(
            fs::read_to_string(store.path(STATE_FILE)).expect("still there"),
            "version = ["
        );
        assert!(!store.path(CORRUPT_FILE).exists());
    }

    #[test]
    fn a_corrupt_file_is_described_by_place_and_kind_without_its_values() {
        let (_dir, store) = store();
        let text = toml::to_string(&State::factory("pw")).expect("serialise");
        let line_of = |key: &str| {
            text.lines()
                .position(|l| l.starts_with(key))
                .unwrap_or_else(|| panic!("{key} in {text}"))
                + 1
        };
        for (key, edited, secret) in [
            ("admin_password = ", "admin_password = 1234\n", "1234"),
            ("brightness = ", "brightness = \"hunter2\"\n", "hunter2"),
        ] {
            let line = line_of(key);
            let edited: String = text
                .lines()
                .map(|l| {
                    if l.starts_with(key) {
                        edited.to_owned()
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            fs::write(store.path(STATE_FILE), edited).expect("edit");
            let Ok(Read::Corrupt(reason)) = read_state(&store.path(STATE_FILE)) else {
                panic!("{key}: must be corrupt");
            };
            assert_eq!(
                reason,
                format!("line {line}, column {}: invalid type", key.len() + 1)
            );
            assert!(!reason.contains(secret), "{reason}");
        }
        fs::write(store.path(STATE_FILE), b"version = \xff").expect("write");
        assert_eq!(
            read_state(&store.path(STATE_FILE)).expect("read"),
            Read::Corrupt("not UTF-8 text".into())
        );
    }
}
