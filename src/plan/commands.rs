//! The cargo commands of the dependencies stage and their skeleton directory.

use super::*;

/// The user's cargo arguments after green-cross's own: `--locked` and
/// `--offline`, which the build always gives, once (cargo refuses them
/// twice). Arguments after `--` belong to the program and are kept.
pub(super) fn extend_with_user_args(cargo: &mut Vec<String>, user: &[String]) {
    let end = user.iter().position(|a| a == "--").unwrap_or(user.len());
    let ours = |a: &String| matches!(a.as_str(), "--locked" | "--offline") && cargo.contains(a);
    let kept: Vec<String> = user[..end].iter().filter(|a| !ours(a)).cloned().collect();
    cargo.extend(kept);
    cargo.extend(user[end..].iter().cloned());
}

/// A cargo flag that changes only what cargo prints (verbosity, colour).
pub(super) fn is_output_flag(a: &str) -> bool {
    matches!(a, "--verbose" | "--quiet" | "-q")
        || a.starts_with("--color=")
        || a.starts_with("--message-format=")
        || (a.len() > 1 && a.starts_with('-') && a[1..].chars().all(|c| c == 'v'))
}

/// The dependencies stage's commands, from the build step's cargo command:
/// the same cargo subcommand and arguments (so that dependencies compile
/// with the same features, profile and flags, and the build step finds
/// them fresh) without the flags that change only what cargo prints,
/// `--no-run` where the build step runs binaries, no arguments after `--`,
/// and [`DEPS_DIR`] as the target dir. Then `cargo clean` of the
/// workspace's packages for the same target and profile.
pub(super) fn deps_commands(
    cargo: &[String],
    runs_binaries: bool,
    triple: &str,
    inv: &Invocation,
    ws: &Workspace,
) -> (Vec<String>, Vec<String>) {
    // Up to `--`; how much cargo says changes nothing it builds, so `-v`
    // must not make a new dependencies layer.
    let end = cargo.iter().position(|a| a == "--").unwrap_or(cargo.len());
    let mut build: Vec<String> = Vec::with_capacity(end);
    let mut args = cargo[..end].iter();
    while let Some(a) = args.next() {
        if a == "--color" {
            args.next();
        } else if !is_output_flag(a) {
            build.push(a.clone());
        }
    }
    if let Some(i) = build.iter().position(|a| a == "--target-dir") {
        build[i + 1] = DEPS_DIR.into();
    }
    if runs_binaries && !build.iter().any(|a| a == "--no-run") {
        build.push("--no-run".into());
    }
    let mut clean: Vec<String> = [
        "cargo",
        "clean",
        "--quiet",
        "--offline",
        "--target",
        triple,
        "--target-dir",
        DEPS_DIR,
        "--profile",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    clean.push(inv.profile_name());
    if let Some(mp) = &ws.manifest {
        clean.push(format!(
            "--manifest-path={}",
            ws_dir(ws).join(mp).to_string_lossy()
        ));
    }
    // Path dependencies outside the workspace are stubs in the skeleton
    // too.
    let mut names: Vec<&str> = ws
        .packages
        .iter()
        .map(|p| p.name.as_str())
        .chain(ws.outside.iter().map(|p| p.name.as_str()))
        .collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        clean.extend(["-p".to_string(), n.to_string()]);
    }
    (build, clean)
}

/// The directory, under [`SRC_DIR`], where the dependencies stage runs
/// cargo: the build's own directory when the skeleton has it, else the
/// nearest directory above it with a manifest in the skeleton.
pub(super) fn skeleton_dir_for(skeleton: &[SkeletonFile], workdir: &Path) -> String {
    let best = skeleton
        .iter()
        .filter_map(|f| match f {
            SkeletonFile::Copy(p) if p.file_name().is_some_and(|n| n == "Cargo.toml") => {
                p.parent().map(Path::to_path_buf)
            }
            _ => None,
        })
        .filter(|d| workdir.starts_with(d))
        .max_by_key(|d| d.components().count())
        .unwrap_or_default();
    Path::new(SRC_DIR)
        .join(best)
        .to_string_lossy()
        .trim_end_matches('/')
        .to_string()
}
