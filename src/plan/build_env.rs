//! The build step's environment: passthrough, volumes, secrets and rustflags.

use super::*;
use crate::config::TargetSettings;

/// `pre-build`, as it runs at the end of the sysroot stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PreBuildPlan {
    /// Shell commands, run in one step, in order, stopping at the first failure.
    pub commands: Vec<String>,
    /// A script from the workspace (path relative to its root), copied in
    /// and run with the target triple as its argument.
    pub script: Option<String>,
    /// Exported for the commands: CROSS_TARGET, CROSS_DEB_ARCH.
    pub env: BTreeMap<String, String>,
}

/// A host directory from `env.volumes`, handed to BuildKit as a named
/// context and mounted in the build step at its own path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// The variable that names it (set to the path in the build step).
    pub var: String,
    pub path: PathBuf,
    /// The named build context.
    pub context: String,
}

/// Variables that `env.passthrough` may not set: green-cross sets them
/// itself, or they would point the build at host paths.
pub const PASSTHROUGH_RESERVED: &[&str] = &[
    "CARGO_HOME",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "CARGO_BUILD_RUSTC",
    "CARGO_BUILD_RUSTC_WRAPPER",
    "CARGO_BUILD_RUSTC_WORKSPACE_WRAPPER",
    "CARGO_BUILD_RUSTDOC",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTDOC",
    "PATH",
    "HOME",
];

/// `env.passthrough` entries (lowest precedence first) as the variables
/// they set: `NAME=VALUE` as written, `NAME` from the environment when it is
/// set there. Reserved names are dropped with a warning.
pub(super) fn resolve_passthrough(
    entries: &[String],
    env: &Env,
    triple: &str,
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for e in entries {
        let (name, value) = match e.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.to_string())),
            None => (e.trim(), None),
        };
        if PASSTHROUGH_RESERVED.contains(&name) {
            let w = format!(
                "{triple}: env.passthrough cannot set {name} (green-cross sets it inside the build); ignored"
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
            continue;
        }
        let host = env.get(name);
        if let (None, Some(v)) = (&value, host) {
            crate::guard::env_value(name, v)?;
        }
        match value.or_else(|| host.map(str::to_string)) {
            Some(v) => {
                out.insert(name.to_string(), v);
            }
            None => {
                out.remove(name);
            }
        }
    }
    Ok(out)
}

/// Make cargo use the target's own rustflags (the recipe's, lld,
/// crt-static) together with the user's. cargo takes the first that is set
/// of CARGO_ENCODED_RUSTFLAGS, RUSTFLAGS, the target's rustflags (the
/// environment's and the configuration files' joined) and build.rustflags,
/// and drops the rest; so green-cross's flags go first into the one the
/// user's flags are in. `build_env` already holds the user's variables
/// passed through as they are, and the target's rustflags (green-cross's,
/// then the user's CARGO_TARGET_<TRIPLE>_RUSTFLAGS).
pub(super) fn place_rustflags(
    ours: &[String],
    target_key: &str,
    env: &Env,
    config_build: Option<&[String]>,
    build_env: &mut BTreeMap<String, String>,
) {
    if ours.is_empty() {
        return;
    }
    let joined = |first: String, sep: &str, then: &str| {
        if then.is_empty() {
            first
        } else {
            format!("{first}{sep}{then}")
        }
    };
    if let Some(encoded) = env.get("CARGO_ENCODED_RUSTFLAGS") {
        build_env.insert(
            "CARGO_ENCODED_RUSTFLAGS".into(),
            joined(ours.join("\x1f"), "\x1f", encoded),
        );
    } else if let Some(flags) = env.get("RUSTFLAGS") {
        build_env.insert(
            "RUSTFLAGS".into(),
            joined(ours.join(" "), " ", flags.trim()),
        );
    } else if env.get(target_key).is_none() {
        // build.rustflags, which cargo would drop for the target's.
        let build = env
            .get("CARGO_BUILD_RUSTFLAGS")
            .map(|f| f.split_whitespace().map(String::from).collect::<Vec<_>>())
            .or_else(|| config_build.map(<[String]>::to_vec))
            .unwrap_or_default();
        if !build.is_empty() {
            build_env.insert(
                target_key.to_string(),
                ours.iter()
                    .chain(&build)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
}

/// Variables passed to the build step without being named in
/// `env.passthrough`: the flags and profile settings cargo and rustc read,
/// and the test harness's own.
pub const AUTOMATIC_PASSTHROUGH: &[&str] = &[
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    "CARGO_ENCODED_RUSTFLAGS",
    "CARGO_ENCODED_RUSTDOCFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_BUILD_RUSTDOCFLAGS",
    "CARGO_INCREMENTAL",
    "CARGO_TERM_COLOR",
    "CARGO_TERM_VERBOSE",
    "RUST_BACKTRACE",
    "RUST_LOG",
    "RUST_TEST_THREADS",
    "RUST_TEST_NOCAPTURE",
    "RUST_MIN_STACK",
    "QEMU_STRACE",
];

/// The automatic passthrough present in `env`: [`AUTOMATIC_PASSTHROUGH`],
/// CARGO_PROFILE_* and CARGO_TARGET_<TRIPLE>_RUSTFLAGS.
pub(super) fn automatic_passthrough(env: &Env) -> Result<Vec<(String, String)>> {
    env.iter()
        .filter(|(k, _)| {
            AUTOMATIC_PASSTHROUGH.contains(k)
                || k.starts_with("CARGO_PROFILE_")
                || (k.starts_with("CARGO_TARGET_") && k.ends_with("_RUSTFLAGS"))
        })
        .map(|(k, v)| {
            crate::guard::env_name(k, "a variable of the environment")?;
            crate::guard::env_value(k, v)?;
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// The BuildKit secret id of the host variable `name` (`env.secrets`).
pub fn secret_id(name: &str) -> String {
    format!("green-cross-env-{name}")
}

/// `env.secrets` names whose variable is set on the host, sorted; an unset
/// one is a warning (the build runs without it, as cargo would).
pub(super) fn resolve_secrets(
    names: &[String],
    env: &Env,
    triple: &str,
    warnings: &mut Vec<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for n in names {
        if env.get(n).is_some() {
            out.push(n.clone());
        } else {
            let w = format!(
                "{triple}: env.secrets names ${n}, which is not set; the build runs without it"
            );
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
    }
    sorted(out)
}

/// `env.volumes` entries: `NAME` (a directory named by the environment's
/// $NAME) or `NAME=/path`. Paths must be absolute.
pub(super) fn resolve_volumes(
    entries: &[String],
    env: &Env,
    triple: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<Volume>> {
    let mut out: Vec<Volume> = Vec::new();
    for e in entries {
        let (name, path) = match e.split_once('=') {
            Some((n, p)) => (n.trim(), p.to_string()),
            None => {
                let n = e.trim();
                match env.value(n) {
                    Some(p) => {
                        crate::guard::build_path(p, format_args!("${n} (environment)"))?;
                        (n, p.to_string())
                    }
                    // cross mounts nothing for an unset variable.
                    None => {
                        warnings.push(format!(
                            "{triple}: env.volumes names ${n}, which is not set, so nothing is mounted for it\n  help: set it to a directory, or write `{n}=/path`"
                        ));
                        continue;
                    }
                }
            }
        };
        let path = PathBuf::from(path);
        if !path.is_absolute() {
            return Err(Error::InvalidSetting {
                key: "env.volumes".into(),
                value: e.clone(),
                message: format!("{triple}: `{}` is not an absolute path", path.display()),
            });
        }
        let context = format!(
            "green-cross-volume-{}",
            name.to_ascii_lowercase().replace('_', "-")
        );
        out.retain(|v| v.var != name);
        out.push(Volume {
            var: name.to_string(),
            path,
            context,
        });
    }
    Ok(out)
}

/// `-C target-feature=±crt-static` when the release settings change the
/// target's default, or the target links statically by default.
pub(super) fn crt_static_flags(r: &Recipe, release: &ReleaseSettings) -> Vec<String> {
    let crt_static = release.crt_static.unwrap_or(r.crt_static);
    if crt_static == r.crt_static && !r.crt_static {
        return vec![];
    }
    let sign = if crt_static { '+' } else { '-' };
    vec!["-C".into(), format!("target-feature={sign}crt-static")]
}

/// The release settings as CARGO_PROFILE_<PROFILE>_* (not for dev and
/// test); strip off where rustc cannot strip for the target.
pub(super) fn profile_env(
    r: &Recipe,
    release: &ReleaseSettings,
    profile: &str,
    warnings: &mut Vec<String>,
) -> BTreeMap<String, String> {
    let prof_up = profile.to_uppercase().replace('-', "_");
    let key = |k: &str| format!("CARGO_PROFILE_{prof_up}_{k}");
    let mut env = BTreeMap::new();
    if !matches!(profile, "dev" | "test") {
        let values = [
            ("LTO", release.lto.clone()),
            (
                "CODEGEN_UNITS",
                release.codegen_units.map(|v| v.to_string()),
            ),
            ("STRIP", release.strip.clone()),
            ("PANIC", release.panic.map(|v| v.as_str().to_string())),
            ("OPT_LEVEL", release.opt_level.clone()),
        ];
        env.extend(values.into_iter().filter_map(|(k, v)| Some((key(k), v?))));
    }
    if !r.strip {
        let strip = key("STRIP");
        if env.get(&strip).is_some_and(|v| v != "false" && v != "none") {
            warnings.push(format!(
                "{}: strip is not supported inside the build for this target; the binary is left unstripped",
                r.triple
            ));
        }
        env.insert(strip, "false".into());
    }
    env
}

/// Variables cargo and rustc read pass through by themselves, as with
/// cross: the environment wins over Cross.toml's release settings, and the
/// target's rustflags from the environment come after the recipe's.
pub(super) fn merge_automatic(
    build_env: &mut BTreeMap<String, String>,
    automatic: &[(String, String)],
    rustflags_key: &str,
) {
    for (k, v) in automatic.iter().cloned() {
        if k == rustflags_key {
            let merged = match build_env.get(&k) {
                Some(ours) if !v.trim().is_empty() => format!("{ours} {v}"),
                Some(ours) => ours.clone(),
                None => v.clone(),
            };
            build_env.insert(k, merged);
        } else if !k.starts_with("CARGO_TARGET_") {
            build_env.insert(k, v);
        }
    }
}

/// What the host hands a target's build: `env.volumes`, `env.secrets`, and
/// the variables of the program under `run` (passthrough and the automatic
/// ones).
pub(super) struct HostValues {
    pub volumes: Vec<Volume>,
    pub secrets: Vec<String>,
    pub program_env: BTreeMap<String, String>,
}

/// env.passthrough: the build step's environment (so, part of its cache
/// key); env.volumes: host directories as named contexts, their variables
/// set; env.secrets: names only.
pub(super) fn host_values(
    ts: &TargetSettings,
    env: &Env,
    triple: &str,
    automatic: &[(String, String)],
    build_env: &mut BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<HostValues> {
    let passthrough = resolve_passthrough(&ts.passthrough, env, triple, warnings)?;
    let volumes = resolve_volumes(&ts.volumes, env, triple, warnings)?;
    let secrets = resolve_secrets(&ts.secrets, env, triple, warnings);
    let mut program_env = passthrough.clone();
    for (k, v) in automatic.iter().cloned() {
        program_env.entry(k).or_insert(v);
    }
    for (k, v) in &passthrough {
        build_env.entry(k.clone()).or_insert_with(|| v.clone());
    }
    for v in &volumes {
        let p = v.path.to_string_lossy().into_owned();
        build_env.insert(v.var.clone(), p.clone());
        program_env.insert(v.var.clone(), p);
    }
    Ok(HostValues {
        volumes,
        secrets,
        program_env,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Preset;

    fn recipe(triple: &str) -> Recipe {
        Recipes::embedded().unwrap().get(triple).unwrap().clone()
    }

    #[test]
    fn crt_static_is_named_where_the_target_or_the_settings_want_it() {
        let musl = recipe("x86_64-unknown-linux-musl");
        let gnu = recipe("x86_64-unknown-linux-gnu");
        let none = ReleaseSettings::default();
        assert_eq!(
            crt_static_flags(&musl, &none),
            ["-C", "target-feature=+crt-static"]
        );
        assert!(crt_static_flags(&gnu, &none).is_empty());
        let on = ReleaseSettings {
            crt_static: Some(true),
            ..none.clone()
        };
        assert_eq!(
            crt_static_flags(&gnu, &on),
            ["-C", "target-feature=+crt-static"]
        );
        let off = ReleaseSettings {
            crt_static: Some(false),
            ..none
        };
        assert_eq!(
            crt_static_flags(&musl, &off),
            ["-C", "target-feature=-crt-static"]
        );
    }

    #[test]
    fn release_settings_reach_every_profile_but_dev_and_test() {
        let gnu = recipe("x86_64-unknown-linux-gnu");
        let size = ReleaseSettings {
            preset: Some(Preset::Size),
            ..Default::default()
        }
        .with_preset_applied();
        let mut w = vec![];
        let env = profile_env(&gnu, &size, "release", &mut w);
        assert_eq!(env["CARGO_PROFILE_RELEASE_OPT_LEVEL"], "z");
        assert_eq!(env["CARGO_PROFILE_RELEASE_LTO"], "fat");
        assert_eq!(
            profile_env(&gnu, &size, "my-prof", &mut w)["CARGO_PROFILE_MY_PROF_PANIC"],
            "abort"
        );
        assert!(profile_env(&gnu, &size, "dev", &mut w).is_empty());
        // rustc cannot strip Mach-O files here: off, and said when asked.
        let mac = recipe("aarch64-apple-darwin");
        let env = profile_env(&mac, &size, "release", &mut w);
        assert_eq!(env["CARGO_PROFILE_RELEASE_STRIP"], "false");
        assert!(w[0].contains("strip is not supported"), "{w:?}");
    }
}
