//! Proxies: the host's HTTP(S)_PROXY, NO_PROXY and ALL_PROXY reach every
//! build step that downloads (apt, apk, rustup, pip, cargo's fetch,
//! pre-build) as a BuildKit secret, a shell file each of those steps
//! reads: never an argument, an ENV of a layer or a cache key. The
//! Dockerfile mounts the secret whether or not a proxy is set, so that
//! setting one changes no layer's cache key.

use crate::env::Env;

/// The secret's id.
pub const SECRET_ID: &str = "green-cross-proxy";

/// The variables, as curl, apt, pip and cargo read them: each exported in
/// both spellings, the upper-case one's value first.
const VARIABLES: &[&str] = &["HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY"];

/// The step's first command: the proxies, when the secret was handed in.
pub fn source_command() -> String {
    format!("if [ -f /run/secrets/{SECRET_ID} ]; then . /run/secrets/{SECRET_ID}; fi")
}

/// (name, value) of each proxy variable set on the host, upper-case names.
fn set(env: &Env) -> Vec<(&'static str, &str)> {
    VARIABLES
        .iter()
        .filter_map(|&v| {
            let value = env
                .value(v)
                .or_else(|| env.value(&v.to_ascii_lowercase()))?;
            Some((v, value))
        })
        .collect()
}

/// The secret's text, when a proxy variable is set: `export` lines whose
/// values are single-quoted, so that no value can end the word.
pub fn script(env: &Env) -> Option<String> {
    let vars = set(env);
    if vars.is_empty() {
        return None;
    }
    let mut s = String::new();
    for (name, value) in vars {
        let quoted = shell_words::quote(value);
        s.push_str(&format!(
            "export {name}={quoted} {}={quoted}\n",
            name.to_ascii_lowercase()
        ));
    }
    Some(s)
}

/// A warning for each proxy that points at this machine's loopback, which
/// the build's containers cannot reach (their 127.0.0.1 is their own). It
/// names the variable, never its value (which may hold a password).
pub fn loopback_warnings(env: &Env) -> Vec<String> {
    set(env)
        .into_iter()
        .filter(|(name, value)| *name != "NO_PROXY" && is_loopback(value))
        .map(|(name, _)| format!(
            "{name} points at this machine's loopback, which the build's steps cannot reach (a container's 127.0.0.1 is its own)\n  help: point it at an address the engine's containers reach, such as the docker bridge's (172.17.0.1 by default), with the proxy listening there"
        ))
        .collect()
}

/// Whether a proxy URL's host is a loopback name or address.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or(rest);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or(v6)
    } else {
        host_port.split(':').next().unwrap_or(host_port)
    };
    host.eq_ignore_ascii_case("localhost") || host.starts_with("127.") || host == "::1"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_variable_is_exported_in_both_spellings_quoted() {
        let env = Env::from([
            ("https_proxy", "http://u:p'w@proxy:3128"),
            ("NO_PROXY", "localhost,.corp"),
            ("HTTP_PROXY", ""),
        ]);
        let s = script(&env).unwrap();
        assert_eq!(
            s,
            "export HTTPS_PROXY='http://u:p'\\''w@proxy:3128' https_proxy='http://u:p'\\''w@proxy:3128'\nexport NO_PROXY=localhost,.corp no_proxy=localhost,.corp\n"
        );
        assert!(script(&Env::new()).is_none());
        // What sh reads back is the value, whole.
        let o = std::process::Command::new("sh")
            .args(["-c", &format!("{s}printf %s \"$https_proxy\"")])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&o.stdout),
            "http://u:p'w@proxy:3128"
        );
    }

    #[test]
    fn a_loopback_proxy_is_named_without_its_value() {
        let env = Env::from([
            ("HTTPS_PROXY", "http://user:secret@127.0.0.1:3128"),
            ("HTTP_PROXY", "http://[::1]:8080"),
            ("ALL_PROXY", "socks5://proxy.corp:1080"),
            ("NO_PROXY", "127.0.0.1"),
        ]);
        let w = loopback_warnings(&env);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].starts_with("HTTP_PROXY") && w[1].starts_with("HTTPS_PROXY"));
        assert!(w.iter().all(|w| !w.contains("secret")));
        assert!(is_loopback("localhost:3128") && !is_loopback("http://10.0.0.1:3128"));
    }
}
