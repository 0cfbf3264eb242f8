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

/// `pre-build`, at the end of the sysroot stage: the commands (one script)
/// or the script, with CROSS_TARGET and CROSS_DEB_ARCH. Commands that need
/// apt on an Alpine stage are warned about.
pub(super) fn pre_build_plan(
    r: &Recipe,
    pre_build: Option<&PreBuild>,
    cross_deb_arch: Option<&str>,
    from: &Stage,
    warnings: &mut Vec<String>,
) -> Option<PreBuildPlan> {
    let p = pre_build.filter(|p| !matches!(p, PreBuild::Lines(l) if l.is_empty()))?;
    let commands = p.commands().unwrap_or_default();
    if *from == Stage::Toolchain(Toolchain::Alpine)
        && commands
            .iter()
            .any(|c| c.contains("apt-get") || c.contains("dpkg"))
    {
        warnings.push(format!(
            "{}: pre-build runs apt-get or dpkg, but in rustup mode this target's stages are Alpine (the official rust:alpine image), which has apk instead\n  help: install with `packages` (xx-apk), with apk in pre-build, or use distro mode",
            r.triple
        ));
    }
    let mut env = BTreeMap::new();
    env.insert("CROSS_TARGET".to_string(), r.triple.clone());
    if let Some(a) = cross_deb_arch {
        env.insert("CROSS_DEB_ARCH".to_string(), a.to_string());
    }
    let script = match p {
        PreBuild::Script(path) => Some(path.trim_start_matches("./").to_string()),
        _ => None,
    };
    Some(PreBuildPlan {
        commands: commands.to_vec(),
        script,
        env,
    })
}

/// The recipe's setup commands; with lld, first a `<prefix>ld.lld` link:
/// `-fuse-ld=lld` makes a cross gcc look for it on PATH (the plain name
/// only in its own directories).
pub(super) fn setup_commands(m: &ModeRecipe, lld: bool) -> Vec<String> {
    let mut setup = m.setup.clone();
    if lld
        && let Some(prefix) = m
            .linker
            .as_deref()
            .and_then(|l| l.strip_suffix("gcc"))
            .filter(|p| !p.is_empty())
    {
        setup.insert(0, format!("ln -sf ld.lld /usr/bin/{prefix}ld.lld"));
    }
    setup
}

#[cfg(test)]
mod tests {
    use super::*;

    fn recipe(triple: &str) -> Recipe {
        Recipes::embedded().unwrap().get(triple).unwrap().clone()
    }

    #[test]
    fn build_std_is_on_for_true_or_crates_and_cannot_be_turned_off_where_std_only_builds() {
        let r = recipe("aarch64-unknown-linux-gnu");
        let mut w = vec![];
        let on = std_choice(
            &r,
            StdSource::Rustup,
            Some(&BuildStd::Enabled(true)),
            &mut w,
        );
        assert_eq!(on, (StdSource::BuildStd, BUILD_STD_FLAG.to_string()));
        let crates = BuildStd::Crates(vec!["core".into(), "alloc".into()]);
        let (std, flag) = std_choice(&r, StdSource::Rustup, Some(&crates), &mut w);
        assert_eq!(
            (std, flag.as_str()),
            (StdSource::BuildStd, "-Zbuild-std=core,alloc")
        );
        assert!(w.is_empty());
        let off = BuildStd::Enabled(false);
        let (std, _) = std_choice(&r, StdSource::BuildStd, Some(&off), &mut w);
        assert_eq!(std, StdSource::BuildStd);
        assert!(w[0].contains("cannot be turned off"), "{w:?}");
    }

    #[test]
    fn packages_install_as_the_mode_and_flavour_do_and_say_where_they_cannot() {
        let r = recipe("aarch64-unknown-linux-gnu");
        let user = ["libssl-dev".to_string()];
        let m = r.mode(ToolchainMode::Distro);
        let i = package_install(
            &r,
            m,
            ToolchainMode::Distro,
            ImageFlavour::Debian,
            StdSource::Multiarch,
            false,
            false,
            &user,
        )
        .unwrap()
        .unwrap();
        let PackageInstall::Apt {
            deb_arch,
            target_packages,
            ..
        } = i
        else {
            panic!("{i:?}")
        };
        assert_eq!(deb_arch.as_deref(), Some("arm64"));
        assert_eq!(target_packages, ["libssl-dev", "libstd-rust-web-dev"]);
        let musl = recipe("x86_64-unknown-linux-musl");
        let m = musl.mode(ToolchainMode::Rustup);
        let i = package_install(
            &musl,
            m,
            ToolchainMode::Rustup,
            ImageFlavour::Alpine,
            StdSource::Rustup,
            false,
            false,
            &user,
        );
        assert!(matches!(i, Ok(Some(PackageInstall::XxApk { .. }))), "{i:?}");
        // zig brings musl: the Alpine stage's packages go.
        let i = package_install(
            &musl,
            m,
            ToolchainMode::Rustup,
            ImageFlavour::Debian,
            StdSource::Rustup,
            true,
            false,
            &[],
        );
        assert!(matches!(i, Ok(None)), "{i:?}");
        let e = package_install(
            &musl,
            musl.mode(ToolchainMode::Distro),
            ToolchainMode::Distro,
            ImageFlavour::Debian,
            StdSource::BuildStd,
            false,
            false,
            &user,
        );
        assert!(e.unwrap_err().to_string().contains("this target has none"));
        let spec = Recipe::custom_spec("board");
        let e = package_install(
            &spec,
            spec.mode(ToolchainMode::Rustup),
            ToolchainMode::Rustup,
            ImageFlavour::Debian,
            StdSource::BuildStd,
            false,
            false,
            &user,
        );
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("custom target specification")
        );
    }

    #[test]
    fn the_sysroot_names_the_recipe_s_toolchain_or_zig_s_wrappers() {
        let r = recipe("aarch64-unknown-linux-gnu");
        let m = r.mode(ToolchainMode::Distro);
        let env = sysroot_env(&r, m, None, false, StdSource::Multiarch, false);
        assert_eq!(
            env["CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"],
            "aarch64-linux-gnu-gcc"
        );
        assert_eq!(
            env["PKG_CONFIG_PATH_aarch64_unknown_linux_gnu"],
            "/usr/lib/aarch64-linux-gnu/pkgconfig"
        );
        assert!(!env.contains_key("RUSTC_BOOTSTRAP"));
        let env = sysroot_env(
            &r,
            m,
            Some("aarch64-linux-gnu.2.17"),
            false,
            StdSource::BuildStd,
            true,
        );
        assert_eq!(
            env["CC_aarch64_unknown_linux_gnu"],
            "green-cross-zig-cc-aarch64-unknown-linux-gnu"
        );
        assert_eq!(
            env["RANLIB_aarch64_unknown_linux_gnu"],
            "green-cross-zig-ranlib"
        );
        assert_eq!(env["RUSTC_BOOTSTRAP"], "1");
        assert_eq!(env["CARGO_UNSTABLE_JSON_TARGET_SPEC"], "true");
        let musl = recipe("aarch64-unknown-linux-musl");
        let env = sysroot_env(
            &musl,
            musl.mode(ToolchainMode::Rustup),
            Some("aarch64-linux-musl"),
            true,
            StdSource::Rustup,
            false,
        );
        assert!(
            !env.contains_key("PKG_CONFIG_aarch64_unknown_linux_musl"),
            "{env:?}"
        );
    }
}
