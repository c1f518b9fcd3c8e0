//! Umbrella package of the ipcam workspace.
//!
//! It has no code of its own: it owns the black-box tests in `tests/`, which drive a real
//! `ipcamd` over TCP, and the criterion benches in `benches/`.
