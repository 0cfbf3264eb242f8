//! The package installs of sysroot and runner stages: apt, xx-apt-get,
//! apk and xx-apk, each reading the CA bundle its own way.

use super::*;

/// The package install and the setup commands of a sysroot or runner stage.
pub(super) fn install_and_setup(
    out: &mut String,
    install: Option<&PackageInstall>,
    setup: &[String],
) {
    if let Some(install) = install {
        run_online(out, &[], &install_commands(install));
    }
    if !setup.is_empty() {
        run(out, &[], setup);
    }
}

/// The commands of a package install; each kind reads the CA bundle
/// (apt through its option, apk through SSL_CERT_FILE).
fn install_commands(install: &PackageInstall) -> Vec<String> {
    let mut cmds = Vec::new();
    match install {
        PackageInstall::Apt {
            deb_arch,
            packages,
            target_packages,
        } => {
            cmds.push(apt_ca_prefix());
            if let Some(arch) = deb_arch {
                cmds.push(format!("dpkg --add-architecture {}", q(arch)));
            }
            cmds.push(APT_UPDATE.into());
            let mut all: Vec<String> = packages.clone();
            for p in target_packages {
                match deb_arch {
                    Some(a) => all.push(format!("{p}:{a}")),
                    None => all.push(p.clone()),
                }
            }
            cmds.push(apt_install(&all));
        }
        PackageInstall::XxApt {
            platform,
            packages,
            target_packages,
        } => {
            cmds.push(apt_ca_prefix());
            cmds.push(APT_UPDATE.into());
            if !packages.is_empty() {
                cmds.push(apt_install(packages));
            }
            if !target_packages.is_empty() {
                // xx-apt-get runs its own `apt-get update` (after adding
                // the architecture): apt reads the CA from its config. A
                // failed RUN commits nothing, so the file goes on success.
                cmds.push(apt_ca_conf());
                cmds.push(format!(
                    "TARGETPLATFORM={platform} xx-apt-get install -y {}",
                    join_q(target_packages)
                ));
                cmds.push(format!("rm -f {APT_CA_CONF}"));
            }
        }
        PackageInstall::XxApk {
            platform,
            packages,
            target_packages,
        } => {
            cmds.push(format!("{SSL_CA} true"));
            if !packages.is_empty() {
                cmds.push(format!("apk add --no-cache {}", join_q(packages)));
            }
            if !target_packages.is_empty() {
                cmds.push(format!(
                    "TARGETPLATFORM={platform} xx-apk add --no-cache {}",
                    join_q(target_packages)
                ));
                cmds.push(format!(
                    "TARGETPLATFORM={platform} xx-clang --setup-target-triple"
                ));
            }
        }
    }
    cmds
}
