//! `cargo xtask fuzz [target] [--seconds N]`: runs the cargo-fuzz targets of `fuzz/` (every
//! one, or the one named) for N seconds each on nightly, new inputs kept in
//! `fuzz/corpus/<target>/` (ignored by git) beside the committed seeds in
//! `fuzz/seeds/<target>/`. Installs cargo-fuzz and the nightly toolchain when missing.
//! A crash leaves its input in `fuzz/artifacts/<target>/`: fix the bug, then add the input
//! to the seeds so the native replay test (`tests/testkit/tests/fuzz_seeds.rs`) keeps it.

use crate::shell;
use anyhow::{Result, bail};
use std::path::Path;
use std::process::Command;

pub fn run(root: &Path, target: Option<&str>, seconds: u32) -> Result<()> {
    let fuzz = root.join("fuzz");
    let all = targets(&fuzz)?;
    let chosen: Vec<String> = match target {
        Some(t) if all.iter().any(|a| a == t) => vec![t.to_owned()],
        Some(t) => bail!("no fuzz target `{t}`; the targets are: {}", all.join(", ")),
        None => all,
    };
    if shell::read(Command::new("rustup").args(["run", "nightly", "rustc", "--version"])).is_none()
    {
        shell::run(Command::new("rustup").args([
            "toolchain",
            "install",
            "nightly",
            "--profile",
            "minimal",
        ]))?;
    }
    if shell::read(Command::new("cargo").args(["fuzz", "--version"])).is_none() {
        shell::run(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))?;
    }
    for t in &chosen {
        let corpus = format!("corpus/{t}");
        std::fs::create_dir_all(fuzz.join(&corpus))?;
        shell::run(
            Command::new("cargo")
                .current_dir(&fuzz)
                .args([
                    "+nightly",
                    "fuzz",
                    "run",
                    "-O",
                    t,
                    &corpus,
                    &format!("seeds/{t}"),
                ])
                .args(["--", &format!("-max_total_time={seconds}"), "-timeout=20"])
                .arg("-rss_limit_mb=2048"),
        )?;
    }
    Ok(())
}

/// The targets: the files of `fuzz/fuzz_targets/`.
fn targets(fuzz: &Path) -> Result<Vec<String>> {
    let mut names: Vec<String> = std::fs::read_dir(fuzz.join("fuzz_targets"))?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .collect();
    names.sort();
    Ok(names)
}
