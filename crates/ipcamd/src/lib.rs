//! The ipcam daemon: IPCamCGI 1.2 over HTTP on top of the capture, PTZ and I/O crates.
