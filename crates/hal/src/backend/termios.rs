//! A real serial port through termios (`nix`): raw mode, the configured baud rate and frame
//! format, no echo or line editing, so that `/comport.cgi` data reaches the wire byte for byte.
//!
//! The device stays non-blocking: a write waits for room in the driver's buffer with `poll`, and
//! gives up once the line has taken nothing for [`TermiosSerial::stall_timeout`] — with RTS/CTS
//! and nothing connected, or a peripheral holding XOFF, a blocking write would never return.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::OpenOptionsExt;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::termios::{
    cfmakeraw, cfsetspeed, tcgetattr, tcsetattr, BaudRate, ControlFlags, InputFlags, SetArg,
    Termios,
};

use crate::serial::{FlowControl, Parity, SerialConfig, SerialError, SerialPort};

/// The transmit buffer of a Linux UART driver (`UART_XMIT_SIZE`, one page): how much a write
/// may have to wait behind when the port is busy but healthy.
const DRIVER_BUFFER_BYTES: u32 = 4096;
/// Bits on the wire per byte, counted generously (start, 8 data, parity, 2 stop).
const MAX_BITS_PER_BYTE: u32 = 12;
/// The shortest stall timeout, for fast lines whose buffer drains in a few milliseconds.
const MIN_STALL_TIMEOUT: Duration = Duration::from_secs(1);

/// An open termios device.
pub struct TermiosSerial {
    file: File,
    stall_timeout: Duration,
}

impl TermiosSerial {
    /// Opens and configures the device of `config`.
    pub fn open(config: &SerialConfig) -> Result<TermiosSerial, SerialError> {
        let baud = baud_rate(config.baud)?;
        // O_NONBLOCK so that neither opening (a modem's carrier) nor writing (flow control) can
        // hang. O_NOCTTY so that the daemon never acquires a controlling tty.
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags((OFlag::O_NOCTTY | OFlag::O_NONBLOCK).bits())
            .open(&config.device)
            .map_err(|source| SerialError::Open {
                device: config.device.clone(),
                source,
            })?;
        let configure_error = |source| SerialError::Configure {
            device: config.device.clone(),
            source,
        };
        let mut termios = tcgetattr(&file).map_err(configure_error)?;
        apply(&mut termios, config, baud)?;
        tcsetattr(&file, SetArg::TCSANOW, &termios).map_err(configure_error)?;
        Ok(TermiosSerial {
            file,
            stall_timeout: stall_timeout(config.baud),
        })
    }

    /// How long a write waits for the line to take another byte before it fails with
    /// [`SerialError::Stalled`]: twice the time a full driver buffer takes to drain at the
    /// configured rate (about 10 s at 9600 baud), at least one second.
    pub fn stall_timeout(&self) -> Duration {
        self.stall_timeout
    }

    /// Waits until the device takes more bytes, or the stall timeout passes.
    fn wait_for_room(&self) -> Result<(), SerialError> {
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLOUT)];
        let timeout = PollTimeout::try_from(self.stall_timeout).unwrap_or(PollTimeout::MAX);
        match poll(&mut fds, timeout) {
            Ok(0) => Err(SerialError::Stalled(self.stall_timeout)),
            Ok(_) | Err(Errno::EINTR) => Ok(()),
            Err(errno) => Err(SerialError::Write(errno.into())),
        }
    }
}

impl SerialPort for TermiosSerial {
    fn write_all(&mut self, mut data: &[u8]) -> Result<(), SerialError> {
        while !data.is_empty() {
            match self.file.write(data) {
                Ok(0) => return Err(SerialError::Write(ErrorKind::WriteZero.into())),
                Ok(written) => data = &data[written..],
                Err(err) if err.kind() == ErrorKind::WouldBlock => self.wait_for_room()?,
                Err(err) if err.kind() == ErrorKind::Interrupted => {}
                Err(err) => return Err(SerialError::Write(err)),
            }
        }
        Ok(())
    }
}

fn stall_timeout(baud: u32) -> Duration {
    let drain = Duration::from_secs_f64(
        f64::from(DRIVER_BUFFER_BYTES * MAX_BITS_PER_BYTE) / f64::from(baud.max(1)),
    );
    (2 * drain).max(MIN_STALL_TIMEOUT)
}

/// Raw mode plus the frame format of `config`.
fn apply(termios: &mut Termios, config: &SerialConfig, baud: BaudRate) -> Result<(), SerialError> {
    cfmakeraw(termios);
    cfsetspeed(termios, baud).map_err(|source| SerialError::Configure {
        device: config.device.clone(),
        source,
    })?;
    let control = &mut termios.control_flags;
    control.remove(ControlFlags::CSIZE | ControlFlags::PARENB | ControlFlags::PARODD);
    control.insert(data_bits(config.data_bits)? | ControlFlags::CLOCAL | ControlFlags::CREAD);
    match config.parity {
        Parity::None => {}
        Parity::Even => control.insert(ControlFlags::PARENB),
        Parity::Odd => control.insert(ControlFlags::PARENB | ControlFlags::PARODD),
    }
    match config.stop_bits {
        1 => control.remove(ControlFlags::CSTOPB),
        2 => control.insert(ControlFlags::CSTOPB),
        _ => return Err(SerialError::InvalidSetting("stop_bits must be 1 or 2")),
    }
    control.set(
        ControlFlags::CRTSCTS,
        config.flow_control == FlowControl::Hardware,
    );
    termios.input_flags.set(
        InputFlags::IXON | InputFlags::IXOFF,
        config.flow_control == FlowControl::Software,
    );
    Ok(())
}

fn data_bits(bits: u8) -> Result<ControlFlags, SerialError> {
    match bits {
        5 => Ok(ControlFlags::CS5),
        6 => Ok(ControlFlags::CS6),
        7 => Ok(ControlFlags::CS7),
        8 => Ok(ControlFlags::CS8),
        _ => Err(SerialError::InvalidSetting("data_bits must be 5 to 8")),
    }
}

fn baud_rate(baud: u32) -> Result<BaudRate, SerialError> {
    Ok(match baud {
        50 => BaudRate::B50,
        75 => BaudRate::B75,
        110 => BaudRate::B110,
        134 => BaudRate::B134,
        150 => BaudRate::B150,
        200 => BaudRate::B200,
        300 => BaudRate::B300,
        600 => BaudRate::B600,
        1200 => BaudRate::B1200,
        1800 => BaudRate::B1800,
        2400 => BaudRate::B2400,
        4800 => BaudRate::B4800,
        9600 => BaudRate::B9600,
        19200 => BaudRate::B19200,
        38400 => BaudRate::B38400,
        57600 => BaudRate::B57600,
        115200 => BaudRate::B115200,
        230400 => BaudRate::B230400,
        460800 => BaudRate::B460800,
        921600 => BaudRate::B921600,
        other => return Err(SerialError::UnsupportedBaud(other)),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Read;
    use std::os::fd::OwnedFd;
    use std::path::PathBuf;

    use nix::pty::openpty;
    use nix::sys::termios::{cfgetospeed, LocalFlags};
    use nix::unistd::ttyname;

    use super::*;

    /// A pseudo-terminal: the master end (what the "device" on the wire would read) and the
    /// slave's path, which the port under test opens like any serial device.
    fn pty() -> (File, PathBuf, OwnedFd) {
        let pair = openpty(None, None).expect("openpty");
        let path = ttyname(&pair.slave).expect("slave name");
        (File::from(pair.master), path, pair.slave)
    }

    fn config(device: PathBuf) -> SerialConfig {
        SerialConfig {
            device,
            baud: 115200,
            ..SerialConfig::default()
        }
    }

    #[test]
    fn bytes_written_arrive_on_the_other_side_unchanged() {
        let (mut master, path, _slave) = pty();
        let mut port = TermiosSerial::open(&config(path)).unwrap();
        // CR, LF and NUL would be translated or eaten by a cooked tty.
        let sent = b"PTZ\r\n\x00\xffmove 10\n";
        port.write_all(sent).unwrap();
        let mut received = vec![0; sent.len()];
        master.read_exact(&mut received).unwrap();
        assert_eq!(&received, sent);
    }

    #[test]
    fn the_configured_line_settings_reach_the_device() {
        let (_master, path, _slave) = pty();
        let settings = SerialConfig {
            stop_bits: 2,
            ..config(path)
        };
        let port = TermiosSerial::open(&settings).unwrap();
        let termios = tcgetattr(&port.file).unwrap();
        assert_eq!(cfgetospeed(&termios), BaudRate::B115200);
        assert!(termios.control_flags.contains(ControlFlags::CSTOPB));
        assert!(!termios
            .local_flags
            .contains(LocalFlags::ECHO | LocalFlags::ICANON));
    }

    /// A pseudo-terminal forces 8 bits without parity, so the frame format is checked on the
    /// settings we hand it.
    #[test]
    fn frame_format_and_flow_control_map_to_termios_flags() {
        let (_master, path, _slave) = pty();
        let mut termios = tcgetattr(File::open(&path).unwrap()).unwrap();
        let odd_rtscts = SerialConfig {
            parity: Parity::Odd,
            flow_control: FlowControl::Hardware,
            ..config(path)
        };
        apply(&mut termios, &odd_rtscts, BaudRate::B9600).unwrap();
        let control = termios.control_flags;
        assert!(
            control.contains(ControlFlags::PARENB | ControlFlags::PARODD | ControlFlags::CRTSCTS)
        );
        assert_eq!(control & ControlFlags::CSIZE, ControlFlags::CS8);
        assert!(!termios.input_flags.contains(InputFlags::IXON));

        let even_xonxoff = SerialConfig {
            parity: Parity::Even,
            data_bits: 7,
            flow_control: FlowControl::Software,
            ..odd_rtscts
        };
        apply(&mut termios, &even_xonxoff, BaudRate::B9600).unwrap();
        let control = termios.control_flags;
        assert!(control.contains(ControlFlags::PARENB));
        assert!(!control.contains(ControlFlags::PARODD | ControlFlags::CRTSCTS));
        assert_eq!(control & ControlFlags::CSIZE, ControlFlags::CS7);
        assert!(termios
            .input_flags
            .contains(InputFlags::IXON | InputFlags::IXOFF));
    }

    #[test]
    fn bad_settings_are_refused_before_touching_the_device() {
        let unsupported = SerialConfig {
            baud: 12345,
            ..config(PathBuf::from("/nonexistent"))
        };
        assert!(matches!(
            TermiosSerial::open(&unsupported),
            Err(SerialError::UnsupportedBaud(12345))
        ));
        let (_master, path, _slave) = pty();
        let nine_bits = SerialConfig {
            data_bits: 9,
            ..config(path)
        };
        assert!(matches!(
            TermiosSerial::open(&nine_bits),
            Err(SerialError::InvalidSetting(_))
        ));
    }

    #[test]
    fn a_line_that_takes_nothing_fails_the_write_instead_of_blocking_forever() {
        // Nobody reads the master, so the pty's buffer fills like a UART's under RTS/CTS.
        let (_master, path, _slave) = pty();
        let mut port = TermiosSerial::open(&config(path)).unwrap();
        let chunk = [b'x'; 4096];
        let mut sent = 0;
        let error = loop {
            match port.write_all(&chunk) {
                Ok(()) => sent += chunk.len(),
                Err(err) => break err,
            }
            assert!(sent < 16 << 20, "16 MiB went into a pty nobody reads");
        };
        assert!(
            matches!(error, SerialError::Stalled(waited) if waited == port.stall_timeout()),
            "{error}"
        );
    }

    #[test]
    fn the_stall_timeout_covers_draining_a_full_driver_buffer() {
        // 4096 bytes of 12 bits take 5.12 s at 9600 baud; twice that is allowed.
        assert_eq!(stall_timeout(9600), Duration::from_millis(10_240));
        assert_eq!(stall_timeout(921_600), MIN_STALL_TIMEOUT);
    }

    #[test]
    fn a_missing_device_is_an_open_error() {
        let error = TermiosSerial::open(&config(PathBuf::from("/nonexistent/ttyS9")))
            .err()
            .unwrap();
        assert!(matches!(error, SerialError::Open { .. }));
        assert!(error.to_string().contains("/nonexistent/ttyS9"));
    }
}
