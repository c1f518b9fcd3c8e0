//! Small-response load generator: N keep-alive HTTP/1.1 clients hammer one URL for S
//! seconds and report requests per second. Used to compare ipcamd with nginx on the same
//! machine (see the README's "Measuring").
//!
//! `cargo run --release --example loadgen -- [--clients 32] [--seconds 5] [--user U --password P] http://127.0.0.1:8080/cgiversion.cgi`

use base64::Engine as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Options {
    clients: usize,
    seconds: u64,
    host: String,
    path: String,
    authorization: Option<String>,
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("loadgen: {message}");
            std::process::exit(2);
        }
    };
    let request = build_request(&options);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..options.clients)
        .map(|_| {
            let (request, host) = (request.clone(), options.host.clone());
            let (stop, done, errors) = (stop.clone(), done.clone(), errors.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    if client(&host, &request, &stop, &done).is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    std::thread::sleep(Duration::from_secs(options.seconds));
    stop.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    for worker in workers {
        let _ = worker.join();
    }
    let total = done.load(Ordering::Relaxed);
    println!(
        "{} clients, {:.1} s: {} responses, {:.0} requests/s, {} connection errors",
        options.clients,
        elapsed,
        total,
        total as f64 / elapsed,
        errors.load(Ordering::Relaxed)
    );
}

/// One keep-alive connection: request, read the whole response, repeat.
fn client(host: &str, request: &[u8], stop: &AtomicBool, done: &AtomicU64) -> std::io::Result<()> {
    let stream = TcpStream::connect(host)?;
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut body = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        writer.write_all(request)?;
        let mut length = 0;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
        done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

fn build_request(options: &Options) -> Vec<u8> {
    let mut request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\n",
        options.path, options.host
    );
    if let Some(authorization) = &options.authorization {
        request += &format!("Authorization: Basic {authorization}\r\n");
    }
    (request + "\r\n").into_bytes()
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Options, String> {
    let (mut clients, mut seconds, mut url) = (32, 5, None);
    let (mut user, mut password) = (None, None);
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or(format!("{flag} needs a value"));
        match arg.as_str() {
            "--clients" => {
                clients = value("--clients")?
                    .parse()
                    .map_err(|_| "--clients: not a number")?
            }
            "--seconds" => {
                seconds = value("--seconds")?
                    .parse()
                    .map_err(|_| "--seconds: not a number")?
            }
            "--user" => user = Some(value("--user")?),
            "--password" => password = Some(value("--password")?),
            _ if arg.starts_with("http://") => url = Some(arg),
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    let url = url.ok_or("give the URL to load, e.g. http://127.0.0.1:8080/cgiversion.cgi")?;
    let rest = &url["http://".len()..];
    let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let authorization = user.map(|u| {
        base64::engine::general_purpose::STANDARD
            .encode(format!("{u}:{}", password.unwrap_or_default()))
    });
    Ok(Options {
        clients,
        seconds,
        host: host.to_owned(),
        path: path.to_owned(),
        authorization,
    })
}
