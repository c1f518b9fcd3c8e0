//! Pan-tilt motion control of the ipcam camera: limits, presets, swing, motor drivers.
