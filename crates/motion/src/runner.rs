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
    ///
    /// After the head stops, frames are ignored for `settle` (the daemon passes
    /// [`SETTLE`]) and the background is learnt afresh.
    pub fn spawn<F: AsRef<[u8]> + Send + 'static>(
        frames: Receiver<F>,
        head_moving: HeadMoving,
        settle: Duration,
        on_motion: OnMotion,
    ) -> std::io::Result<MotionThread> {
        let (control, commands) = crossbeam_channel::unbounded();
        let runner = Runner {
            frames,
            commands,
            head_moving,
            settle,
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
    settle: Duration,
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
            self.paused_until = Some(now + self.settle);
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use jpeg_encoder::{ColorType, Encoder};

    use super::*;

    /// A dark 320×240 picture, with a bright 48×48 square at `x` if given.
    fn picture(square_at: Option<usize>) -> Vec<u8> {
        let (w, h) = (320usize, 240usize);
        let mut grey = vec![60u8; w * h];
        if let Some(x) = square_at {
            for row in grey.chunks_mut(w).skip(96).take(48) {
                row[x..x + 48].fill(230);
            }
        }
        let mut jpeg = Vec::new();
        Encoder::new(&mut jpeg, 85)
            .encode(&grey, w as u16, h as u16, ColorType::Luma)
            .expect("encodes");
        jpeg
    }

    /// Runs a detector thread over `frames`, the head moving while the flag of a frame is
    /// set; returns what it reported.
    fn run(frames: Vec<(Vec<u8>, bool)>) -> Vec<bool> {
        let (to_thread, received) = crossbeam_channel::bounded(0);
        let (reports, reported) = crossbeam_channel::unbounded();
        let moving = Arc::new(AtomicBool::new(false));
        let head = Arc::clone(&moving);
        let thread = MotionThread::spawn(
            received,
            Box::new(move || head.load(Ordering::Relaxed)),
            Duration::ZERO,
            Box::new(move |on| {
                let _ = reports.send(on);
            }),
        )
        .expect("spawns");
        thread.configure(Some(Settings::default()));
        for (frame, head_moving) in frames {
            moving.store(head_moving, Ordering::Relaxed);
            // A rendezvous: each frame is taken before the flag changes again.
            to_thread.send(frame).expect("thread running");
        }
        drop(to_thread);
        drop(thread);
        reported.try_iter().collect()
    }

    fn scene(
        still: usize,
        square_from: Option<usize>,
        frames: usize,
        moving: bool,
    ) -> Vec<(Vec<u8>, bool)> {
        let mut out: Vec<(Vec<u8>, bool)> = (0..still).map(|_| (picture(None), false)).collect();
        if let Some(x) = square_from {
            out.extend((0..frames).map(|n| (picture(Some(x + n * 12)), moving)));
        }
        out
    }

    #[test]
    fn a_moving_square_is_reported_when_the_head_is_still() {
        // Motion starts, and ends when the thread stops watching.
        assert_eq!(run(scene(12, Some(20), 8, false)), [true, false]);
    }

    #[test]
    fn nothing_is_reported_while_the_head_moves() {
        let mut frames = scene(12, Some(20), 8, true);
        frames.extend(scene(12, None, 0, false));
        assert_eq!(run(frames), Vec::<bool>::new());
    }
}
