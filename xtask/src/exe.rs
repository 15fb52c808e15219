//! fixer.exe: its one build (`cargo xtask exe`, and `dist` through it), reproducible (the
//! flags: `toolchain::exe_rustflags`), and what it was built from, for `build-info.json` and
//! anyone who wants to rebuild it and compare (README, "Reproduce fixer.exe").

use crate::bootstrap::{self, Needs};
use crate::dist::sha256_hex;
use crate::shell;
use crate::toolchain::CrossCargo;
use anyhow::{Context, Result};
use serde_json::{Map, Value, json};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub const PROFILE: &str = "win-release";

/// A built fixer.exe.
#[derive(Debug)]
pub struct Exe {
    pub path: PathBuf,
    pub sha256: String,
    pub len: usize,
    /// `fixer_build` in `build-info.json`: the commit and the toolchain a rebuild must match.
    pub provenance: Value,
}

/// `cargo build --profile win-release -p fixer` for the Windows target, as `cc` says.
pub fn build(root: &Path, cc: &CrossCargo) -> Result<Exe> {
    shell::run(
        cc.command("build")
            .args(["--profile", PROFILE, "-p", "fixer"]),
    )?;
    let path = cc.out_dir(PROFILE).join("fixer.exe");
    let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(Exe {
        sha256: sha256_hex(&bytes),
        len: bytes.len(),
        provenance: provenance(root, cc),
        path,
    })
}

fn provenance(root: &Path, cc: &CrossCargo) -> Value {
    let git = |args: &[&str]| shell::read(Command::new("git").arg("-C").arg(root).args(args));
    let commit = git(&["rev-parse", "HEAD"]).map(|s| s.trim().to_owned());
    let changed = git(&["status", "--porcelain"]).map(|s| !s.trim().is_empty());
    let tools: Map<String, Value> = cc
        .versions()
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    json!({
        "commit": commit,
        "uncommitted_changes": changed,
        "target": cc.target,
        "profile": PROFILE,
        "via": cc.via,
        "tools": tools,
    })
}

/// `cargo xtask exe [--out FILE]`: builds fixer.exe, prints its SHA-256 and the toolchain,
/// and copies it to `out` when given.
pub fn run(root: &Path, out: Option<&Path>) -> Result<()> {
    let tc = bootstrap::run(Needs::exe())?;
    let cc = tc.windows.as_ref().context("no Windows toolchain")?;
    let start = Instant::now();
    let exe = build(root, cc)?;
    if let Some(out) = out {
        fs::copy(&exe.path, out).with_context(|| format!("cannot write {}", out.display()))?;
    }
    eprintln!(
        "exe: built in {:.0} s\n{}",
        start.elapsed().as_secs_f64(),
        describe(&exe)
    );
    Ok(())
}

/// Path, size, SHA-256 and toolchain, one per line, for the log.
pub fn describe(exe: &Exe) -> String {
    let mut text = format!(
        "{:<30} {}\n{:<30} {}\n{:<30} {}",
        "fixer.exe",
        exe.path.display(),
        "bytes",
        exe.len,
        "SHA-256",
        exe.sha256
    );
    let fields = ["commit", "uncommitted_changes", "via"]
        .into_iter()
        .filter_map(|k| Some((k, exe.provenance.get(k)?)));
    let tools = exe.provenance.get("tools").and_then(Value::as_object);
    let tools = tools.into_iter().flatten().map(|(k, v)| (k.as_str(), v));
    for (key, value) in fields.chain(tools) {
        let value = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        text.push_str(&format!("\n{key:<30} {value}"));
    }
    text
}
