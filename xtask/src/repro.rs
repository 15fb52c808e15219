//! `cargo xtask repro`: fixer.exe built from two fresh clones of HEAD, in folders of other
//! names and depths, each with its own `cargo xtask exe`; both SHA-256 must be equal, and
//! equal to `dist/fixer.exe` when `dist/` was built from the same commit.

use crate::shell;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct ReproArgs {
    /// Where the clones go (default: a fresh folder in the temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Keep the clones and their target dirs (about 0.5 GB each) instead of removing them.
    #[arg(long)]
    pub keep: bool,
}

/// One clone's build.
struct Build {
    clone: PathBuf,
    exe: PathBuf,
    sha256: String,
    secs: f64,
}

pub fn run(root: &Path, args: &ReproArgs) -> Result<()> {
    let head = git(root, &["rev-parse", "HEAD"]).context("cannot read HEAD")?;
    if git(root, &["status", "--porcelain"]).is_some_and(|s| !s.is_empty()) {
        eprintln!("repro: uncommitted changes are not in the clones; this checks HEAD {head}");
    }
    let base = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("rdpfix-repro-{}", std::process::id()))
    });
    if base.exists() {
        bail!("{} exists; give another --dir", base.display());
    }
    // Different names and depths: a path that leaked into the binary changes its bytes.
    let clones = [base.join("a"), base.join("x/y/rdpfix-b")];
    let start = Instant::now();
    let mut builds = Vec::new();
    let mut failed = None;
    for (n, clone) in clones.iter().enumerate() {
        match build_in_clone(root, &head, clone, &base.join(format!("fixer-{n}.exe"))) {
            Ok(b) => builds.push(b),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    let total = start.elapsed().as_secs_f64();
    let same = failed.is_none() && builds.windows(2).all(|w| w[0].sha256 == w[1].sha256);
    if !args.keep {
        for clone in &clones {
            // Several hundred MB each; the exes stay for a comparison when they differ.
            let _ = fs::remove_dir_all(clone);
        }
        if same {
            let _ = fs::remove_dir_all(&base);
        }
    }
    if let Some(e) = failed {
        return Err(e);
    }
    eprintln!("\nrepro: commit {head}");
    for b in &builds {
        eprintln!(
            "  {}  {}  ({:.0} s)",
            b.sha256,
            b.clone.join("…/fixer.exe").display(),
            b.secs
        );
    }
    eprintln!("repro: {total:.0} s for both");
    if !same {
        let exes: Vec<_> = builds.iter().map(|b| b.exe.display().to_string()).collect();
        bail!(
            "fixer.exe differs between the clones: compare {} (`cmp -l`, diffoscope)",
            exes.join(" and ")
        );
    }
    eprintln!("repro: the same bytes in both clones");
    compare_with_dist(root, &head, &builds[0].sha256)
}

fn build_in_clone(root: &Path, head: &str, clone: &Path, out: &Path) -> Result<Build> {
    let start = Instant::now();
    clone_at(root, head, clone)?;
    // The clone's own xtask, in its own target dirs.
    shell::run(
        Command::new("cargo")
            .args(["xtask", "exe", "--out"])
            .arg(out)
            .current_dir(clone)
            .env_remove("CARGO_TARGET_DIR"),
    )?;
    let bytes = fs::read(out).with_context(|| format!("cannot read {}", out.display()))?;
    Ok(Build {
        clone: clone.to_path_buf(),
        exe: out.to_path_buf(),
        sha256: crate::dist::sha256_hex(&bytes),
        secs: start.elapsed().as_secs_f64(),
    })
}

/// A fresh clone of `root` at `clone`, `head` checked out (detached): only what is committed.
pub fn clone_at(root: &Path, head: &str, clone: &Path) -> Result<()> {
    let parent = clone.parent().context("clone path has no parent")?;
    fs::create_dir_all(parent)?;
    shell::run(
        Command::new("git")
            .args(["clone", "--quiet", "--no-checkout"])
            .arg(root)
            .arg(clone),
    )?;
    shell::run(
        Command::new("git")
            .arg("-C")
            .arg(clone)
            .args(["checkout", "--quiet", "--detach", head]),
    )
}

/// `dist/fixer.exe` must be the same bytes when `dist/` was built from this commit with
/// nothing uncommitted (what `build-info.json` says).
fn compare_with_dist(root: &Path, head: &str, sha256: &str) -> Result<()> {
    let Ok(text) = fs::read_to_string(root.join("dist/build-info.json")) else {
        eprintln!("repro: no dist/build-info.json to compare with");
        return Ok(());
    };
    let info: Value = serde_json::from_str(&text).context("dist/build-info.json")?;
    let build = &info["fixer_build"];
    let dist_sha = info["fixer_sha256"].as_str();
    match (
        build["commit"].as_str(),
        build["uncommitted_changes"].as_bool(),
    ) {
        (Some(c), Some(false)) if c == head => match dist_sha {
            Some(s) if s == sha256 => {
                eprintln!("repro: dist/fixer.exe (built from this commit) is the same bytes");
                Ok(())
            }
            other => bail!(
                "dist/fixer.exe was built from this commit but its SHA-256 is {}",
                other.unwrap_or("missing")
            ),
        },
        (commit, changed) => {
            eprintln!(
                "repro: dist/ was built from {}{}: not compared",
                commit.unwrap_or("an unknown commit"),
                if changed == Some(true) {
                    " with uncommitted changes"
                } else {
                    ""
                }
            );
            Ok(())
        }
    }
}

fn git(root: &Path, args: &[&str]) -> Option<String> {
    shell::read(Command::new("git").arg("-C").arg(root).args(args)).map(|s| s.trim().to_owned())
}
