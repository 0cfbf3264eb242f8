//! Placing the build's outputs where cargo would have put them, one atomic
//! rename per file, and the summary printed after a build.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::plan::{BuildPlan, Outputs};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    pub target: String,
    pub path: PathBuf,
    pub size: u64,
}

/// Move everything the build exported (in `out_dir`, which must be on the
/// same file system as the target dir) into target/<triple>/... .
pub fn place(plan: &BuildPlan, out_dir: &Path) -> Result<Vec<Artifact>> {
    let mut placed = Vec::new();
    for t in &plan.targets {
        match t.outputs {
            Outputs::Nothing => {}
            Outputs::ProfileDir => {
                let src = out_dir.join(&t.triple).join(&plan.profile_dir);
                let dest = plan.target_dir.join(&t.triple).join(&plan.profile_dir);
                let Ok(entries) = fs::read_dir(&src) else {
                    continue;
                };
                fs::create_dir_all(&dest).map_err(|e| Error::io("create", &dest, e))?;
                let mut files: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
                files.sort();
                for f in files {
                    let name = f.file_name().expect("a file in a directory");
                    let to = dest.join(name);
                    let size = fs::metadata(&f).map(|m| m.len()).unwrap_or(0);
                    fs::rename(&f, &to).map_err(|e| Error::io("move into place", &to, e))?;
                    placed.push(Artifact {
                        target: t.triple.clone(),
                        path: to,
                        size,
                    });
                }
            }
            Outputs::Doc => {
                let src = out_dir.join(&t.triple).join("doc");
                if !src.is_dir() {
                    continue;
                }
                let dest = plan.target_dir.join(&t.triple).join("doc");
                fs::create_dir_all(dest.parent().expect("has parent"))
                    .map_err(|e| Error::io("create", &dest, e))?;
                // Swap the old docs out, the new ones in, then drop the old.
                let old = out_dir.join(format!("{}-old-doc", t.triple));
                if dest.exists() {
                    fs::rename(&dest, &old).map_err(|e| Error::io("move aside", &dest, e))?;
                }
                fs::rename(&src, &dest).map_err(|e| Error::io("move into place", &dest, e))?;
                let size = dir_size(&dest);
                placed.push(Artifact {
                    target: t.triple.clone(),
                    path: dest,
                    size,
                });
            }
        }
    }
    Ok(placed)
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = fs::read_dir(p) else { return 0 };
    rd.filter_map(|e| e.ok())
        .map(|e| {
            let path = e.path();
            if path.is_dir() {
                dir_size(&path)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

/// Human size: 1.2 MiB.
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// One line per artifact: target, path (relative to `base` when under it),
/// size, and the wall time of the build that made it.
pub fn summary(artifacts: &[Artifact], base: &Path, elapsed: Duration) -> String {
    let rows: Vec<[String; 4]> = artifacts
        .iter()
        .map(|a| {
            let p = a.path.strip_prefix(base).unwrap_or(&a.path);
            [
                a.target.clone(),
                p.display().to_string(),
                human_size(a.size),
                format!("{:.1}s", elapsed.as_secs_f64()),
            ]
        })
        .collect();
    let header = ["target", "artifact", "size", "time"].map(String::from);
    let mut widths = header.clone().map(|h| h.len());
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.len());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&header).chain(rows.iter()) {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:>w2$}  {:>w3$}",
            r[0],
            r[1],
            r[2],
            r[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
    }

    #[test]
    fn summary_table_is_aligned() {
        let a = vec![
            Artifact {
                target: "x86_64-unknown-linux-musl".into(),
                path: "/w/target/x86_64-unknown-linux-musl/release/app".into(),
                size: 2048,
            },
            Artifact {
                target: "aarch64-apple-darwin".into(),
                path: "/w/target/aarch64-apple-darwin/release/app".into(),
                size: 10,
            },
        ];
        let s = summary(&a, Path::new("/w"), Duration::from_millis(1500));
        let lines: Vec<_> = s.lines().collect();
        assert_eq!(
            lines[0],
            "target                     artifact                                         size  time"
        );
        assert_eq!(
            lines[1],
            "x86_64-unknown-linux-musl  target/x86_64-unknown-linux-musl/release/app  2.0 KiB  1.5s"
        );
        assert_eq!(
            lines[2],
            "aarch64-apple-darwin       target/aarch64-apple-darwin/release/app          10 B  1.5s"
        );
    }
}
