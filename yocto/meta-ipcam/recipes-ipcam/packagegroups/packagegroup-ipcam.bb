SUMMARY = "ipcam network camera: daemon and what it needs at run time"
DESCRIPTION = "Everything a board needs to act as an IPCamCGI 1.2 network camera: the \
               ipcamd daemon with its units and the time zone database for SetTimezone."
# The repository URL of Cargo.toml: a placeholder until the project has a public home.
BUGTRACKER = "https://example.invalid/ipcam/issues"
SECTION = "network"

inherit packagegroup

RDEPENDS:${PN} = "\
    ipcamd \
    tzdata \
"
