//! The command line. `green-cross [+toolchain] <cargo subcommand> [args]`
//! takes cargo's own arguments: only the flags that change where things go
//! or what green-cross does are understood (--target, --manifest-path,
//! --target-dir, --release, --profile, -p, --features, --bin, --example,
//! --no-run, and -v, -q, --color, --message-format, which change only what
//! cargo prints); everything else reaches cargo unchanged. They are read
//! here, once: the planner reads the typed fields of [`Invocation`].
//! green-cross's own subcommands (targets, dockerfile, plan) use clap.

use clap::Parser;

use crate::error::{Error, Result};

/// The name `green-cross builder create` gives the builder it makes.
pub const DEFAULT_BUILDER_NAME: &str = "green-cross";

/// The cargo subcommand of an invocation: the ones that build inside
/// BuildKit, and any other, which runs on the host's cargo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subcommand {
    Build,
    Check,
    Clippy,
    Doc,
    Test,
    Bench,
    Run,
    /// Any other cargo subcommand, by the name given.
    Other(String),
}

impl Subcommand {
    /// The subcommands that run inside BuildKit.
    pub const BUILDKIT: [Subcommand; 7] = [
        Subcommand::Bench,
        Subcommand::Build,
        Subcommand::Check,
        Subcommand::Clippy,
        Subcommand::Doc,
        Subcommand::Run,
        Subcommand::Test,
    ];

    /// The subcommand a command line names, cargo's short aliases (b, c,
    /// t, r, d) included.
    pub fn from_arg(name: &str) -> Subcommand {
        match name {
            "build" | "b" => Subcommand::Build,
            "check" | "c" => Subcommand::Check,
            "clippy" => Subcommand::Clippy,
            "doc" | "d" => Subcommand::Doc,
            "test" | "t" => Subcommand::Test,
            "bench" => Subcommand::Bench,
            "run" | "r" => Subcommand::Run,
            other => Subcommand::Other(other.to_string()),
        }
    }

    /// cargo's name for it.
    pub fn as_str(&self) -> &str {
        match self {
            Subcommand::Build => "build",
            Subcommand::Check => "check",
            Subcommand::Clippy => "clippy",
            Subcommand::Doc => "doc",
            Subcommand::Test => "test",
            Subcommand::Bench => "bench",
            Subcommand::Run => "run",
            Subcommand::Other(name) => name,
        }
    }

    /// Whether it builds inside BuildKit (else it runs on the host's cargo).
    pub fn runs_in_buildkit(&self) -> bool {
        !matches!(self, Subcommand::Other(_))
    }

    /// `test` and `bench`: they run what they build, through the target's
    /// runner.
    pub fn runs_binaries(&self) -> bool {
        matches!(self, Subcommand::Test | Subcommand::Bench)
    }

    /// `run`: one program runs after the build.
    pub fn is_run(&self) -> bool {
        *self == Subcommand::Run
    }

    /// What the build step's cargo runs: `run` builds there (its program
    /// runs afterwards), the others run themselves.
    pub fn build_step(&self) -> &str {
        match self {
            Subcommand::Run => "build",
            other => other.as_str(),
        }
    }

    /// The profile cargo uses without --release or --profile.
    pub fn default_profile(&self) -> &'static str {
        match self {
            Subcommand::Bench => "bench",
            _ => "dev",
        }
    }
}

impl std::fmt::Display for Subcommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Serialised as cargo's name, as in `green-cross plan --json`.
impl serde::Serialize for Subcommand {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// A parsed cargo-style invocation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invocation {
    /// `+1.80`, `+nightly`: selects the toolchain image in rustup mode.
    pub toolchain: Option<String>,
    pub subcommand: Subcommand,
    /// Every `--target`, in order, duplicates removed.
    pub targets: Vec<String>,
    pub manifest_path: Option<String>,
    pub target_dir: Option<String>,
    /// `release` for --release, the name given to --profile, else None (dev).
    pub profile: Option<String>,
    pub packages: Vec<String>,
    pub features: Vec<String>,
    /// How much cargo is asked to say: one per `-v` or `--verbose`, `-vv`
    /// two, and so on. Above 0, the build shows BuildKit's whole output.
    pub verbose: u8,
    /// `--no-run`: test and bench binaries are built, not run.
    pub no_run: bool,
    /// The name the last `--bin` gave (None where it gave none): the
    /// program `run` runs.
    pub bin: Option<String>,
    /// `--example`, with a name or without.
    pub example: bool,
    /// Arguments for cargo, without the ones green-cross sets itself
    /// (--target, --target-dir, --manifest-path).
    pub cargo_args: Vec<String>,
    /// `cargo_args` without the flags that change only what cargo prints
    /// (-v, -q, --color, --message-format): the ones that change what it
    /// builds.
    pub build_args: Vec<String>,
    /// Everything after `--`, for the program cargo runs.
    pub trailing: Vec<String>,
    /// `--cache REF`: the shared build cache, over the configuration.
    pub cache: Option<String>,
    /// `--builder NAME`: the buildx builder (else BUILDX_BUILDER, else the
    /// current one).
    pub builder: Option<String>,
    /// `--message-format json*`: cargo's messages go to stdout, with host
    /// paths, for tools to read.
    pub json_messages: bool,
}

/// Flags that take a value and that green-cross must not mistake for the
/// subcommand or a positional argument.
const VALUE_FLAGS: &[&str] = &[
    "--test",
    "--bench",
    "--exclude",
    "-j",
    "--jobs",
    "--config",
    "-Z",
    "--timings",
    "--lockfile-path",
];

/// The arguments still to read.
type Args<'a> = std::iter::Peekable<std::slice::Iter<'a, String>>;

/// How much a verbosity flag asks for: `-v` and `--verbose` 1, `-vv` 2,
/// `-vvv` 3...; any other argument 0.
fn verbosity(flag: &str) -> u8 {
    match flag.strip_prefix('-') {
        Some("-verbose") => 1,
        Some(vs) if !vs.is_empty() && vs.bytes().all(|c| c == b'v') => {
            u8::try_from(vs.len()).unwrap_or(u8::MAX)
        }
        _ => 0,
    }
}

/// A flag's value: given inline (`--flag=value`), else the next argument.
fn value(flag: &str, inline: Option<&str>, it: &mut Args) -> Result<String> {
    match inline {
        Some(v) => Ok(v.to_string()),
        None => it
            .next()
            .cloned()
            .ok_or_else(|| Error::Usage(format!("`{flag}` needs a value"))),
    }
}

impl Invocation {
    /// Parse cargo-style arguments (without the program name).
    pub fn parse(args: &[String]) -> Result<Invocation> {
        let mut it = args.iter().peekable();
        let mut inv = Invocation::empty(toolchain(&mut it)?);
        let mut subcommand = None;
        while let Some(arg) = it.next() {
            if arg == "--" {
                inv.trailing = it.by_ref().cloned().collect();
                break;
            }
            if arg.starts_with('-') {
                inv.flag(arg, &mut it)?;
            } else if subcommand.is_none() {
                // An empty argument names no subcommand.
                subcommand = (!arg.is_empty()).then(|| Subcommand::from_arg(arg));
            } else {
                inv.pass(arg.clone());
            }
        }
        inv.subcommand = subcommand.ok_or_else(|| {
            Error::Usage(
                "no subcommand given\n  help: try `green-cross build --target <triple>` or `green-cross --help`".into(),
            )
        })?;
        Ok(inv)
    }

    /// One flag, and its value where it takes one.
    fn flag(&mut self, arg: &str, it: &mut Args) -> Result<()> {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v)),
            _ => (arg, None),
        };
        match flag {
            "--target" => self.add_targets(&value(flag, inline, it)?)?,
            "--manifest-path" => self.manifest_path = Some(value(flag, inline, it)?),
            "--target-dir" => self.target_dir = Some(value(flag, inline, it)?),
            "--cache" => self.cache = Some(value(flag, inline, it)?),
            "--builder" => self.builder = Some(value(flag, inline, it)?),
            "--release" | "-r" => {
                self.profile.get_or_insert_with(|| "release".into());
                self.pass(arg.to_string());
            }
            "--profile" => {
                let p = value(flag, inline, it)?;
                self.pass(format!("--profile={p}"));
                self.profile = Some(p);
            }
            "-p" | "--package" => {
                let p = value(flag, inline, it)?;
                self.pass(format!("--package={p}"));
                self.packages.push(p);
            }
            "-F" | "--features" => {
                let f = value(flag, inline, it)?;
                self.pass(format!("--features={f}"));
                self.features.push(f);
            }
            "--message-format" => {
                let f = value(flag, inline, it)?;
                self.json_messages |= f.split(',').any(|f| f.starts_with("json"));
                self.cargo_args.push(format!("--message-format={f}"));
            }
            "--color" => {
                self.cargo_args.push(arg.to_string());
                if inline.is_none() {
                    self.cargo_args.extend(it.next().cloned());
                }
            }
            "-q" | "--quiet" => self.cargo_args.push(arg.to_string()),
            "--no-run" if inline.is_none() => {
                self.no_run = true;
                self.pass(arg.to_string());
            }
            "--bin" => {
                self.pass(arg.to_string());
                self.bin = inline.map(String::from);
                if inline.is_none()
                    && let Some(b) = it.next()
                {
                    self.pass(b.clone());
                    self.bin = Some(b.clone());
                }
            }
            "--example" => {
                self.example = true;
                self.pass(arg.to_string());
                if inline.is_none()
                    && let Some(name) = it.next()
                {
                    self.pass(name.clone());
                }
            }
            _ if verbosity(flag) > 0 => {
                self.verbose = self.verbose.saturating_add(verbosity(flag));
                self.cargo_args.push(arg.to_string());
            }
            _ if VALUE_FLAGS.contains(&flag) && inline.is_none() => {
                self.pass(arg.to_string());
                if let Some(v) = it.next() {
                    self.pass(v.clone());
                }
            }
            _ => self.pass(arg.to_string()),
        }
        Ok(())
    }

    /// `--target a,b`: each triple once, in order.
    fn add_targets(&mut self, t: &str) -> Result<()> {
        if t.split(',').all(|t| t.trim().is_empty()) {
            return Err(Error::Usage(
                "`--target` needs a target triple\n  help: `--target x86_64-unknown-linux-musl`; `green-cross targets` lists them".into(),
            ));
        }
        for t in t.split(',').filter(|t| !t.is_empty()) {
            if !self.targets.iter().any(|x| x == t) {
                self.targets.push(t.to_string());
            }
        }
        Ok(())
    }

    /// An argument for cargo that changes what it builds (the ones that
    /// change only what it prints go to `cargo_args` alone).
    fn pass(&mut self, arg: String) {
        self.build_args.push(arg.clone());
        self.cargo_args.push(arg);
    }

    /// An invocation of nothing yet, for [`Invocation::parse`] to fill in
    /// (its subcommand is set last).
    fn empty(toolchain: Option<String>) -> Invocation {
        Invocation {
            toolchain,
            subcommand: Subcommand::Build,
            targets: Vec::new(),
            manifest_path: None,
            target_dir: None,
            profile: None,
            packages: Vec::new(),
            features: Vec::new(),
            verbose: 0,
            no_run: false,
            bin: None,
            example: false,
            cargo_args: Vec::new(),
            build_args: Vec::new(),
            trailing: Vec::new(),
            cache: None,
            builder: None,
            json_messages: false,
        }
    }

    /// Whether this invocation builds inside BuildKit (else it runs on the
    /// host's cargo).
    pub fn runs_in_buildkit(&self) -> bool {
        self.subcommand.runs_in_buildkit()
    }

    /// The cargo profile's name: --profile's, `release` for --release, else
    /// the subcommand's default.
    fn profile_or_default(&self) -> &str {
        self.profile
            .as_deref()
            .unwrap_or(self.subcommand.default_profile())
    }

    /// The cargo profile's directory name under target/<triple>/.
    pub fn profile_dir(&self) -> String {
        match self.profile_or_default() {
            "dev" | "test" => "debug".into(),
            "bench" => "release".into(),
            p => p.into(),
        }
    }

    /// The profile's name as cargo spells it in CARGO_PROFILE_<NAME>_*.
    pub fn profile_name(&self) -> String {
        self.profile_or_default().to_string()
    }
}

/// `+1.80`, `+nightly`: the toolchain a first argument names, taken.
fn toolchain(it: &mut std::iter::Peekable<std::slice::Iter<String>>) -> Result<Option<String>> {
    let Some(tc) = it.peek().and_then(|first| first.strip_prefix('+')) else {
        return Ok(None);
    };
    if tc.is_empty() {
        return Err(Error::Usage(
            "`+` must be followed by a toolchain name, e.g. `+1.80`".into(),
        ));
    }
    let tc = tc.to_string();
    it.next();
    Ok(Some(tc))
}

/// green-cross's own subcommands.
#[derive(Debug, Parser)]
#[command(
    name = "green-cross",
    version,
    override_usage = "green-cross [+toolchain] <build|check|clippy|doc|test|bench|run|any cargo subcommand> [--target <triple>]... [cargo args]\n       green-cross <COMMAND>",
    about = "Cross-compile Rust with BuildKit: a drop-in replacement for `cross`",
    long_about = "Cross-compile Rust with BuildKit: a drop-in replacement for `cross`.\n\n\
Usage as cargo: green-cross [+toolchain] <build|check|clippy|doc|test|run> [--target <triple>]... [cargo args]\n\
build, check, clippy, doc, test, bench and run build inside BuildKit; test, bench and run execute the binaries natively,\nunder qemu-user or under wine as the target needs. Every other cargo subcommand runs on the host's cargo.\n\
Artifacts land where cargo puts them: target/<triple>/<profile>/.",
    after_help = "Configuration: Cross.toml in the workspace root or $CROSS_CONFIG, and [workspace|package.metadata.cross]\n\
in Cargo.toml (see Cross.toml.example). Every key has an environment mirror: CROSS_BUILD_<KEY>,\n\
CROSS_TARGET_<TRIPLE>_<KEY> (or with a GREEN_CROSS_ prefix).\n\
Builders: --builder NAME (or BUILDX_BUILDER) and DOCKER_HOST (unix://, tcp://, ssh://) select where builds run;\n\
sources are sent from here and artifacts come back here.\n\
Shared build cache: --cache REF (or GREEN_CROSS_CACHE, or [build] cache) exports every layer to a registry\n\
(or `gha`) and imports it on the next machine.\n\
A build in which nothing changed (same plan, same sources, artifacts untouched) is Fresh without calling\n\
the engine; GREEN_CROSS_FINGERPRINT=0 always asks BuildKit.\n\
Environment: GREEN_CROSS_TOOLCHAIN (rustup|distro), GREEN_CROSS_BASE_IMAGE, GREEN_CROSS_CA_BUNDLE,\n\
GREEN_CROSS_ENGINE or CROSS_CONTAINER_ENGINE (the docker binary), CARGO_BUILD_TARGET, CROSS_BUILD_OPTS,\n\
CROSS_CONTAINER_OPTS, CROSS_NO_WARNINGS, CROSS_DEBUG."
)]
pub struct Own {
    #[command(subcommand)]
    pub command: OwnCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum OwnCommand {
    /// List the supported targets.
    Targets {
        /// Print JSON for machines.
        #[arg(long)]
        json: bool,
    },
    /// Print the Dockerfile that `green-cross build` would use, and build nothing.
    Dockerfile {
        /// The same arguments as `green-cross build` (--target, --release, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the build plan that `green-cross build` would follow, and build nothing.
    Plan {
        /// Print JSON (the default and only format).
        #[arg(long)]
        json: bool,
        /// The same arguments as `green-cross build` (--target, --release, ...).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print a GitHub Actions matrix (JSON, one line) of the targets named,
    /// or else of Cross.toml's [target.<triple>] tables and default-target.
    Matrix {
        /// Target triples; none: the ones the configuration names.
        targets: Vec<String>,
    },
    /// Check the engine, the builder, its cache export, the configuration
    /// and the images builds start from, and say what to do about each
    /// problem. Exits 1 when something would stop a build.
    Doctor {
        /// The buildx builder or docker context to check (else
        /// BUILDX_BUILDER, else the current one).
        #[arg(long, value_name = "NAME")]
        builder: Option<String>,
    },
    /// Manage the buildx builder green-cross builds with.
    Builder {
        #[command(subcommand)]
        command: BuilderCommand,
    },
}

#[derive(Debug, clap::Subcommand)]
pub enum BuilderCommand {
    /// Create a docker-container builder (BuildKit in a container, on the
    /// host's network) that can export build cache to any registry; select
    /// it with --builder NAME or BUILDX_BUILDER=NAME.
    Create {
        /// The builder's name.
        #[arg(long, default_value = DEFAULT_BUILDER_NAME)]
        name: String,
        /// The BuildKit image to run (default: buildx's, moby/buildkit), e.g.
        /// a copy in a registry the engine can reach.
        #[arg(long, value_name = "REF")]
        image: Option<String>,
        /// A buildkitd.toml for the builder (registry mirrors, CAs,
        /// insecure registries).
        #[arg(long, value_name = "FILE")]
        config: Option<String>,
        /// Make it the current builder for every docker buildx command.
        #[arg(long = "use")]
        use_it: bool,
    },
}

/// The names clap handles; anything else is a cargo subcommand.
pub fn is_own(first: &str) -> bool {
    matches!(
        first,
        "targets"
            | "dockerfile"
            | "plan"
            | "matrix"
            | "builder"
            | "doctor"
            | "help"
            | "--help"
            | "-h"
            | "--version"
            | "-V"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Invocation {
        Invocation::parse(&shell_words::split(s).unwrap()).unwrap()
    }

    #[test]
    fn targets_are_collected_and_removed_from_cargo_args() {
        let inv = parse("build --release --target a --target=b -j 2 --target a,c -- x");
        assert_eq!(inv.subcommand, Subcommand::Build);
        assert_eq!(inv.targets, ["a", "b", "c"]);
        assert_eq!(inv.cargo_args, ["--release", "-j", "2"]);
        assert_eq!(inv.trailing, ["x"]);
        assert_eq!(inv.profile_dir(), "release");
    }

    #[test]
    fn toolchain_profile_package_features() {
        let inv = parse(
            "+1.80 b --profile dist -p app --features a,b --manifest-path x/Cargo.toml --target-dir t -vv",
        );
        assert_eq!(inv.toolchain.as_deref(), Some("1.80"));
        assert_eq!(inv.subcommand, Subcommand::Build);
        assert_eq!(inv.profile_dir(), "dist");
        assert_eq!(inv.profile_name(), "dist");
        assert_eq!(inv.packages, ["app"]);
        assert_eq!(inv.manifest_path.as_deref(), Some("x/Cargo.toml"));
        assert_eq!(inv.target_dir.as_deref(), Some("t"));
        assert_eq!(inv.verbose, 2);
        assert_eq!(
            inv.cargo_args,
            ["--profile=dist", "--package=app", "--features=a,b", "-vv"]
        );
    }

    #[test]
    fn verbosity_is_counted_once_and_passed_to_cargo() {
        for (args, verbose) in [
            ("build", 0),
            ("build -v", 1),
            ("build -vv", 2),
            ("build -vvv", 3),
            ("build --verbose --verbose", 2),
            ("build -v --release -vv", 3),
        ] {
            let inv = parse(args);
            assert_eq!(inv.verbose, verbose, "{args}");
            assert_eq!(inv.cargo_args.join(" "), args["build".len()..].trim());
        }
        assert_eq!(parse("build -vx").verbose, 0);
        assert_eq!(parse("build -").verbose, 0);
    }

    #[test]
    fn build_args_leave_out_what_changes_only_the_output() {
        let inv = parse(
            "build -v --color always -q --release --message-format json -j 2 --color=never --quiet -vvv --verbose",
        );
        assert_eq!(
            inv.cargo_args,
            [
                "-v",
                "--color",
                "always",
                "-q",
                "--release",
                "--message-format=json",
                "-j",
                "2",
                "--color=never",
                "--quiet",
                "-vvv",
                "--verbose"
            ]
        );
        assert_eq!(inv.build_args, ["--release", "-j", "2"]);
        assert!(inv.json_messages);
    }

    #[test]
    fn no_run_bin_and_example() {
        let inv = parse("run --bin a --bin=b --no-run -- --bin c");
        assert_eq!(inv.bin.as_deref(), Some("b"));
        assert!(inv.no_run && !inv.example);
        assert_eq!(inv.cargo_args, ["--bin", "a", "--bin=b", "--no-run"]);
        assert_eq!(inv.build_args, inv.cargo_args);
        assert_eq!(parse("run --bin").bin, None);
        assert_eq!(parse("run --bin a --bin").bin, None);
        let inv = parse("--example x run");
        assert!(inv.example && inv.bin.is_none() && !inv.no_run);
        assert_eq!(inv.subcommand, Subcommand::Run);
        assert_eq!(inv.cargo_args, ["--example", "x"]);
        assert!(parse("run --example=x").example);
        assert!(!parse("test --no-run=x").no_run);
    }

    #[test]
    fn value_flag_is_not_the_subcommand() {
        let inv = parse("--color always build");
        assert_eq!(inv.subcommand, Subcommand::Build);
        assert_eq!(inv.cargo_args, ["--color", "always"]);
    }

    #[test]
    fn missing_value_and_missing_subcommand_are_errors() {
        let e = Invocation::parse(&["build".into(), "--target".into()]).unwrap_err();
        assert!(e.to_string().contains("`--target` needs a value"));
        let e = Invocation::parse(&["--release".into()]).unwrap_err();
        assert!(e.to_string().contains("no subcommand"));
    }

    #[test]
    fn subcommands_by_name_and_alias() {
        for (arg, sub) in [
            ("b", Subcommand::Build),
            ("c", Subcommand::Check),
            ("t", Subcommand::Test),
            ("r", Subcommand::Run),
            ("d", Subcommand::Doc),
        ] {
            assert_eq!(parse(arg).subcommand, sub);
        }
        for sub in Subcommand::BUILDKIT {
            assert_eq!(Subcommand::from_arg(sub.as_str()), sub);
            assert!(sub.runs_in_buildkit());
        }
        let fmt = parse("fmt --all").subcommand;
        assert_eq!(fmt, Subcommand::Other("fmt".into()));
        assert_eq!(fmt.to_string(), "fmt");
        assert_eq!(serde_json::to_string(&Subcommand::Run).unwrap(), r#""run""#);
        assert_eq!(Subcommand::Run.build_step(), "build");
        assert_eq!(Subcommand::Test.build_step(), "test");
    }

    #[test]
    fn buildkit_or_host() {
        assert!(parse("clippy").runs_in_buildkit());
        assert!(!parse("fmt").runs_in_buildkit());
        assert!(parse("test").runs_in_buildkit());
        assert!(parse("bench").runs_in_buildkit());
        assert_eq!(parse("bench").profile_dir(), "release");
        assert_eq!(parse("bench").profile_name(), "bench");
        assert!(parse("r").runs_in_buildkit());
        assert!(!parse("metadata").runs_in_buildkit());
    }
}
