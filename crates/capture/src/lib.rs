//! Frame ring, frame sources and image settings of the ipcam camera stack.
