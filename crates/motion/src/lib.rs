//! Motion detection for the ipcam camera: cheap enough to look at every frame of a
//! small board's MJPEG stream without slowing it.
//!
//! - [`dc`]: reads a JPEG's luma at 1/8 scale from its DC coefficients only (no inverse
//!   DCT, no colour), into a reusable grid.
//! - [`Detector`]: background model with a noise estimate per block, compensation of
//!   uniform brightness changes, a watched-area [`Mask`] of 16 × 12 cells, a minimum
//!   changed area and a debounce, all derived from one sensitivity of 0–100.
//! - [`MotionThread`]: runs a detector on its own thread, fed with frame references,
//!   skipping frames when behind, paused while the pan-tilt head moves.
//!
//! The crate knows no camera: frames are anything that shows JPEG bytes, so the
//! configuration crate can take [`Mask`] without the capture stack.
//!
//! ```
//! use ipcam_motion::{Detector, Mask, Settings};
//! let mut detector = Detector::new(Settings { sensitivity: 70, mask: Mask::ALL });
//! # let jpeg: &[u8] = &[];
//! if let Ok(verdict) = detector.feed_jpeg(jpeg) {
//!     if verdict.started { println!("motion"); }
//! }
//! ```

pub mod dc;
mod detector;
mod mask;
mod runner;

pub use detector::{Detector, Settings, Verdict, DEBOUNCE_FRAMES, QUIET_FRAMES, WARM_UP_FRAMES};
pub use mask::{Mask, MaskError, MASK_COLS, MASK_ROWS};
pub use runner::{Control, HeadMoving, MotionThread, OnMotion, SETTLE};
