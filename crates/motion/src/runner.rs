//! The detector's own thread: never the HTTP loop, never the capture thread.
//!
//! Frames arrive over a channel of capacity one that the capture side fills with
//! `try_send`: when the detector is still busy with the previous frame, the new one is
//! simply not handed over, so the detector skips frames when behind and can never slow
//! the stream. While the pan-tilt head moves, and for a settling time after it stops,
//! frames are ignored and the background is re-learnt afterwards: the camera's own
//! motion is not motion in the scene.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::detector::{Detector, Settings};
use crossbeam_channel::{select, Receiver, Sender};

/// What the thread is told: settings, or `None` to stop watching.
pub type Control = Option<Settings>;

/// Whether the head is moving now; the daemon passes the pan-tilt controller's status.
pub type HeadMoving = Box<dyn Fn() -> bool + Send>;

/// Called on the detector thread when motion starts (`true`) or ends (`false`).
pub type OnMotion = Box<dyn FnMut(bool) + Send>;

/// How long the picture needs to settle after the head stops (mechanics, exposure).
pub const SETTLE: Duration = Duration::from_secs(1);

/// The running detector thread. Dropping it stops the thread.
pub struct MotionThread {
    control: Option<Sender<Control>>,
    thread: Option<JoinHandle<()>>,
}

impl MotionThread {
    /// Starts the thread, idle until [`MotionThread::configure`] enables it.
    /// Frames are anything that shows its JPEG bytes: the daemon sends references into
    /// the capture ring, never copies.
    pub fn spawn<F: AsRef<[u8]> + Send + 'static>(
        frames: Receiver<F>,
        head_moving: HeadMoving,
        on_motion: OnMotion,
    ) -> std::io::Result<MotionThread> {
        let (control, commands) = crossbeam_channel::unbounded();
        let runner = Runner {
            frames,
            commands,
            head_moving,
            on_motion,
            detector: None,
            paused_until: None,
            errors_logged: false,
        };
        let thread = std::thread::Builder::new()
            .name("ipcam-motion".into())
            .spawn(move || runner.run())?;
        Ok(MotionThread {
            control: Some(control),
            thread: Some(thread),
        })
    }

    /// Enables detection with `settings`, or disables it with `None`.
    pub fn configure(&self, settings: Control) {
        if let Some(control) = &self.control {
            // Fails only when the thread has ended, which only dropping self does.
            let _ = control.send(settings);
        }
    }
}

impl Drop for MotionThread {
    fn drop(&mut self) {
        drop(self.control.take());
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the motion detector thread panicked");
            }
        }
    }
}

struct Runner<F> {
    frames: Receiver<F>,
    commands: Receiver<Control>,
    head_moving: HeadMoving,
    on_motion: OnMotion,
    detector: Option<Detector>,
    paused_until: Option<Instant>,
    errors_logged: bool,
}

impl<F: AsRef<[u8]>> Runner<F> {
    fn run(mut self) {
        loop {
            select! {
                recv(self.commands) -> command => match command {
                    Ok(settings) => self.configure(settings),
                    Err(_) => break,
                },
                recv(self.frames) -> frame => match frame {
                    Ok(frame) => self.look(&frame),
                    Err(_) => break,
                },
            }
        }
        self.configure(None);
    }

    fn configure(&mut self, settings: Control) {
        match (settings, &mut self.detector) {
            (Some(settings), Some(detector)) => detector.configure(settings),
            (Some(settings), None) => self.detector = Some(Detector::new(settings)),
            (None, _) => {
                if self.detector.take().is_some_and(|mut d| d.relearn().ended) {
                    (self.on_motion)(false);
                }
            }
        }
    }

    fn look(&mut self, frame: &F) {
        let Some(detector) = &mut self.detector else {
            return;
        };
        let now = Instant::now();
        if (self.head_moving)() {
            self.paused_until = Some(now + SETTLE);
            return;
        }
        if let Some(until) = self.paused_until {
            if now < until {
                return;
            }
            self.paused_until = None;
            if detector.relearn().ended {
                (self.on_motion)(false);
            }
        }
        match detector.feed_jpeg(frame.as_ref()) {
            Ok(verdict) => {
                self.errors_logged = false;
                if verdict.started || verdict.ended {
                    (self.on_motion)(verdict.started);
                }
            }
            Err(err) if !self.errors_logged => {
                log::warn!("motion detection cannot read a frame: {err}");
                self.errors_logged = true;
            }
            Err(_) => {}
        }
    }
}
