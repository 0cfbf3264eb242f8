//! A private git repository over ssh: a bare repository holding one crate,
//! served by an sshd of its own on 127.0.0.1 (a free port, a generated host
//! key, public keys only, for the current user), and an ssh-agent holding
//! the one key it accepts. Nothing outside a temporary directory is read
//! or written (no ~/.ssh); both daemons are killed and the directory
//! removed on drop.

use super::git_repo::{bare_repo, run};
use super::{TestCrate, free_port};
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server, the agent and the repository.
pub struct SshGitServer {
    sshd: Option<Child>,
    agent: Child,
    port: u16,
    user: String,
    repo: PathBuf,
    agent_sock: PathBuf,
    host_key: String,
    key_fingerprint: String,
    key_comment: String,
    log: PathBuf,
    // Last: removed after the daemons are gone.
    dir: tempfile::TempDir,
}

/// Where sshd is: Debian's place, else the PATH.
fn sshd_path() -> PathBuf {
    let debian = Path::new("/usr/sbin/sshd");
    if debian.exists() {
        return debian.to_path_buf();
    }
    which::which("sshd").unwrap_or_else(|_| {
        panic!(
            "no sshd (neither /usr/sbin/sshd nor on the PATH): install openssh-server \
             (ci/setup-engine.sh installs it) to run the ssh tests"
        )
    })
}

/// Fail, saying what to install, when a program the ssh tests need is
/// missing.
pub fn require_tools() -> PathBuf {
    let sshd = sshd_path();
    for (tool, package) in [
        ("ssh", "openssh-client"),
        ("ssh-agent", "openssh-client"),
        ("ssh-add", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
        ("git", "git"),
    ] {
        if which::which(tool).is_err() {
            panic!(
                "no {tool} on the PATH: install {package} (ci/setup-engine.sh installs it) \
                 to run the ssh tests"
            );
        }
    }
    sshd
}

/// Wait until this sshd says it listens on the port (not another program
/// that took the port first) and answers there with an SSH banner.
fn wait_for_banner(port: u16, sshd: &mut Child, log: &Path) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    let listening = format!("Server listening on 127.0.0.1 port {port}.");
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if let Some(status) = sshd.try_wait().unwrap() {
            return Err(format!(
                "sshd ended ({status}):\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        let bound = std::fs::read_to_string(log).is_ok_and(|l| l.contains(&listening));
        if !bound {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut line = String::new();
            if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("SSH-2.0-") {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "sshd did not answer on 127.0.0.1:{port} within 10 s:\n{}",
        std::fs::read_to_string(log).unwrap_or_default()
    ))
}

impl SshGitServer {
    /// Start it all: `krate` committed to a bare repository, an agent
    /// holding a new ed25519 key whose comment is `key_comment`, and an
    /// sshd accepting that key (only) for the current user.
    pub fn start(key_comment: &str, krate: &TestCrate) -> SshGitServer {
        let sshd_bin = require_tools();
        let dir = tempfile::Builder::new()
            .prefix("green-cross-ssh-git-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let user = run(Command::new("id").arg("-un")).trim().to_string();
        let is_root = run(Command::new("id").arg("-u")).trim() == "0";

        let repo = bare_repo(d, krate);

        // The keys.
        let keygen = |file: &str, comment: &str| {
            run(Command::new("ssh-keygen").args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                comment,
                "-f",
                d.join(file).to_str().unwrap(),
            ]));
        };
        keygen("host_ed25519", "green-cross test sshd");
        keygen("id_ed25519", key_comment);
        let public = std::fs::read_to_string(d.join("id_ed25519.pub")).unwrap();
        std::fs::write(d.join("authorized_keys"), format!("restrict {public}")).unwrap();
        let host_key = std::fs::read_to_string(d.join("host_ed25519.pub")).unwrap();
        let host_key = host_key
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ");
        let key_fingerprint = run(Command::new("ssh-keygen").args([
            "-l",
            "-E",
            "sha256",
            "-f",
            d.join("id_ed25519.pub").to_str().unwrap(),
        ]))
        .split_whitespace()
        .nth(1)
        .expect("a fingerprint")
        .to_string();

        // The agent, in the foreground so that it is this child.
        let agent_sock = d.join("agent.sock");
        let agent = Command::new("ssh-agent")
            .args(["-D", "-a", agent_sock.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("ssh-agent starts");
        let start = Instant::now();
        while !agent_sock.exists() && start.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // From here on, a failure still ends the agent (and sshd) on drop.
        let mut server = SshGitServer {
            sshd: None,
            agent,
            port: 0,
            user,
            repo,
            agent_sock,
            host_key,
            key_fingerprint,
            key_comment: key_comment.into(),
            log: d.join("sshd.log"),
            dir,
        };
        let d = server.dir.path().to_path_buf();
        assert!(server.agent_sock.exists(), "ssh-agent made no socket");
        run(Command::new("ssh-add")
            .arg("-q")
            .arg(d.join("id_ed25519"))
            .env("SSH_AUTH_SOCK", &server.agent_sock));

        // sshd: a few tries, should another program take the free port
        // first.
        let mut errors = vec![];
        for _ in 0..3 {
            let port = free_port();
            let mut config = format!(
                "ListenAddress 127.0.0.1:{port}\n\
                 HostKey {host}\n\
                 PidFile {pid}\n\
                 AuthorizedKeysFile {keys}\n\
                 AuthenticationMethods publickey\n\
                 PubkeyAuthentication yes\n\
                 PasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\n\
                 UsePAM {pam}\n\
                 StrictModes no\n\
                 AllowUsers {user}\n\
                 LogLevel VERBOSE\n",
                host = d.join("host_ed25519").display(),
                pid = d.join("sshd.pid").display(),
                keys = d.join("authorized_keys").display(),
                user = server.user,
                // An sshd run by another user than root cannot read
                // /etc/shadow and, without PAM, takes the account for a
                // locked one; PAM (pam_unix's helper) checks it. Root's
                // sshd does without, as ci/setup-engine.sh's.
                pam = if is_root { "no" } else { "yes" },
            );
            if is_root {
                config.push_str("PermitRootLogin prohibit-password\n");
            }
            let config_file = d.join("sshd_config");
            // Newer sshds hold failed logins against their source address
            // for a while; the failure tests must not slow the next ones.
            std::fs::write(&config_file, format!("{config}PerSourcePenalties no\n")).unwrap();
            let check = Command::new(&sshd_bin)
                .args(["-t", "-f"])
                .arg(&config_file)
                .output()
                .unwrap();
            if !check.status.success() {
                let why = String::from_utf8_lossy(&check.stderr).into_owned();
                if why.contains("PerSourcePenalties") {
                    std::fs::write(&config_file, &config).unwrap();
                } else {
                    panic!(
                        "sshd -t refuses its configuration:\n{why}\n(as root sshd also wants \
                         /run/sshd, which the openssh-server package and ci/setup-engine.sh make)"
                    );
                }
            }
            let log = File::create(&server.log).unwrap();
            let mut sshd = Command::new(&sshd_bin)
                .args(["-D", "-e", "-f"])
                .arg(&config_file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .process_group(0)
                .spawn()
                .expect("sshd starts");
            match wait_for_banner(port, &mut sshd, &server.log) {
                Ok(()) => {
                    server.sshd = Some(sshd);
                    server.port = port;
                    return server;
                }
                Err(e) => {
                    let _ = sshd.kill();
                    let _ = sshd.wait();
                    errors.push(e);
                }
            }
        }
        panic!("sshd did not start:\n{}", errors.join("\n---\n"));
    }

    /// `ssh://<user>@127.0.0.1:<port>/<path of the repository>`.
    /// A new commit of the served crate with this `src/lib.rs`.
    pub fn commit_lib(&self, lib_rs: &str) {
        super::git_repo::commit_lib(&self.repo, lib_rs);
    }

    pub fn url(&self) -> String {
        format!(
            "ssh://{}@127.0.0.1:{}{}",
            self.user,
            self.port,
            self.repo.display()
        )
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    /// The agent's socket, for SSH_AUTH_SOCK.
    pub fn agent_sock(&self) -> &Path {
        &self.agent_sock
    }

    /// The comment of the key in the agent.
    pub fn key_comment(&self) -> &str {
        &self.key_comment
    }

    /// `SHA256:…` of the key in the agent, as sshd logs it.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }

    /// The server's known_hosts line: `[127.0.0.1]:<port> ssh-ed25519 …`.
    pub fn known_hosts_line(&self) -> String {
        format!("[127.0.0.1]:{} {}", self.port, self.host_key)
    }

    /// A known_hosts file holding that line only.
    pub fn known_hosts_file(&self) -> PathBuf {
        let f = self.dir.path().join("known_hosts");
        std::fs::write(&f, format!("{}\n", self.known_hosts_line())).unwrap();
        f
    }

    /// Cargo's configuration accepting the server's host key (for libgit2;
    /// `net.ssh.known-hosts`).
    pub fn cargo_known_hosts(&self) -> String {
        format!(
            "[net.ssh]\nknown-hosts = [\"{}\"]\n",
            self.known_hosts_line()
        )
    }

    /// GIT_SSH_COMMAND for git (cargo's `net.git-fetch-with-cli`): no ssh
    /// configuration files, the server's host key only, never a prompt,
    /// keys from the agent.
    pub fn git_ssh_command(&self) -> String {
        let known_hosts = self.known_hosts_file();
        shell_words::join([
            "ssh",
            "-F",
            "none",
            "-o",
            &format!("UserKnownHostsFile={}", known_hosts.display()),
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=no",
            "-o",
            "ConnectTimeout=10",
        ])
    }

    /// What sshd logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The fingerprints of the keys sshd accepted, one per login.
    pub fn accepted_keys(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("Accepted publickey for "))
            .filter_map(|l| l.split_whitespace().last().map(str::to_string))
            .collect()
    }
}

impl Drop for SshGitServer {
    fn drop(&mut self) {
        for child in self.sshd.iter_mut().chain([&mut self.agent]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
