//! Which targets a plan builds: --target, the default targets, custom target specifications, and tables that name no target.

use super::*;

/// The targets to build: --target, else `default-target` from the
/// environment (CROSS_BUILD_TARGET), else CARGO_BUILD_TARGET, else
/// `default-target` from Cross.toml or Cargo.toml, else the host.
pub fn select_targets(inv: &Invocation, settings: &Settings, host: &Host) -> Vec<String> {
    if !inv.targets.is_empty() {
        return inv.targets.clone();
    }
    if let Some(t) = &settings.env_default_target {
        return vec![t.clone()];
    }
    if !settings.cargo_build_target.is_empty() {
        return settings.cargo_build_target.clone();
    }
    if let Some(t) = &settings.default_target {
        return vec![t.clone()];
    }
    vec![host.triple.clone()]
}

/// `--target path/to/name.json`: a custom target specification, which
/// cargo reads inside the build, so it must be inside the workspace. Its
/// name (the file's stem, as cargo names the target) and its path relative
/// to the workspace root.
pub(super) fn custom_spec(target: &str, ws: &Workspace) -> Result<Option<(String, PathBuf)>> {
    if !target.ends_with(".json") {
        return Ok(None);
    }
    let given = Path::new(target);
    let host = crate::config::trust::normalize(&ws.root.join(&ws.workdir).join(given));
    let rel = host.strip_prefix(&ws.root).map_err(|_| {
        Error::Usage(format!(
            "`--target {target}`: cargo reads a target specification inside the build, so it must be inside the workspace ({})\n  help: move it into the workspace",
            ws.root.display()
        ))
    })?;
    let name = host
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string();
    let valid = name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if !valid {
        return Err(Error::Usage(format!(
            "`--target {target}`: the file's name is the target's name, `{name}`, which takes lowercase letters, digits, `.`, `_` and `-`\n  help: rename the file"
        )));
    }
    crate::guard::build_path(&rel.to_string_lossy(), "--target")?;
    Ok(Some((name, rel.to_path_buf())))
}

/// `[target.<name>]` tables of the configuration files whose name is no
/// target green-cross knows: their settings would never apply.
pub(super) fn unknown_target_tables(
    settings: &Settings,
    recipes: &Recipes,
    asked: &[String],
) -> Vec<String> {
    let mut out = Vec::new();
    // A custom target specification's table is named by the file's stem.
    let spec_names: Vec<&str> = asked
        .iter()
        .filter(|t| t.ends_with(".json"))
        .filter_map(|t| Path::new(t).file_stem()?.to_str())
        .collect();
    for layer in &settings.layers {
        for name in layer.config.target.keys() {
            if spec_names.contains(&name.as_str()) {
                continue;
            }
            // A triple of a target green-cross does not build (a cross
            // user's table for mips, say) is left alone; a typo or a name
            // that is no triple is not.
            let Err(Error::UnknownTarget { suggestion, .. }) = recipes.get(name) else {
                continue;
            };
            let a_triple = name.parse::<target_lexicon::Triple>().is_ok();
            if suggestion.is_some() || !a_triple {
                let hint = suggestion.map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                out.push(format!(
                    "{}: [target.{name}] is not a target green-cross knows, so its settings are never used{hint} (`green-cross targets` lists them)",
                    layer.name
                ));
            }
        }
    }
    out
}
