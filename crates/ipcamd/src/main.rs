//! `ipcamd`: the command line, the process environment and signals; the rest is the library.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use nix::sys::signal::{SigSet, Signal};

use ipcamd::config::Config;
use ipcamd::systemd::{self, Notifier, Watchdog};
use ipcamd::{Daemon, StartOptions};

/// IPCamCGI 1.2 network camera daemon.
///
/// With no arguments it runs the embedded default: a synthetic camera on 127.0.0.1:8080
/// with its state in ./ipcamd-state.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML config file (every key optional; see systemd/ipcamd.toml).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on; repeat for several. Overrides server.listen.
    #[arg(long, value_name = "ADDR")]
    listen: Vec<SocketAddr>,
    /// Directory of the state file. Overrides state_dir.
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Frame source: test, replay:PATH or v4l2:/dev/videoN. Overrides capture.source.
    #[arg(long, value_name = "SPEC")]
    source: Option<String>,
    /// Admin password on first start (empty state); else a random one is printed once.
    #[arg(long, env = "IPCAMD_ADMIN_PASSWORD", hide_env_values = true)]
    admin_password: Option<String>,
    /// Log level: error, warn, info, debug or trace. Overrides log_level.
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let config = load_config(&cli)?;
    env_logger::Builder::new()
        .parse_filters(&config.log_level)
        // suppaftp logs the FTP password at trace level; never let a secret reach the log.
        .filter_module("suppaftp", log::LevelFilter::Debug)
        .target(env_logger::Target::Stderr)
        .init();

    // Read systemd's variables before any thread starts: clearing them is not thread-safe.
    let notifier = Arc::new(Notifier::from_env().context("NOTIFY_SOCKET")?);
    let watchdog_interval = systemd::watchdog_interval_from_env().context("WATCHDOG_USEC")?;
    let passed = systemd::listen_fds().context("LISTEN_FDS")?;
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
        },
    )
    .context("cannot start the camera")?;
    for addr in daemon.local_addrs() {
        log::info!("listening on http://{addr}/");
    }
    notifier.ready().context("cannot notify systemd")?;

    let signal = stop_signals.wait().context("sigwait")?;
    log::info!("{signal} received, stopping");
    let _ = notifier.stopping();
    daemon.shutdown();
    daemon.join().context("the camera stopped with an error")
}

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
    if let Some(source) = &cli.source {
        config.capture.source = source.clone();
    }
    if let Some(level) = &cli.log_level {
        config.log_level = level.clone();
    }
    Ok(config)
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
