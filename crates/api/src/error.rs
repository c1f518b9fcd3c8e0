//! The errors a configuration request can end in.
//!
//! The daemon turns an [`ApiError`] into a status with [`ApiError::status`] and sends its
//! `Display` as the body: one line that names the parameter and the rule it broke. Values
//! are never echoed, so a password sent by mistake never lands in a response or a log.

use crate::platform::PlatformError;
use crate::store::StoreError;

/// Why a configuration request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A parameter the resource does not have.
    #[error("{name}: unknown parameter of {resource}")]
    UnknownParameter {
        /// Path of the resource, e.g. `/system.cgi`.
        resource: &'static str,
        /// The name as sent (control characters replaced).
        name: String,
    },
    /// A value that breaks the rule of its parameter, or a rule between parameters.
    #[error("{name}: {reason}")]
    InvalidValue {
        /// The spec name of the parameter at fault.
        name: &'static str,
        /// The rule, without the offending value.
        reason: String,
    },
    /// A read-only resource was sent parameters.
    #[error("{resource} takes no parameters")]
    ReadOnly {
        /// Path of the resource.
        resource: &'static str,
    },
    /// The state could not be made durable; nothing changed.
    #[error("cannot save the configuration: {0}")]
    Store(#[from] StoreError),
    /// The platform refused to apply a saved setting.
    #[error("cannot apply the setting: {0}")]
    Platform(#[from] PlatformError),
}

impl ApiError {
    /// An [`ApiError::InvalidValue`].
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        ApiError::InvalidValue {
            name,
            reason: reason.into(),
        }
    }

    /// An [`ApiError::UnknownParameter`]; control characters of `name` are replaced so
    /// that the one-line body stays one line.
    pub fn unknown(resource: &'static str, name: &str) -> Self {
        let name = name
            .chars()
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        ApiError::UnknownParameter { resource, name }
    }

    /// The HTTP status of the spec's table for this error: 400 for what the client sent,
    /// 500 for what went wrong inside the camera.
    pub fn status(&self) -> u16 {
        match self {
            ApiError::UnknownParameter { .. }
            | ApiError::InvalidValue { .. }
            | ApiError::ReadOnly { .. } => 400,
            ApiError::Store(_) | ApiError::Platform(_) => 500,
        }
    }
}
