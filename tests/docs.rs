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
    assert!(!blocks.is_empty(), "README.md shows at least one Cross.toml");
    for b in blocks {
        let (_, warnings) = CrossToml::parse(Path::new("README.md"), &b).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}\n{b}");
    }
}

#[test]
fn readme_names_the_two_commands_and_only_known_targets() {
    let readme = read("README.md");
    assert!(readme.contains("ci/demo.sh"));
    assert!(readme.contains("ci/test.sh"));
    let recipes = green_cross::target::Recipes::embedded().unwrap();
    for word in readme.split(|c: char| c.is_whitespace() || "`|,()".contains(c)) {
        let looks_like_triple = word.matches('-').count() >= 2
            && ["linux", "windows", "darwin"].iter().any(|os| word.contains(os))
            && !word.contains('/')
            && !word.contains('.');
        if looks_like_triple {
            recipes.get(word).unwrap_or_else(|e| panic!("README names {word}: {e}"));
        }
    }
}
