//! The serial port's own thread. `/comport.cgi` is answered on the HTTP event loop, where a write
//! that waits for the line (64 KiB take over a minute at 9600 baud; RTS/CTS with nothing
//! connected never drains) would freeze every stream and let the watchdog kill the daemon. So the
//! handler only enqueues: a bounded queue feeds a thread that owns the port, a full queue is
//! refused at once instead of waited on, and a failing port is logged once per run of failures.

use std::io;

use crossbeam_channel::{Receiver, Sender, TrySendError};

use crate::serial::{SerialError, SerialPort};

/// The most bytes one request may send. The spec sets no limit; the peripherals hung off a
/// camera's port take short frames (Pelco-D 7 bytes, Pelco-P 8, VISCA at most 16, a relay board
/// or display command a few dozen), and 256 bytes still leave room for a line of text while
/// taking only about 0.27 s of line time at the default 9600 baud.
pub const MAX_REQUEST_BYTES: usize = 256;

/// How many requests may wait for the line. With [`MAX_REQUEST_BYTES`] this bounds the queue to
/// 4 KiB, and the wait of the newest request to about 4 s at 9600 baud.
pub const QUEUE_DEPTH: usize = 16;

/// Why a request was not queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnqueueError {
    /// More than [`MAX_REQUEST_BYTES`] to send at once.
    #[error("{len} bytes to send; at most {MAX_REQUEST_BYTES} per request")]
    TooLong {
        /// The length of the refused data.
        len: usize,
    },
    /// [`QUEUE_DEPTH`] requests are already waiting for the line.
    #[error("the serial port is busy: {QUEUE_DEPTH} requests are waiting for the line")]
    QueueFull,
    /// The writer thread is gone (it panicked); nothing can reach the port any more.
    #[error("the serial port's writer thread has stopped")]
    Stopped,
}

/// The sending end of a serial port driven by its own thread. Dropping it lets the thread send
/// what is queued and end.
pub struct SerialWriter {
    requests: Sender<Vec<u8>>,
}

impl SerialWriter {
    /// Moves `port` to a new thread that writes the queued requests in order.
    pub fn spawn(port: impl SerialPort + 'static) -> io::Result<SerialWriter> {
        let (requests, inbox) = crossbeam_channel::bounded(QUEUE_DEPTH);
        std::thread::Builder::new()
            .name("serial".to_owned())
            .spawn(move || run(port, inbox))?;
        Ok(SerialWriter { requests })
    }

    /// Queues `data` to be written, without waiting for the line.
    pub fn try_send(&self, data: &[u8]) -> Result<(), EnqueueError> {
        if data.len() > MAX_REQUEST_BYTES {
            return Err(EnqueueError::TooLong { len: data.len() });
        }
        self.requests
            .try_send(data.to_vec())
            .map_err(|err| match err {
                TrySendError::Full(_) => EnqueueError::QueueFull,
                TrySendError::Disconnected(_) => EnqueueError::Stopped,
            })
    }
}

fn run(mut port: impl SerialPort, inbox: Receiver<Vec<u8>>) {
    let mut failures = FailureRun::default();
    for data in inbox {
        match failures.record(port.write_all(&data)) {
            Some(Report::Failing(err)) => log::error!(
                "{err}; further serial write failures are not logged until a write succeeds"
            ),
            Some(Report::Recovered { failed }) => {
                log::warn!("serial port writes again, after {failed} failed requests")
            }
            None => {}
        }
    }
}

/// What the log should say about a write.
#[derive(Debug)]
enum Report {
    /// The first failure of a run.
    Failing(SerialError),
    /// The first success after a run of `failed` failures.
    Recovered { failed: u64 },
}

/// Counts consecutive failed writes, so that a port that stays broken (unplugged adapter, flow
/// control holding the line) logs once, not once per request.
#[derive(Default)]
struct FailureRun {
    failed: u64,
}

impl FailureRun {
    fn record(&mut self, result: Result<(), SerialError>) -> Option<Report> {
        match result {
            Ok(()) if self.failed == 0 => None,
            Ok(()) => Some(Report::Recovered {
                failed: std::mem::take(&mut self.failed),
            }),
            Err(err) => {
                self.failed += 1;
                (self.failed == 1).then_some(Report::Failing(err))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use crossbeam_channel::{Receiver, Sender};

    use super::*;
    use crate::backend::sim::SimSerial;

    /// How long a test waits for the writer thread before failing.
    const DEADLINE: Duration = Duration::from_secs(10);

    fn wait_until_written(port: &SimSerial, expected: &[u8]) {
        let deadline = Instant::now() + DEADLINE;
        while port.written() != expected {
            assert!(
                Instant::now() < deadline,
                "timed out: wrote {:?}, expected {expected:?}",
                port.written()
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// A port whose writes wait for the test's go-ahead, to hold the line busy on purpose.
    struct GatedPort {
        started: Sender<()>,
        gate: Receiver<()>,
        sink: SimSerial,
    }

    impl SerialPort for GatedPort {
        fn write_all(&mut self, data: &[u8]) -> Result<(), SerialError> {
            // The test may stop listening or open the gate for good; both mean "go on".
            let _ = self.started.send(());
            let _ = self.gate.recv();
            self.sink.write_all(data)
        }
    }

    #[test]
    fn requests_reach_the_port_in_order() {
        let port = SimSerial::new();
        let writer = SerialWriter::spawn(port.clone()).unwrap();
        writer.try_send(b"\xff\x01\x00").unwrap();
        writer.try_send(b"").unwrap();
        writer.try_send(b"hello\r\n").unwrap();
        wait_until_written(&port, b"\xff\x01\x00hello\r\n");
    }

    #[test]
    fn a_request_over_the_limit_is_refused_whole() {
        let port = SimSerial::new();
        let writer = SerialWriter::spawn(port.clone()).unwrap();
        assert_eq!(
            writer.try_send(&[b'x'; MAX_REQUEST_BYTES + 1]),
            Err(EnqueueError::TooLong {
                len: MAX_REQUEST_BYTES + 1
            })
        );
        let longest = [b'y'; MAX_REQUEST_BYTES];
        writer.try_send(&longest).unwrap();
        // The refused request never reached the line: only the longest one did.
        wait_until_written(&port, &longest);
    }

    #[test]
    fn a_busy_line_fills_the_queue_and_further_requests_are_refused_not_waited_on() {
        let (started, started_inbox) = crossbeam_channel::unbounded();
        let (gate_opener, gate) = crossbeam_channel::unbounded();
        let sink = SimSerial::new();
        let writer = SerialWriter::spawn(GatedPort {
            started,
            gate,
            sink: sink.clone(),
        })
        .unwrap();
        writer.try_send(b"0").unwrap();
        started_inbox
            .recv_timeout(DEADLINE)
            .expect("the first write began");
        let queued: Vec<u8> = (1..=QUEUE_DEPTH).map(|i| b'a' + i as u8).collect();
        for byte in &queued {
            writer.try_send(&[*byte]).unwrap();
        }
        assert_eq!(writer.try_send(b"!"), Err(EnqueueError::QueueFull));

        drop(gate_opener);
        let expected: Vec<u8> = [b'0'].into_iter().chain(queued).collect();
        wait_until_written(&sink, &expected);
        writer
            .try_send(b"!")
            .expect("room again once the line drains");
        wait_until_written(&sink, &[expected.as_slice(), b"!"].concat());
    }

    #[test]
    fn a_run_of_failures_is_reported_once_and_its_end_once() {
        let failure = || Err(SerialError::Write(io::ErrorKind::BrokenPipe.into()));
        let mut run = FailureRun::default();
        assert!(run.record(Ok(())).is_none());
        assert!(matches!(run.record(failure()), Some(Report::Failing(_))));
        assert!(run.record(failure()).is_none());
        assert!(run.record(failure()).is_none());
        assert!(matches!(
            run.record(Ok(())),
            Some(Report::Recovered { failed: 3 })
        ));
        assert!(run.record(Ok(())).is_none());
        assert!(matches!(run.record(failure()), Some(Report::Failing(_))));
    }
}
