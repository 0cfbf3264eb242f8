//! A target's sysroot stage: where its standard library comes from, the
//! packages it installs and the variables that name its C toolchain.

use super::*;
use crate::target::ModeRecipe;

/// build-std: on (std, or the crates named), or off when the recipe can do
/// without; and the flag that builds it.
pub(super) fn std_choice(
    r: &Recipe,
    recipe_std: StdSource,
    build_std: Option<&BuildStd>,
    warnings: &mut Vec<String>,
) -> (StdSource, String) {
    match build_std {
        Some(BuildStd::Enabled(true)) => (StdSource::BuildStd, BUILD_STD_FLAG.to_string()),
        Some(BuildStd::Crates(c)) if !c.is_empty() => {
            (StdSource::BuildStd, format!("-Zbuild-std={}", c.join(",")))
        }
        Some(_) if recipe_std == StdSource::BuildStd => {
            warnings.push(format!(
                "{}: build-std cannot be turned off: std for this target is only built from source here",
                r.triple
            ));
            (recipe_std, BUILD_STD_FLAG.to_string())
        }
        _ => (recipe_std, BUILD_STD_FLAG.to_string()),
    }
}

/// The packages of the sysroot stage: the recipe's for the build platform
/// (and lld), the recipe's and the user's for the target, installed the
/// way the mode and the image flavour install them.
#[allow(clippy::too_many_arguments)]
pub(super) fn package_install(
    r: &Recipe,
    m: &ModeRecipe,
    mode: ToolchainMode,
    flavour: ImageFlavour,
    std: StdSource,
    zig_musl: bool,
    lld: bool,
    user: &[String],
) -> Result<Option<PackageInstall>> {
    let packages = sorted(
        m.packages
            .iter()
            .cloned()
            .chain(lld.then(|| "lld".to_string())),
    );
    // The recipe's target packages are its Alpine stage's (musl's own
    // headers and libraries), which zig replaces.
    let mut target_packages: Vec<String> = match zig_musl {
        true => vec![],
        false => m.target_packages.clone(),
    };
    if mode == ToolchainMode::Distro && std == StdSource::Multiarch {
        target_packages.push("libstd-rust-web-dev".into());
    }
    if !user.is_empty() && r.libc == crate::target::Libc::Other {
        return Err(Error::Usage(format!(
            "`packages` for {}: a custom target specification has no architecture to install packages for\n  help: install what the build needs with `pre-build`",
            r.triple
        )));
    }
    if !user.is_empty() && mode == ToolchainMode::Distro && m.deb_arch.is_none() {
        return Err(Error::Usage(format!(
            "`packages` for {}: distro mode installs them as <name>:<Debian architecture>, and this target has none\n  help: install what the build needs with `pre-build`, or use rustup mode (xx-apt-get / xx-apk)",
            r.triple
        )));
    }
    target_packages.extend(user.iter().cloned());
    let target_packages = sorted(target_packages);
    let install = match (mode, flavour) {
        (ToolchainMode::Distro, _) => PackageInstall::Apt {
            deb_arch: if target_packages.is_empty() {
                None
            } else {
                m.deb_arch.clone()
            },
            packages,
            target_packages,
        },
        (ToolchainMode::Rustup, ImageFlavour::Debian) => PackageInstall::XxApt {
            platform: r.platform.clone(),
            packages,
            target_packages,
        },
        (ToolchainMode::Rustup, ImageFlavour::Alpine) => PackageInstall::XxApk {
            platform: r.platform.clone(),
            packages,
            target_packages,
        },
    };
    Ok((!install.is_empty()).then_some(install))
}

/// The sysroot stage's variables: the linker, the C toolchain (zig's
/// wrappers when zig links), the sysroot and pkg-config, and what build-std,
/// a target specification and zig need.
pub(super) fn sysroot_env(
    r: &Recipe,
    m: &ModeRecipe,
    zig: Option<&str>,
    zig_musl: bool,
    std: StdSource,
    spec: bool,
) -> BTreeMap<String, String> {
    let (up, lo) = (env_upper(&r.triple), env_lower(&r.triple));
    let mut env = BTreeMap::new();
    let (linker, cc, cxx, ar) = match zig {
        Some(_) => (
            Some(format!("green-cross-zig-cc-{}", r.triple)),
            Some(format!("green-cross-zig-cc-{}", r.triple)),
            Some(format!("green-cross-zig-cxx-{}", r.triple)),
            Some("green-cross-zig-ar".to_string()),
        ),
        None => (m.linker.clone(), m.cc.clone(), m.cxx.clone(), m.ar.clone()),
    };
    let named = [
        (format!("CARGO_TARGET_{up}_LINKER"), linker),
        (format!("CC_{lo}"), cc),
        (format!("CXX_{lo}"), cxx),
        (format!("AR_{lo}"), ar),
    ];
    env.extend(named.into_iter().filter_map(|(k, v)| Some((k, v?))));
    if zig.is_some() {
        env.insert(format!("RANLIB_{lo}"), "green-cross-zig-ranlib".into());
    }
    if let Some(sysroot) = &m.sysroot {
        env.insert("CROSS_SYSROOT".into(), sysroot.clone());
        if let (Some(_), Some(multiarch)) = (&m.deb_arch, Path::new(sysroot).file_name()) {
            env.insert(
                format!("PKG_CONFIG_PATH_{lo}"),
                format!("/usr/lib/{}/pkgconfig", multiarch.to_string_lossy()),
            );
        }
    }
    env.extend(r.env.clone());
    if let Some(pc) = m.pkg_config.as_ref().filter(|_| !zig_musl) {
        env.insert(format!("PKG_CONFIG_{lo}"), pc.clone());
    }
    env.insert("PKG_CONFIG_ALLOW_CROSS".into(), "1".into());
    if std == StdSource::BuildStd {
        env.insert("RUSTC_BOOTSTRAP".into(), "1".into());
    }
    if spec {
        // Newer cargo reads a target specification only with
        // -Zjson-target-spec; older cargo ignores the variable.
        env.insert("CARGO_UNSTABLE_JSON_TARGET_SPEC".into(), "true".into());
    }
    if zig.is_some() {
        env.insert(
            "ZIG_GLOBAL_CACHE_DIR".into(),
            "/opt/green-cross/zig-cache".into(),
        );
    }
    env
}
