//! Target recipes: one TOML file per triple in targets/, embedded at build
//! time. A recipe says how to get a linker, a C toolchain, the target's std
//! and a runner, for each toolchain mode.

use std::collections::BTreeMap;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/recipes.rs"));
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Libc {
    Gnu,
    Musl,
    Mingw,
    Darwin,
    /// A custom target specification's: whatever the specification links.
    Other,
}

/// How binaries built for the target are run by `test` and `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runner {
    Native,
    QemuUser,
    Wine,
    None,
    /// A command named by `runner` in Cross.toml (never in a recipe).
    Command,
}

/// Where the target's standard library comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StdSource {
    /// `rustup target add` in the toolchain image.
    Rustup,
    /// The toolchain's own std (the target is the build platform).
    Host,
    /// Debian's Multi-Arch `libstd-rust-web-dev:<deb-arch>`.
    Multiarch,
    /// Built from source with `-Zbuild-std` (Debian's rust-web-src).
    BuildStd,
}

/// The base of the toolchain stage in rustup mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageFlavour {
    Debian,
    Alpine,
}

/// What a recipe says for one toolchain mode.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModeRecipe {
    /// rustup mode only: the official Rust image flavour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageFlavour>,
    pub std: Option<StdSource>,
    /// Packages for the build platform (compilers, linkers).
    #[serde(default)]
    pub packages: Vec<String>,
    /// Packages for the target architecture (headers, libraries): installed
    /// with xx-apt-get / xx-apk in rustup mode, as `name:<deb-arch>` in
    /// distro mode.
    #[serde(default)]
    pub target_packages: Vec<String>,
    /// The Debian architecture of the target (`arm64`, `armhf`): distro
    /// mode installs target packages as `name:<deb-arch>`; both modes export
    /// it to pre-build as CROSS_DEB_ARCH and point pkg-config at the
    /// target's multiarch directory.
    pub deb_arch: Option<String>,
    /// A pkg-config for the target's sysroot (xx-clang makes
    /// `<triple>-pkg-config` on Alpine): set as PKG_CONFIG_<target>.
    pub pkg_config: Option<String>,
    /// zig's target (e.g. `aarch64-macos`): zig becomes linker, CC and AR.
    pub zig: Option<String>,
    pub linker: Option<String>,
    /// Link with LLVM's lld through the C compiler (`-fuse-ld=lld`, the
    /// `lld` package) where the C toolchain links (not zig). GNU ld takes
    /// seconds on a large debug binary, lld a fraction of that; Rust's own
    /// x86_64 Linux toolchain links with lld since 1.90. Target rustflags
    /// given by the user come after, so `-C link-arg=-fuse-ld=bfd` there
    /// brings GNU ld back.
    #[serde(default)]
    pub lld: bool,
    pub cc: Option<String>,
    pub cxx: Option<String>,
    pub ar: Option<String>,
    pub sysroot: Option<String>,
    /// Extra rustc flags for this mode.
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Shell commands run once in the sysroot stage.
    #[serde(default)]
    pub setup: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Recipe {
    pub triple: String,
    pub summary: String,
    /// OCI platform, e.g. `linux/arm64`.
    pub platform: String,
    pub libc: Libc,
    /// Link the C runtime statically by default.
    #[serde(default)]
    pub crt_static: bool,
    pub runner: Runner,
    /// qemu-user architecture name (`qemu-<qemu>-static`).
    pub qemu: Option<String>,
    /// $CROSS_DEB_ARCH in pre-build and custom Dockerfiles, as cross sets
    /// it for this target (`musl-linux-arm64`, `darwin-amd64`); by default
    /// the mode's `deb-arch`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_deb_arch: Option<String>,
    /// Whether rustc can strip binaries for this target inside the build.
    #[serde(default = "yes")]
    pub strip: bool,
    #[serde(default)]
    pub rustflags: Vec<String>,
    /// Variables of the sysroot stage, in both modes (a user's
    /// `env.passthrough` of the same name wins in the build step).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    pub rustup: ModeRecipe,
    pub distro: ModeRecipe,
}

fn yes() -> bool {
    true
}

impl Recipe {
    /// The recipe of a custom target specification (`--target
    /// path/to/name.json`), named by the file's stem as cargo names it: its
    /// standard library is built from source, its linker is the one the
    /// specification or the user's cargo configuration names, and its
    /// binaries do not run here.
    pub fn custom_spec(name: &str) -> Recipe {
        let mode = ModeRecipe {
            image: Some(ImageFlavour::Debian),
            std: Some(StdSource::BuildStd),
            ..ModeRecipe::default()
        };
        Recipe {
            triple: name.to_string(),
            summary: format!("custom target specification `{name}`"),
            platform: "custom".into(),
            libc: Libc::Other,
            crt_static: false,
            runner: Runner::None,
            qemu: None,
            cross_deb_arch: None,
            strip: true,
            rustflags: vec![],
            env: Default::default(),
            rustup: mode.clone(),
            distro: ModeRecipe {
                image: None,
                ..mode
            },
        }
    }

    pub fn parse(name: &str, text: &str) -> Result<Recipe> {
        let recipe: Recipe = toml::from_str(text).map_err(|e| Error::Recipe {
            name: name.to_string(),
            message: e.to_string(),
        })?;
        recipe.validate(name)?;
        Ok(recipe)
    }

    fn validate(&self, name: &str) -> Result<()> {
        let bad = |message: String| Error::Recipe {
            name: name.to_string(),
            message,
        };
        if let Some(stem) = name.strip_suffix(".toml")
            && stem != self.triple
        {
            return Err(bad(format!(
                "file name does not match triple `{}`",
                self.triple
            )));
        }
        target_lexicon::Triple::from_str(&self.triple)
            .map_err(|e| bad(format!("`{}` is not a target triple: {e}", self.triple)))?;
        for (mode, m) in [("rustup", &self.rustup), ("distro", &self.distro)] {
            if m.std.is_none() {
                return Err(bad(format!("[{mode}] needs `std`")));
            }
            if m.zig.is_none() && m.linker.is_none() {
                return Err(bad(format!("[{mode}] needs `linker` or `zig`")));
            }
        }
        if self.distro.std == Some(StdSource::Multiarch) && self.distro.deb_arch.is_none() {
            return Err(bad("[distro] std = \"multiarch\" needs `deb-arch`".into()));
        }
        if self.distro.image.is_some() {
            return Err(bad(
                "[distro] has no `image`: distro mode always uses the base image".into(),
            ));
        }
        if self.runner == Runner::Command {
            return Err(bad(
                "runner = \"command\" is for Cross.toml's `runner`, not for recipes".into(),
            ));
        }
        if self.runner == Runner::QemuUser && self.qemu.is_none() {
            return Err(bad("runner = \"qemu-user\" needs `qemu`".into()));
        }
        Ok(())
    }

    pub fn mode(&self, mode: crate::config::ToolchainMode) -> &ModeRecipe {
        match mode {
            crate::config::ToolchainMode::Rustup => &self.rustup,
            crate::config::ToolchainMode::Distro => &self.distro,
        }
    }
}

/// A support file under docker/ (e.g. `wine/bcryptprimitives.c`), embedded
/// in the binary.
pub fn asset_text(name: &str) -> Option<&'static str> {
    embedded::ASSETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
}

/// Every embedded support file: (name under docker/, contents), sorted.
pub fn assets() -> &'static [(&'static str, &'static str)] {
    embedded::ASSETS
}

/// Every known recipe, by triple.
#[derive(Debug, Clone)]
pub struct Recipes {
    by_triple: BTreeMap<String, Recipe>,
}

impl Recipes {
    /// The recipes embedded in the binary.
    pub fn embedded() -> Result<Recipes> {
        Recipes::from_files(embedded::EMBEDDED.iter().copied())
    }

    pub fn from_files<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Recipes> {
        let mut by_triple = BTreeMap::new();
        for (name, text) in files {
            let r = Recipe::parse(name, text)?;
            by_triple.insert(r.triple.clone(), r);
        }
        Ok(Recipes { by_triple })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Recipe> {
        self.by_triple.values()
    }

    pub fn len(&self) -> usize {
        self.by_triple.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_triple.is_empty()
    }

    /// The recipe for `triple`, or an error that names the closest one.
    pub fn get(&self, triple: &str) -> Result<&Recipe> {
        if let Some(r) = self.by_triple.get(triple) {
            return Ok(r);
        }
        Err(Error::UnknownTarget {
            triple: triple.to_string(),
            suggestion: self.nearest(triple),
        })
    }

    /// A GitHub Actions matrix (`{"include": [...]}`) of these targets, in
    /// the order given, duplicates removed: per target its triple, OCI
    /// platform, how its binaries run here, and its executables' suffix.
    pub fn matrix(&self, triples: &[String]) -> Result<serde_json::Value> {
        let mut seen = Vec::new();
        let mut include = Vec::new();
        for t in triples {
            if seen.contains(t) {
                continue;
            }
            seen.push(t.clone());
            let r = self.get(t)?;
            include.push(serde_json::json!({
                "target": r.triple,
                "platform": r.platform,
                "runner": r.runner,
                "exe-suffix": if r.triple.contains("-windows") { ".exe" } else { "" },
            }));
        }
        Ok(serde_json::json!({ "include": include }))
    }

    fn nearest(&self, triple: &str) -> Option<String> {
        crate::error::nearest(triple, self.by_triple.keys().map(String::as_str)).map(String::from)
    }
}

pub use crate::triple::{env_lower, env_upper};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_recipe_parses() {
        let r = Recipes::embedded().unwrap();
        assert_eq!(r.len(), 9);
    }

    #[test]
    fn matrix_lists_each_target_once_in_order() {
        let r = Recipes::embedded().unwrap();
        let m = r
            .matrix(&[
                "x86_64-pc-windows-gnu".into(),
                "aarch64-unknown-linux-gnu".into(),
                "x86_64-pc-windows-gnu".into(),
            ])
            .unwrap();
        assert_eq!(
            m.to_string(),
            r#"{"include":[{"exe-suffix":".exe","platform":"windows/amd64","runner":"wine","target":"x86_64-pc-windows-gnu"},{"exe-suffix":"","platform":"linux/arm64","runner":"qemu-user","target":"aarch64-unknown-linux-gnu"}]}"#
        );
        let e = r.matrix(&["aarch64-unknown-linux-gmu".into()]).unwrap_err();
        assert!(e.to_string().contains("aarch64-unknown-linux-gnu"), "{e}");
    }

    #[test]
    fn typo_suggests_nearest() {
        let r = Recipes::embedded().unwrap();
        let err = r.get("x86_64-unknown-linux-musel").unwrap_err();
        assert!(
            err.to_string()
                .contains("did you mean `x86_64-unknown-linux-musl`"),
            "{err}"
        );
        let err = r.get("completely-wrong").unwrap_err();
        assert!(!err.to_string().contains("did you mean"), "{err}");
    }

    #[test]
    fn recipe_with_unknown_key_is_rejected() {
        let text = r#"triple = "x86_64-unknown-linux-gnu"
summary = "x"
platform = "linux/amd64"
libc = "gnu"
runner = "native"
linkr = "cc"
[rustup]
std = "rustup"
linker = "cc"
[distro]
std = "host"
linker = "cc"
"#;
        let err = Recipe::parse("x86_64-unknown-linux-gnu.toml", text).unwrap_err();
        assert!(err.to_string().contains("linkr"), "{err}");
    }
}
