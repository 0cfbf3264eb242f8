//! An HTTP forward proxy wanting Basic credentials: requests in absolute
//! form (`GET http://host/path`) are forwarded, CONNECT opens a tunnel.
//! Host names it is given an address for reach that address whatever the
//! port asked for, so a made-up name (`corp-registry.invalid`) leads to a
//! local server only through the proxy; other names are resolved as usual.

use super::basic_auth;
use super::http::{self, Connections, Listener, Request, Response};
use std::collections::BTreeMap;
use std::io::{self, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a request carried in `Proxy-Authorization`.
pub use super::Credentials;

/// One request the proxy handled.
#[derive(Clone, Debug)]
pub struct ProxyRequest {
    /// `GET`, `CONNECT`, …
    pub method: String,
    /// As asked: `http://corp-registry.invalid/index/config.json`, or
    /// `host:port` for CONNECT.
    pub target: String,
    /// `host:port` it was for.
    pub authority: String,
    pub credentials: Credentials,
    /// Where it went, when it went anywhere.
    pub upstream: Option<SocketAddr>,
    /// Who asked (a build's container has an address of its own).
    pub peer: Option<SocketAddr>,
    /// The status the client got (200 for an open tunnel).
    pub status: u16,
}

struct State {
    /// `Basic <base64(user:password)>`.
    expected: String,
    hosts: BTreeMap<String, SocketAddr>,
    log: Mutex<Vec<ProxyRequest>>,
}

/// The proxy; it stops, and closes its tunnels, when dropped.
pub struct ForwardProxy {
    listener: Listener,
    state: Arc<State>,
    user: String,
    password: String,
}

impl ForwardProxy {
    /// A proxy on 127.0.0.1 wanting `user` and `password`, sending requests
    /// for the host names in `hosts` to their address.
    pub fn start(user: &str, password: &str, hosts: &[(&str, SocketAddr)]) -> ForwardProxy {
        ForwardProxy::start_on([127, 0, 0, 1].into(), user, password, hosts)
    }

    /// The same on another address of this machine (the docker bridge's,
    /// which a build's containers reach).
    pub fn start_on(
        ip: std::net::IpAddr,
        user: &str,
        password: &str,
        hosts: &[(&str, SocketAddr)],
    ) -> ForwardProxy {
        let state = Arc::new(State {
            expected: basic_auth(user, password),
            hosts: hosts
                .iter()
                .map(|(h, a)| (h.to_ascii_lowercase(), *a))
                .collect(),
            log: Mutex::new(vec![]),
        });
        let listener = {
            let state = state.clone();
            Listener::start_on(ip, move |s, conns| serve(s, &state, conns))
        };
        ForwardProxy {
            listener,
            state,
            user: user.into(),
            password: password.into(),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    /// `http://user:password@127.0.0.1:<port>`, for `CARGO_HTTP_PROXY`,
    /// `http_proxy` or `HTTPS_PROXY` (user and password as given: no
    /// characters that need escaping).
    pub fn url(&self) -> String {
        format!("http://{}:{}@{}", self.user, self.password, self.addr())
    }

    /// The same without credentials.
    pub fn url_without_credentials(&self) -> String {
        format!("http://{}", self.addr())
    }

    /// Every request handled so far, in order.
    pub fn requests(&self) -> Vec<ProxyRequest> {
        self.state.log.lock().unwrap().clone()
    }
}

fn serve(s: TcpStream, state: &State, conns: &Connections) {
    let peer = s.peer_addr().ok();
    let Ok(mut w) = s.try_clone() else { return };
    let mut r = BufReader::new(s);
    while let Ok(Some(req)) = http::read_request(&mut r) {
        let credentials = Credentials::check(req.header("proxy-authorization"), &state.expected);
        let mut entry = ProxyRequest {
            method: req.method.clone(),
            target: req.target.clone(),
            authority: String::new(),
            credentials,
            upstream: None,
            peer,
            status: 0,
        };
        let close = req.closes();
        if credentials != Credentials::Matched {
            entry.status = 407;
            state.log.lock().unwrap().push(entry);
            let resp = Response::new(407, "Proxy credentials wanted.\n").with_header(
                "Proxy-Authenticate",
                "Basic realm=\"green-cross test proxy\"",
            );
            if resp.write_to(&mut w, close).is_err() || close {
                return;
            }
            continue;
        }
        if req.method == "CONNECT" {
            entry.authority = req.target.clone();
            let upstream = connect(state, &req.target, conns);
            entry.upstream = upstream.as_ref().ok().map(|(a, _, _)| *a);
            let Ok((_, up, tracked)) = upstream else {
                entry.status = 502;
                state.log.lock().unwrap().push(entry);
                let _ = Response::new(502, "cannot reach the host\n").write_to(&mut w, true);
                return;
            };
            entry.status = 200;
            state.log.lock().unwrap().push(entry);
            if w.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                .is_err()
            {
                return;
            }
            tunnel(r, w, up);
            drop(tracked);
            return;
        }
        let resp = match forward(state, &req, &mut entry, conns) {
            Ok(resp) => resp,
            Err(e) => Response::new(502, format!("{e}\n")),
        };
        entry.status = resp.status;
        state.log.lock().unwrap().push(entry);
        if resp.write_to(&mut w, close).is_err() || close {
            return;
        }
    }
}

/// A connection to `authority` (`host:port`): the mapped address of the
/// host when it has one, else the host resolved.
fn connect(
    state: &State,
    authority: &str,
    conns: &Connections,
) -> io::Result<(SocketAddr, TcpStream, http::Tracked)> {
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (
            h,
            p.parse::<u16>()
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "bad port"))?,
        ),
        _ => (authority, 80),
    };
    let addr = match state.hosts.get(&host.to_ascii_lowercase()) {
        Some(a) => *a,
        None => (host.trim_matches(['[', ']']), port)
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no address"))?,
    };
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(http::IDLE))?;
    let tracked = conns.add(&s);
    Ok((addr, s, tracked))
}

/// Send a request in absolute form on to its host, in origin form, on a
/// connection of its own; the response read back whole.
fn forward(
    state: &State,
    req: &Request,
    entry: &mut ProxyRequest,
    conns: &Connections,
) -> io::Result<Response> {
    let rest = req.target.strip_prefix("http://").ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not an http:// URL: {}", req.target),
        )
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    entry.authority = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let (addr, up, _tracked) = connect(state, &entry.authority, conns)?;
    entry.upstream = Some(addr);
    let mut head = format!("{} {path} HTTP/1.1\r\n", req.method);
    for (k, v) in &req.headers {
        let hop = [
            "connection",
            "keep-alive",
            "proxy-authorization",
            "proxy-connection",
        ]
        .iter()
        .any(|h| k.eq_ignore_ascii_case(h));
        if !hop {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut w = up.try_clone()?;
    w.write_all(head.as_bytes())?;
    w.write_all(&req.body)?;
    w.flush()?;
    let resp = http::read_response(&mut BufReader::new(up), req.method == "HEAD");
    let _ = w.shutdown(Shutdown::Both);
    resp
}

/// Copy bytes both ways until either side closes; what the client sent
/// after the CONNECT head (already buffered) goes first.
fn tunnel(client_r: BufReader<TcpStream>, mut client_w: TcpStream, upstream: TcpStream) {
    let Ok(mut up_w) = upstream.try_clone() else {
        return;
    };
    let mut up_r = upstream;
    let pending = client_r.buffer().to_vec();
    let mut client_r = client_r.into_inner();
    let to_upstream = std::thread::spawn(move || {
        let _ = up_w.write_all(&pending);
        let _ = io::copy(&mut client_r, &mut up_w);
        let _ = up_w.shutdown(Shutdown::Write);
    });
    let _ = io::copy(&mut up_r, &mut client_w);
    let _ = client_w.shutdown(Shutdown::Both);
    let _ = to_upstream.join();
}
