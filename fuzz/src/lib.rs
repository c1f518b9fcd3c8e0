//! What the fuzz targets share: a scratch directory per input for the targets that read
//! real files (state, config, replay), on tmpfs where there is one so that a write per
//! input stays cheap.

use std::path::Path;

/// A fresh directory, removed when dropped.
pub fn scratch_dir() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    let builder = || {
        let mut builder = tempfile::Builder::new();
        builder.prefix("ipcam-fuzz-");
        builder
    };
    if shm.is_dir() {
        if let Ok(dir) = builder().tempdir_in(shm) {
            return dir;
        }
    }
    builder().tempdir().expect("a scratch directory")
}
