//! The command lines of `docker buildx build`: for a plan's stages, and for
//! a user's Dockerfile (`dockerfile`).

use std::path::Path;

use super::Contexts;
use crate::plan::{
    BuildPlan, CA_SECRET_ID, CustomImage, FRESH_ARG, MACOS_SDK_CONTEXT, SKELETON_CONTEXT, Stage,
};

/// The label of every image green-cross loads into the engine (runner
/// images, `dockerfile` images and their bases), valued with the image's
/// repository: `docker image prune -a --filter label=dev.green-cross.image`
/// removes them all (the next build that needs one makes it again).
pub const IMAGE_LABEL: &str = "dev.green-cross.image";

/// Load the build's image into the engine under `tag`, labelled as
/// green-cross's own. Its new layers are compressed with zstd, not gzip: a
/// runner image (toolchain, target packages, qemu or wine) is a few GB, and
/// loading an image with a 3 GB layer into a containerd image store took
/// 89 s with gzip and 35 s with zstd on two cores. Layers that already have
/// a blob keep it. Docker's classic image store ignores the option; a
/// docker-container builder sends the image to `docker load`, which reads
/// zstd layers from engine 23 on (README's minimum).
fn load_args(tag: &str) -> [String; 6] {
    let repository = tag.rsplit_once(':').map_or(tag, |(r, _)| r);
    [
        "--output".into(),
        "type=docker,compression=zstd".into(),
        "--tag".into(),
        tag.into(),
        "--label".into(),
        format!("{IMAGE_LABEL}={repository}"),
    ]
}

/// What a `docker buildx build` produces.
#[derive(Debug, Clone, Copy)]
pub enum Export<'a> {
    /// The outputs stage, as files in a local directory.
    Local(&'a Path),
    /// One stage, loaded into the engine as an image with this tag.
    Load { stage: &'a Stage, tag: &'a str },
}

/// `key=value` as one field of buildx's comma-separated options
/// (`--output`, `--secret`): quoted as CSV when the value holds a comma, a
/// quote or a line break, so that a path cannot end the field or add one.
fn csv_field(key: &str, value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{key}={}\"", value.replace('"', "\"\""))
    } else {
        format!("{key}={value}")
    }
}

/// The `docker buildx build` arguments for a plan (without the program).
pub fn buildx_args(
    plan: &BuildPlan,
    contexts: &Contexts,
    export: Export,
    progress: &str,
    build_opts: &[String],
) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "buildx".into(),
        "build".into(),
        format!("--progress={progress}"),
        "--file".into(),
        contexts.dockerfile.display().to_string(),
        "--build-context".into(),
        format!("{SKELETON_CONTEXT}={}", contexts.skeleton.display()),
    ];
    let mut volumes: Vec<&crate::plan::Volume> =
        plan.targets.iter().flat_map(|t| &t.volumes).collect();
    volumes.sort_by(|x, y| x.context.cmp(&y.context));
    volumes.dedup_by(|x, y| x.context == y.context);
    for v in volumes {
        a.push("--build-context".into());
        a.push(format!("{}={}", v.context, v.path.display()));
    }
    for (i, o) in plan.outside.iter().enumerate() {
        a.push("--build-context".into());
        a.push(format!(
            "{}={}",
            crate::plan::outside_context(i),
            o.dir.display()
        ));
    }
    if let Some(v) = &contexts.vendor {
        a.push("--build-context".into());
        a.push(format!("{}={}", crate::vendor::CONTEXT, v.display()));
    }
    if let Some(sdk) = plan.targets.iter().find_map(|t| t.macos_sdk.as_ref()) {
        a.push("--build-context".into());
        a.push(format!("{MACOS_SDK_CONTEXT}={}", sdk.display()));
    }
    a.extend(build_opts.iter().cloned());
    // The shared cache: read by every build of the plan, written by the
    // one that produces the artifacts.
    for f in &plan.cache.from {
        a.extend(["--cache-from".into(), f.clone()]);
    }
    if matches!(export, Export::Local(_)) {
        for t in &plan.cache.to {
            a.extend(["--cache-to".into(), t.clone()]);
        }
    }
    match export {
        Export::Local(out_dir) => a.extend([
            "--target".into(),
            Stage::Out.to_string(),
            "--output".into(),
            format!(
                "type=local,{}",
                csv_field("dest", &out_dir.display().to_string())
            ),
        ]),
        Export::Load { stage, tag } => {
            a.extend(["--target".into(), stage.to_string()]);
            a.extend(load_args(tag));
        }
    }
    if plan.targets.iter().any(|t| t.fresh) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        a.push("--build-arg".into());
        a.push(format!(
            "{FRESH_ARG}={}-{}",
            now.as_nanos(),
            std::process::id()
        ));
    }
    // env.secrets: buildx reads each from its own environment, which is
    // green-cross's; the value is never on a command line.
    let mut secrets: Vec<&String> = plan.targets.iter().flat_map(|t| &t.secrets).collect();
    secrets.sort();
    secrets.dedup();
    for name in secrets {
        a.push("--secret".into());
        a.push(format!("id={},env={name}", crate::plan::secret_id(name)));
    }
    if let Some(ca) = &plan.ca_bundle {
        a.push("--secret".into());
        a.push(format!(
            "id={CA_SECRET_ID},{}",
            csv_field("src", &ca.display().to_string())
        ));
    }
    if let Some(p) = &contexts.proxy {
        a.push("--secret".into());
        a.push(format!(
            "id={},{}",
            crate::proxy::SECRET_ID,
            csv_field("src", &p.display().to_string())
        ));
    }
    a.push(plan.workspace_root.display().to_string());
    a
}

/// The `docker buildx build` arguments that build the user's Dockerfile
/// (`dockerfile`) and load it into the engine.
pub fn custom_image_args(c: &CustomImage, build_opts: &[String]) -> Vec<String> {
    let mut a: Vec<String> = vec![
        "buildx".into(),
        "build".into(),
        "--progress=plain".into(),
        "--file".into(),
        c.file.display().to_string(),
    ];
    for (k, v) in &c.build_args {
        a.push("--build-arg".into());
        a.push(format!("{k}={v}"));
    }
    a.extend(load_args(&c.tag));
    a.extend(build_opts.iter().cloned());
    a.push(c.context.display().to_string());
    a
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn paths_in_buildx_options_are_quoted_as_csv_when_they_need_it() {
        assert_eq!(csv_field("dest", "/w/app/target"), "dest=/w/app/target");
        assert_eq!(csv_field("dest", "/w/a b/t"), "dest=/w/a b/t");
        assert_eq!(csv_field("src", "/w/a,b/ca"), "\"src=/w/a,b/ca\"");
        assert_eq!(
            csv_field("src", "/w/a\"b,type=x/ca"),
            "\"src=/w/a\"\"b,type=x/ca\""
        );
    }

    #[test]
    fn loaded_images_carry_green_cross_s_label_with_their_repository() {
        assert_eq!(
            load_args("green-cross-runner:t-0").join(" "),
            "--output type=docker,compression=zstd --tag green-cross-runner:t-0 --label dev.green-cross.image=green-cross-runner"
        );
        let c = CustomImage {
            base_stage: Stage::Sysroot("t".into()),
            base_tag: "green-cross-base:t-0".into(),
            file: "Dockerfile.t".into(),
            context: "/w".into(),
            build_args: BTreeMap::new(),
            tag: "green-cross-custom:t-0".into(),
        };
        let args = custom_image_args(&c, &[]).join(" ");
        assert!(
            args.ends_with(
                "--output type=docker,compression=zstd --tag green-cross-custom:t-0 --label dev.green-cross.image=green-cross-custom /w"
            ),
            "{args}"
        );
    }
}
