//! A rendered Dockerfile read as BuildKit's parser and a shell would: every
//! line belongs to a known instruction (continuations and heredocs
//! followed), every heredoc is closed, every FROM names an image or stage
//! that is a reference, and every shell BuildKit or a script would run
//! (RUN commands, heredoc scripts, the pre-build commands) passes `sh -n`.

use std::process::Command;

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

/// One instruction: its first line, keyword, arguments (continuations
/// joined) and heredoc bodies.
#[derive(Debug)]
pub struct Instruction {
    pub line: usize,
    pub keyword: String,
    pub args: String,
    pub heredocs: Vec<String>,
}

/// The heredoc delimiters an instruction's arguments open, in order.
fn heredoc_delimiters(args: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut rest = args;
    while let Some(i) = rest.find("<<") {
        rest = &rest[i + 2..];
        let strip = rest.starts_with('-');
        let r = rest.trim_start_matches('-');
        let r = r.trim_start_matches(['\'', '"']);
        let word: String = r
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if !word.is_empty() {
            out.push((word, strip));
        }
    }
    out
}

pub fn instructions(text: &str) -> Result<Vec<Instruction>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let first = lines[i];
        if first.trim().is_empty() || first.trim_start().starts_with('#') {
            i += 1;
            continue;
        }
        let start = i;
        let mut logical = String::new();
        loop {
            let l = lines.get(i).ok_or(format!(
                "line {}: a continuation runs off the end",
                start + 1
            ))?;
            i += 1;
            match l.strip_suffix('\\') {
                Some(part) => {
                    logical.push_str(part);
                    logical.push(' ');
                }
                None => {
                    logical.push_str(l);
                    break;
                }
            }
        }
        let (keyword, args) = logical
            .trim()
            .split_once(' ')
            .unwrap_or((logical.trim(), ""));
        if !KEYWORDS.contains(&keyword) {
            return Err(format!(
                "line {}: unknown instruction `{keyword}`",
                start + 1
            ));
        }
        let mut heredocs = Vec::new();
        if matches!(keyword, "RUN" | "COPY" | "ADD") {
            for (delim, strip) in heredoc_delimiters(args) {
                let mut body = String::new();
                loop {
                    let l = lines.get(i).ok_or(format!(
                        "line {}: heredoc <<{delim} is never closed",
                        start + 1
                    ))?;
                    i += 1;
                    let l2 = if strip { l.trim_start_matches('\t') } else { l };
                    if l2 == delim {
                        break;
                    }
                    body.push_str(l);
                    body.push('\n');
                }
                heredocs.push(body);
            }
        }
        out.push(Instruction {
            line: start + 1,
            keyword: keyword.to_string(),
            args: args.trim().to_string(),
            heredocs,
        });
    }
    Ok(out)
}

fn sh_n(script: &str, what: &str) -> Result<(), String> {
    let o = Command::new("sh")
        .args(["-n", "-c", script])
        .output()
        .unwrap();
    if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: `sh -n` fails: {}\n{script}",
            String::from_utf8_lossy(&o.stderr)
        ))
    }
}

/// An image reference or stage name as FROM takes it (after BuildKit's
/// argument expansion, which the renderer does not use in FROM).
fn from_ok(args: &str) -> Result<(), String> {
    let words: Vec<&str> = args
        .split_whitespace()
        .filter(|w| !w.starts_with("--platform="))
        .collect();
    let image = words.first().ok_or("FROM without an image")?;
    let bad_start = image.starts_with([':', '@', '-', '/']);
    if bad_start || image.contains("//") || image.ends_with([':', '@', '/']) {
        return Err(format!("FROM `{image}` is not an image reference"));
    }
    match &words[1..] {
        [] => Ok(()),
        [kw, name] if kw.eq_ignore_ascii_case("AS") => {
            let ok = name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
            ok.then_some(()).ok_or(format!("stage name `{name}`"))
        }
        other => Err(format!("FROM has extra words {other:?}")),
    }
}

/// The shell of a RUN: its arguments without the flags.
fn run_command(args: &str) -> &str {
    let mut rest = args;
    while rest.starts_with("--") {
        rest = rest.split_once(' ').map_or("", |(_, r)| r).trim_start();
    }
    rest
}

pub fn check(text: &str) -> Result<(), String> {
    for ins in instructions(text)? {
        let at = format!("line {} ({})", ins.line, ins.keyword);
        match ins.keyword.as_str() {
            "FROM" => from_ok(&ins.args).map_err(|e| format!("{at}: {e}"))?,
            "RUN" => {
                let cmd = run_command(&ins.args);
                if cmd.starts_with("<<") {
                    for body in &ins.heredocs {
                        sh_n(body, &at)?;
                    }
                } else {
                    sh_n(cmd, &at)?;
                }
            }
            "COPY" => {
                for body in &ins.heredocs {
                    let script =
                        body.starts_with("#!/bin/sh") || ins.args.contains("pre-build-commands");
                    if script {
                        sh_n(body, &at)?;
                    }
                }
            }
            "ENV" => sh_n(&format!(": {}", ins.args), &at)?,
            _ => {}
        }
    }
    Ok(())
}
