//! Embeds every recipe in targets/ into the binary, so adding a target is
//! adding a file.
// A build script is handed its settings (OUT_DIR) by cargo in the
// environment; the rule in clippy.toml is for green-cross itself.
#![allow(clippy::disallowed_methods)]
use std::{env, fs, path::Path};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("targets");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("targets/ exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let mut out = String::from(
        "/// (file name, contents) of every embedded recipe, sorted by name.\npub const EMBEDDED: &[(&str, &str)] = &[\n",
    );
    for n in &names {
        println!("cargo:rerun-if-changed={}", dir.join(n).display());
        out.push_str(&format!(
            "    ({n:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/targets/{n}\"))),\n"
        ));
    }
    out.push_str("];\n");

    // Support files that recipes and runners copy into stages.
    let docker = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker");
    let mut assets = Vec::new();
    for sub in ["macos-include/CommonCrypto", "wine"] {
        let d = docker.join(sub);
        println!("cargo:rerun-if-changed={}", d.display());
        if let Ok(rd) = fs::read_dir(&d) {
            for e in rd.filter_map(|e| e.ok()) {
                let n = e.file_name().to_string_lossy().into_owned();
                println!("cargo:rerun-if-changed={}", d.join(&n).display());
                assets.push(format!("{sub}/{n}"));
            }
        }
    }
    assets.sort();
    out.push_str("/// (name under docker/, contents) of every support file, sorted by name.\npub const ASSETS: &[(&str, &str)] = &[\n");
    for a in &assets {
        out.push_str(&format!(
            "    ({a:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/docker/{a}\"))),\n"
        ));
    }
    out.push_str("];\n");
    let dest = Path::new(&env::var("OUT_DIR").unwrap()).join("recipes.rs");
    fs::write(dest, out).expect("write recipes.rs");
}
