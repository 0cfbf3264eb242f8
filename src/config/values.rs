//! The typed values of Cross.toml keys that take more than one shape, as
//! cross reads them: `zig`, `image`, `dockerfile`, `pre-build` and
//! `build-std`. Each shape becomes one struct whose fields are optional, so
//! that configuration files merge field by field (cross merges its files
//! the same way) and each field resolves with cross's precedence on its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `build-std`: true, false, or the crates to build (`["core", "alloc"]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum BuildStd {
    Enabled(bool),
    Crates(Vec<String>),
}

impl BuildStd {
    /// cross's reading: `true`, or a list that names at least one crate.
    pub fn enabled(&self) -> bool {
        match self {
            BuildStd::Enabled(b) => *b,
            BuildStd::Crates(c) => !c.is_empty(),
        }
    }
}

/// `pre-build`. In a file, a list is a script of its lines (joined with
/// line breaks, so that a shell construct may span entries) and a single
/// string is the path of a script in the workspace when such a file exists,
/// else a command. The environment's CROSS_BUILD_PRE_BUILD is always
/// commands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PreBuild {
    Lines(Vec<String>),
    /// A single string, not yet told apart ([`PreBuild::classify`]); read
    /// as a command until then.
    Single(String),
    /// A script in the workspace (a path relative to its root), run with
    /// the target triple as its argument.
    #[serde(skip_deserializing)]
    Script(String),
}

impl PreBuild {
    /// A single string becomes a script when `is_file` says the workspace
    /// has a file by that name (and it is one line), else a command.
    pub fn classify(self, is_file: &dyn Fn(&str) -> bool) -> PreBuild {
        match self {
            PreBuild::Single(s) if !s.contains('\n') && is_file(&s) => PreBuild::Script(s),
            PreBuild::Single(s) => PreBuild::Lines(vec![s]),
            other => other,
        }
    }

    /// The commands, when this is not a script.
    pub fn commands(&self) -> Option<&[String]> {
        match self {
            PreBuild::Lines(l) => Some(l),
            PreBuild::Single(s) => Some(std::slice::from_ref(s)),
            PreBuild::Script(_) => None,
        }
    }
}

/// `image`: a reference, or `{ name, toolchain }`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ImageValue")]
pub struct Image {
    pub name: Option<String>,
    /// The platforms the image's own toolchain runs on (cross:
    /// `image.toolchain`), as triples or `platform=triple`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImageValue {
    Name(String),
    Table {
        name: Option<String>,
        toolchain: Option<Vec<String>>,
    },
}

impl From<ImageValue> for Image {
    fn from(v: ImageValue) -> Image {
        match v {
            ImageValue::Name(n) => Image {
                name: Some(n),
                toolchain: None,
            },
            ImageValue::Table { name, toolchain } => Image { name, toolchain },
        }
    }
}

/// `zig`: true or false, a glibc version (which also turns it on), or
/// `{ enable, version, image }`. Only `enable` turns zig on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ZigValue")]
pub struct Zig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<Image>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ZigValue {
    Enable(bool),
    Version(String),
    Table {
        enable: Option<bool>,
        version: Option<String>,
        image: Option<Image>,
    },
}

impl From<ZigValue> for Zig {
    fn from(v: ZigValue) -> Zig {
        match v {
            ZigValue::Enable(b) => Zig {
                enable: Some(b),
                ..Zig::default()
            },
            ZigValue::Version(v) => Zig {
                enable: Some(true),
                version: Some(v),
                image: None,
            },
            ZigValue::Table {
                enable,
                version,
                image,
            } => Zig {
                enable,
                version,
                image,
            },
        }
    }
}

/// `dockerfile`: a path, or `{ file, context, build-args }` (paths
/// relative to the workspace root).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "DockerfileValue")]
pub struct Dockerfile {
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(rename = "build-args", skip_serializing_if = "Option::is_none")]
    pub build_args: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum DockerfileValue {
    File(String),
    Table {
        file: Option<String>,
        context: Option<String>,
        #[serde(rename = "build-args")]
        build_args: Option<BTreeMap<String, ArgValue>>,
    },
}

/// A build argument's value: cross takes strings; a number or a boolean
/// is taken as its TOML text.
#[derive(Deserialize)]
#[serde(untagged)]
enum ArgValue {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

impl ArgValue {
    fn text(self) -> String {
        match self {
            ArgValue::Str(s) => s,
            ArgValue::Int(i) => i.to_string(),
            ArgValue::Float(f) => f.to_string(),
            ArgValue::Bool(b) => b.to_string(),
        }
    }
}

impl From<DockerfileValue> for Dockerfile {
    fn from(v: DockerfileValue) -> Dockerfile {
        match v {
            DockerfileValue::File(f) => Dockerfile {
                file: Some(f),
                ..Dockerfile::default()
            },
            DockerfileValue::Table {
                file,
                context,
                build_args,
            } => Dockerfile {
                file,
                context,
                build_args: build_args.map(|a| a.into_iter().map(|(k, v)| (k, v.text())).collect()),
            },
        }
    }
}

/// `high` over `low`, field by field.
pub trait Merge: Sized {
    fn merge(self, low: Self) -> Self;
}

/// Two optional values: both present merge, else whichever is present.
pub fn merge_opt<T: Merge>(high: Option<T>, low: Option<T>) -> Option<T> {
    match (high, low) {
        (Some(h), Some(l)) => Some(h.merge(l)),
        (h, l) => h.or(l),
    }
}

impl Merge for Image {
    fn merge(self, low: Image) -> Image {
        Image {
            name: self.name.or(low.name),
            toolchain: self.toolchain.or(low.toolchain),
        }
    }
}

impl Merge for Zig {
    fn merge(self, low: Zig) -> Zig {
        Zig {
            enable: self.enable.or(low.enable),
            version: self.version.or(low.version),
            image: merge_opt(self.image, low.image),
        }
    }
}

impl Merge for BTreeMap<String, String> {
    fn merge(self, mut low: Self) -> Self {
        low.extend(self);
        low
    }
}

impl Merge for Dockerfile {
    fn merge(self, low: Dockerfile) -> Dockerfile {
        Dockerfile {
            file: self.file.or(low.file),
            context: self.context.or(low.context),
            build_args: merge_opt(self.build_args, low.build_args),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct T {
        zig: Option<Zig>,
        image: Option<Image>,
        dockerfile: Option<Dockerfile>,
        #[serde(rename = "pre-build")]
        pre_build: Option<PreBuild>,
    }

    fn t(text: &str) -> T {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn every_shape_of_zig_as_cross_reads_it() {
        let z = |text: &str| t(text).zig.unwrap();
        assert_eq!(z("zig = true").enable, Some(true));
        assert_eq!(z("zig = false").enable, Some(false));
        let v = z("zig = \"2.17\"");
        assert_eq!((v.enable, v.version.as_deref()), (Some(true), Some("2.17")));
        let only_image = z("zig.image = \"zig:local\"");
        assert_eq!(
            only_image.enable, None,
            "an image alone does not turn zig on"
        );
        assert_eq!(only_image.image.unwrap().name.as_deref(), Some("zig:local"));
        let nested =
            z("[zig.image]\nname = \"zig:local\"\ntoolchain = [\"aarch64-unknown-linux-gnu\"]");
        let image = nested.image.unwrap();
        assert_eq!(image.toolchain.unwrap(), ["aarch64-unknown-linux-gnu"]);
        assert!(toml::from_str::<T>("zig = 3").is_err());
    }

    #[test]
    fn image_and_dockerfile_take_a_string_or_a_table() {
        let i = t("image = \"my/image:latest\"").image.unwrap();
        assert_eq!(i.name.as_deref(), Some("my/image:latest"));
        let i =
            t("image.name = \"alpine:edge\"\nimage.toolchain = [\"x86_64-unknown-linux-musl\"]")
                .image
                .unwrap();
        assert_eq!(i.toolchain.unwrap(), ["x86_64-unknown-linux-musl"]);
        let d = t("dockerfile = \"./Dockerfile\"").dockerfile.unwrap();
        assert_eq!(d.file.as_deref(), Some("./Dockerfile"));
        let d =
            t("[dockerfile]\nfile = \"D\"\ncontext = \"..\"\nbuild-args = { A = \"1\", N = 2 }")
                .dockerfile
                .unwrap();
        assert_eq!(d.context.as_deref(), Some(".."));
        let args = d.build_args.unwrap();
        assert_eq!((args["A"].as_str(), args["N"].as_str()), ("1", "2"));
    }

    #[test]
    fn a_single_pre_build_string_is_a_script_only_when_the_file_exists() {
        let p = t("pre-build = \"./my-script.sh\"").pre_build.unwrap();
        assert_eq!(p, PreBuild::Single("./my-script.sh".into()));
        let exists = |s: &str| s == "./my-script.sh";
        assert_eq!(
            p.clone().classify(&exists),
            PreBuild::Script("./my-script.sh".into())
        );
        assert_eq!(
            p.classify(&|_| false),
            PreBuild::Lines(vec!["./my-script.sh".into()])
        );
        let multi = PreBuild::Single("./my-script.sh\necho".into());
        assert!(matches!(multi.classify(&exists), PreBuild::Lines(_)));
        assert_eq!(
            t("pre-build = []").pre_build.unwrap(),
            PreBuild::Lines(vec![])
        );
    }

    #[test]
    fn merging_keeps_each_field_of_the_higher_value_and_fills_from_the_lower() {
        let high = Dockerfile {
            file: None,
            context: Some("hi".into()),
            build_args: Some([("B".to_string(), "2".to_string())].into()),
        };
        let low = Dockerfile {
            file: Some("lo".into()),
            context: Some("lo".into()),
            build_args: Some([("A".to_string(), "1".to_string()), ("B".into(), "1".into())].into()),
        };
        let m = high.merge(low);
        assert_eq!(m.file.as_deref(), Some("lo"));
        assert_eq!(m.context.as_deref(), Some("hi"));
        let args = m.build_args.unwrap();
        assert_eq!((args["A"].as_str(), args["B"].as_str()), ("1", "2"));
    }
}
