//! The HTTP/1.1 the test servers speak: one request head at a time,
//! request bodies by Content-Length, responses by Content-Length or
//! chunked, connections kept alive until the client closes them or asks
//! to; and a listener on 127.0.0.1 with a thread per
//! connection that stops, and closes every connection, when dropped.

use std::collections::HashMap;
use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a connection may sit idle before the server closes it.
pub const IDLE: Duration = Duration::from_secs(30);

/// A request: its line, its headers (names as sent) and its body.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// As sent: origin form (`/index/config.json`), absolute form
    /// (`http://host/…`, to a proxy) or authority form (`host:443`, CONNECT).
    pub target: String,
    pub version: String,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Request {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// Whether the client closes the connection after this request.
    pub fn closes(&self) -> bool {
        match self.header("connection") {
            Some(v) => v.eq_ignore_ascii_case("close"),
            None => self.version == "HTTP/1.0",
        }
    }
}

pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Header names and values, in order.
pub type Headers = Vec<(String, String)>;

/// A request or status line and its headers, up to the empty line; None
/// when the connection ends before one starts.
fn read_head(r: &mut impl BufRead) -> io::Result<Option<(String, Headers)>> {
    let mut first = String::new();
    loop {
        first.clear();
        if r.read_line(&mut first)? == 0 {
            return Ok(None);
        }
        // Tolerate empty lines between requests (RFC 9112, 2.2).
        if !first.trim().is_empty() {
            break;
        }
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the connection ended in a request head",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("bad header: {line:?}"))
        })?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    Ok(Some((first.trim_end().to_string(), headers)))
}

fn content_length(headers: &[(String, String)]) -> io::Result<usize> {
    match header(headers, "content-length") {
        None => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length")),
    }
}

/// The next request on a connection; None when the client closed it.
pub fn read_request(r: &mut impl BufRead) -> io::Result<Option<Request>> {
    let Some((line, headers)) = read_head(r)? else {
        return Ok(None);
    };
    let mut parts = line.split_whitespace();
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("bad request line: {line:?}"),
        ));
    };
    if header(&headers, "transfer-encoding").is_some() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "chunked request bodies are not supported",
        ));
    }
    let mut body = vec![0; content_length(&headers)?];
    r.read_exact(&mut body)?;
    Ok(Some(Request {
        method: method.into(),
        target: target.into(),
        version: version.into(),
        headers,
        body,
    }))
}

/// A response to send.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Headers,
    pub body: Vec<u8>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: vec![],
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Status line, headers, Content-Length and `Connection` (close when
    /// `close`), then the body.
    pub fn write_to(&self, w: &mut impl Write, close: bool) -> io::Result<()> {
        write_head(
            w,
            self.status,
            &self.headers,
            Framing::Length(self.body.len() as u64),
            close,
        )?;
        w.write_all(&self.body)?;
        w.flush()
    }
}

/// How a response's body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`.
    Length(u64),
    /// `Transfer-Encoding: chunked` (see [`copy_chunked`]).
    Chunked,
    /// The end of the connection (`Connection: close`).
    UntilClose,
}

/// A response's status line, its headers, what delimits its body, and
/// `Connection` (close when `close`, and always for
/// [`Framing::UntilClose`]).
pub fn write_head(
    w: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    framing: Framing,
    close: bool,
) -> io::Result<()> {
    let mut head = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    match framing {
        Framing::Length(n) => head.push_str(&format!("Content-Length: {n}\r\n")),
        Framing::Chunked => head.push_str("Transfer-Encoding: chunked\r\n"),
        Framing::UntilClose => {}
    }
    let close = close || framing == Framing::UntilClose;
    head.push_str(&format!(
        "Connection: {}\r\n\r\n",
        if close { "close" } else { "keep-alive" }
    ));
    w.write_all(head.as_bytes())
}

/// Copy `r` to `w` as a chunked body, a chunk for each read, then the last
/// (empty) chunk; the bytes copied.
pub fn copy_chunked(r: &mut impl Read, w: &mut impl Write) -> io::Result<u64> {
    let mut buf = vec![0; 64 * 1024];
    let mut total = 0;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut chunk = format!("{n:x}\r\n").into_bytes();
        chunk.extend_from_slice(&buf[..n]);
        chunk.extend_from_slice(b"\r\n");
        w.write_all(&chunk)?;
        total += n as u64;
    }
    w.write_all(b"0\r\n\r\n")?;
    w.flush()?;
    Ok(total)
}

/// A response read back (from an upstream server, by the proxy), its body
/// whole: chunks joined, without the headers that framed it.
pub fn read_response(r: &mut impl BufRead, to_head: bool) -> io::Result<Response> {
    let (line, headers) = read_head(r)?
        .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "no response from upstream"))?;
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad status line: {line:?}"),
            )
        })?;
    let no_body = to_head || status / 100 == 1 || status == 204 || status == 304;
    let mut body = Vec::new();
    if no_body {
    } else if header(&headers, "content-length").is_some() {
        body.resize(content_length(&headers)?, 0);
        r.read_exact(&mut body)?;
    } else if let Some(te) = header(&headers, "transfer-encoding") {
        if !te.eq_ignore_ascii_case("chunked") {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("unsupported Transfer-Encoding: {te}"),
            ));
        }
        body = read_chunked(r)?;
    } else {
        // Delimited by the end of the connection.
        r.read_to_end(&mut body)?;
    }
    let headers = headers
        .into_iter()
        .filter(|(k, _)| {
            ![
                "content-length",
                "transfer-encoding",
                "connection",
                "keep-alive",
            ]
            .iter()
            .any(|h| k.eq_ignore_ascii_case(h))
        })
        .collect();
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A chunked body, its chunks joined (trailers skipped).
fn read_chunked(r: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut body = Vec::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(bad("the connection ended in a chunked body"));
        }
        let size = line.trim_end().split(';').next().unwrap_or("");
        let size = usize::from_str_radix(size.trim(), 16).map_err(|_| bad("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                line.clear();
                if r.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..])?;
        let mut crlf = [0; 2];
        r.read_exact(&mut crlf)?;
        if &crlf != b"\r\n" {
            return Err(bad("a chunk does not end with CRLF"));
        }
    }
}

pub fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        _ => "Unknown",
    }
}

/// The open connections of a [`Listener`], shut down when it is dropped;
/// the proxy adds its upstream connections.
#[derive(Clone, Default)]
pub struct Connections(Arc<Mutex<(u64, HashMap<u64, TcpStream>)>>);

/// A connection in [`Connections`], until this is dropped.
pub struct Tracked {
    connections: Connections,
    id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.connections.0.lock().unwrap().1.remove(&self.id);
    }
}

impl Connections {
    pub fn add(&self, s: &TcpStream) -> Tracked {
        let mut all = self.0.lock().unwrap();
        all.0 += 1;
        let id = all.0;
        if let Ok(s) = s.try_clone() {
            all.1.insert(id, s);
        }
        Tracked {
            connections: self.clone(),
            id,
        }
    }

    fn close_all(&self) {
        for (_, s) in self.0.lock().unwrap().1.drain() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

/// A TCP listener on 127.0.0.1 (a free port) calling `serve` for each
/// connection on a thread of its own. Dropping it stops accepting and shuts
/// every connection down, which ends their threads.
pub struct Listener {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    connections: Connections,
    accept: Option<JoinHandle<()>>,
}

impl Listener {
    pub fn start<F>(serve: F) -> Listener
    where
        F: Fn(TcpStream, &Connections) + Send + Sync + 'static,
    {
        Listener::start_on([127, 0, 0, 1].into(), serve)
    }

    /// The same on another address of this machine.
    pub fn start_on<F>(ip: std::net::IpAddr, serve: F) -> Listener
    where
        F: Fn(TcpStream, &Connections) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind((ip, 0)).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let connections = Connections::default();
        let serve = Arc::new(serve);
        let accept = {
            let (stop, connections) = (stop.clone(), connections.clone());
            std::thread::spawn(move || {
                for s in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(s) = s else { continue };
                    let _ = s.set_read_timeout(Some(IDLE));
                    let _ = s.set_nodelay(true);
                    let tracked = connections.add(&s);
                    let (serve, connections) = (serve.clone(), connections.clone());
                    std::thread::spawn(move || {
                        serve(s, &connections);
                        drop(tracked);
                    });
                }
            })
        };
        Listener {
            addr,
            stop,
            connections,
            accept: Some(accept),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop up so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
        self.connections.close_all();
    }
}
