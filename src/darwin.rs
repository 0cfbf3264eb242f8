//! Linking macOS system libraries and frameworks with zig, with or without
//! an Apple SDK.
//!
//! zig's bundled macOS libc is `libSystem` alone (`-lSystem`, `-lc`, `-lm`
//! and `-lc++` all resolve to zig's own files). Everything else a Mac has is
//! missing: the `libc` crate links `-liconv` on every Apple target, so any
//! Rust program fails with "unable to find dynamic system library 'iconv'",
//! and crates that link frameworks (`core-foundation-sys`,
//! `security-framework-sys`, `system-configuration-sys`, `fsevent-sys`, ...)
//! fail on `-framework X`.
//!
//! # Stubs
//!
//! Without an SDK, a directory of text-based stubs (TAPI `.tbd` files) stands
//! in for the libraries. A stub only has to say where the library lives on a
//! Mac: the linker copies its `install-name` into the binary's
//! `LC_LOAD_DYLIB`, and dyld loads that path at run time. zig's Mach-O
//! linker reads YAML stubs of `tbd-version: 4`, and needs `targets` and
//! `install-name`; it rejects the older `!tapi-tbd-v3` documents ("NotLibStub")
//! and the JSON stubs of version 5. A stub without `current-version` and
//! `compatibility-version` is recorded as 1.0.0 for both: the lowest
//! version there is, so no Mac's library can be too old for it.
//!
//! The directory is laid out like an SDK (`usr/lib/libX.tbd`,
//! `System/Library/Frameworks/X.framework/X.tbd`, the files zig looks for
//! with `-lX` and, under `-F`, with `-framework X`), so that the same
//! directory can also serve as `SDKROOT` (see [`link_args`]).
//!
//! # Symbols
//!
//! A framework exports thousands of symbols; its stub lists none. A symbol
//! that no stub exports is undefined to the linker, which then fails unless
//! told `-undefined dynamic_lookup` ([`DYNAMIC_LOOKUP`]): zig binds such a
//! symbol through the flat namespace (the bind table says `flat-namespace`
//! instead of a library), and dyld looks it up at run time in every image
//! loaded, which includes the stubbed libraries, since their load commands
//! are in the binary. (zig writes classic dyld info, not chained
//! fixups: the form of flat lookup that Apple's linker has always written
//! for `-undefined dynamic_lookup`.)
//!
//! The cost is that a symbol that exists nowhere is found missing only when
//! the program runs, and that a link test ("does this function exist?") of
//! a C build system always passes. So the flag is added only to links that
//! name a framework or a symbol-less stub library ([`needs_dynamic_lookup`]).
//! `libiconv`'s stub lists its functions instead: the plain Rust link
//! (`-lSystem -lc -lm -liconv`) and C probes stay strict, and iconv calls
//! bind to `libiconv.2.dylib` by name.
//!
//! `-dead_strip_dylibs` removes a library none of whose symbols was bound to
//! it, which is every symbol-less stub: that flag must not reach zig when the
//! stubs are in use. rustc does not pass it.
//!
//! # With an SDK
//!
//! A `MacOSX.sdk` that the user supplies has the real stubs, complete with
//! symbols, and its headers ([`link_args`]). zig does not search
//! an SDK named by `SDKROOT`, `-isysroot` or `--sysroot`, and `--sysroot`
//! makes it look for every absolute `-L` directory inside the sysroot (not
//! the `-F` ones). Plain absolute `-L` and `-F` work, and zig finds the
//! libraries that an SDK stub re-exports (`libiconv` re-exports
//! `libcharset`, `Foundation` re-exports `CoreFoundation`) in those
//! directories too, giving each a load command of its own.

/// Where library stubs go, inside the stub directory or an SDK.
pub const LIB_DIR: &str = "usr/lib";

/// Where framework stubs go, inside the stub directory or an SDK.
pub const FRAMEWORK_DIR: &str = "System/Library/Frameworks";

/// Lets symbols that no stub exports be bound at run time (see the module
/// documentation).
pub const DYNAMIC_LOOKUP: &str = "-Wl,-undefined,dynamic_lookup";

/// A library in `/usr/lib`: the name `-l` takes, the file dyld loads, and
/// the symbols its stub exports (none: bound at run time).
struct Library {
    name: &'static str,
    install_name: &'static str,
    exports: &'static [&'static str],
}

/// The `/usr/lib` libraries Rust crates link on macOS.
const LIBRARIES: &[Library] = &[
    // The `libc` crate, hence every Rust program. Its public functions.
    Library {
        name: "iconv",
        install_name: "/usr/lib/libiconv.2.dylib",
        exports: &[
            "_iconv",
            "_iconv_close",
            "_iconv_open",
            "_iconvctl",
            "_iconvlist",
        ],
    },
    Library {
        name: "resolv",
        install_name: "/usr/lib/libresolv.9.dylib",
        exports: &[],
    },
    // objc, objc2 and everything built on them.
    Library {
        name: "objc",
        install_name: "/usr/lib/libobjc.A.dylib",
        exports: &[],
    },
    Library {
        name: "z",
        install_name: "/usr/lib/libz.1.dylib",
        exports: &[],
    },
    Library {
        name: "sqlite3",
        install_name: "/usr/lib/libsqlite3.dylib",
        exports: &[],
    },
    Library {
        name: "curl",
        install_name: "/usr/lib/libcurl.4.dylib",
        exports: &[],
    },
    Library {
        name: "pcap",
        install_name: "/usr/lib/libpcap.A.dylib",
        exports: &[],
    },
];

/// The frameworks Rust crates link, with the letter of the version
/// directory each one's binary is in (`Versions/A/...`): it is part of the
/// install name, and dyld finds system frameworks by install name alone.
const FRAMEWORKS: &[(&str, char)] = &[
    ("Accelerate", 'A'),
    ("AppKit", 'C'),
    ("ApplicationServices", 'A'),
    ("AudioToolbox", 'A'),
    ("AudioUnit", 'A'),
    ("AVFoundation", 'A'),
    ("Carbon", 'A'),
    ("Cocoa", 'A'),
    ("CoreAudio", 'A'),
    ("CoreBluetooth", 'A'),
    ("CoreFoundation", 'A'),
    ("CoreGraphics", 'A'),
    ("CoreMedia", 'A'),
    ("CoreMIDI", 'A'),
    ("CoreServices", 'A'),
    ("CoreText", 'A'),
    ("CoreVideo", 'A'),
    ("DiskArbitration", 'A'),
    ("Foundation", 'C'),
    ("IOKit", 'A'),
    ("IOSurface", 'A'),
    ("Metal", 'A'),
    ("OpenGL", 'A'),
    ("QuartzCore", 'A'),
    ("Security", 'A'),
    ("SystemConfiguration", 'A'),
    ("WebKit", 'A'),
];

/// The zig target a macOS link names: the recipe's, with the deployment
/// target rustc uses (`MACOSX_DEPLOYMENT_TARGET` in the build, else Rust's
/// default for the architecture: 11.0 on arm64, 10.12 on x86_64) unless
/// the recipe names an OS version itself. Without one zig stamps its own
/// newest macOS into the binary (LC_BUILD_VERSION minos 15.0 with zig
/// 0.17, 13.0 with 0.14), which no older Mac loads. The result is for a
/// shell word inside double quotes or none: `${...}` expands there.
pub fn zig_target_with_deployment(zig_target: &str) -> String {
    let mut parts = zig_target.splitn(3, '-');
    let (arch, os) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let rest = parts.next().map(|r| format!("-{r}")).unwrap_or_default();
    if os != "macos" {
        return zig_target.to_string();
    }
    let default = if arch == "x86_64" { "10.12" } else { "11.0" };
    format!("{arch}-macos.${{MACOSX_DEPLOYMENT_TARGET:-{default}}}{rest}")
}

/// The stub's target for a zig target (`aarch64-macos`, also with an OS
/// version such as `x86_64-macos.11.0-none`): `arm64-macos` or
/// `x86_64-macos`. None for anything else.
fn tbd_target(zig_target: &str) -> Option<&'static str> {
    let mut parts = zig_target.split('-');
    let arch = parts.next()?;
    let os = parts.next()?.split('.').next()?;
    match (arch, os) {
        ("aarch64", "macos") => Some("arm64-macos"),
        ("x86_64", "macos") => Some("x86_64-macos"),
        _ => None,
    }
}

/// One stub: a single YAML document of TAPI version 4.
fn tbd(target: &str, install_name: &str, exports: &[&str]) -> String {
    let mut s = format!(
        "--- !tapi-tbd\ntbd-version: 4\ntargets: [ {target} ]\ninstall-name: '{install_name}'\n"
    );
    if !exports.is_empty() {
        s += &format!(
            "exports:\n  - targets: [ {target} ]\n    symbols: [ {} ]\n",
            exports.join(", ")
        );
    }
    s + "...\n"
}

fn framework_install_name(name: &str, version: char) -> String {
    format!("/System/Library/Frameworks/{name}.framework/Versions/{version}/{name}")
}

/// The stub directory for a zig target: (path inside the directory,
/// contents), libraries first, each list in a fixed order. Empty for a
/// target that is not macOS.
pub fn stub_files(zig_target: &str) -> Vec<(String, String)> {
    let Some(target) = tbd_target(zig_target) else {
        return Vec::new();
    };
    let libs = LIBRARIES.iter().map(|l| {
        let path = format!("{LIB_DIR}/lib{}.tbd", l.name);
        (path, tbd(target, l.install_name, l.exports))
    });
    let frameworks = FRAMEWORKS.iter().map(|&(name, version)| {
        let path = format!("{FRAMEWORK_DIR}/{name}.framework/{name}.tbd");
        (
            path,
            tbd(target, &framework_install_name(name, version), &[]),
        )
    });
    libs.chain(frameworks).collect()
}

/// Headers that zig's macOS libc lacks and C dependencies include without
/// an SDK (OpenSSL 3 includes `CommonCrypto/CommonRandom.h` on every Apple
/// target): (path inside the stub directory, contents), searched after
/// zig's own headers ([`link_args`]). Declarations only; what they
/// declare is in zig's libSystem.
pub fn header_files() -> Vec<(String, String)> {
    crate::target::assets()
        .iter()
        .filter_map(|(name, text)| {
            let rest = name.strip_prefix("macos-include/")?;
            Some((format!("usr/include/{rest}"), text.to_string()))
        })
        .collect()
}

/// What zig cc is given to link against `dir`, the stub directory or a
/// user's `MacOSX.sdk`: its libraries and frameworks (the `-F` directory
/// serves `#include <X/X.h>` too), and its headers after zig's own libc
/// headers, for those zig lacks (the stubs' CommonCrypto, an SDK's
/// `zlib.h`, `sqlite3.h`, ...). Harmless when only compiling. No
/// `--sysroot`: zig would look for the absolute `-L` directory inside it.
/// [`DYNAMIC_LOOKUP`] comes on top for the stubs only, for the links
/// [`needs_dynamic_lookup`] picks: an SDK's stubs export every symbol.
///
/// Pointing `SDKROOT` at the directory as well silences rustc's warning
/// on every Apple link ("invoking `xcrun --sdk macosx --show-sdk-path` to
/// find MacOSX.sdk failed"): rustc runs `xcrun` only when `SDKROOT` is
/// unset or not an existing absolute directory. zig ignores the variable,
/// and the `cc` crate reads it only for Xcode's clang or targets other
/// than macOS.
pub fn link_args(dir: &str) -> Vec<String> {
    let dir = dir.trim_end_matches('/');
    let mut args = search_args(dir);
    args.extend(["-idirafter".into(), format!("{dir}/usr/include")]);
    args
}

fn search_args(root: &str) -> Vec<String> {
    let root = root.trim_end_matches('/');
    vec![
        format!("-L{root}/{LIB_DIR}"),
        format!("-F{root}/{FRAMEWORK_DIR}"),
    ]
}

/// Shell `case` patterns for the zig cc arguments that name a stub without
/// symbols: any framework (rustc passes `-framework X`), and `-l` of the
/// symbol-less libraries. A link with one of them needs [`DYNAMIC_LOOKUP`].
pub fn dynamic_lookup_triggers() -> Vec<String> {
    let frameworks = ["-framework", "-weak_framework", "-Wl,-framework,*"];
    let libs = LIBRARIES.iter().filter(|l| l.exports.is_empty());
    frameworks
        .iter()
        .map(|s| s.to_string())
        .chain(libs.map(|l| format!("-l{}", l.name)))
        .collect()
}

/// Whether a zig cc command line (with the stubs, no SDK) needs
/// [`DYNAMIC_LOOKUP`]: what a wrapper does with [`dynamic_lookup_triggers`].
pub fn needs_dynamic_lookup<S: AsRef<str>>(args: &[S]) -> bool {
    let triggers = dynamic_lookup_triggers();
    args.iter().any(|a| {
        let a = a.as_ref();
        triggers.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => a.starts_with(prefix),
            None => a == t,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(files: &'a [(String, String)], path: &str) -> &'a str {
        let found = files.iter().find(|(p, _)| p == path);
        &found.unwrap_or_else(|| panic!("no {path}")).1
    }

    #[test]
    fn iconv_stub_names_the_mac_library_and_its_functions() {
        let files = stub_files("aarch64-macos");
        assert_eq!(
            file(&files, "usr/lib/libiconv.tbd"),
            "--- !tapi-tbd\n\
             tbd-version: 4\n\
             targets: [ arm64-macos ]\n\
             install-name: '/usr/lib/libiconv.2.dylib'\n\
             exports:\n  \
             - targets: [ arm64-macos ]\n    \
             symbols: [ _iconv, _iconv_close, _iconv_open, _iconvctl, _iconvlist ]\n\
             ...\n"
        );
    }

    #[test]
    fn framework_stub_is_found_by_name_and_has_no_symbols() {
        let files = stub_files("x86_64-macos");
        assert_eq!(
            file(
                &files,
                "System/Library/Frameworks/CoreFoundation.framework/CoreFoundation.tbd"
            ),
            "--- !tapi-tbd\n\
             tbd-version: 4\n\
             targets: [ x86_64-macos ]\n\
             install-name: '/System/Library/Frameworks/CoreFoundation.framework/Versions/A/CoreFoundation'\n\
             ...\n"
        );
    }

    #[test]
    fn install_names_are_those_of_a_mac() {
        let files = stub_files("aarch64-macos");
        let expected = [
            ("usr/lib/libresolv.tbd", "/usr/lib/libresolv.9.dylib"),
            ("usr/lib/libobjc.tbd", "/usr/lib/libobjc.A.dylib"),
            ("usr/lib/libz.tbd", "/usr/lib/libz.1.dylib"),
            (
                "System/Library/Frameworks/Security.framework/Security.tbd",
                "/System/Library/Frameworks/Security.framework/Versions/A/Security",
            ),
            (
                "System/Library/Frameworks/SystemConfiguration.framework/SystemConfiguration.tbd",
                "/System/Library/Frameworks/SystemConfiguration.framework/Versions/A/SystemConfiguration",
            ),
            (
                "System/Library/Frameworks/CoreServices.framework/CoreServices.tbd",
                "/System/Library/Frameworks/CoreServices.framework/Versions/A/CoreServices",
            ),
            (
                "System/Library/Frameworks/IOKit.framework/IOKit.tbd",
                "/System/Library/Frameworks/IOKit.framework/Versions/A/IOKit",
            ),
            (
                "System/Library/Frameworks/Foundation.framework/Foundation.tbd",
                "/System/Library/Frameworks/Foundation.framework/Versions/C/Foundation",
            ),
            (
                "System/Library/Frameworks/AppKit.framework/AppKit.tbd",
                "/System/Library/Frameworks/AppKit.framework/Versions/C/AppKit",
            ),
        ];
        for (path, install_name) in expected {
            let line = format!("\ninstall-name: '{install_name}'\n");
            assert!(file(&files, path).contains(&line), "{path}");
        }
    }

    #[test]
    fn every_stub_is_one_version_4_document_for_the_target() {
        for (zig, tbd) in [
            ("aarch64-macos", "arm64-macos"),
            ("x86_64-macos", "x86_64-macos"),
        ] {
            for (path, contents) in stub_files(zig) {
                assert!(path.ends_with(".tbd"), "{path}");
                assert!(
                    contents.starts_with("--- !tapi-tbd\ntbd-version: 4\n"),
                    "{path}"
                );
                assert!(contents.ends_with("\n...\n"), "{path}");
                let targets = format!("targets: [ {tbd} ]\n");
                assert!(contents.contains(&targets), "{path}");
                assert_eq!(contents.matches("---").count(), 1, "{path}");
            }
        }
    }

    #[test]
    fn framework_paths_match_their_install_names() {
        for (path, contents) in stub_files("aarch64-macos") {
            let Some(rest) = path.strip_prefix("System/Library/Frameworks/") else {
                continue;
            };
            let (dir, file) = rest.split_once('/').unwrap();
            let name = dir.strip_suffix(".framework").unwrap();
            assert_eq!(file, format!("{name}.tbd"));
            let prefix =
                format!("install-name: '/System/Library/Frameworks/{name}.framework/Versions/");
            let line = contents.lines().find(|l| l.starts_with(&prefix)).unwrap();
            assert!(line.ends_with(&format!("/{name}'")), "{line}");
        }
    }

    #[test]
    fn macos_links_name_rust_s_deployment_target_unless_the_recipe_names_one() {
        assert_eq!(
            zig_target_with_deployment("aarch64-macos"),
            "aarch64-macos.${MACOSX_DEPLOYMENT_TARGET:-11.0}"
        );
        assert_eq!(
            zig_target_with_deployment("x86_64-macos-none"),
            "x86_64-macos.${MACOSX_DEPLOYMENT_TARGET:-10.12}-none"
        );
        assert_eq!(
            zig_target_with_deployment("aarch64-macos.12.0"),
            "aarch64-macos.12.0"
        );
        assert_eq!(
            zig_target_with_deployment("x86_64-linux-musl"),
            "x86_64-linux-musl"
        );
    }

    #[test]
    fn headers_for_openssl_declare_commoncrypto_s_random_generator() {
        let files = header_files();
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "usr/include/CommonCrypto/CommonCryptoError.h",
                "usr/include/CommonCrypto/CommonRandom.h"
            ]
        );
        assert!(
            files[1]
                .1
                .contains("CCRNGStatus CCRandomGenerateBytes(void *bytes, size_t count);")
        );
        assert!(files[0].1.contains("kCCSuccess = 0,"));
    }

    #[test]
    fn paths_are_unique_and_cover_libraries_and_frameworks() {
        let files = stub_files("aarch64-macos");
        let mut paths: Vec<_> = files.iter().map(|(p, _)| p.as_str()).collect();
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), LIBRARIES.len() + FRAMEWORKS.len());
    }

    #[test]
    fn versioned_zig_targets_and_other_targets() {
        assert_eq!(
            stub_files("aarch64-macos.11.0-none"),
            stub_files("aarch64-macos")
        );
        assert_eq!(stub_files("x86_64-macos.10.12"), stub_files("x86_64-macos"));
        assert!(stub_files("x86_64-linux-gnu").is_empty());
        assert!(stub_files("aarch64-ios").is_empty());
        assert!(stub_files("aarch64").is_empty());
    }

    #[test]
    fn link_args_point_into_the_stub_directory() {
        assert_eq!(
            link_args("/opt/green-cross/macos/"),
            [
                "-L/opt/green-cross/macos/usr/lib",
                "-F/opt/green-cross/macos/System/Library/Frameworks",
                "-idirafter",
                "/opt/green-cross/macos/usr/include",
            ]
        );
    }

    #[test]
    fn link_args_search_the_sdk_without_a_sysroot() {
        assert_eq!(
            link_args("/sdk/MacOSX.sdk/"),
            [
                "-L/sdk/MacOSX.sdk/usr/lib",
                "-F/sdk/MacOSX.sdk/System/Library/Frameworks",
                "-idirafter",
                "/sdk/MacOSX.sdk/usr/include",
            ]
        );
    }

    #[test]
    fn plain_rust_link_stays_strict() {
        let rustc = "symbols.o main.o -lSystem -lc -lm -liconv -mmacosx-version-min=11.0.0 \
                     -o main -Wl,-dead_strip -nodefaultlibs";
        let rustc: Vec<_> = rustc.split_whitespace().collect();
        assert!(!needs_dynamic_lookup(&rustc));
        assert!(!needs_dynamic_lookup(&["probe.c", "-o", "probe"]));
    }

    #[test]
    fn frameworks_and_symbol_less_libraries_need_dynamic_lookup() {
        assert!(needs_dynamic_lookup(&[
            "-liconv",
            "-framework",
            "CoreFoundation"
        ]));
        assert!(needs_dynamic_lookup(&["-weak_framework", "Metal"]));
        assert!(needs_dynamic_lookup(&["-Wl,-framework,Security"]));
        assert!(needs_dynamic_lookup(&["-lresolv"]));
        assert!(needs_dynamic_lookup(&["-lobjc"]));
        assert!(!needs_dynamic_lookup(&["-lresolvx", "-liconv"]));
    }

    #[test]
    fn triggers_are_the_frameworks_and_the_libraries_without_exports() {
        let triggers = dynamic_lookup_triggers();
        for l in LIBRARIES {
            let flag = format!("-l{}", l.name);
            assert_eq!(triggers.contains(&flag), l.exports.is_empty(), "{flag}");
        }
        assert!(triggers.contains(&"-framework".to_string()));
    }
}
