//! One resolver for every setting, in cross's order.
//!
//! The configuration files merge first, key by key, the higher file's
//! value over the lower's and tables merged (Cross.toml over Cargo.toml's
//! metadata). Then every key of a target resolves as cross resolves it
//! (`get_from_value_inner` in its src/config.rs): the environment's
//! `[target.<triple>]` (CROSS_TARGET_<TRIPLE>_<KEY>), the files'
//! `[target.<triple>]`, the environment's `[build]` (CROSS_BUILD_<KEY>), the
//! files' `[build]`. Lists follow cross too: `env.passthrough` (and
//! green-cross's `env.secrets` and `packages`) is the environment's
//! `[build]` and `[target]` lists when either is set, else the files'
//! `[build]` and `[target]` lists together; `env.volumes` is the first list
//! in the order above. Defaults come last, after the resolution.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Serialize;

use super::values::{Merge, merge_opt};
use super::{
    BuildStd, CargoMetadata, CrossToml, Dockerfile, Env, EnvKeys, Image, PreBuild, ReleaseSettings,
    Section, ToolchainMode, Zig, env,
};
use crate::error::{Error, Result};

/// Where the CA bundle handed to downloading build steps comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "paths")]
pub enum CaBundle {
    /// Named by GREEN_CROSS_CA_BUNDLE or `[build] ca-bundle`: must exist.
    Explicit(PathBuf),
    /// The first of these that exists, or none.
    FirstExisting(Vec<PathBuf>),
    /// `GREEN_CROSS_CA_BUNDLE=none`: do not pass one.
    Disabled,
}

pub const DEFAULT_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// The default base image of distro mode.
pub const DEFAULT_DISTRO_BASE: &str = "debian:bookworm";

/// Where the settings come from, besides the environment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Sources {
    pub cross_toml: CrossToml,
    pub cargo_metadata: CargoMetadata,
}

impl Sources {
    /// The configuration files, highest first: Cross.toml, then the
    /// manifest's `[workspace.metadata.cross]`, or its
    /// `[package.metadata.cross]` when it has no workspace table (cross
    /// reads one of the two, the workspace's first).
    pub fn files(&self) -> Vec<Layer> {
        let mut out = vec![Layer {
            name: "Cross.toml",
            config: self.cross_toml.clone(),
        }];
        let meta = &self.cargo_metadata;
        if let Some(c) = &meta.workspace {
            out.push(Layer {
                name: "[workspace.metadata.cross]",
                config: c.clone(),
            });
        } else if let Some(c) = &meta.package {
            out.push(Layer {
                name: "[package.metadata.cross]",
                config: c.clone(),
            });
        }
        out
    }

    /// What the user hears about the files: a package table that the
    /// workspace table hides, and keys that Cross.toml and the manifest
    /// both set differently (Cross.toml's win, as cross's documentation
    /// says; cross 0.2.5 itself lets the manifest's win).
    pub fn warnings(&self) -> Vec<String> {
        let meta = &self.cargo_metadata;
        let mut out = Vec::new();
        if meta.package.is_some() && meta.workspace.is_some() {
            out.push("Cargo.toml has both [package.metadata.cross] and [workspace.metadata.cross]; only the workspace's is used, as cross does\n  help: move the package's settings into [workspace.metadata.cross]".into());
        }
        let files = self.files();
        if let [toml, manifest] = &files[..] {
            let both = differing_keys(&toml.config, &manifest.config);
            if !both.is_empty() {
                out.push(format!(
                    "Cross.toml and {} both set {}: Cross.toml's values are used, as cross's documentation says (cross 0.2.5 itself uses Cargo.toml's)\n  help: keep each setting in one file",
                    manifest.name,
                    both.join(", ")
                ));
            }
        }
        out
    }
}

/// The dotted keys both files set, to different values.
fn differing_keys(high: &CrossToml, low: &CrossToml) -> Vec<String> {
    fn leaves(prefix: &str, v: &serde_json::Value, out: &mut BTreeMap<String, serde_json::Value>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&key, v, out);
                }
            }
            serde_json::Value::Null => {}
            other => {
                out.insert(prefix.to_string(), other.clone());
            }
        }
    }
    let flat = |c: &CrossToml| {
        let mut out = BTreeMap::new();
        leaves("", &serde_json::to_value(c).unwrap_or_default(), &mut out);
        out
    };
    let (h, l) = (flat(high), flat(low));
    h.iter()
        .filter(|(k, v)| l.get(*k).is_some_and(|lv| lv != *v))
        .map(|(k, _)| format!("`{k}`"))
        .collect()
}

/// One configuration file, named for messages.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Layer {
    pub name: &'static str,
    pub config: CrossToml,
}

/// Every setting the planner needs, resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub toolchain: ToolchainMode,
    /// The base image for the toolchain stage, when the user or the mode
    /// names one (distro mode always has one).
    pub base_image: Option<String>,
    pub ca_bundle: CaBundle,
    /// `default-target` (or CROSS_BUILD_TARGET) from the environment: it
    /// comes before CARGO_BUILD_TARGET.
    pub env_default_target: Option<String>,
    /// `default-target` from Cross.toml or Cargo.toml: after CARGO_BUILD_TARGET.
    pub default_target: Option<String>,
    /// CARGO_BUILD_TARGET (cargo's list, comma-separated): after the
    /// environment's default target, before the files'.
    pub cargo_build_target: Vec<String>,
    /// `cache` (GREEN_CROSS_CACHE first), `cache-from`, `cache-to`.
    pub cache: crate::cache::CacheSettings,
    /// `cache-private-deps`: off unless set.
    pub cache_private_deps: bool,
    /// The configuration files, highest first (for messages).
    pub layers: Vec<Layer>,
    /// The environment's layer: CROSS_BUILD_* and CROSS_TARGET_*_*.
    pub environment: CrossToml,
    /// The files, merged.
    pub files: CrossToml,
}

/// The settings of one target, resolved.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct TargetSettings {
    /// `env.passthrough`: `NAME` or `NAME=VALUE` (a later entry wins).
    pub passthrough: Vec<String>,
    /// `env.volumes`.
    pub volumes: Vec<String>,
    /// `env.secrets`.
    pub secrets: Vec<String>,
    pub build_std: Option<BuildStd>,
    pub pre_build: Option<PreBuild>,
    pub runner: Option<String>,
    /// `image`, when one names an image.
    pub image: Option<Image>,
    /// `dockerfile`, when one names a file: its `build-args` are the
    /// files' `[build]` ones with the target's over them, as in cross.
    pub dockerfile: Option<Dockerfile>,
    /// `zig`, each field resolved on its own.
    pub zig: Zig,
    /// `packages`, sorted, without duplicates.
    pub packages: Vec<String>,
    pub release: ReleaseSettings,
}

impl Merge for EnvKeys {
    fn merge(self, low: EnvKeys) -> EnvKeys {
        EnvKeys {
            passthrough: self.passthrough.or(low.passthrough),
            volumes: self.volumes.or(low.volumes),
            secrets: self.secrets.or(low.secrets),
        }
    }
}

impl Merge for Section {
    fn merge(self, low: Section) -> Section {
        Section {
            toolchain: self.toolchain.or(low.toolchain),
            base_image: self.base_image.or(low.base_image),
            ca_bundle: self.ca_bundle.or(low.ca_bundle),
            default_target: self.default_target.or(low.default_target),
            cache: self.cache.or(low.cache),
            cache_from: self.cache_from.or(low.cache_from),
            cache_to: self.cache_to.or(low.cache_to),
            cache_private_deps: self.cache_private_deps.or(low.cache_private_deps),
            env: self.env.merge(low.env),
            build_std: self.build_std.or(low.build_std),
            xargo: self.xargo.or(low.xargo),
            pre_build: self.pre_build.or(low.pre_build),
            runner: self.runner.or(low.runner),
            packages: self.packages.or(low.packages),
            zig: merge_opt(self.zig, low.zig),
            dockerfile: merge_opt(self.dockerfile, low.dockerfile),
            image: merge_opt(self.image, low.image),
            release: self.release.over(&low.release),
        }
    }
}

impl Merge for CrossToml {
    fn merge(self, low: CrossToml) -> CrossToml {
        let mut target = low.target;
        for (name, high) in self.target {
            let merged = match target.remove(&name) {
                Some(low) => high.merge(low),
                None => high,
            };
            target.insert(name, merged);
        }
        CrossToml {
            build: self.build.merge(low.build),
            target,
        }
    }
}

/// The first value in precedence order.
fn first<T>(sections: &[&Section], f: impl Fn(&Section) -> Option<T>) -> Option<T> {
    sections.iter().find_map(|s| f(s))
}

/// A list that sums `[build]` and `[target]` of one source: the
/// environment's when it sets either, else the files'.
fn summed(
    env: [Option<&Section>; 2],
    files: [Option<&Section>; 2],
    f: impl Fn(&Section) -> Option<&Vec<String>>,
) -> Vec<String> {
    let lists = |pair: [Option<&Section>; 2]| -> Option<Vec<String>> {
        let found: Vec<&Vec<String>> = pair.into_iter().flatten().filter_map(&f).collect();
        (!found.is_empty()).then(|| found.into_iter().flatten().cloned().collect())
    };
    lists(env).or_else(|| lists(files)).unwrap_or_default()
}

impl Settings {
    /// Resolve from the environment and a Cross.toml alone.
    pub fn resolve(env: &Env, toml: &CrossToml) -> Result<Settings> {
        Settings::resolve_sources(
            env,
            &Sources {
                cross_toml: toml.clone(),
                cargo_metadata: CargoMetadata::default(),
            },
        )
    }

    /// Resolve every setting that is not a target's: GREEN_CROSS_* first,
    /// then the environment's `[build]`, then the files' `[build]`;
    /// defaults last.
    pub fn resolve_sources(env: &Env, sources: &Sources) -> Result<Settings> {
        let environment = env::layer(env)?;
        let layers = sources.files();
        let files = layers
            .iter()
            .map(|l| l.config.clone())
            .reduce(|high, low| high.merge(low))
            .unwrap_or_default();
        let builds = [&environment.build, &files.build];
        let build = |f: &dyn Fn(&Section) -> Option<String>| builds.iter().find_map(|s| f(s));
        let var = |name: &str| env.value(name).map(str::to_string);

        // A boolean variable that is not a boolean is an error before
        // planning; each is read where it applies.
        env::check_switches(env)?;

        let toolchain = match var("GREEN_CROSS_TOOLCHAIN") {
            Some(v) => ToolchainMode::parse(&v).ok_or_else(|| Error::InvalidSetting {
                key: "GREEN_CROSS_TOOLCHAIN".into(),
                value: v.clone(),
                message: "expected `rustup` or `distro`".into(),
            })?,
            None => builds.iter().find_map(|s| s.toolchain).unwrap_or_default(),
        };
        let base_image = var("GREEN_CROSS_BASE_IMAGE")
            .or_else(|| build(&|s| s.base_image.clone()))
            .or_else(|| {
                (toolchain == ToolchainMode::Distro).then(|| DEFAULT_DISTRO_BASE.to_string())
            });
        let ca_bundle = ca_bundle(env, builds.iter().find_map(|s| s.ca_bundle.clone()));
        let cache = crate::cache::CacheSettings {
            cache: var("GREEN_CROSS_CACHE").or_else(|| build(&|s| s.cache.clone())),
            from: builds.iter().find_map(|s| s.cache_from.clone()),
            to: builds.iter().find_map(|s| s.cache_to.clone()),
        };
        Ok(Settings {
            toolchain,
            base_image,
            ca_bundle,
            cache,
            cache_private_deps: builds
                .iter()
                .find_map(|s| s.cache_private_deps)
                .unwrap_or(false),
            env_default_target: environment.build.default_target.clone(),
            default_target: files.build.default_target.clone(),
            cargo_build_target: var("CARGO_BUILD_TARGET")
                .map(|t| t.split(',').map(str::to_string).collect())
                .unwrap_or_default(),
            layers,
            environment,
            files,
        })
    }

    /// cross's order for one target's key: the environment's
    /// `[target.<triple>]`, the files' `[target.<triple>]`, the
    /// environment's `[build]`, the files' `[build]`.
    pub fn sections(&self, triple: &str) -> Vec<&Section> {
        [
            self.environment.target_section(triple),
            self.files.target_section(triple),
            Some(&self.environment.build),
            Some(&self.files.build),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    /// Everything configured for one target.
    pub fn for_target(&self, triple: &str) -> TargetSettings {
        let sections = self.sections(triple);
        let env = [
            Some(&self.environment.build),
            self.environment.target_section(triple),
        ];
        let files = [Some(&self.files.build), self.files.target_section(triple)];
        let mut packages = summed(env, files, |s| s.packages.as_ref());
        packages.sort();
        packages.dedup();
        TargetSettings {
            passthrough: summed(env, files, |s| s.env.passthrough.as_ref()),
            volumes: first(&sections, |s| s.env.volumes.clone()).unwrap_or_default(),
            secrets: summed(env, files, |s| s.env.secrets.as_ref()),
            build_std: first(&sections, |s| s.build_std.clone()),
            pre_build: first(&sections, |s| s.pre_build.clone()),
            runner: first(&sections, |s| s.runner.clone()),
            image: first(&sections, |s| s.image.clone().filter(|i| i.name.is_some())),
            dockerfile: self.dockerfile(&sections, files),
            zig: Zig {
                enable: first(&sections, |s| s.zig.as_ref()?.enable),
                version: first(&sections, |s| s.zig.as_ref()?.version.clone()),
                image: first(&sections, |s| {
                    s.zig.as_ref()?.image.clone().filter(|i| i.name.is_some())
                }),
            },
            packages,
            release: sections
                .iter()
                .fold(ReleaseSettings::default(), |acc, s| acc.over(&s.release))
                .with_preset_applied(),
        }
    }

    /// `dockerfile`: the file and the context each in cross's order; the
    /// build arguments from the files only, the target's over `[build]`'s.
    fn dockerfile(
        &self,
        sections: &[&Section],
        files: [Option<&Section>; 2],
    ) -> Option<Dockerfile> {
        let file = first(sections, |s| s.dockerfile.as_ref()?.file.clone())?;
        let args = |s: Option<&Section>| s?.dockerfile.as_ref()?.build_args.clone();
        Some(Dockerfile {
            file: Some(file),
            context: first(sections, |s| s.dockerfile.as_ref()?.context.clone()),
            build_args: merge_opt(args(files[1]), args(files[0])),
        })
    }

    /// The release settings for one target.
    pub fn release_for(&self, triple: &str) -> ReleaseSettings {
        self.for_target(triple).release
    }
}

/// GREEN_CROSS_CA_BUNDLE (`none` turns it off), then `ca-bundle`, then
/// SSL_CERT_FILE, CARGO_HTTP_CAINFO and the system's bundle, the first
/// that exists.
fn ca_bundle(env: &Env, configured: Option<PathBuf>) -> CaBundle {
    match env.value("GREEN_CROSS_CA_BUNDLE") {
        Some("none") => CaBundle::Disabled,
        Some(v) => CaBundle::Explicit(PathBuf::from(v)),
        None => match configured {
            Some(p) => CaBundle::Explicit(p),
            None => {
                let mut c: Vec<PathBuf> = ["SSL_CERT_FILE", "CARGO_HTTP_CAINFO"]
                    .iter()
                    .filter_map(|k| env.value(k))
                    .map(PathBuf::from)
                    .collect();
                c.push(PathBuf::from(DEFAULT_CA_BUNDLE));
                CaBundle::FirstExisting(c)
            }
        },
    }
}

impl CrossToml {
    /// Tell each single `pre-build` string apart: a script when the
    /// workspace has that file, else a command.
    pub fn classify_pre_build(&mut self, is_file: &dyn Fn(&str) -> bool) {
        for s in std::iter::once(&mut self.build).chain(self.target.values_mut()) {
            s.pre_build = s.pre_build.take().map(|p| p.classify(is_file));
        }
    }
}

impl TargetSettings {
    /// Each value against its grammar (crate::guard), the key and the
    /// target named in the error.
    pub fn check(&self, triple: &str) -> Result<()> {
        use crate::guard::{build_path, env_name, package, std_crate, text};
        let key = |k: &str| format!("{k} ({triple})");
        for p in &self.packages {
            package(p, key("packages"))?;
        }
        if let Some(BuildStd::Crates(crates)) = &self.build_std {
            for c in crates {
                std_crate(c, key("build-std"))?;
            }
        }
        for (entries, what) in [
            (&self.passthrough, "env.passthrough"),
            (&self.volumes, "env.volumes"),
        ] {
            for e in entries {
                let (name, value) = e.split_once('=').unwrap_or((e, ""));
                env_name(name.trim(), key(what))?;
                if what == "env.volumes" {
                    build_path(value, key(what))?;
                } else {
                    text(value, key(what))?;
                }
            }
        }
        for name in &self.secrets {
            env_name(name, key("env.secrets"))?;
        }
        if let Some(r) = &self.runner {
            text(r, key("runner"))?;
        }
        Ok(())
    }
}
