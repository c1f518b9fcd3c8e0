//! The command line of `ipcamd`.
//!
//! Seven flags, each overriding one key of the config file, read by `lexopt`: clap's derive
//! parser cost 0.15 MB of the stripped binary (README, "Footprint") for the same flags,
//! help text and errors. Errors name the flag and the value, as clap's did, and a usage
//! error exits with status 2.

use std::ffi::OsString;
use std::fmt::Display;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use lexopt::prelude::*;

/// The environment variable the admin password falls back to when `--admin-password` is
/// absent: a password on the command line is visible to every user in `ps`.
pub const ADMIN_PASSWORD_ENV: &str = "IPCAMD_ADMIN_PASSWORD";

/// `--help`.
pub const HELP: &str = "\
IPCamCGI 1.2 network camera daemon.

With no arguments it runs the embedded default: a synthetic camera on 127.0.0.1:8080
with its state in ./ipcamd-state.

Usage: ipcamd [OPTIONS]

Options:
      --config <FILE>          TOML config file (every key optional; see systemd/ipcamd.toml)
      --listen <ADDR>          Address to listen on; repeat for several. Overrides server.listen
      --state-dir <DIR>        Directory of the state file. Overrides state_dir
      --source <SPEC>          Frame source: test, replay:PATH or v4l2:/dev/videoN.
                               Overrides capture.source
      --admin-password <PASS>  Admin password on first start (empty state); else a random one
                               is written to initial-admin-password in the state directory
                               [env: IPCAMD_ADMIN_PASSWORD]
      --rtsp-port <PORT>       RTSP port (0: any free port). Overrides rtsp.port
      --log-level <LEVEL>      Log level: error, warn, info, debug or trace. Overrides
                               log_level and RUST_LOG
  -h, --help                   Print help
  -V, --version                Print version
";

/// What the command line asks for.
#[derive(Debug, PartialEq)]
pub enum Command {
    /// Run the camera with these overrides.
    Run(Cli),
    /// Print [`HELP`] and exit.
    Help,
    /// Print the version and exit.
    Version,
}

/// The flags given; `None` (or empty) leaves the config file's value.
#[derive(Debug, Default, PartialEq)]
pub struct Cli {
    /// `--config`: the TOML config file.
    pub config: Option<PathBuf>,
    /// `--listen`, repeatable: overrides `server.listen`.
    pub listen: Vec<SocketAddr>,
    /// `--state-dir`: overrides `state_dir`.
    pub state_dir: Option<PathBuf>,
    /// `--source`: overrides `capture.source`.
    pub source: Option<String>,
    /// `--admin-password`, else [`ADMIN_PASSWORD_ENV`]: the first start's admin password.
    pub admin_password: Option<String>,
    /// `--rtsp-port`: overrides `rtsp.port`.
    pub rtsp_port: Option<u16>,
    /// `--log-level`: overrides `log_level` and `RUST_LOG`.
    pub log_level: Option<String>,
}

/// Reads the arguments after the program name; `admin_password_env` is the value of
/// [`ADMIN_PASSWORD_ENV`], if set.
pub fn parse(
    args: impl IntoIterator<Item = OsString>,
    admin_password_env: Option<OsString>,
) -> Result<Command, lexopt::Error> {
    let mut cli = Cli::default();
    let mut parser = lexopt::Parser::from_args(args);
    while let Some(arg) = parser.next()? {
        match arg {
            Long("config") => cli.config = Some(parser.value()?.into()),
            Long("listen") => cli.listen.push(parsed(&mut parser, "--listen")?),
            Long("state-dir") => cli.state_dir = Some(parser.value()?.into()),
            Long("source") => cli.source = Some(parsed(&mut parser, "--source")?),
            Long("admin-password") => {
                cli.admin_password = Some(parsed(&mut parser, "--admin-password")?);
            }
            Long("rtsp-port") => cli.rtsp_port = Some(parsed(&mut parser, "--rtsp-port")?),
            Long("log-level") => cli.log_level = Some(parsed(&mut parser, "--log-level")?),
            Short('h') | Long("help") => return Ok(Command::Help),
            Short('V') | Long("version") => return Ok(Command::Version),
            _ => return Err(arg.unexpected()),
        }
    }
    if cli.admin_password.is_none() {
        cli.admin_password = admin_password_env
            .map(|value| value.into_string())
            .transpose()
            .map_err(|_| lexopt::Error::from(format!("{ADMIN_PASSWORD_ENV} is not valid UTF-8")))?;
    }
    Ok(Command::Run(cli))
}

/// The value of `flag` as a `T`; an error names the flag and, when it is text, the value.
fn parsed<T>(parser: &mut lexopt::Parser, flag: &str) -> Result<T, lexopt::Error>
where
    T: FromStr,
    T::Err: Display,
{
    let text = parser
        .value()?
        .into_string()
        .map_err(|_| format!("the value of '{flag}' is not valid UTF-8"))?;
    text.parse()
        .map_err(|err| format!("invalid value '{text}' for '{flag}': {err}").into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(args: &[&str], env: Option<&str>) -> Result<Cli, String> {
        match parse(args.iter().map(OsString::from), env.map(OsString::from)) {
            Ok(Command::Run(cli)) => Ok(cli),
            Ok(other) => Err(format!("not a run: {other:?}")),
            Err(err) => Err(err.to_string()),
        }
    }

    #[test]
    fn no_arguments_leave_every_key_to_the_config() {
        assert_eq!(run(&[], None), Ok(Cli::default()));
    }

    #[test]
    fn every_flag_is_read_in_both_spellings() {
        let cli = run(
            &[
                "--config",
                "/etc/ipcamd/ipcamd.toml",
                "--listen=127.0.0.1:8080",
                "--listen",
                "[::1]:80",
                "--state-dir=/var/lib/ipcamd",
                "--source",
                "replay:/tmp/clip.mjpeg",
                "--admin-password=s3cret x",
                "--rtsp-port",
                "0",
                "--log-level=debug",
            ],
            None,
        )
        .expect("valid flags");
        assert_eq!(
            cli,
            Cli {
                config: Some("/etc/ipcamd/ipcamd.toml".into()),
                listen: vec![
                    "127.0.0.1:8080".parse().expect("addr"),
                    "[::1]:80".parse().expect("addr"),
                ],
                state_dir: Some("/var/lib/ipcamd".into()),
                source: Some("replay:/tmp/clip.mjpeg".into()),
                admin_password: Some("s3cret x".into()),
                rtsp_port: Some(0),
                log_level: Some("debug".into()),
            }
        );
    }

    #[test]
    fn the_admin_password_falls_back_to_the_environment_and_the_flag_wins() {
        let from_env = run(&[], Some("from-env")).expect("valid");
        assert_eq!(from_env.admin_password.as_deref(), Some("from-env"));
        let from_flag = run(&["--admin-password", "flag"], Some("from-env")).expect("valid");
        assert_eq!(from_flag.admin_password.as_deref(), Some("flag"));
    }

    #[test]
    fn errors_name_the_flag_and_the_value() {
        let err = run(&["--listen", "localhost"], None).expect_err("not an address");
        assert!(
            err.contains("--listen") && err.contains("localhost"),
            "{err}"
        );
        let err = run(&["--rtsp-port", "70000"], None).expect_err("not a port");
        assert!(
            err.contains("--rtsp-port") && err.contains("70000"),
            "{err}"
        );
        let err = run(&["--config"], None).expect_err("no value");
        assert!(err.contains("--config"), "{err}");
        let err = run(&["--colour"], None).expect_err("unknown flag");
        assert!(err.contains("--colour"), "{err}");
        let err = run(&["stray"], None).expect_err("no positional arguments");
        assert!(err.contains("stray"), "{err}");
    }

    #[test]
    fn help_and_version_stop_parsing() {
        let parse_all = |args: &[&str]| parse(args.iter().map(OsString::from), None);
        assert_eq!(parse_all(&["--help"]).ok(), Some(Command::Help));
        assert_eq!(parse_all(&["-h", "--bogus"]).ok(), Some(Command::Help));
        assert_eq!(parse_all(&["-V"]).ok(), Some(Command::Version));
        for flag in [
            "--config",
            "--listen",
            "--state-dir",
            "--source",
            "--admin-password",
            "--rtsp-port",
            "--log-level",
        ] {
            assert!(HELP.contains(flag), "help lists {flag}");
        }
    }
}
