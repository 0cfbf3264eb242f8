//! A private git repository over HTTP: a bare repository holding one crate,
//! served by `git http-backend` (smart HTTP, run as a CGI program for each
//! request) behind Basic credentials wanted on every request, on 127.0.0.1
//! (a free port). [`HttpGitServer::start_https`] puts TLS in front, with a
//! certificate of its own for 127.0.0.1 made by `openssl` and a relay in
//! Python; clients trust it through the file [`HttpGitServer::ca_file`]
//! names (`CARGO_HTTP_CAINFO`, `GIT_SSL_CAINFO`).
//!
//! [`GitHome`] is what the tests give cargo and git: a HOME whose
//! `.gitconfig` names git's `store` credential helper and its file.

use super::git_repo::{bare_repo, git, run};
use super::http::{self, Framing, Listener, Request, Response};
use super::{Credentials, TestCrate, basic_auth};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// One request the server answered.
#[derive(Clone, Debug)]
pub struct GitRequest {
    pub method: String,
    /// The path, e.g. `/repo.git/info/refs`, `/repo.git/git-upload-pack`.
    pub path: String,
    /// What followed `?`, e.g. `service=git-upload-pack`.
    pub query: String,
    pub credentials: Credentials,
    pub status: u16,
    /// The `Git-Protocol` header (`version=2` from clients speaking
    /// protocol v2).
    pub git_protocol: Option<String>,
    /// The `Content-Encoding` of the request body (`gzip` from the git CLI
    /// for larger requests).
    pub content_encoding: Option<String>,
    pub user_agent: Option<String>,
    /// Which connection it came on (1 for the first the server accepted).
    pub connection: usize,
    /// What went wrong answering it, if anything (status 500 when it went
    /// wrong before the response's head was sent).
    pub error: Option<String>,
}

struct State {
    /// `Basic <base64(user:password)>`.
    expected: String,
    user: String,
    /// GIT_PROJECT_ROOT: the directory holding `repo.git`.
    root: PathBuf,
    log: Mutex<Vec<GitRequest>>,
    connections: AtomicUsize,
}

/// The server; it stops, and its directory is removed, when dropped.
pub struct HttpGitServer {
    tls: Option<TlsRelay>,
    listener: Listener,
    state: Arc<State>,
    password: String,
    // Last: removed once the server is gone.
    dir: tempfile::TempDir,
}

/// The programs the HTTP git tests need, or the test fails saying what to
/// install.
pub fn require_tools(tls: bool) {
    let mut tools = vec![("git", "git")];
    if tls {
        tools.extend([("openssl", "openssl"), ("python3", "python3")]);
    }
    for (tool, package) in tools {
        if which::which(tool).is_err() {
            panic!("no {tool} on the PATH: install {package} to run the HTTP git tests");
        }
    }
}

impl HttpGitServer {
    /// `krate` committed to a bare repository at
    /// `http://127.0.0.1:<port>/repo.git`, wanting `user` and `password`
    /// (no characters that need escaping in a URL) on every request.
    pub fn start(user: &str, password: &str, krate: &TestCrate) -> HttpGitServer {
        HttpGitServer::start_with(user, password, krate, false)
    }

    /// The same at `https://127.0.0.1:<port>/repo.git`.
    pub fn start_https(user: &str, password: &str, krate: &TestCrate) -> HttpGitServer {
        HttpGitServer::start_with(user, password, krate, true)
    }

    fn start_with(user: &str, password: &str, krate: &TestCrate, tls: bool) -> HttpGitServer {
        require_tools(tls);
        let dir = tempfile::Builder::new()
            .prefix("green-cross-http-git-")
            .tempdir()
            .unwrap();
        let root = dir.path().join("served");
        std::fs::create_dir(&root).unwrap();
        let repo = bare_repo(&root, krate);
        // Only the bare repository is served.
        std::fs::remove_dir_all(root.join("work")).unwrap();
        assert!(repo.is_dir());
        let state = Arc::new(State {
            expected: basic_auth(user, password),
            user: user.into(),
            root,
            log: Mutex::new(vec![]),
            connections: AtomicUsize::new(0),
        });
        let listener = {
            let state = state.clone();
            Listener::start(move |s, _| serve(s, &state))
        };
        let tls = tls.then(|| TlsRelay::start(dir.path(), listener.addr()));
        HttpGitServer {
            tls,
            listener,
            state,
            password: password.into(),
            dir,
        }
    }

    /// `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        match &self.tls {
            Some(t) => format!("https://127.0.0.1:{}", t.port),
            None => format!("http://{}", self.listener.addr()),
        }
    }

    /// The repository's URL: `<origin>/repo.git`.
    pub fn url(&self) -> String {
        format!("{}/repo.git", self.origin())
    }

    /// Where the HTTP server listens (behind the TLS relay for https).
    pub fn addr(&self) -> SocketAddr {
        self.listener.addr()
    }

    pub fn user(&self) -> &str {
        &self.state.user
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// The line git's `store` helper keeps for the server:
    /// `<scheme>://<user>:<password>@127.0.0.1:<port>`.
    pub fn credential_line(&self) -> String {
        self.credential_line_with(&self.password)
    }

    /// The same with another password.
    pub fn credential_line_with(&self, password: &str) -> String {
        let origin = self.origin();
        let (scheme, authority) = origin.split_once("://").unwrap();
        format!("{scheme}://{}:{password}@{authority}", self.state.user)
    }

    /// The certificate an https server presents (self-signed, for
    /// 127.0.0.1 and localhost), to trust: `CARGO_HTTP_CAINFO`,
    /// `GIT_SSL_CAINFO`, `SSL_CERT_FILE`. None for http.
    pub fn ca_file(&self) -> Option<&Path> {
        self.tls.as_ref().map(|t| t.cert.as_path())
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<GitRequest> {
        self.state.log.lock().unwrap().clone()
    }

    /// The commit `main` points at, the crate's only one.
    pub fn commit(&self) -> String {
        run(git(&self.state.root.join("repo.git")).args(["rev-parse", "main"]))
            .trim()
            .to_string()
    }
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        if let Some(t) = self.tls.as_mut() {
            let _ = t.relay.kill();
            let _ = t.relay.wait();
        }
    }
}

impl State {
    /// Add `entry` to the log; its index there.
    fn record(&self, entry: GitRequest) -> usize {
        let mut log = self.log.lock().unwrap();
        log.push(entry);
        log.len() - 1
    }
}

fn serve(s: TcpStream, state: &State) {
    let connection = state.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let Ok(mut w) = s.try_clone() else { return };
    let mut r = BufReader::new(s);
    while let Ok(Some(req)) = http::read_request(&mut r) {
        let credentials = Credentials::check(req.header("authorization"), &state.expected);
        let (path, query) = match req.target.split_once('?') {
            Some((p, q)) => (p.to_string(), q.to_string()),
            None => (req.target.clone(), String::new()),
        };
        let mut entry = GitRequest {
            method: req.method.clone(),
            path,
            query,
            credentials,
            status: 0,
            git_protocol: req.header("git-protocol").map(str::to_string),
            content_encoding: req.header("content-encoding").map(str::to_string),
            user_agent: req.header("user-agent").map(str::to_string),
            connection,
            error: None,
        };
        let close = if credentials != Credentials::Matched {
            entry.status = 401;
            // No body: libgit2 1.9 (cargo's) sends its next request on
            // the same connection without reading a 401's body, then reads
            // that body as the next response's head ("http parser error:
            // Expected HTTP/").
            let resp =
                Response::new(401, "").with_header("WWW-Authenticate", "Basic realm=\"git\"");
            let close = req.closes();
            state.record(entry);
            resp.write_to(&mut w, close).is_err() || close
        } else {
            http_backend(&req, entry, state, &mut w)
        };
        if close {
            break;
        }
    }
    let _ = w.shutdown(std::net::Shutdown::Both);
}

/// Answer `req` by running `git http-backend` as a CGI program: the request
/// body on its stdin, its headers (`Status:`, `Content-Type:` …) turned into
/// the response's, its body copied on as it comes: by its length when it
/// gives one, else chunked. `entry` goes into the log before the response's
/// head is sent (a client that has its answer finds it there). Returns
/// whether the connection is to be closed.
fn http_backend(req: &Request, mut entry: GitRequest, state: &State, w: &mut TcpStream) -> bool {
    let mut c = Command::new("git");
    c.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &state.root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_PROJECT_ROOT", &state.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GATEWAY_INTERFACE", "CGI/1.1")
        .env("SERVER_PROTOCOL", &req.version)
        .env("REQUEST_METHOD", &req.method)
        .env("PATH_INFO", &entry.path)
        .env("QUERY_STRING", &entry.query)
        .env("REMOTE_USER", &state.user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", req.body.len().to_string())
        .env("CONTENT_TYPE", req.header("content-type").unwrap_or(""));
    // The other headers as CGI passes them (HTTP_GIT_PROTOCOL,
    // HTTP_CONTENT_ENCODING, which http-backend reads), but the
    // credentials.
    for (k, v) in &req.headers {
        let skip = ["authorization", "content-type", "content-length"];
        if skip.iter().any(|h| k.eq_ignore_ascii_case(h)) {
            continue;
        }
        c.env(format!("HTTP_{}", k.to_uppercase().replace('-', "_")), v);
    }
    let spawned = c
        .current_dir(&state.root)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut logged = None;
    let answered = match spawned {
        Ok(mut child) => {
            let answered = relay_cgi(&mut child, req, w, |status| {
                entry.status = status;
                logged = Some(state.record(entry.clone()));
            });
            if answered.is_err() {
                let _ = child.kill();
            }
            let _ = child.wait();
            answered
        }
        Err(e) => Err(e),
    };
    match answered {
        Ok(close) => close,
        Err(e) => {
            match logged {
                // The status sent stays.
                Some(i) => state.log.lock().unwrap()[i].error = Some(e.to_string()),
                None => {
                    entry.status = 500;
                    entry.error = Some(e.to_string());
                    state.record(entry);
                    let _ = Response::new(500, format!("{e}\n")).write_to(w, true);
                }
            }
            true
        }
    }
}

/// Relay the CGI program's answer; `on_head` is called with its status
/// before anything is sent. Whether the connection is to be closed.
fn relay_cgi(
    child: &mut Child,
    req: &Request,
    w: &mut TcpStream,
    on_head: impl FnOnce(u16),
) -> io::Result<bool> {
    // The body goes in on a thread of its own, so that a program that
    // writes before it has read it all cannot block both sides.
    let mut stdin = child.stdin.take().unwrap();
    let body = req.body.clone();
    let feed = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut status = 200;
    let mut headers = vec![];
    let mut length = None;
    loop {
        let mut line = String::new();
        if out.read_line(&mut line)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "http-backend ended in its headers",
            ));
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let Some((k, v)) = line.split_once(':') else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("bad CGI header: {line:?}"),
            ));
        };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("status") {
            status = v
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(500);
        } else if k.eq_ignore_ascii_case("content-length") {
            length = v.parse::<u64>().ok();
        } else {
            headers.push((k.to_string(), v.to_string()));
        }
    }
    // What http-backend streams without a length goes on in chunks (to
    // an HTTP/1.0 client, to the end of the connection).
    let framing = match length {
        Some(n) => Framing::Length(n),
        None if req.version == "HTTP/1.1" => Framing::Chunked,
        None => Framing::UntilClose,
    };
    let close = req.closes() || framing == Framing::UntilClose;
    on_head(status);
    http::write_head(w, status, &headers, framing, close)?;
    match framing {
        Framing::Length(n) => {
            let copied = io::copy(&mut (&mut out).take(n), w)?;
            if copied != n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "http-backend's body is shorter than its Content-Length",
                ));
            }
        }
        Framing::Chunked => {
            http::copy_chunked(&mut out, w)?;
        }
        Framing::UntilClose => {
            io::copy(&mut out, w)?;
        }
    }
    w.flush()?;
    let _ = feed.join();
    Ok(close)
}

/// TLS for the server: a Python relay (its `ssl` module) on 127.0.0.1
/// decrypting each connection onto one of its own to the HTTP server, with
/// a self-signed certificate for 127.0.0.1 and localhost.
struct TlsRelay {
    relay: Child,
    port: u16,
    cert: PathBuf,
}

const TLS_RELAY: &str = r#"
import asyncio, ssl, sys

cert, key, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)

async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        else:
            writer.close()
    except (OSError, ssl.SSLError):
        writer.close()

async def relay(client_r, client_w):
    try:
        up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream)
    except OSError:
        client_w.close()
        return
    await asyncio.gather(pipe(client_r, up_w), pipe(up_r, client_w))
    up_w.close()
    client_w.close()

async def main():
    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()

asyncio.run(main())
"#;

impl TlsRelay {
    fn start(dir: &Path, upstream: SocketAddr) -> TlsRelay {
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=green-cross test git server",
                "-addext",
                "subjectAltName=IP:127.0.0.1,DNS:localhost",
                "-keyout",
            ])
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stderr(Stdio::null()));
        let log = std::fs::File::create(dir.join("tls-relay.log")).unwrap();
        let mut relay = Command::new("python3")
            .arg("-c")
            .arg(TLS_RELAY)
            .arg(&cert)
            .arg(&key)
            .arg(upstream.port().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        let read = BufReader::new(relay.stdout.take().unwrap()).read_line(&mut line);
        let port = read.ok().and_then(|_| line.trim().parse::<u16>().ok());
        let Some(port) = port else {
            let _ = relay.kill();
            let _ = relay.wait();
            panic!(
                "the TLS relay did not start:\n{}",
                std::fs::read_to_string(dir.join("tls-relay.log")).unwrap_or_default()
            );
        };
        TlsRelay { relay, port, cert }
    }
}

/// A HOME for cargo and git (set on their Command, as `HOME`): its
/// `.gitconfig` names git's `store` helper with a file of its own, or no
/// helper at all. Removed when dropped.
pub struct GitHome {
    dir: tempfile::TempDir,
}

impl GitHome {
    /// `credential.helper = store --file <HOME>/git-credentials`, the file
    /// holding `lines` (`http://user:password@127.0.0.1:<port>`, as
    /// [`HttpGitServer::credential_line`] spells them).
    pub fn with_credential_store(lines: &[String]) -> GitHome {
        let home = GitHome::empty();
        let file = home.credentials_file();
        std::fs::write(
            &file,
            lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
        )
        .unwrap();
        std::fs::write(
            home.path().join(".gitconfig"),
            format!("[credential]\n\thelper = store --file {}\n", file.display()),
        )
        .unwrap();
        home
    }

    /// An empty `.gitconfig`: no credential helper.
    pub fn empty() -> GitHome {
        let dir = tempfile::Builder::new()
            .prefix("green-cross-git-home-")
            .tempdir()
            .unwrap();
        std::fs::write(dir.path().join(".gitconfig"), "").unwrap();
        GitHome { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The store helper's file (`git-credentials`).
    pub fn credentials_file(&self) -> PathBuf {
        self.dir.path().join("git-credentials")
    }

    /// What the store helper's file holds now (git erases what the server
    /// refused).
    pub fn credentials(&self) -> String {
        std::fs::read_to_string(self.credentials_file()).unwrap_or_default()
    }
}
