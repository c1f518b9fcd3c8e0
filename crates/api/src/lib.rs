//! IPCamCGI 1.2 resource model: schema, validation, Name=value codec, configuration store, users.
