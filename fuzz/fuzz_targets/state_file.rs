//! The state file loader with any bytes in `state.toml`: it loads a valid state, falls
//! back to factory settings, or refuses with an error, and never panics. A state it loads
//! passes validation and survives a save and a reload unchanged.

#![no_main]

use ipcam_api::StateStore;
use ipcam_fuzz::scratch_dir;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = scratch_dir();
    std::fs::write(dir.path().join("state.toml"), data).expect("write the state file");
    let store = StateStore::new(dir.path()).expect("a fresh directory is a store");
    let Ok((Some(state), _source)) = store.load() else {
        return;
    };
    state.validate().expect("a loaded state is valid");
    store.save(&state).expect("a loaded state saves");
    let (reloaded, _) = store.load().expect("a saved state loads");
    assert_eq!(
        reloaded.as_ref(),
        Some(&state),
        "a saved state reloads unchanged"
    );
});
