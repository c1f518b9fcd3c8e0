//! libunftp on 127.0.0.1 with a file system root, one user, active and passive mode,
//! and a switch that makes the disk "full".
//!
//! libunftp lists directories with `MLSD` (RFC 3659, modification times included) and
//! cannot be told not to. Servers without it are common (vsftpd), so a server can also be
//! started behind a filter on its control connection that takes `MLSD` away: either
//! like vsftpd (not in `FEAT`, an unknown command) or advertised in `FEAT` but refused.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use libunftp::options::ActivePassiveMode;
use libunftp::ServerBuilder;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use unftp_core::auth::{AuthenticationError, Authenticator, Credentials, DefaultUser, Principal};
use unftp_core::storage::{Error, ErrorKind, Fileinfo, Result, StorageBackend};
use unftp_sbe_fs::{Filesystem, Meta};

use crate::{files_under, free_port};

/// The only account: user `camera`, password `secret-pw`.
pub const USER: &str = "camera";
/// Its password.
pub const PASSWORD: &str = "secret-pw";

/// What the server says about `MLSD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mlsd {
    /// Listed in `FEAT` and answered (libunftp as it is).
    Supported,
    /// Not in `FEAT`; `MLSD` is an unknown command (500).
    Missing,
    /// Listed in `FEAT`, yet `MLSD` is answered with 502.
    Refused,
}

/// A running FTP server; stops when dropped.
pub struct Server {
    pub port: u16,
    pub root: tempfile::TempDir,
    full: Arc<AtomicBool>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts a server on a free port, taking active and passive mode.
    pub fn start() -> Server {
        Server::start_on(free_port())
    }

    /// Starts a server that takes only passive (`PASV`) or only active (`PORT`) mode.
    pub fn start_only(passive: bool) -> Server {
        let mode = if passive {
            ActivePassiveMode::PassiveOnly
        } else {
            ActivePassiveMode::ActiveOnly
        };
        Server::start_with(free_port(), mode)
    }

    /// Starts a server on `port` of 127.0.0.1.
    pub fn start_on(port: u16) -> Server {
        Server::start_with(port, ActivePassiveMode::ActiveAndPassive)
    }

    /// Starts a server that lists only with `NLST`/`LIST`, like vsftpd: `FEAT` does not
    /// name `MLST`/`MLSD`, and `MLSD` is an unknown command (500).
    pub fn start_without_mlsd() -> Server {
        Server::start_filtered(
            free_port(),
            ActivePassiveMode::ActiveAndPassive,
            Mlsd::Missing,
        )
    }

    /// Starts a server that names `MLST`/`MLSD` in `FEAT` but answers `MLSD` with 502.
    pub fn start_refusing_mlsd() -> Server {
        Server::start_filtered(
            free_port(),
            ActivePassiveMode::ActiveAndPassive,
            Mlsd::Refused,
        )
    }

    fn start_with(port: u16, mode: ActivePassiveMode) -> Server {
        Server::start_filtered(port, mode, Mlsd::Supported)
    }

    fn start_filtered(port: u16, mode: ActivePassiveMode, mlsd: Mlsd) -> Server {
        let root = tempfile::tempdir().expect("server root");
        let full = Arc::new(AtomicBool::new(false));
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("FTP port");
        listener.set_nonblocking(true).expect("nonblocking");
        let (stop, stopped) = tokio::sync::oneshot::channel();
        let root_path = root.path().to_path_buf();
        let disk_full = Arc::clone(&full);
        let thread =
            std::thread::spawn(move || serve(listener, root_path, disk_full, mode, mlsd, stopped));
        Server {
            port,
            root,
            full,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Makes every store fail with 452 (insufficient storage) while `full`.
    pub fn set_full(&self, full: bool) {
        self.full.store(full, Ordering::Relaxed);
    }

    /// Files received so far, relative to the server root.
    pub fn files(&self) -> Vec<String> {
        files_under(self.root.path())
    }

    /// The content of a received file.
    pub fn read(&self, relative: &str) -> Vec<u8> {
        std::fs::read(self.root.path().join(relative)).expect("received file")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(
    listener: TcpListener,
    root: PathBuf,
    full: Arc<AtomicBool>,
    mode: ActivePassiveMode,
    mlsd: Mlsd,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
        loop {
            let stream = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => continue,
                },
                _ = &mut stopped => break,
            };
            let root = root.clone();
            let full = Arc::clone(&full);
            let server = ServerBuilder::with_authenticator(
                Box::new(move || Quota {
                    inner: Filesystem::new(root.clone()).expect("fs backend"),
                    full: Arc::clone(&full),
                }),
                Arc::new(OneUser),
            )
            .active_passive_mode(mode)
            .build()
            .expect("server");
            tokio::spawn(async move {
                let stream = match mlsd {
                    Mlsd::Supported => stream,
                    Mlsd::Missing | Mlsd::Refused => match filtered(stream, mlsd).await {
                        Ok(inner) => inner,
                        Err(_) => return,
                    },
                };
                let _ = server.service(stream).await;
            });
        }
    });
}

/// Puts the `MLSD` filter between `client` and the server; returns the server's end of
/// the connection. Data connections do not pass the filter: passive addresses are
/// libunftp's own, on the same 127.0.0.1.
async fn filtered(
    client: tokio::net::TcpStream,
    mlsd: Mlsd,
) -> std::io::Result<tokio::net::TcpStream> {
    let inner = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let to_server = tokio::net::TcpStream::connect(inner.local_addr()?).await?;
    let (server_side, _) = inner.accept().await?;
    tokio::spawn(async move {
        let _ = filter_control(client, to_server, mlsd).await;
    });
    Ok(server_side)
}

/// Relays the control connection line by line, answering `MLSD` itself and, for
/// [`Mlsd::Missing`], leaving `MLST`/`MLSD` out of the `FEAT` reply.
async fn filter_control(
    client: tokio::net::TcpStream,
    server: tokio::net::TcpStream,
    mlsd: Mlsd,
) -> std::io::Result<()> {
    let (from_client, mut to_client) = client.into_split();
    let (from_server, mut to_server) = server.into_split();
    let mut commands = BufReader::new(from_client).lines();
    let mut replies = BufReader::new(from_server).lines();
    let mut in_feat_reply = false;
    loop {
        tokio::select! {
            command = commands.next_line() => {
                let Some(command) = command? else { return Ok(()) };
                let verb = command.split(' ').next().unwrap_or_default();
                if verb.eq_ignore_ascii_case("MLSD") {
                    let refusal = match mlsd {
                        Mlsd::Refused => "502 Command not implemented.\r\n",
                        _ => "500 Unknown command.\r\n",
                    };
                    to_client.write_all(refusal.as_bytes()).await?;
                } else {
                    in_feat_reply = verb.eq_ignore_ascii_case("FEAT");
                    to_server.write_all(format!("{command}\r\n").as_bytes()).await?;
                }
            }
            reply = replies.next_line() => {
                let Some(reply) = reply? else { return Ok(()) };
                let hidden = mlsd == Mlsd::Missing && in_feat_reply && names_mlsx(&reply);
                if reply.starts_with("211 ") {
                    in_feat_reply = false;
                }
                if !hidden {
                    to_client.write_all(format!("{reply}\r\n").as_bytes()).await?;
                }
            }
        }
    }
}

/// Whether a `FEAT` reply line is the `MLST` or `MLSD` feature.
fn names_mlsx(line: &str) -> bool {
    line.starts_with(' ')
        && line.split_whitespace().next().is_some_and(|feature| {
            ["MLST", "MLSD"]
                .iter()
                .any(|f| f.eq_ignore_ascii_case(feature))
        })
}

#[derive(Debug)]
struct OneUser;

#[async_trait]
impl Authenticator for OneUser {
    async fn authenticate(
        &self,
        username: &str,
        creds: &Credentials,
    ) -> std::result::Result<Principal, AuthenticationError> {
        if username == USER && creds.password.as_deref() == Some(PASSWORD) {
            Ok(Principal {
                username: username.to_owned(),
            })
        } else {
            Err(AuthenticationError::BadPassword)
        }
    }
}

/// The file system backend, with a disk that can be made full.
#[derive(Debug)]
struct Quota {
    inner: Filesystem,
    full: Arc<AtomicBool>,
}

#[async_trait]
impl StorageBackend<DefaultUser> for Quota {
    type Metadata = Meta;

    fn enter(&mut self, user: &DefaultUser) -> std::io::Result<()> {
        StorageBackend::<DefaultUser>::enter(&mut self.inner, user)
    }

    fn supported_features(&self) -> u32 {
        StorageBackend::<DefaultUser>::supported_features(&self.inner)
    }

    async fn metadata<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> Result<Meta> {
        self.inner.metadata(user, path).await
    }

    async fn list<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> Result<Vec<Fileinfo<PathBuf, Meta>>> {
        self.inner.list(user, path).await
    }

    async fn get<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
        start_pos: u64,
    ) -> Result<Box<dyn tokio::io::AsyncRead + Send + Sync + Unpin>> {
        self.inner.get(user, path, start_pos).await
    }

    async fn put<
        P: AsRef<Path> + Send + std::fmt::Debug,
        R: tokio::io::AsyncRead + Send + Sync + Unpin + 'static,
    >(
        &self,
        user: &DefaultUser,
        input: R,
        path: P,
        start_pos: u64,
    ) -> Result<u64> {
        if self.full.load(Ordering::Relaxed) {
            return Err(Error::from(ErrorKind::InsufficientStorageSpaceError));
        }
        self.inner.put(user, input, path, start_pos).await
    }

    async fn del<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> Result<()> {
        self.inner.del(user, path).await
    }

    async fn mkd<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> Result<()> {
        self.inner.mkd(user, path).await
    }

    async fn rename<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        from: P,
        to: P,
    ) -> Result<()> {
        self.inner.rename(user, from, to).await
    }

    async fn rmd<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> Result<()> {
        self.inner.rmd(user, path).await
    }

    async fn cwd<P: AsRef<Path> + Send + std::fmt::Debug>(
        &self,
        user: &DefaultUser,
        path: P,
    ) -> Result<()> {
        self.inner.cwd(user, path).await
    }
}
