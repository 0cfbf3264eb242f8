//! The docs are tests: Cross.toml.example and every ```toml block in
//! README.md parse without errors or unknown keys, and every target the
//! README names exists.

use std::path::Path;

use green_cross::config::CrossToml;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

fn toml_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut cur: Option<String> = None;
    for line in markdown.lines() {
        match &mut cur {
            None if line.trim_start().starts_with("```toml") => cur = Some(String::new()),
            Some(b) if line.trim_start().starts_with("```") => {
                blocks.push(std::mem::take(b));
                cur = None;
            }
            Some(b) => {
                b.push_str(line);
                b.push('\n');
            }
            None => {}
        }
    }
    blocks
}

#[test]
fn cross_toml_example_has_only_known_keys() {
    let text = read("Cross.toml.example");
    let (parsed, warnings) = CrossToml::parse(Path::new("Cross.toml.example"), &text).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert!(parsed.build.release.preset.is_some());
    assert!(parsed.target.contains_key("aarch64-unknown-linux-gnu"));
}

#[test]
fn readme_toml_blocks_have_only_known_keys() {
    let readme = read("README.md");
    let blocks = toml_blocks(&readme);
    assert!(
        !blocks.is_empty(),
        "README.md shows at least one Cross.toml"
    );
    for b in blocks {
        let (_, warnings) = CrossToml::parse(Path::new("README.md"), &b).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}\n{b}");
    }
}

#[test]
fn readme_names_the_two_commands_and_exactly_the_known_targets() {
    let readme = read("README.md");
    assert!(readme.contains("ci/demo.sh"));
    assert!(readme.contains("ci/test.sh"));
    let recipes = green_cross::target::Recipes::embedded().unwrap();

    // The Targets table lists every recipe, and nothing else.
    let section = readme
        .split("## Targets")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let mut listed: Vec<&str> = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| target") && !l.starts_with("| ---"))
        .map(|l| {
            l.trim_start_matches("| ")
                .split(" |")
                .next()
                .unwrap()
                .trim()
        })
        .collect();
    listed.sort();
    let known: Vec<&str> = recipes.iter().map(|r| r.triple.as_str()).collect();
    assert_eq!(listed, known);

    // Every `--target X` in the README is a known target.
    let words: Vec<&str> = readme.split_whitespace().collect();
    for pair in words.windows(2) {
        if pair[0] == "--target" {
            recipes.get(pair[1].trim_matches('`')).unwrap();
        }
    }
}
