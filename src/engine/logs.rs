//! One log file per invocation, so that concurrent builds in a workspace
//! never write into each other's: `target/green-cross/logs/build-<time>-
//! <pid>.log`, with `target/green-cross/last-build.log` a symbolic link to
//! the newest. The oldest beyond [`KEEP`] are removed.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// How many logs a target dir keeps.
pub const KEEP: usize = 20;

/// A new log path for this invocation in `dir`, `last-build.log` pointed at
/// it.
pub fn invocation_log(dir: &Path) -> Result<PathBuf> {
    let logs = dir.join("logs");
    fs::create_dir_all(&logs).map_err(|e| Error::io("create", &logs, e))?;
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    let name = format!("build-{ms:015}-{}.log", std::process::id());
    let log = logs.join(&name);
    fs::File::create(&log).map_err(|e| Error::io("create", &log, e))?;
    let link = dir.join("last-build.log");
    let tmp = dir.join(format!(".last-build.log.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(Path::new("logs").join(&name), &tmp)
        .and_then(|()| fs::rename(&tmp, &link))
        .map_err(|e| Error::io("link", &link, e))?;
    prune(&logs);
    Ok(log)
}

/// Remove the oldest `build-*.log` files beyond [`KEEP`] (names sort by
/// time).
fn prune(logs: &Path) {
    let Ok(entries) = fs::read_dir(logs) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.starts_with("build-") && n.ends_with(".log"))
        .collect();
    names.sort();
    let extra = names.len().saturating_sub(KEEP);
    for n in &names[..extra] {
        let _ = fs::remove_file(logs.join(n));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_invocation_has_its_log_and_last_build_log_is_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("last-build.log"), "an older version's\n").unwrap();
        let first = invocation_log(dir.path()).unwrap();
        fs::write(&first, "first\n").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("last-build.log")).unwrap(),
            "first\n"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = invocation_log(dir.path()).unwrap();
        assert_ne!(first, second);
        fs::write(&second, "second\n").unwrap();
        let last = dir.path().join("last-build.log");
        assert_eq!(fs::read_to_string(&last).unwrap(), "second\n");
        assert_eq!(fs::read_to_string(&first).unwrap(), "first\n");
        for _ in 0..KEEP + 5 {
            std::thread::sleep(std::time::Duration::from_millis(2));
            invocation_log(dir.path()).unwrap();
        }
        assert_eq!(fs::read_dir(dir.path().join("logs")).unwrap().count(), KEEP);
        assert!(!first.exists());
    }
}
