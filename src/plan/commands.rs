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

/// The build step's cargo command: green-cross's part (`own`), the user's
/// arguments, what green-cross adds after them (`--no-run`, `run`'s
/// `--bin`), and, with `program_args`, `--` and the arguments after it.
pub(super) fn build_command(
    own: &[String],
    inv: &Invocation,
    added: &[String],
    program_args: bool,
) -> Vec<String> {
    let mut cargo = own.to_vec();
    extend_with_user_args(&mut cargo, &inv.cargo_args);
    cargo.extend(added.iter().cloned());
    if program_args && !inv.trailing.is_empty() {
        cargo.push("--".into());
        cargo.extend(inv.trailing.iter().cloned());
    }
    cargo
}

/// The dependencies stage's commands, from the build step's: the same
/// cargo subcommand and arguments (so that dependencies compile with the
/// same features, profile and flags, and the build step finds them fresh)
/// without the flags that change only what cargo prints (the invocation's
/// `build_args`: how much cargo says changes nothing it builds, so `-v`
/// must not make a new dependencies layer), `--no-run` where the build step
/// runs binaries, no arguments after `--`, and [`DEPS_DIR`] as the target
/// dir. Then `cargo clean` of the workspace's packages for the same target
/// and profile.
pub(super) fn deps_commands(
    cx: &PlanContext,
    own: &[String],
    added: &[String],
    triple: &str,
) -> (Vec<String>, Vec<String>) {
    let (inv, ws) = (cx.input.invocation, cx.input.workspace);
    let mut build = own.to_vec();
    if let Some(i) = build.iter().position(|a| a == "--target-dir") {
        build[i + 1] = DEPS_DIR.into();
    }
    extend_with_user_args(&mut build, &inv.build_args);
    build.extend(added.iter().cloned());
    if cx.runs_binaries && !build.iter().any(|a| a == "--no-run") {
        build.push("--no-run".into());
    }
    let mut clean = clean_command(cx, triple, DEPS_DIR);
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
    // Private dependencies compile here like the others, but leave the
    // layer (which a shared cache exports) unless cache-private-deps.
    if !cx.input.settings.cache_private_deps {
        for p in &ws.private {
            clean.extend(["-p".to_string(), p.spec()]);
        }
    }
    (build, clean)
}

/// `cargo clean` for the target and profile of the build, in `target_dir`;
/// the packages (`-p`) are the caller's.
fn clean_command(cx: &PlanContext, triple: &str, target_dir: &str) -> Vec<String> {
    let (inv, ws) = (cx.input.invocation, cx.input.workspace);
    let mut clean: Vec<String> = [
        "cargo",
        "clean",
        "--quiet",
        "--offline",
        "--target",
        triple,
        "--target-dir",
        target_dir,
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
    clean
}

/// The build step's `cargo clean` of the private packages in its cached
/// target directory, run when the vendored packages are not the ones it
/// was built from (cargo takes a vendored package of an unchanged version
/// as fresh); empty without private packages.
pub(super) fn private_clean(cx: &PlanContext, triple: &str) -> Vec<String> {
    let private = &cx.input.workspace.private;
    if private.is_empty() {
        return Vec::new();
    }
    let mut clean = clean_command(cx, triple, TARGET_DIR);
    for p in private {
        clean.extend(["-p".to_string(), p.spec()]);
    }
    clean
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
