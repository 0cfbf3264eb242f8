//! Triples as environment variables spell them: cargo's
//! CARGO_TARGET_<TRIPLE>_* and the cc crate's CC_<triple>. Used by the
//! configuration (whose environment layer keys targets this way) and by the
//! recipes and the planner.

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
