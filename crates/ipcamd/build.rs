//! Links the daemon with packed relative relocations (`-z pack-relative-relocs`, DT_RELR)
//! on GNU/Linux: a position-independent executable full of static tables (time zones, TLS
//! roots, routes) otherwise carries a 24-byte relocation record per pointer, about 0.5 MB
//! of the binary, which DT_RELR packs into a few kilobytes. Needs binutils 2.38 and, on the
//! device, glibc 2.36 (Debian 12, Yocto scarthgap and later).

fn main() {
    let target = |key: &str| std::env::var(key).unwrap_or_default();
    if target("CARGO_CFG_TARGET_OS") == "linux" && target("CARGO_CFG_TARGET_ENV") == "gnu" {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
