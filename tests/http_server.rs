//! Black-box tests of `ipcam-httpd` over real TCP: protocol handling, limits, shutdown and
//! streams, with a small echo handler standing in for the camera.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{closed_by_server, connect, exchange, read_reply, wait_for, DEADLINE};
use ipcam_httpd::{
    Broadcast, Chunk, Handler, Limits, Reply, Request, Responder, Response, Server, ServerHandle,
    StreamStats,
};

/// Echoes what the server parsed; `/slow` hands its responder to the test; `/stream`
/// subscribes to the test's broadcast.
struct Echo {
    deferred: mpsc::Sender<Responder>,
    broadcast: Broadcast<Part>,
    stream_allowed: Arc<AtomicBool>,
}

impl Handler for Echo {
    fn handle(&mut self, request: &Request) -> Reply {
        match request.path.as_str() {
            "/slow" => {
                let (responder, pending) = request.defer();
                self.deferred.send(responder).unwrap();
                Reply::Later(pending)
            }
            "/stream" => {
                let body = self.broadcast.subscribe(StreamStats::new());
                Response::stream("text/plain", body).into()
            }
            "/permitted-stream" => {
                let allowed = Arc::clone(&self.stream_allowed);
                let body = self
                    .broadcast
                    .subscribe(StreamStats::new())
                    .while_allowed(move || allowed.load(Ordering::SeqCst));
                Response::stream("text/plain", body).into()
            }
            "/fixed" => Response::html("the same for GET and HEAD\r\n").into(),
            _ => Response::html(describe(request)).into(),
        }
    }
}

fn describe(request: &Request) -> String {
    let mut text = format!("method={:?}\r\npath={}\r\n", request.method, request.path);
    for (name, value) in &request.params {
        text += &format!("{name}={value}\r\n");
    }
    if let Some(credentials) = &request.credentials {
        text += &format!(
            "user={}\r\npassword={}\r\n",
            credentials.user, credentials.password
        );
    }
    text += &format!("peer={}\r\n", request.peer);
    text
}

/// A stream chunk made of a label and a large payload, as a frame would be.
#[derive(Clone)]
struct Part(Arc<(Vec<u8>, Vec<u8>)>);

impl Chunk for Part {
    fn segments(&self) -> [&[u8]; 3] {
        [&self.0 .0, &self.0 .1, b"\r\n"]
    }
}

struct TestServer {
    addr: SocketAddr,
    handle: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
    deferred: Mutex<mpsc::Receiver<Responder>>,
    broadcast: Broadcast<Part>,
    stream_allowed: Arc<AtomicBool>,
}

impl TestServer {
    fn start(limits: Limits) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (deferred_tx, deferred_rx) = mpsc::channel();
        let broadcast = Broadcast::new();
        let stream_allowed = Arc::new(AtomicBool::new(true));
        let echo = Echo {
            deferred: deferred_tx,
            broadcast: broadcast.clone(),
            stream_allowed: Arc::clone(&stream_allowed),
        };
        let (server, handle) = Server::new(limits, echo).unwrap();
        handle.add_listener(listener);
        let thread = std::thread::spawn(move || server.run());
        TestServer {
            addr,
            handle,
            thread: Some(thread),
            deferred: Mutex::new(deferred_rx),
            broadcast,
            stream_allowed,
        }
    }

    fn next_deferred(&self) -> Responder {
        self.deferred
            .lock()
            .unwrap()
            .recv_timeout(DEADLINE)
            .unwrap()
    }

    fn stop(mut self) -> std::io::Result<()> {
        self.handle.shutdown();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.handle.shutdown();
            let _ = thread.join();
        }
    }
}

fn short_limits() -> Limits {
    Limits {
        request_timeout: Duration::from_millis(600),
        keepalive_timeout: Duration::from_millis(400),
        stall_timeout: Duration::from_millis(600),
        ..Limits::default()
    }
}

#[test]
fn http10_is_answered_in_http10_and_closed() {
    let server = TestServer::start(Limits::default());
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /x HTTP/1.0\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let reply = read_reply(&mut reader, false);
    assert_eq!(reply.status_line, "HTTP/1.0 200 OK");
    assert_eq!(reply.header("Connection"), Some("close"));
    assert!(closed_by_server(&mut stream));
}

#[test]
fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(Limits::default());
    let stream = connect(server.addr);
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    for n in 0..5 {
        write!(writer, "GET /n?i={n} HTTP/1.1\r\nHost: cam\r\n\r\n").unwrap();
        let reply = read_reply(&mut reader, false);
        assert_eq!(reply.status_line, "HTTP/1.1 200 OK");
        assert_eq!(reply.header("Connection"), Some("keep-alive"));
        assert!(reply.text().contains(&format!("i={n}\r\n")));
    }
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let server = TestServer::start(Limits::default());
    let stream = connect(server.addr);
    let mut writer = stream.try_clone().unwrap();
    writer
        .write_all(
            b"GET /a HTTP/1.1\r\n\r\nPOST /b HTTP/1.1\r\nContent-Length: 3\r\n\r\nx=1\
              GET /slow HTTP/1.1\r\n\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\n",
        )
        .unwrap();
    let mut reader = BufReader::new(stream);
    assert!(read_reply(&mut reader, false).text().contains("path=/a"));
    let b = read_reply(&mut reader, false).text();
    assert!(b.contains("path=/b") && b.contains("x=1"), "{b}");
    server
        .next_deferred()
        .complete(Response::html("deferred\r\n"));
    assert_eq!(read_reply(&mut reader, false).text(), "deferred\r\n");
    let last = read_reply(&mut reader, false);
    assert!(last.text().contains("path=/c"));
    assert_eq!(last.header("Connection"), Some("close"));
}

#[test]
fn a_watched_deferred_reply_reports_when_its_last_byte_is_written() {
    let server = TestServer::start(Limits::default());
    let stream = connect(server.addr);
    let mut writer = stream.try_clone().unwrap();
    writer.write_all(b"GET /slow HTTP/1.1\r\n\r\n").unwrap();
    // Far more than the socket buffers on both ends hold while the client does not read.
    let body = vec![b'x'; 64 << 20];
    let flushed = server
        .next_deferred()
        .complete_watched(Response::html(body));
    assert!(
        !flushed.wait(Duration::from_millis(300)),
        "not flushed while the client reads nothing"
    );
    let mut reader = BufReader::new(stream);
    let reply = read_reply(&mut reader, false);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body.len(), 64 << 20);
    assert!(flushed.wait(DEADLINE), "flushed once the client has it all");
}

#[test]
fn head_gets_the_headers_of_get_without_a_body() {
    let server = TestServer::start(Limits::default());
    let get = exchange(server.addr, b"GET /fixed HTTP/1.0\r\n\r\n");
    let mut stream = connect(server.addr);
    stream.write_all(b"HEAD /fixed HTTP/1.0\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert!(text.starts_with("HTTP/1.0 200 OK\r\n"), "{text}");
    assert!(text.contains(&format!("Content-Length: {}\r\n", get.body.len())));
    assert!(
        text.ends_with("\r\n\r\n"),
        "no body after the head: {text:?}"
    );
}

#[test]
fn post_forms_and_queries_are_percent_decoded() {
    let server = TestServer::start(Limits::default());
    let body = "CameraName=Front+door&Location=%C3%A9t%C3%A9";
    let request = format!(
        "POST /set?From=query%21 HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let reply = exchange(server.addr, request.as_bytes());
    let text = reply.text();
    assert!(text.contains("method=Post\r\n"), "{text}");
    assert!(text.contains("From=query!\r\n"), "{text}");
    assert!(text.contains("CameraName=Front door\r\n"), "{text}");
    assert!(text.contains("Location=été\r\n"), "{text}");
}

#[test]
fn a_form_posted_without_content_type_is_still_a_form() {
    let server = TestServer::start(Limits::default());
    let reply = exchange(
        server.addr,
        b"POST /set HTTP/1.0\r\nContent-Length: 13\r\n\r\nTrigger1=1&x=",
    );
    assert!(
        reply.text().contains("Trigger1=1\r\nx=\r\n"),
        "{}",
        reply.text()
    );
}

#[test]
fn absolute_form_targets_and_basic_credentials_reach_the_handler() {
    let server = TestServer::start(Limits::default());
    let request = format!(
        "GET http://192.0.2.1/cgi?a=1 HTTP/1.0\r\nAuthorization: Basic {}\r\n\r\n",
        common::basic("admin", "pa:ss")
    );
    let text = exchange(server.addr, request.as_bytes()).text();
    assert!(text.contains("path=/cgi\r\na=1\r\n"), "{text}");
    assert!(text.contains("user=admin\r\npassword=pa:ss\r\n"), "{text}");
}

#[test]
fn an_oversized_head_gets_400_and_others_are_still_served() {
    let server = TestServer::start(Limits::default());
    let mut stream = connect(server.addr);
    let huge = format!("GET / HTTP/1.1\r\nX-Junk: {}\r\n\r\n", "a".repeat(9000));
    let _ = stream.write_all(huge.as_bytes());
    let reply = read_reply(&mut BufReader::new(stream), false);
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("too large"));
    assert_eq!(
        exchange(server.addr, b"GET /ok HTTP/1.0\r\n\r\n").status,
        200
    );
}

#[test]
fn garbage_and_bad_lengths_get_400() {
    let server = TestServer::start(Limits::default());
    let cases: [&[u8]; 7] = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        b"GET\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1000000\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ];
    for raw in cases {
        let reply = exchange(server.addr, raw);
        assert_eq!(reply.status, 400, "{:?}", String::from_utf8_lossy(raw));
        assert_eq!(reply.header("Connection"), Some("close"));
    }
    assert_eq!(exchange(server.addr, b"GET / HTTP/1.0\r\n\r\n").status, 200);
}

#[test]
fn a_client_trickling_its_head_is_cut_off() {
    let server = TestServer::start(short_limits());
    let mut stream = connect(server.addr);
    let started = Instant::now();
    let head =
        b"GET /slowloris HTTP/1.1\r\nHost: camera\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let mut cut = false;
    for byte in head.iter().cycle().take(2000) {
        if stream.write_all(&[*byte]).is_err() {
            cut = true;
            break;
        }
        let mut peek = [0u8; 1];
        stream.set_nonblocking(true).unwrap();
        let answered = stream.peek(&mut peek).is_ok();
        stream.set_nonblocking(false).unwrap();
        if answered {
            cut = true;
            break;
        }
        assert!(started.elapsed() < DEADLINE, "never cut off");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(cut, "the server kept reading a never-ending head");
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "cut before the limit"
    );
    assert!(closed_by_server(&mut stream));
}

#[test]
fn past_the_connection_cap_clients_get_503() {
    let server = TestServer::start(Limits {
        max_connections: 2,
        ..Limits::default()
    });
    let mut held = Vec::new();
    for _ in 0..2 {
        let stream = connect(server.addr);
        let mut writer = stream.try_clone().unwrap();
        writer.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
        read_reply(&mut BufReader::new(stream), false);
        held.push(writer);
    }
    let refused = exchange(server.addr, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(refused.status, 503);
    drop(held);
    wait_for("a freed slot", || {
        (exchange(server.addr, b"GET / HTTP/1.0\r\n\r\n").status == 200).then_some(())
    });
}

#[test]
fn a_refused_client_gets_its_503_and_a_clean_close_not_a_reset() {
    let server = TestServer::start(Limits {
        max_connections: 1,
        ..Limits::default()
    });
    let held = connect(server.addr);
    let mut writer = held.try_clone().unwrap();
    writer.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    read_reply(&mut BufReader::new(held), false);

    let mut refused = connect(server.addr);
    refused.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    refused.read_to_end(&mut answer).expect("the 503, then EOF");
    assert!(answer.starts_with(b"HTTP/1.0 503 "), "{answer:?}");
    // A server that closed with the request unread would have sent a reset (some clients
    // then drop the 503 they had not read yet): the socket would carry ECONNRESET.
    assert!(refused.take_error().unwrap().is_none());
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = TestServer::start(short_limits());
    let mut stream = connect(server.addr);
    stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    read_reply(&mut BufReader::new(stream.try_clone().unwrap()), false);
    let idle_since = Instant::now();
    assert!(closed_by_server(&mut stream));
    assert!(idle_since.elapsed() >= Duration::from_millis(400));
}

#[test]
fn a_connection_that_never_sends_a_request_is_closed_silently_at_the_request_deadline() {
    let server = TestServer::start(Limits {
        request_timeout: Duration::from_millis(300),
        keepalive_timeout: Duration::from_secs(600),
        ..Limits::default()
    });
    let mut silent = connect(server.addr);
    silent
        .set_read_timeout(Some(DEADLINE))
        .expect("read timeout");
    let mut received = Vec::new();
    // Ends at EOF: the server closed without writing anything.
    silent.read_to_end(&mut received).expect("a clean close");
    assert!(
        received.is_empty(),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
}

#[test]
fn shutdown_finishes_a_request_in_flight() {
    let server = TestServer::start(Limits::default());
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /slow HTTP/1.1\r\n\r\n").unwrap();
    let responder = server.next_deferred();
    server.handle.shutdown();
    wait_for("the listener to close", || {
        std::net::TcpStream::connect(server.addr)
            .is_err()
            .then_some(())
    });
    responder.complete(Response::html("late but whole\r\n"));
    let reply = read_reply(&mut BufReader::new(stream), false);
    assert_eq!(reply.text(), "late but whole\r\n");
    assert_eq!(reply.header("Connection"), Some("close"));
    server.stop().unwrap();
}

#[test]
fn an_ipv4_client_of_a_dual_stack_listener_is_seen_as_plain_ipv4() {
    // A machine without IPv6, or whose IPv6 sockets are IPv6-only by default, cannot have
    // a dual-stack socket to test with.
    let v6_only = std::fs::read_to_string("/proc/sys/net/ipv6/bindv6only")
        .is_ok_and(|value| value.trim() == "1");
    let dual_stack = match TcpListener::bind("[::]:0") {
        Ok(listener) if !v6_only => listener,
        _ => {
            eprintln!("no dual-stack IPv6 sockets on this machine: nothing to check");
            return;
        }
    };
    let server = TestServer::start(Limits::default());
    let port = dual_stack.local_addr().unwrap().port();
    server.handle.add_listener(dual_stack);
    let reply = exchange(
        SocketAddr::from(([127, 0, 0, 1], port)),
        b"GET /who HTTP/1.0\r\n\r\n",
    );
    assert!(reply.text().contains("peer=127.0.0.1:"), "{}", reply.text());
}

#[test]
fn listeners_can_be_added_and_removed_while_running() {
    let server = TestServer::start(Limits::default());
    let extra = TcpListener::bind("127.0.0.1:0").unwrap();
    let extra_addr = extra.local_addr().unwrap();
    let id = server.handle.add_listener(extra);
    assert_eq!(exchange(extra_addr, b"GET / HTTP/1.0\r\n\r\n").status, 200);
    server.handle.remove_listener(id);
    wait_for("the extra port to close", || {
        std::net::TcpStream::connect(extra_addr)
            .is_err()
            .then_some(())
    });
    assert_eq!(exchange(server.addr, b"GET / HTTP/1.0\r\n\r\n").status, 200);
}

fn part(label: u32) -> Part {
    Part(Arc::new((
        format!("part {label:08}\r\n").into_bytes(),
        vec![b'x'; PAYLOAD],
    )))
}

/// Payload of a test part: large enough that a few hundred overflow any socket buffer.
const PAYLOAD: usize = 256 * 1024;

/// Reads stream parts (label line, payload, CRLF) and returns the labels.
fn read_parts(reader: &mut impl BufRead, count: usize) -> Vec<u32> {
    let mut labels = Vec::new();
    let mut payload = vec![0u8; PAYLOAD + 2];
    for _ in 0..count {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let label = line.trim().strip_prefix("part ").expect("a part label");
        labels.push(label.parse().unwrap());
        reader.read_exact(&mut payload).unwrap();
    }
    labels
}

#[test]
fn a_stream_whose_permit_is_withdrawn_ends_after_a_whole_part() {
    let server = TestServer::start(Limits::default());
    let mut stream = connect(server.addr);
    stream
        .write_all(b"GET /permitted-stream HTTP/1.0\r\n\r\n")
        .unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    assert_eq!(read_reply(&mut reader, true).status, 200);
    server.broadcast.publish(part(1));
    assert_eq!(read_parts(&mut reader, 1), [1]);

    server.stream_allowed.store(false, Ordering::SeqCst);
    server.broadcast.publish(part(2));
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).expect("a clean close");
    assert!(
        rest.is_empty(),
        "no part after the permit ended: {} bytes",
        rest.len()
    );
}

#[test]
fn a_stalled_viewer_neither_slows_another_nor_stays_forever() {
    // Two connection slots: the stalled viewer and the reader. A third client gets in only
    // once the server has dropped the stalled one, which the test observes without reading
    // from the stalled socket (reading would un-stall it).
    let server = TestServer::start(Limits {
        max_connections: 2,
        ..short_limits()
    });
    let open_stream = || {
        let mut stream = connect(server.addr);
        stream.write_all(b"GET /stream HTTP/1.0\r\n\r\n").unwrap();
        stream
    };
    let _stalled = open_stream();
    let mut reader = BufReader::new(open_stream());
    let head = read_reply(&mut reader, true);
    assert_eq!(head.status, 200);
    // Publish far more than the stalled client's socket buffers can hold, while the other
    // viewer keeps reading: it must see every part it asks for, in order.
    let mut seen = Vec::new();
    for label in 1..=200 {
        server.broadcast.publish(part(label));
        seen.extend(read_parts(&mut reader, 1));
    }
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "parts out of order");
    assert_eq!(*seen.last().unwrap(), 200);
    wait_for("the stalled viewer to be dropped", || {
        (exchange(server.addr, b"GET /fixed HTTP/1.0\r\n\r\n").status == 200).then_some(())
    });
}

#[test]
fn a_slow_viewer_skips_to_the_newest_part() {
    let server = TestServer::start(Limits::default());
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /stream HTTP/1.1\r\n\r\n").unwrap();
    let mut reader = BufReader::new(stream);
    assert_eq!(
        read_reply(&mut reader, true).header("Connection"),
        Some("close")
    );
    server.broadcast.publish(part(1));
    assert_eq!(read_parts(&mut reader, 1), vec![1]);
    for label in 2..=100 {
        server.broadcast.publish(part(label));
    }
    // Whatever was in flight may arrive, but the last part published always does, and
    // the reader never receives the whole backlog.
    let mut labels = Vec::new();
    while labels.last() != Some(&100) {
        labels.extend(read_parts(&mut reader, 1));
    }
    assert!(
        labels.len() < 99,
        "received a queue of {} parts",
        labels.len()
    );
}

#[test]
fn methods_other_than_get_head_post_are_refused() {
    let server = TestServer::start(Limits::default());
    let reply = exchange(server.addr, b"DELETE / HTTP/1.1\r\n\r\n");
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("unsupported method"));
}
