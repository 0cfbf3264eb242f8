//! The stages of the rendered Dockerfile, by kind: their names are spelled
//! here only, and read back here (for BuildKit's progress, which names the
//! stage a step runs in).

use std::fmt;

use serde::{Serialize, Serializer};

use super::OUT_STAGE;
use crate::target::ImageFlavour;

/// A stage of the Dockerfile. Its name is its [`Display`](fmt::Display);
/// [`Stage::parse`] reads a name back. In `plan --json` a stage is its
/// name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// `xx`: tonistiigi/xx, whose helpers the toolchain stages copy in.
    Xx,
    /// A toolchain stage: the image the sysroot stages start from.
    Toolchain(Toolchain),
    /// `<toolchain>-rust`: the official Rust image whose rustup and cargo
    /// homes a toolchain stage on a user's image copies in.
    RustImage(Toolchain),
    /// `zig`, `zig-<suffix>`: zig added to the toolchain stage
    /// `toolchain[-<suffix>]`.
    Zig(Toolchain),
    /// `sysroot-<triple>`: the target's linker, C toolchain, packages, std.
    Sysroot(String),
    /// `deps-<triple>`: the target's dependencies, compiled from the
    /// skeleton.
    Deps(String),
    /// `runner-<triple>`: qemu-user or wine, to run the target's binaries.
    Runner(String),
    /// `build-<triple>`: cargo's build step.
    Build(String),
    /// `artifacts-<triple>`: the build step's outputs alone.
    Artifacts(String),
    /// [`OUT_STAGE`]: every target's outputs, the stage that is exported.
    Out,
}

/// Which toolchain stage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Toolchain {
    /// `toolchain`: distro mode's, or rustup mode's on Debian; shared by
    /// the targets without an image of their own.
    Shared,
    /// `toolchain-alpine`: rustup mode's on Alpine, shared too.
    Alpine,
    /// `toolchain-<triple>`: the target's own, on its `image`, or on its
    /// `dockerfile` image when it names no `image`.
    Target(String),
    /// `toolchain-<triple>-custom`: the target's `dockerfile` image when it
    /// names an `image` too (which its Dockerfile then builds on).
    Custom(String),
}

impl Toolchain {
    /// The shared toolchain stage of an image flavour.
    pub fn shared(flavour: ImageFlavour) -> Toolchain {
        match flavour {
            ImageFlavour::Debian => Toolchain::Shared,
            ImageFlavour::Alpine => Toolchain::Alpine,
        }
    }

    /// What follows `toolchain` (or `zig`) in the name.
    fn suffix(&self) -> String {
        match self {
            Toolchain::Shared => String::new(),
            Toolchain::Alpine => "-alpine".into(),
            Toolchain::Target(triple) => format!("-{triple}"),
            Toolchain::Custom(triple) => format!("-{triple}-custom"),
        }
    }

    fn from_suffix(suffix: &str) -> Option<Toolchain> {
        match suffix {
            "" => Some(Toolchain::Shared),
            "-alpine" => Some(Toolchain::Alpine),
            _ => {
                let rest = suffix.strip_prefix('-')?;
                Some(match rest.strip_suffix("-custom") {
                    Some(triple) => Toolchain::Custom(triple.into()),
                    None => Toolchain::Target(rest.into()),
                })
            }
        }
    }
}

/// A stage of one target, from its triple.
type OfTarget = fn(String) -> Stage;

/// The stages of one target, by the prefix of their names.
const PER_TARGET: [(&str, OfTarget); 5] = [
    ("sysroot-", Stage::Sysroot),
    ("deps-", Stage::Deps),
    ("runner-", Stage::Runner),
    ("build-", Stage::Build),
    ("artifacts-", Stage::Artifacts),
];

impl Stage {
    /// The stage a name names, if it is one of green-cross's. A stage's
    /// name reads back as the stage, for any triple that does not itself
    /// end in `-custom` or `-rust`.
    pub fn parse(name: &str) -> Option<Stage> {
        for (prefix, stage) in PER_TARGET {
            if let Some(triple) = name.strip_prefix(prefix) {
                return Some(stage(triple.into()));
            }
        }
        match name {
            "xx" => return Some(Stage::Xx),
            OUT_STAGE => return Some(Stage::Out),
            _ => {}
        }
        if let Some(suffix) = name.strip_prefix("zig") {
            return Toolchain::from_suffix(suffix).map(Stage::Zig);
        }
        let suffix = name.strip_prefix("toolchain")?;
        if let Some(rust) = suffix.strip_suffix("-rust")
            && let Some(t) = Toolchain::from_suffix(rust)
        {
            return Some(Stage::RustImage(t));
        }
        Toolchain::from_suffix(suffix).map(Stage::Toolchain)
    }
}

impl fmt::Display for Toolchain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "toolchain{}", self.suffix())
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stage::Xx => f.write_str("xx"),
            Stage::Toolchain(t) => write!(f, "{t}"),
            Stage::RustImage(t) => write!(f, "{t}-rust"),
            Stage::Zig(t) => write!(f, "zig{}", t.suffix()),
            Stage::Sysroot(triple) => write!(f, "sysroot-{triple}"),
            Stage::Deps(triple) => write!(f, "deps-{triple}"),
            Stage::Runner(triple) => write!(f, "runner-{triple}"),
            Stage::Build(triple) => write!(f, "build-{triple}"),
            Stage::Artifacts(triple) => write!(f, "artifacts-{triple}"),
            Stage::Out => f.write_str(OUT_STAGE),
        }
    }
}

impl Serialize for Stage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "aarch64-unknown-linux-gnu";

    fn every_kind() -> Vec<(Stage, String)> {
        let toolchains = [
            (Toolchain::Shared, "toolchain".to_string()),
            (Toolchain::Alpine, "toolchain-alpine".into()),
            (Toolchain::Target(T.into()), format!("toolchain-{T}")),
            (Toolchain::Custom(T.into()), format!("toolchain-{T}-custom")),
        ];
        let mut all = vec![(Stage::Xx, "xx".to_string())];
        for (t, name) in toolchains {
            let zig = name.replacen("toolchain", "zig", 1);
            all.push((Stage::RustImage(t.clone()), format!("{name}-rust")));
            all.push((Stage::Zig(t.clone()), zig));
            all.push((Stage::Toolchain(t), name));
        }
        all.extend([
            (Stage::Sysroot(T.into()), format!("sysroot-{T}")),
            (Stage::Deps(T.into()), format!("deps-{T}")),
            (Stage::Runner(T.into()), format!("runner-{T}")),
            (Stage::Build(T.into()), format!("build-{T}")),
            (Stage::Artifacts(T.into()), format!("artifacts-{T}")),
            (Stage::Out, "green-cross-out".into()),
        ]);
        all
    }

    #[test]
    fn every_stage_is_named_as_the_dockerfile_names_it_and_its_name_reads_back() {
        let all = every_kind();
        for (stage, name) in &all {
            assert_eq!(stage.to_string(), *name);
            assert_eq!(Stage::parse(name).as_ref(), Some(stage), "{name}");
        }
        assert_eq!(Stage::Zig(Toolchain::Shared).to_string(), "zig");
        let names: std::collections::BTreeSet<String> =
            all.iter().map(|(_, n)| n.clone()).collect();
        assert_eq!(names.len(), all.len(), "no two stages share a name");
    }

    #[test]
    fn names_that_are_no_stage_of_green_cross_s_do_not_parse() {
        for name in [
            "internal]",
            "context",
            "stage-0",
            "builder",
            "zigzag",
            "toolchains",
        ] {
            assert_eq!(Stage::parse(name), None, "{name}");
        }
    }

    #[test]
    fn a_stage_serialises_as_its_name() {
        let json = serde_json::to_string(&Stage::Zig(Toolchain::Target(T.into()))).unwrap();
        assert_eq!(json, format!("\"zig-{T}\""));
    }

    #[test]
    fn the_shared_toolchain_stage_follows_the_image_flavour() {
        assert_eq!(Toolchain::shared(ImageFlavour::Debian), Toolchain::Shared);
        assert_eq!(Toolchain::shared(ImageFlavour::Alpine), Toolchain::Alpine);
    }
}
