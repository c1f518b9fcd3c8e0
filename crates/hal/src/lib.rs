//! GPIO inputs and outputs, LED and serial port of the ipcam camera: traits with sim, Linux and Raspberry Pi backends.
