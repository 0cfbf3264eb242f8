//! The shared cache of a plan: its tags from the triples, the toolchain and
//! the branch.

use super::*;

/// The cache plan: `--cache` over the settings; a repository that cannot
/// be used is a warning; the branch is GitHub Actions' own name first (its
/// checkouts are detached), then git's.
pub(super) fn shared_cache(
    input: &PlanInput,
    rust_version: &RustupToolchain,
    triples: &[String],
    warnings: &mut Vec<String>,
) -> Result<CachePlan> {
    let (inv, ws) = (input.invocation, input.workspace);
    let mut settings = input.settings.cache.clone();
    if let Some(c) = &inv.cache {
        settings.cache = Some(c.clone());
    }
    if let Some(w) = crate::cache::unusable_repository(&settings) {
        warnings.push(w);
        settings.cache = None;
    }
    let env_nonempty = |k: &str| input.env.value(k).map(str::to_string);
    let branch = env_nonempty("GITHUB_HEAD_REF")
        .or_else(|| env_nonempty("GITHUB_REF_NAME"))
        .or_else(|| ws.git_branch.clone());
    let default_branch =
        env_nonempty("GREEN_CROSS_CACHE_DEFAULT_BRANCH").or_else(|| ws.git_default_branch.clone());
    let toolchain = match input.settings.toolchain {
        ToolchainMode::Distro => "distro".to_string(),
        ToolchainMode::Rustup => rust_version.label().to_string(),
    };
    cache_plan(
        &settings,
        &CacheFacts {
            triples,
            toolchain: &toolchain,
            branch: branch.as_deref(),
            default_branch: default_branch.as_deref(),
        },
    )
}
