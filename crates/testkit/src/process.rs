//! Servers run as child processes of a test (a bare dbus-daemon, pyftpdlib): started,
//! awaited until they print the line that says they listen, and killed by PID when
//! dropped, so that a failing test leaves nothing running.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process that printed its ready line; killed and reaped when dropped.
#[derive(Debug)]
pub struct ChildServer {
    child: Child,
}

impl ChildServer {
    /// Spawns `command` (stdin and stderr closed, stdout read) and waits for the first line
    /// it prints, which such a server prints once it listens (its address, its port).
    /// Returns the server and that line, line break removed. `Err` when the program cannot
    /// run here (a test prints it as its skip reason); a server that exits without its
    /// line is a failure.
    pub fn start(command: &mut Command) -> Result<(ChildServer, String), String> {
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{program} cannot run ({e})"))?;
        let stdout = child.stdout.take().expect("piped");
        let server = ChildServer { child };
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("{program}'s ready line: {e}"));
        line.truncate(line.trim_end().len());
        assert!(!line.is_empty(), "{program} exited without its ready line");
        Ok((server, line))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
