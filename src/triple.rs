//! Triples: their parts, as target-lexicon reads them, and their spellings
//! in environment variables (cargo's CARGO_TARGET_<TRIPLE>_* and the cc
//! crate's CC_<triple>). Used by the configuration (whose environment layer
//! keys targets this way) and by the recipes and the planner.

use std::borrow::Cow;

use target_lexicon::{Environment, Triple};

/// The triple as target-lexicon reads it; None for a name it cannot read,
/// such as a custom target specification's (those are named freely).
fn parse(triple: &str) -> Option<Triple> {
    triple.parse().ok()
}

/// The architecture: `armv7` of `armv7-unknown-linux-musleabihf`,
/// `riscv64gc` of `riscv64gc-unknown-linux-gnu`. For a name target-lexicon
/// cannot read, the part before its first `-`, where target names put the
/// architecture (the whole name when it has no `-`).
pub fn arch(triple: &str) -> Cow<'_, str> {
    match parse(triple) {
        Some(t) => t.architecture.into_str(),
        None => Cow::Borrowed(triple.split_once('-').map_or(triple, |(a, _)| a)),
    }
}

/// The environment (the ABI): `gnu` of `x86_64-pc-windows-gnu`,
/// `musleabihf` of `armv7-unknown-linux-musleabihf`. None when the triple
/// names none (`aarch64-apple-darwin`) or target-lexicon cannot read it.
pub fn environment(triple: &str) -> Option<Cow<'static, str>> {
    parse(triple)
        .map(|t| t.environment)
        .filter(|e| *e != Environment::Unknown)
        .map(Environment::into_str)
}

/// `aarch64-unknown-linux-gnu` -> `AARCH64_UNKNOWN_LINUX_GNU`, as cargo
/// spells it in CARGO_TARGET_<TRIPLE>_*.
pub fn env_upper(triple: &str) -> String {
    triple.replace(['-', '.'], "_").to_uppercase()
}

/// `aarch64-unknown-linux-gnu` -> `aarch64_unknown_linux_gnu`, as the cc
/// crate spells it in CC_<triple>.
pub fn env_lower(triple: &str) -> String {
    triple.replace(['-', '.'], "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_and_environment_of_known_triples() {
        for (triple, a, e) in [
            (
                "armv7-unknown-linux-musleabihf",
                "armv7",
                Some("musleabihf"),
            ),
            ("armv7-unknown-linux-gnueabihf", "armv7", Some("gnueabihf")),
            ("x86_64-pc-windows-gnu", "x86_64", Some("gnu")),
            ("x86_64-unknown-linux-musl", "x86_64", Some("musl")),
            ("aarch64-apple-darwin", "aarch64", None),
            ("riscv64gc-unknown-linux-gnu", "riscv64gc", Some("gnu")),
            ("mips64-unknown-linux-gnuabi64", "mips64", Some("gnuabi64")),
        ] {
            assert_eq!(arch(triple), a, "{triple}");
            assert_eq!(environment(triple).as_deref(), e, "{triple}");
        }
    }

    #[test]
    fn custom_names_fall_back_to_their_first_part() {
        // Custom target specifications are named freely; none of these is
        // a triple target-lexicon reads.
        for name in ["x86_64-acme-os", "my-custom-target", "mytarget"] {
            assert!(parse(name).is_none(), "{name}");
            assert_eq!(environment(name), None, "{name}");
        }
        assert_eq!(arch("x86_64-acme-os"), "x86_64");
        assert_eq!(arch("my-custom-target"), "my");
        assert_eq!(arch("mytarget"), "mytarget");
    }
}
