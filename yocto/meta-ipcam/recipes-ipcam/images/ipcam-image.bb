SUMMARY = "Minimal systemd image that boots into the ipcam network camera"
DESCRIPTION = "core-image-minimal plus packagegroup-ipcam and an SSH server: ipcamd \
               starts on boot, socket-activated on port 80, and serves IPCamCGI 1.2."
# The repository URL of Cargo.toml: a placeholder until the project has a public home.
BUGTRACKER = "https://example.invalid/ipcam/issues"
SECTION = "images"
LICENSE = "MIT"
# An image, not software: nothing to match against CVE entries.
CVE_PRODUCT = ""

IMAGE_INSTALL = "packagegroup-core-boot packagegroup-ipcam ${CORE_IMAGE_EXTRA_INSTALL}"
IMAGE_FEATURES += "ssh-server-dropbear"
IMAGE_LINGUAS = ""

REQUIRED_DISTRO_FEATURES = "systemd"

inherit core-image features_check
