//! No value from outside can add an instruction to the Dockerfile or a word
//! to a shell command. For every external field (listed in `FIELDS`: the
//! environment, Cross.toml, the command line, the workspace's paths), an
//! arbitrary string either is refused with an error, or renders a
//! Dockerfile whose instructions have exactly the shape that a clean value
//! gives: the same instructions, and in each the same words and the same
//! characters that mean something to the shell or to the Dockerfile, with
//! the value inside one quoted word. Pure: plan and render, no engine.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use green_cross::cli::Invocation;
use green_cross::config::{CrossToml, Env, Settings};
use green_cross::dockerfile::render;
use green_cross::plan::{Host, PlanInput, plan};
use green_cross::target::Recipes;
use green_cross::workspace::{OutsidePackage, Workspace};
use proptest::prelude::*;

const ARM64: &str = "aarch64-unknown-linux-gnu";

fn recipes() -> &'static Recipes {
    static R: OnceLock<Recipes> = OnceLock::new();
    R.get_or_init(|| Recipes::embedded().unwrap())
}

/// What one field's value changes in an otherwise clean invocation.
struct Input {
    args: Vec<String>,
    env: Env,
    toml: String,
    workspace: Workspace,
}

impl Input {
    fn new(mode: &str) -> Input {
        Input {
            args: vec![
                "build".into(),
                "--release".into(),
                "--target".into(),
                ARM64.into(),
            ],
            env: [("GREEN_CROSS_TOOLCHAIN".to_string(), mode.to_string())].into(),
            toml: String::new(),
            workspace: common::app_workspace(Path::new("/work/app"), Some("main")),
        }
    }
    fn distro() -> Input {
        Input::new("distro")
    }
    fn rustup() -> Input {
        Input::new("rustup")
    }
    fn env(mut self, k: &str, v: &str) -> Input {
        self.env.insert(k, v);
        self
    }
    fn toml(mut self, text: String) -> Input {
        self.toml = text;
        self
    }
    fn args(mut self, args: &[&str]) -> Input {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }
    fn subcommand(mut self, sub: &str) -> Input {
        self.args[0] = sub.into();
        self
    }
}

/// A TOML string literal of `v`.
fn t(v: &str) -> String {
    toml::Value::String(v.into()).to_string()
}

/// The rendered Dockerfile, or the planner's error.
fn render_input(i: &Input) -> Result<String, String> {
    let inv = Invocation::parse(&i.args).map_err(|e| e.to_string())?;
    let (toml, _) = CrossToml::parse("Cross.toml".as_ref(), &i.toml).map_err(|e| e.to_string())?;
    let settings = Settings::resolve(&i.env, &toml).map_err(|e| e.to_string())?;
    let host = Host {
        rustc_version: "1.95.0".into(),
        triple: "x86_64-unknown-linux-gnu".into(),
        commit_date: Some("2026-10-27".into()),
    };
    let p = plan(&PlanInput {
        invocation: &inv,
        workspace: &i.workspace,
        settings: &settings,
        recipes: recipes(),
        env: &i.env,
        host: &host,
        ca_bundle: None,
    })
    .map_err(|e| e.to_string())?;
    Ok(render(&p))
}

type Field = (&'static str, &'static [&'static str], fn(&str) -> Input);

/// Every external field: its name, clean values (one per way the field
/// can change what is built), and the invocation that carries a value in
/// it.
const FIELDS: &[Field] = &[
    ("RUSTFLAGS", &["-Cdebuginfo=1"], |v| {
        Input::distro().env("RUSTFLAGS", v)
    }),
    ("CARGO_TARGET_<T>_RUSTFLAGS", &["-Cdebuginfo=1"], |v| {
        Input::distro().env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS", v)
    }),
    ("CARGO_PROFILE_RELEASE_DEBUG", &["1"], |v| {
        Input::distro().env("CARGO_PROFILE_RELEASE_DEBUG", v)
    }),
    ("RUST_LOG (automatic passthrough)", &["info"], |v| {
        Input::distro().env("RUST_LOG", v)
    }),
    ("GREEN_CROSS_BASE_IMAGE", &["example.org/base:1"], |v| {
        Input::distro().env("GREEN_CROSS_BASE_IMAGE", v)
    }),
    ("[build] base-image", &["example.org/base:1"], |v| {
        Input::distro().toml(format!("[build]\nbase-image = {}\n", t(v)))
    }),
    ("[target] image (distro)", &["example.org/base:1"], |v| {
        Input::distro().toml(format!("[target.{ARM64}]\nimage = {}\n", t(v)))
    }),
    ("[target] image (rustup)", &["example.org/rust:1"], |v| {
        Input::rustup().toml(format!("[target.{ARM64}]\nimage = {}\n", t(v)))
    }),
    ("[target] packages (distro)", &["libclean-dev"], |v| {
        Input::distro().toml(format!("[target.{ARM64}]\npackages = [{}]\n", t(v)))
    }),
    ("[target] packages (rustup)", &["libclean-dev"], |v| {
        Input::rustup().toml(format!("[target.{ARM64}]\npackages = [{}]\n", t(v)))
    }),
    ("CROSS_TARGET_<T>_PACKAGES", &["libclean-dev"], |v| {
        Input::distro().env("CROSS_TARGET_AARCH64_UNKNOWN_LINUX_GNU_PACKAGES", v)
    }),
    ("[target] build-std", &["core"], |v| {
        Input::distro().toml(format!("[target.{ARM64}]\nbuild-std = [{}]\n", t(v)))
    }),
    ("CROSS_BUILD_BUILD_STD", &["core", "false", "true"], |v| {
        Input::distro().env("CROSS_BUILD_BUILD_STD", v)
    }),
    ("env.passthrough name", &["CLEAN"], |v| {
        Input::distro()
            .toml(format!("[build.env]\npassthrough = [{}]\n", t(v)))
            .env(v.trim(), "1")
    }),
    ("env.passthrough NAME=VALUE", &["1"], |v| {
        Input::distro().toml(format!(
            "[build.env]\npassthrough = [{}]\n",
            t(&format!("CLEAN={v}"))
        ))
    }),
    ("env.passthrough host value", &["on"], |v| {
        Input::distro()
            .toml("[build.env]\npassthrough = [\"CLEAN\"]\n".into())
            .env("CLEAN", v)
    }),
    (
        "CROSS_BUILD_ENV_PASSTHROUGH",
        &["CLEAN=1", "NOT_SET"],
        |v| Input::distro().env("CROSS_BUILD_ENV_PASSTHROUGH", v),
    ),
    ("env.secrets name", &["CLEAN"], |v| {
        Input::distro()
            .toml(format!("[build.env]\nsecrets = [{}]\n", t(v)))
            .env(v, "s3cret")
    }),
    ("env.volumes name", &["CLEAN"], |v| {
        Input::distro().toml(format!(
            "[build.env]\nvolumes = [{}]\n",
            t(&format!("{v}=/data"))
        ))
    }),
    ("env.volumes path", &["/data/clean"], |v| {
        Input::distro().toml(format!(
            "[build.env]\nvolumes = [{}]\n",
            t(&format!("DATA={v}"))
        ))
    }),
    // An empty (unset) variable mounts nothing, as in cross.
    ("env.volumes host value", &["/data/clean", ""], |v| {
        Input::distro()
            .toml("[build.env]\nvolumes = [\"DATA\"]\n".into())
            .env("DATA", v)
    }),
    ("[target] runner", &["/usr/local/bin/clean-runner"], |v| {
        Input::distro()
            .subcommand("test")
            .toml(format!("[target.{ARM64}]\nrunner = {}\n", t(v)))
    }),
    ("[target] pre-build", &["apt-get update"], |v| {
        Input::distro().toml(format!("[target.{ARM64}]\npre-build = [{}]\n", t(v)))
    }),
    ("[target] zig version", &["2.17"], |v| {
        Input::distro().toml(format!("[target.{ARM64}]\nzig = {}\n", t(v)))
    }),
    ("--features", &["clean"], |v| {
        Input::distro().args(&["--features", v])
    }),
    ("--bin", &["clean"], |v| Input::distro().args(&["--bin", v])),
    ("--package", &["clean"], |v| {
        Input::distro().args(&["-p", v])
    }),
    ("--config", &["build.jobs=1"], |v| {
        Input::distro().args(&["--config", v])
    }),
    ("-Z", &["unstable-options"], |v| {
        Input::distro().args(&["-Z", v])
    }),
    ("--profile", &["clean"], |v| {
        let mut i = Input::distro();
        i.args.retain(|a| a != "--release");
        i.args(&["--profile", v])
    }),
    ("arguments after --", &["clean"], |v| {
        Input::distro().subcommand("test").args(&["--", v])
    }),
    ("+toolchain (rustup)", &["nightly", "1.95"], |v| {
        let mut i = Input::rustup();
        i.args.insert(0, format!("+{v}"));
        i
    }),
    ("+toolchain (distro)", &["stable"], |v| {
        let mut i = Input::distro();
        i.args.insert(0, format!("+{v}"));
        i
    }),
    ("workspace member directory", &["clean"], |v| {
        let mut i = Input::distro();
        i.workspace.workdir = PathBuf::from("crates").join(v);
        i
    }),
    ("workspace root directory", &["clean"], |v| {
        let mut i = Input::distro();
        let root = Path::new("/work").join(v).join("app");
        i.workspace = common::app_workspace(&root, Some("main"));
        i
    }),
    ("path dependency outside the workspace", &["clean"], |v| {
        let mut i = Input::distro();
        i.workspace.prefix = PathBuf::from("app");
        i.workspace.outside = vec![OutsidePackage {
            name: "shared".into(),
            dir: Path::new("/work").join(v).join("shared"),
            rel: Path::new(v).join("shared"),
        }];
        i
    }),
];

/// A Dockerfile as a list of instructions, each reduced to its shape:
/// heredoc bodies dropped, every word made of ordinary characters and
/// quoted runs written `W`, and every other character kept (`;`, `$`,
/// `&`, braces...), outside quotes or inside double quotes.
fn shape(dockerfile: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut lines = dockerfile.lines();
    while let Some(line) = lines.next() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let mut text = line.to_string();
        while text.ends_with('\\') {
            text.pop();
            text.push_str(lines.next().ok_or("a continuation at the end")?);
        }
        let (keyword, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let (words, heredocs) = shell_shape(rest, keyword == "RUN")?;
        if matches!(keyword, "RUN" | "COPY") {
            for delimiter in heredocs {
                loop {
                    let l = lines.next().ok_or("an unterminated heredoc")?;
                    if l == delimiter {
                        break;
                    }
                }
            }
        }
        out.push(format!("{keyword} {words}"));
    }
    Ok(out)
}

/// The shape of one instruction's text, and the heredocs it opens. In a
/// RUN the shell reads it (a backquote means something inside double
/// quotes); elsewhere BuildKit does (only `$` does).
fn shell_shape(text: &str, shell: bool) -> Result<(String, Vec<String>), String> {
    // Only the shell's own blanks separate words; any other character
    // outside ASCII is an ordinary one to it.
    // Braces and `!` are reserved words of the shell only as words of
    // their own at a command's start, which the word count shows.
    let plain = |c: char| c.is_ascii_alphanumeric() || "_./:=,+@%-{}!".contains(c) || !c.is_ascii();
    let mut shape = String::new();
    let mut heredocs = Vec::new();
    let mut in_word = false;
    let mut chars = text.chars().peekable();
    let end_word = |shape: &mut String, in_word: &mut bool| {
        if *in_word {
            shape.push('W');
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(_) => {}
                        None => return Err(format!("an unclosed ' in {text}")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => {
                            chars.next();
                        }
                        Some('$') => shape.push('$'),
                        Some('`') if shell => shape.push('`'),
                        Some(_) => {}
                        None => return Err(format!("an unclosed \" in {text}")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                chars.next();
            }
            '<' if !in_word && chars.peek() == Some(&'<') => {
                chars.next();
                let word: String =
                    std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace())).collect();
                heredocs.push(
                    word.trim_matches(|c| c == '\'' || c == '"' || c == '-')
                        .to_string(),
                );
                shape.push_str("<<H");
            }
            ' ' | '\t' => {
                end_word(&mut shape, &mut in_word);
                if !shape.ends_with(' ') {
                    shape.push(' ');
                }
            }
            c if plain(c) => in_word = true,
            c => {
                end_word(&mut shape, &mut in_word);
                shape.push(c);
            }
        }
    }
    end_word(&mut shape, &mut in_word);
    Ok((shape, heredocs))
}

/// Environment variables that are lists (split on blanks, some on commas
/// too): a value with those characters is several items or none, each
/// tried on its own elsewhere.
const LISTS: &[&str] = &[
    "CROSS_TARGET_<T>_PACKAGES",
    "CROSS_BUILD_BUILD_STD",
    "CROSS_BUILD_ENV_PASSTHROUGH",
];

/// The hostile value is refused, or renders the shape of one of the clean
/// values.
fn holds(field: &Field, value: &str) -> Result<(), String> {
    let (name, cleans, make) = field;
    let splits = |c: char| c.is_whitespace() || c == ',';
    if LISTS.contains(name) && (value.trim().is_empty() || value.contains(splits)) {
        return Ok(());
    }
    let Ok(df) = render_input(&make(value)) else {
        return Ok(());
    };
    let got = shape(&df).map_err(|e| format!("{name} = {value:?}: {e}\n{df}"))?;
    let mut nearest = String::new();
    for clean in *cleans {
        let clean_df = render_input(&make(clean))
            .unwrap_or_else(|e| panic!("{name}: the clean value {clean:?} does not plan: {e}"));
        let expected = shape(&clean_df).unwrap();
        if got == expected {
            return Ok(());
        }
        nearest = match got.iter().zip(&expected).find(|(g, e)| g != e) {
            Some((g, e)) => format!("an instruction changed shape\n  clean: {e}\n  value: {g}"),
            None => format!("{} instructions instead of {}", got.len(), expected.len()),
        };
    }
    Err(format!("{name} = {value:?}: {nearest}\n{df}"))
}

/// The values each field is tried with before the random ones: the
/// attacks seen (a line break that starts a RUN, a shell command, mount
/// options, a heredoc's end, NUL) and the characters quoting gets wrong.
const KNOWN: &[&str] = &[
    "-Copt-level=1\nRUN echo PWNED #",
    "x\r\nRUN id",
    "A;echo PWNED;B=1",
    "clean,target=/etc,rw",
    "a\0b",
    "$(id)",
    "`id`",
    "${HOME}",
    "'",
    "\"",
    "\\",
    "a b",
    "<<EOF",
    "x\nGREEN_CROSS_EOF\nRUN id\nGREEN_CROSS_EOF",
    "x\nEOF\nRUN id",
    "",
    " ",
    "-",
    "--help",
    "é\u{2028}ü",
];

#[test]
fn known_attacks_on_every_field_are_refused_or_stay_one_quoted_word() {
    let mut failures = Vec::new();
    for f in FIELDS {
        for v in KNOWN {
            if let Err(e) = holds(f, v) {
                failures.push(e);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn hostile() -> impl Strategy<Value = String> {
    let alphabet: Vec<char> = "aZ09_-.:/=, \t\n\r\0'\"$`\\;&|#{}()<>!*?~%@+é"
        .chars()
        .collect();
    prop::collection::vec(prop::sample::select(alphabet), 0..16)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn any_value_in_any_field_is_refused_or_stays_one_quoted_word(
        field in 0..FIELDS.len(),
        value in hostile(),
    ) {
        if let Err(e) = holds(&FIELDS[field], &value) {
            return Err(TestCaseError::fail(e));
        }
    }

    #[test]
    fn parsing_arbitrary_input_never_panics(
        text in "\\PC{0,200}",
        args in prop::collection::vec("\\PC{0,12}", 0..6),
        value in hostile(),
    ) {
        let _ = CrossToml::parse("Cross.toml".as_ref(), &text);
        let _ = Invocation::parse(&args);
        let env: Env = [
            ("CROSS_BUILD_PACKAGES".to_string(), value.clone()),
            ("CROSS_BUILD_BUILD_STD".to_string(), value.clone()),
            ("GREEN_CROSS_CACHE".to_string(), value),
        ]
        .into();
        let _ = Settings::resolve(&env, &CrossToml::default());
    }
}
