//! The daemon's TOML config with any bytes: it loads and validates, or is refused with an
//! error naming the file, never a panic; a config that loads yields usable server limits.

#![no_main]

use ipcam_fuzz::scratch_dir;
use ipcamd::config::{Config, ConfigError};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir();
    let path = dir.path().join("ipcamd.toml");
    std::fs::write(&path, data).expect("write the config file");
    match Config::load(&path) {
        Ok(config) => {
            let limits = config.server.limits();
            assert!(
                limits.max_connections > 0,
                "a loaded config allows no connection"
            );
        }
        Err(ConfigError::Read { path: named, .. } | ConfigError::Parse { path: named, .. }) => {
            assert_eq!(named, path, "the error names another file");
        }
        Err(ConfigError::Value { .. }) => {}
    }
});
