//! The toolchain stages: which Rust, on which image (the official one, Debian's, a user's with Rust brought in), zig, and what a user's `image` and `dockerfile` become.

use super::*;
use crate::config::TargetSettings;

/// How packages are installed in a sysroot stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "tool")]
pub enum PackageInstall {
    /// Plain apt-get; target packages as `name:<deb-arch>` after
    /// `dpkg --add-architecture`.
    Apt {
        deb_arch: Option<String>,
        packages: Vec<String>,
        target_packages: Vec<String>,
    },
    /// tonistiigi/xx on Debian: apt-get for the build platform, xx-apt-get
    /// for the target.
    XxApt {
        platform: String,
        packages: Vec<String>,
        target_packages: Vec<String>,
    },
    /// tonistiigi/xx on Alpine: apk for the build platform, xx-apk for the
    /// target.
    XxApk {
        platform: String,
        packages: Vec<String>,
        target_packages: Vec<String>,
    },
}

impl PackageInstall {
    pub fn is_empty(&self) -> bool {
        match self {
            PackageInstall::Apt {
                packages,
                target_packages,
                ..
            }
            | PackageInstall::XxApt {
                packages,
                target_packages,
                ..
            }
            | PackageInstall::XxApk {
                packages,
                target_packages,
                ..
            } => packages.is_empty() && target_packages.is_empty(),
        }
    }
}

/// A toolchain stage: the image the sysroot stages start from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolchainStage {
    pub name: Stage,
    pub image: String,
    pub flavour: ImageFlavour,
    /// Packages for the build platform, sorted.
    pub packages: Vec<String>,
    /// Copy tonistiigi/xx's helpers in.
    pub xx: bool,
    /// On an official Rust image: rustup components to add, and the
    /// image's own toolchain pinned with RUSTUP_TOOLCHAIN (so that a
    /// rust-toolchain.toml naming `stable` or `1.95` does not make rustup
    /// install a second toolchain without the target's std).
    pub rustup_components: Vec<String>,
    /// A toolchain no image is tagged with (nightly, beta), installed with
    /// rustup on the stable image and pinned instead of the image's own.
    pub rustup_install: Option<String>,
    /// Rustup mode on a user's image (cross's images have no Rust): the
    /// official image whose rustup and cargo homes are copied in.
    pub rust_from: Option<RustCopy>,
}

/// Rust copied into a user's image from an official one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RustCopy {
    /// The stage that holds the official image.
    pub stage: Stage,
    pub image: String,
    /// The toolchain's full version, when known before the build: it is
    /// pinned as the official image pins its own (RUST_VERSION).
    pub version: Option<String>,
}

/// Rustup mode: which Rust the toolchain stage has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RustupToolchain {
    /// The official image of that version (`1.95.0`, `1.80`, `stable`).
    Image(String),
    /// A channel rustup installs on the stable image (`nightly-2026-11-21`).
    Install(String),
}

impl RustupToolchain {
    /// The name in cache tags and image tags.
    pub(super) fn label(&self) -> &str {
        match self {
            RustupToolchain::Image(v) | RustupToolchain::Install(v) => v,
        }
    }
}

/// The toolchain for `+toolchain`, or for the host's rustc: a release by
/// its image, a nightly or beta by the dated rustup toolchain it came from
/// (the day after its commit, which is how rustup dates them).
pub(super) fn rustup_toolchain(asked: Option<&str>, host: &Host) -> Result<RustupToolchain> {
    let Some(tc) = asked else {
        let v = &host.rustc_version;
        let Some((_, pre)) = v.split_once('-') else {
            return Ok(RustupToolchain::Image(v.clone()));
        };
        let channel = if pre.starts_with("beta") {
            "beta"
        } else {
            "nightly"
        };
        let dated = host.commit_date.as_deref().and_then(next_day);
        return Ok(RustupToolchain::Install(match dated {
            Some(d) => format!("{channel}-{d}"),
            None => channel.to_string(),
        }));
    };
    let release = tc == "stable" || is_dotted_number(tc);
    let channel = (tc.starts_with("nightly") || tc.starts_with("beta"))
        && tc
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    match (release, channel) {
        (true, _) => Ok(RustupToolchain::Image(tc.to_string())),
        (_, true) => Ok(RustupToolchain::Install(tc.to_string())),
        _ => Err(Error::Usage(format!(
            "`+{tc}`: rustup mode takes a version (`+1.80`, `+1.80.1`), `+stable`, `+beta` or `+nightly` (dated or not: `+nightly-2026-11-01`)\n  help: for another toolchain set `[build] base-image` to an image that has it"
        ))),
    }
}

/// `YYYY-MM-DD` plus one day, in the proleptic Gregorian calendar.
pub(super) fn next_day(date: &str) -> Option<String> {
    let mut it = date.split('-').map(|p| p.parse::<u32>().ok());
    let (y, m, d) = (it.next()??, it.next()??, it.next()??);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if d == 0 || d > days || it.next().is_some() {
        return None;
    }
    let (y, m, d) = match (d == days, m == 12) {
        (false, _) => (y, m, d + 1),
        (true, false) => (y, m + 1, 1),
        (true, true) => (y + 1, 1, 1),
    };
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

/// `dockerfile`: the user's Dockerfile, built on top of the stage the
/// target's sysroot would start from (passed as the build argument
/// CROSS_BASE_IMAGE), loaded into the engine, and used as the sysroot
/// stage's base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustomImage {
    /// The stage loaded as CROSS_BASE_IMAGE.
    pub base_stage: Stage,
    pub base_tag: String,
    /// The user's Dockerfile and its context, on the host.
    pub file: PathBuf,
    pub context: PathBuf,
    /// `build-args`, plus CROSS_BASE_IMAGE, CROSS_TARGET and CROSS_DEB_ARCH.
    pub build_args: BTreeMap<String, String>,
    /// The tag the result is loaded as, which the sysroot stage starts from.
    pub tag: String,
}

/// `dockerfile`: the file and its context, on the host (relative to the
/// workspace root), and the build arguments.
pub(super) fn dockerfile_setting(
    d: &Dockerfile,
    root: &Path,
) -> (PathBuf, PathBuf, BTreeMap<String, String>) {
    let context = d
        .context
        .as_deref()
        .map_or(root.to_path_buf(), |c| root.join(c));
    let file = root.join(d.file.as_deref().unwrap_or_default());
    (file, context, d.build_args.clone().unwrap_or_default())
}

/// The zig target a target links with: the recipe's (musl, darwin), or,
/// when the configuration turns `zig` on for a glibc Linux target,
/// `<arch>-linux-<abi>[.<glibc version>]`. `zig` is `true`/`false`, a glibc
/// version, or `{ enable, version, image }`.
pub(super) fn zig_target(
    r: &Recipe,
    recipe: Option<&str>,
    zig: &Zig,
    warnings: &mut Vec<String>,
) -> Result<Option<String>> {
    if *zig == Zig::default() {
        return Ok(recipe.map(String::from));
    }
    let bad = |message: &str| Error::InvalidSetting {
        key: format!("zig ({})", r.triple),
        value: serde_json::to_string(zig).unwrap_or_default(),
        message: message.into(),
    };
    let version = zig.version.clone();
    if let Some(v) = &version
        && !is_dotted_number(v)
    {
        return Err(bad("the version is a glibc version, e.g. \"2.17\""));
    }
    if let Some(z) = recipe {
        if zig.enable == Some(false) {
            warnings.push(format!(
                "{}: zig cannot be turned off: it is this target's only linker here",
                r.triple
            ));
        } else if version.is_some() {
            warnings.push(format!(
                "{}: zig's glibc version is ignored: this target does not link glibc",
                r.triple
            ));
        }
        return Ok(Some(z.to_string()));
    }
    if zig.enable == Some(false) {
        return Ok(None);
    }
    if zig.enable.is_none() {
        warnings.push(format!(
            "{}: zig's version or image is set but zig is not enabled, so it does not link (as with cross)\n  help: set `enable = true` in the zig table (or `zig = true`)",
            r.triple
        ));
        return Ok(None);
    }
    let libc = r.libc;
    if !matches!(libc, crate::target::Libc::Gnu | crate::target::Libc::Musl) {
        return Err(bad(&format!(
            "zig links Linux targets (glibc or musl) here, and {} is not one",
            r.triple
        )));
    }
    if libc == crate::target::Libc::Musl && version.is_some() {
        warnings.push(format!(
            "{}: zig's glibc version is ignored: this target links musl",
            r.triple
        ));
    }
    let arch = match crate::triple::arch(&r.triple) {
        a if a.starts_with("armv7") => "arm".into(),
        a => a,
    };
    let abi = crate::triple::environment(&r.triple).unwrap_or("gnu".into());
    Ok(Some(match version {
        Some(v) if libc == crate::target::Libc::Gnu => format!("{arch}-linux-{abi}.{v}"),
        _ => format!("{arch}-linux-{abi}"),
    }))
}

/// A stage that adds zig to a toolchain stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ZigStage {
    pub name: Stage,
    pub from: Stage,
}

/// Where cross's images are, and the release of cross whose images a
/// subtarget shorthand (`image = "-centos"`) names.
pub const CROSS_IMAGES: &str = "ghcr.io/cross-rs";
pub const CROSS_IMAGES_VERSION: &str = "0.2.5";

/// `image`: the reference, with cross's shorthands expanded as cross does
/// (`:edge` and `@sha256:...` name the target's cross image by tag or
/// digest, `-centos` its subtarget image of cross's release), checked; and
/// whether a toolchain list was given.
pub(super) fn image_setting(image: &Image, triple: &str) -> Result<(String, bool)> {
    let name = image.name.clone().unwrap_or_default();
    let name = if name.starts_with(':') || name.starts_with('@') {
        format!("{CROSS_IMAGES}/{triple}{name}")
    } else if name.starts_with('-') {
        format!("{CROSS_IMAGES}/{triple}:{CROSS_IMAGES_VERSION}{name}")
    } else {
        name
    };
    crate::guard::image(&name, format!("image ({triple})"))?;
    Ok((name, image.toolchain.is_some()))
}

/// What build scripts of C dependencies commonly run, on a Debian
/// toolchain stage: openssl-src (perl with its modules, make), cmake
/// (aws-lc-sys, zstd, libgit2 builds), pkg-config, and libclang for
/// bindgen.
pub(super) const BUILD_TOOLS_DEBIAN: [&str; 5] =
    ["cmake", "libclang-dev", "make", "perl", "pkg-config"];

/// The toolchain stage `name` of a mode and image flavour, on `image` when
/// the configuration names one for a target.
pub(super) fn toolchain_stage(
    mode: ToolchainMode,
    flavour: ImageFlavour,
    image: Option<String>,
    name: Toolchain,
    settings: &Settings,
    rust: &RustupToolchain,
) -> ToolchainStage {
    let rust_version = match rust {
        RustupToolchain::Image(v) => v.as_str(),
        RustupToolchain::Install(_) => "stable",
    };
    let (default_image, packages, xx) = match (mode, flavour) {
        (ToolchainMode::Distro, _) => {
            // The same for every invocation, so that every build shares
            // one toolchain layer (and one registry cache entry).
            let mut p = vec![
                "ca-certificates",
                "cargo-web",
                "rustc-web",
                "gcc",
                "libc6-dev",
                "rust-web-src",
                "rust-web-clippy",
            ];
            p.extend(BUILD_TOOLS_DEBIAN);
            let image = settings
                .base_image
                .clone()
                .unwrap_or_else(|| crate::config::DEFAULT_DISTRO_BASE.into());
            (image, p, false)
        }
        (ToolchainMode::Rustup, ImageFlavour::Debian) => {
            let mut p = vec!["clang", "lld"];
            p.extend(BUILD_TOOLS_DEBIAN);
            let image = settings
                .base_image
                .clone()
                .unwrap_or_else(|| rust_image(rust_version, flavour));
            (image, p, true)
        }
        (ToolchainMode::Rustup, ImageFlavour::Alpine) => (
            rust_image(rust_version, flavour),
            vec!["clang", "lld", "llvm", "pkgconf", "make", "perl", "cmake"],
            true,
        ),
    };
    // A user's image gets the official image's Rust: cross's images have
    // none, and cross never uses an image's own.
    let rust_from = match (&image, mode) {
        (Some(_), ToolchainMode::Rustup) => Some(RustCopy {
            stage: Stage::RustImage(name.clone()),
            image: rust_image(rust_version, flavour),
            version: (rust_version.split('.').count() == 3 && is_dotted_number(rust_version))
                .then(|| rust_version.to_string()),
        }),
        _ => None,
    };
    // The official images install rustup's minimal profile: no clippy.
    let official = rust_from.is_some()
        || (image.is_none() && (flavour == ImageFlavour::Alpine || settings.base_image.is_none()));
    let rustup_components = if mode == ToolchainMode::Rustup && official {
        vec!["clippy".to_string()]
    } else {
        vec![]
    };
    let rustup_install = match rust {
        RustupToolchain::Install(t) if !rustup_components.is_empty() => Some(t.clone()),
        _ => None,
    };
    ToolchainStage {
        name: Stage::Toolchain(name),
        image: image.unwrap_or(default_image),
        flavour,
        packages: sorted(packages.into_iter().map(str::to_string)),
        xx,
        rustup_components,
        rustup_install,
        rust_from,
    }
}

/// The Rust image tag for a rustup-mode toolchain.
pub(super) fn rust_image(version: &str, flavour: ImageFlavour) -> String {
    let v = if version == "stable" {
        String::new()
    } else {
        format!("{version}-")
    };
    match flavour {
        ImageFlavour::Debian => format!("rust:{v}slim-bookworm"),
        ImageFlavour::Alpine => format!("rust:{v}alpine"),
    }
}

/// The macOS stubs for a zig target, at their place under [`MACOS_STUBS`].
pub(super) fn macos_stub_files(zig_target: &str) -> Vec<(String, String)> {
    crate::darwin::stub_files(zig_target)
        .into_iter()
        .chain(crate::darwin::header_files())
        .map(|(p, c)| (format!("{MACOS_STUBS}/{p}"), c))
        .collect()
}

/// Distro mode builds with the base image's Rust (Debian's packages): a
/// toolchain asked for with `+toolchain` or pinned by a rust-toolchain file
/// is not the one that builds, which the user hears about (both alike).
pub(super) fn distro_toolchain_warning(inv: &Invocation, ws: &Workspace) -> Option<String> {
    let (asked, channel) = match (&inv.toolchain, &ws.pinned_toolchain) {
        (Some(tc), _) => (format!("`+{tc}`"), tc),
        (None, Some(p)) if p.channel != "stable" => {
            (format!("{} (channel `{}`)", p.file, p.channel), &p.channel)
        }
        _ => return None,
    };
    Some(format!(
        "{asked} is not honoured in distro mode: it builds with the base image's Rust (Debian's rustc), not {channel}\n  help: GREEN_CROSS_TOOLCHAIN=rustup builds with {channel}; or name an image that has it in `[build] base-image`"
    ))
}

/// What the toolchain phase decides for the whole plan: which Rust, each
/// target's settings, which targets zig links, each target's image
/// flavour, which have an image of their own, and the toolchain stages.
pub(super) struct ToolchainPhase {
    pub rust_version: RustupToolchain,
    /// Each target's settings, resolved once for every phase.
    pub settings: BTreeMap<String, TargetSettings>,
    /// The zig target of each triple that zig links.
    pub zig_targets: BTreeMap<String, Option<String>>,
    /// The image flavour of each target's stages.
    pub flavours: BTreeMap<String, ImageFlavour>,
    /// The user's image of each triple that has one (`image`, or zig's).
    pub images: BTreeMap<String, String>,
    pub stages: Vec<ToolchainStage>,
}

impl ToolchainPhase {
    pub fn settings_of(&self, r: &Recipe) -> &TargetSettings {
        &self.settings[&r.triple]
    }

    pub fn zig_of(&self, r: &Recipe) -> Option<String> {
        self.zig_targets.get(&r.triple).cloned().flatten()
    }

    pub fn flavour_of(&self, r: &Recipe) -> ImageFlavour {
        self.flavours[&r.triple]
    }

    /// The stage a target's `dockerfile` image becomes.
    pub fn custom_stage(&self, r: &Recipe) -> Toolchain {
        match self.images.contains_key(&r.triple) {
            true => Toolchain::Custom(r.triple.clone()),
            false => Toolchain::Target(r.triple.clone()),
        }
    }
}

/// The image flavour of a target's stages: the recipe's in rustup mode,
/// Debian otherwise. zig is added to a Debian stage: a target it links is
/// built there.
fn flavour(mode: ToolchainMode, r: &Recipe, zig: Option<&str>) -> ImageFlavour {
    match mode {
        ToolchainMode::Rustup if zig.is_none() => r.rustup.image.unwrap_or(ImageFlavour::Debian),
        _ => ImageFlavour::Debian,
    }
}

/// The tag a target's `dockerfile` image is loaded under.
pub(super) fn custom_tag(ws_hash: u64, r: &Recipe) -> String {
    format!("green-cross-custom:{}-{ws_hash:016x}", r.triple)
}

/// `image` per target (zig's image replaces it when zig is on, as in
/// cross), checked and expanded.
fn user_images(
    mode: ToolchainMode,
    settings: &BTreeMap<String, TargetSettings>,
    recipes: &[&Recipe],
    warnings: &mut Vec<String>,
) -> Result<BTreeMap<String, String>> {
    let mut images = BTreeMap::new();
    for r in recipes {
        let ts = &settings[&r.triple];
        let zig_image = ts
            .zig
            .image
            .as_ref()
            .filter(|_| ts.zig.enable == Some(true));
        let Some(v) = zig_image.or(ts.image.as_ref()) else {
            continue;
        };
        let (name, toolchain) = image_setting(v, &r.triple)?;
        if mode == ToolchainMode::Distro && name.starts_with(CROSS_IMAGES) {
            warnings.push(format!(
                "{}: {name} is one of cross's images (Ubuntu), and distro mode installs Debian's Rust on the image with apt, which Ubuntu does not have\n  help: use rustup mode, which copies the official image's Rust in, or a Debian bookworm-based image",
                r.triple
            ));
        }
        if toolchain {
            warnings.push(format!(
                "{}: image.toolchain is ignored: the image runs on the build platform",
                r.triple
            ));
        }
        images.insert(r.triple.clone(), name);
    }
    Ok(images)
}

/// The toolchain phase: the Rust version, zig per target, users' images,
/// and the toolchain stages (one per image flavour the targets need, one
/// per user image, one per `dockerfile` image).
pub(super) fn toolchains(
    input: &PlanInput,
    recipes: &[&Recipe],
    ws_hash: u64,
    warnings: &mut Vec<String>,
) -> Result<ToolchainPhase> {
    let (inv, settings) = (input.invocation, input.settings);
    let mode = settings.toolchain;
    let rust_version = match mode {
        ToolchainMode::Rustup => rustup_toolchain(inv.toolchain.as_deref(), input.host)?,
        ToolchainMode::Distro => RustupToolchain::Image(input.host.rustc_version.clone()),
    };
    let target_settings: BTreeMap<String, TargetSettings> = recipes
        .iter()
        .map(|r| (r.triple.clone(), settings.for_target(&r.triple)))
        .collect();
    let (mut zig_targets, mut flavours) = (BTreeMap::new(), BTreeMap::new());
    for r in recipes {
        let configured = &target_settings[&r.triple].zig;
        let z = zig_target(r, r.mode(mode).zig.as_deref(), configured, warnings)?;
        flavours.insert(r.triple.clone(), flavour(mode, r, z.as_deref()));
        zig_targets.insert(r.triple.clone(), z);
    }
    let images = user_images(mode, &target_settings, recipes, warnings)?;
    let mut phase = ToolchainPhase {
        rust_version,
        settings: target_settings,
        zig_targets,
        flavours,
        images,
        stages: vec![],
    };
    let shared = |r: &&&Recipe| !phase.images.contains_key(&r.triple);
    let flavours: BTreeSet<ImageFlavour> = recipes
        .iter()
        .filter(shared)
        .map(|r| phase.flavour_of(r))
        .chain(
            recipes
                .iter()
                .filter(shared)
                .any(|r| phase.zig_of(r).is_some())
                .then_some(ImageFlavour::Debian),
        )
        .collect();
    let stage = |flavour, image, name| {
        toolchain_stage(mode, flavour, image, name, settings, &phase.rust_version)
    };
    let mut stages: Vec<ToolchainStage> = flavours
        .iter()
        .map(|f| stage(*f, None, Toolchain::shared(*f)))
        .collect();
    for r in recipes {
        let flavour = phase.flavour_of(r);
        if let Some(image) = phase.images.get(&r.triple) {
            let name = Toolchain::Target(r.triple.clone());
            stages.push(stage(flavour, Some(image.clone()), name));
        }
        if phase.settings_of(r).dockerfile.is_some() {
            let tag = custom_tag(ws_hash, r);
            stages.push(stage(flavour, Some(tag), phase.custom_stage(r)));
        }
    }
    phase.stages = stages;
    Ok(phase)
}

/// A target's `dockerfile` image: the file and context on the host, the
/// build arguments (the user's, CROSS_BASE_IMAGE, CROSS_TARGET,
/// CROSS_DEB_ARCH), the tag its base (`base_stage`) is loaded under, and
/// its own tag.
pub(super) fn custom_image(
    d: &Dockerfile,
    r: &Recipe,
    base_stage: Stage,
    root: &Path,
    ws_hash: u64,
    cross_deb_arch: Option<&str>,
) -> CustomImage {
    let (file, context, mut build_args) = dockerfile_setting(d, root);
    let base_tag = format!("green-cross-base:{}-{ws_hash:016x}", r.triple);
    build_args.insert("CROSS_BASE_IMAGE".into(), base_tag.clone());
    build_args.insert("CROSS_TARGET".into(), r.triple.clone());
    if let Some(a) = cross_deb_arch {
        build_args.insert("CROSS_DEB_ARCH".into(), a.to_string());
    }
    CustomImage {
        base_stage,
        base_tag,
        file,
        context,
        build_args,
        tag: custom_tag(ws_hash, r),
    }
}
