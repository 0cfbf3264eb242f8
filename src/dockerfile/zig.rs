//! zig for the targets that use it: the zig stage (PyPI's ziglang in a
//! venv, with its ar and ranlib wrappers), and a sysroot stage's cc and
//! c++ wrappers, macOS's included, and its warm-up.

use std::fmt::Write as _;

use super::{APT_UPDATE, CA, apt_ca_prefix, apt_install, run, run_online};
use crate::plan::{MACOS_SDK_MOUNT, MACOS_STUBS, ZigStage};

const ZIG_VENV: &str = "/opt/green-cross/zig";

/// A zig stage: ziglang `version` in a venv, and the `ar` and `ranlib`
/// wrappers that run it.
pub(super) fn zig_stage(out: &mut String, version: &str, stage: &ZigStage) {
    let _ = writeln!(out, "FROM {} AS {}", stage.from, stage.name);
    run_online(
        out,
        &[],
        &[
            apt_ca_prefix(),
            APT_UPDATE.into(),
            apt_install(&["python3".to_string(), "python3-venv".to_string()]),
            format!("{{ if [ -f {CA} ]; then export PIP_CERT={CA}; fi; }}"),
            format!("python3 -m venv {ZIG_VENV}"),
            format!(
                "{ZIG_VENV}/bin/pip install -q --no-cache-dir --disable-pip-version-check ziglang=={version}"
            ),
        ],
    );
    let _ = write!(
        out,
        "COPY --chmod=755 <<'EOF' /usr/local/bin/green-cross-zig-ar\n#!/bin/sh\nexec {ZIG_VENV}/bin/python3 -m ziglang ar \"$@\"\nEOF\n"
    );
    // The build machine's GNU ranlib calls a Mach-O archive malformed
    // (OpenSSL's `make install` runs ranlib): zig's LLVM ranlib reads all.
    let _ = write!(
        out,
        "COPY --chmod=755 <<'EOF' /usr/local/bin/green-cross-zig-ranlib\n#!/bin/sh\nexec {ZIG_VENV}/bin/python3 -m ziglang ranlib \"$@\"\nEOF\n\n"
    );
}

/// A zig cc/c++ wrapper that drops the flags zig does not take (rustc's
/// `-arch`, the cc crate's `--target=`) and `-lgcc_s`, whose unwinder zig
/// provides as libunwind (linked in its place for glibc targets). For
/// macOS it adds the library and framework stubs, or the user's SDK when
/// one is mounted (see [`crate::darwin`]).
fn zig_wrapper(out: &mut String, zig_target: &str, tool: &str, name: &str) {
    let macos = zig_target.contains("macos");
    let target = crate::darwin::zig_target_with_deployment(zig_target);
    let (head, arms, tail) = if macos {
        macos_wrapper_parts()
    } else if zig_target.contains("-linux-gnu") {
        (
            String::new(),
            "-lgcc_s) set -- \"$@\" -lunwind ;;\n--target=*) ;;\n".to_string(),
            String::new(),
        )
    } else {
        (
            String::new(),
            "--target=*|-lgcc_s) ;;\n".to_string(),
            String::new(),
        )
    };
    let _ = write!(
        out,
        "COPY --chmod=755 <<'EOF' /usr/local/bin/{name}\n\
#!/bin/sh\n\
{head}\
skip=0\n\
for a in \"$@\"; do\n\
  shift\n\
  if [ \"$skip\" = 1 ]; then skip=0; continue; fi\n\
  case \"$a\" in\n\
    -arch) skip=1 ;;\n\
{arms}\
    *) set -- \"$@\" \"$a\" ;;\n\
  esac\n\
done\n\
exec {ZIG_VENV}/bin/python3 -m ziglang {tool} -target \"{target}\" \"$@\"{tail}\n\
EOF\n"
    );
}

/// The macOS parts of a zig wrapper: which SDK (the user's when mounted,
/// else the stubs), the arguments dropped (`-dead_strip_dylibs` would drop
/// every stub without symbols), the ones that need run-time lookup, and
/// the search paths appended.
fn macos_wrapper_parts() -> (String, String, String) {
    let head = format!(
        "sdk={MACOS_STUBS}; extra=\nif [ -d {MACOS_SDK_MOUNT}/usr/lib ]; then sdk={MACOS_SDK_MOUNT}; fi\n"
    );
    let arms = format!(
        "--target=*|-lgcc_s|-dead_strip_dylibs|-Wl,-dead_strip_dylibs) ;;\n{}) [ \"$sdk\" = {MACOS_STUBS} ] && extra={}; set -- \"$@\" \"$a\" ;;\n",
        crate::darwin::dynamic_lookup_triggers().join("|"),
        crate::darwin::DYNAMIC_LOOKUP
    );
    // The SDK's headers, or the stubs' few, after zig's own.
    let tail = format!(" {} $extra", crate::darwin::link_args("$sdk").join(" "));
    (head, arms, tail)
}

/// A sysroot stage's `green-cross-zig-cc-<triple>` and
/// `green-cross-zig-cxx-<triple>`.
pub(super) fn wrappers(out: &mut String, zig_target: &str, triple: &str) {
    for (tool, name) in [("cc", "cc"), ("c++", "cxx")] {
        let name = format!("green-cross-zig-{name}-{triple}");
        zig_wrapper(out, zig_target, tool, &name);
    }
}

/// Build zig's libc and runtime once, into the sysroot's layer.
pub(super) fn warm_up(out: &mut String, triple: &str) {
    run(
        out,
        &[],
        &[
            "printf 'int main(void) { return 0; }\\n' > /tmp/green-cross-zig-warm.c".into(),
            format!(
                "green-cross-zig-cc-{triple} /tmp/green-cross-zig-warm.c -o /tmp/green-cross-zig-warm"
            ),
            "rm -f /tmp/green-cross-zig-warm /tmp/green-cross-zig-warm.c".into(),
        ],
    );
}
