//! `ipcamd`: the command line, the process environment and signals; the rest is the library.

mod cli;

use std::env;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use nix::sys::signal::{SigSet, Signal};

use cli::{Cli, Command};
use ipcamd::config::Config;
use ipcamd::systemd::{self, Notifier, Watchdog};
use ipcamd::{Daemon, StartOptions};

fn main() -> anyhow::Result<()> {
    let cli = match cli::parse(env::args_os().skip(1), env::var_os(cli::ADMIN_PASSWORD_ENV)) {
        Ok(Command::Run(cli)) => cli,
        Ok(Command::Help) => {
            print!("{}", cli::HELP);
            return Ok(());
        }
        Ok(Command::Version) => {
            println!("ipcamd {}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Err(err) => {
            eprintln!("ipcamd: {err}\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    let config = load_config(&cli)?;
    let rust_log = env::var("RUST_LOG").ok();
    let logger = stderr_logger(
        &config.log_level,
        rust_log.as_deref(),
        cli.log_level.as_deref(),
    );
    log::set_max_level(logger.filter());
    log::set_logger(Box::leak(Box::new(logger))).context("a logger is already installed")?;

    // Read systemd's variables before any thread starts: clearing them is not thread-safe.
    let notifier = Arc::new(Notifier::from_env().context("NOTIFY_SOCKET")?);
    let watchdog_interval = systemd::watchdog_interval_from_env().context("WATCHDOG_USEC")?;
    let (rtsp_passed, passed): (Vec<_>, Vec<_>) = systemd::named_listen_fds()
        .context("LISTEN_FDS")?
        .into_iter()
        .partition(|(name, _)| name == RTSP_FD_NAME);
    let rtsp_listener = rtsp_passed.into_iter().next().map(|(_, listener)| listener);
    let passed: Vec<TcpListener> = passed.into_iter().map(|(_, listener)| listener).collect();
    let listeners = if passed.is_empty() {
        bind_all(&config.server.listen)?
    } else {
        passed
    };

    // Block the stop signals in every thread so that only sigwait below sees them.
    let stop_signals = stop_signals();
    stop_signals
        .thread_block()
        .context("cannot block SIGINT/SIGTERM")?;

    let watchdog = watchdog_interval.map(|interval| {
        (
            Arc::clone(&notifier),
            Watchdog::new(interval, Instant::now()),
        )
    });
    let daemon = Daemon::start(
        &config,
        listeners,
        StartOptions {
            watchdog,
            admin_password: cli.admin_password.clone(),
            rtsp_listener,
        },
    )
    .context("cannot start the camera")?;
    for addr in daemon.local_addrs() {
        log::info!("listening on http://{addr}/");
    }
    if let Some(addr) = daemon.rtsp_addr() {
        log::info!("listening on rtsp://{addr}/");
    }
    notifier.ready().context("cannot notify systemd")?;
    let status = serving_status(daemon.local_addrs(), &config.capture.source);
    if let Err(err) = notifier.status(&status) {
        log::warn!("cannot send the status line to systemd: {err}");
    }

    let signal = stop_signals.wait().context("sigwait")?;
    log::info!("{signal} received, stopping");
    let _ = notifier.stopping();
    daemon.shutdown();
    daemon.join().context("the camera stopped with an error")
}

/// `FileDescriptorName=` of the RTSP socket unit (systemd/ipcamd-rtsp.socket).
const RTSP_FD_NAME: &str = "rtsp";

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let mut config = match &cli.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    if !cli.listen.is_empty() {
        config.server.listen = cli.listen.clone();
    }
    if let Some(dir) = &cli.state_dir {
        config.state_dir = dir.clone();
    }
    if let Some(port) = cli.rtsp_port {
        config.rtsp.port = port;
    }
    if let Some(source) = &cli.source {
        config.capture.source = source.clone();
    }
    Ok(config)
}

/// The `STATUS=` line `systemctl status` shows once the camera serves.
fn serving_status(addrs: &[SocketAddr], source: &str) -> String {
    let addrs: Vec<String> = addrs.iter().map(SocketAddr::to_string).collect();
    format!("serving on {}, source {source}", addrs.join(" "))
}

/// env_logger on stderr (journald picks it up), filtered by the config file's `log_level`,
/// then `RUST_LOG`, then `--log-level`: each overrides the directives of the one before.
fn stderr_logger(
    config_level: &str,
    rust_log: Option<&str>,
    cli_level: Option<&str>,
) -> env_logger::Logger {
    let mut builder = env_logger::Builder::new();
    builder.parse_filters(config_level);
    for filters in [rust_log, cli_level].into_iter().flatten() {
        builder.parse_filters(filters);
    }
    builder.target(env_logger::Target::Stderr).build()
}

fn bind_all(addrs: &[SocketAddr]) -> anyhow::Result<Vec<TcpListener>> {
    addrs
        .iter()
        .map(|addr| TcpListener::bind(addr).with_context(|| format!("cannot listen on {addr}")))
        .collect()
}

fn stop_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::{Level, Log as _, Metadata};

    fn enabled(logger: &env_logger::Logger, level: Level, target: &str) -> bool {
        logger.enabled(&Metadata::builder().level(level).target(target).build())
    }

    #[test]
    fn the_config_level_applies_without_rust_log() {
        let logger = stderr_logger("warn", None, None);
        assert!(enabled(&logger, Level::Warn, "ipcamd"));
        assert!(!enabled(&logger, Level::Info, "ipcamd"));
    }

    #[test]
    fn rust_log_overrides_the_config_level() {
        let logger = stderr_logger("warn", Some("debug"), None);
        assert!(enabled(&logger, Level::Debug, "ipcamd"));
        let logger = stderr_logger("info", Some("error,ipcam_httpd=trace"), None);
        assert!(!enabled(&logger, Level::Warn, "ipcamd"));
        assert!(enabled(&logger, Level::Trace, "ipcam_httpd::server"));
    }

    #[test]
    fn the_command_line_overrides_rust_log() {
        let logger = stderr_logger("info", Some("trace"), Some("warn"));
        assert!(!enabled(&logger, Level::Info, "ipcamd"));
        assert!(enabled(&logger, Level::Warn, "ipcamd"));
    }

    #[test]
    fn the_status_line_names_every_address_and_the_source() {
        let addrs = [
            "127.0.0.1:8080".parse().unwrap(),
            "[::1]:80".parse().unwrap(),
        ];
        assert_eq!(
            serving_status(&addrs, "replay:/var/lib/clip.mjpeg"),
            "serving on 127.0.0.1:8080 [::1]:80, source replay:/var/lib/clip.mjpeg"
        );
    }
}
