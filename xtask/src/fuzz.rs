//! `cargo xtask fuzz [target] [--seconds N]`: runs the cargo-fuzz targets of `fuzz/` (every
//! one, or the one named) for N seconds each on nightly, new inputs kept in
//! `fuzz/corpus/<target>/` (ignored by git) beside the committed seeds in
//! `fuzz/seeds/<target>/`. Installs cargo-fuzz and the nightly toolchain when missing.
//!
//! Every target runs under an allocation cap: any single allocation over
//! [`MALLOC_LIMIT_MB`] is a crash (a length read from the input sized it), as is a process
//! over [`RSS_LIMIT_MB`]. A crash leaves its input in `fuzz/artifacts/<target>/` and the
//! next target still runs; the summary at the end gives each target's seconds, executions
//! and result, and the command fails when one crashed. Fix the bug, then add the input to
//! the seeds so the native replay test (`tests/testkit/tests/fuzz_seeds.rs`) keeps it.

use crate::shell;
use anyhow::{Context, Result, bail};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// libFuzzer's `-malloc_limit_mb`: the same cap as `testkit::alloc::MAX_ALLOCATION_BYTES`,
/// which the seed replay runs under (its test checks the two agree).
pub const MALLOC_LIMIT_MB: u32 = 64;
/// libFuzzer's `-rss_limit_mb`.
pub const RSS_LIMIT_MB: u32 = 2048;

/// How one target's run went.
#[derive(Debug)]
struct Run {
    target: String,
    /// What libFuzzer reports it fuzzed for (the wall time when it did not say).
    seconds: f64,
    /// libFuzzer's final `stat::number_of_executed_units`, when it printed one.
    execs: Option<u64>,
    peak_rss_mb: Option<u64>,
    /// `None`: no crash; otherwise what libFuzzer said.
    failure: Option<String>,
}

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
    // Built first, so each target's seconds are fuzzing.
    shell::run(
        Command::new("cargo")
            .current_dir(&fuzz)
            .args(["+nightly", "fuzz", "build", "-O"]),
    )?;
    let mut runs = Vec::new();
    for t in &chosen {
        runs.push(run_target(&fuzz, t, seconds)?);
    }
    eprintln!(
        "\nfuzzing, {seconds} s per target (-malloc_limit_mb={MALLOC_LIMIT_MB}, -rss_limit_mb={RSS_LIMIT_MB}):"
    );
    eprintln!(
        "  {:<16} {:>8} {:>12} {:>8}  result",
        "target", "seconds", "execs", "rss MB"
    );
    for r in &runs {
        let show = |n: Option<u64>| n.map_or_else(|| "?".to_owned(), |n| n.to_string());
        eprintln!(
            "  {:<16} {:>8.0} {:>12} {:>8}  {}",
            r.target,
            r.seconds,
            show(r.execs),
            show(r.peak_rss_mb),
            r.failure.as_deref().unwrap_or("no crash")
        );
    }
    let failed: Vec<&str> = runs
        .iter()
        .filter(|r| r.failure.is_some())
        .map(|r| r.target.as_str())
        .collect();
    if !failed.is_empty() {
        bail!(
            "fuzz targets crashed: {} (inputs in fuzz/artifacts/<target>/)",
            failed.join(", ")
        );
    }
    Ok(())
}

/// Runs one target, its libFuzzer output passed through and its final statistics kept.
fn run_target(fuzz: &Path, target: &str, seconds: u32) -> Result<Run> {
    let corpus = format!("corpus/{target}");
    std::fs::create_dir_all(fuzz.join(&corpus))?;
    let mut cmd = Command::new("cargo");
    cmd.current_dir(fuzz)
        .args(["+nightly", "fuzz", "run", "-O", target, &corpus])
        .arg(format!("seeds/{target}"))
        .args(["--", &format!("-max_total_time={seconds}"), "-timeout=20"])
        .arg(format!("-malloc_limit_mb={MALLOC_LIMIT_MB}"))
        .arg(format!("-rss_limit_mb={RSS_LIMIT_MB}"))
        .arg("-print_final_stats=1")
        .stderr(Stdio::piped());
    eprintln!("$ cargo +nightly fuzz run -O {target} … ({seconds} s)");
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start cargo fuzz for {target}"))?;
    let (mut execs, mut peak_rss_mb, mut failure, mut fuzzed) = (None, None, None, None);
    if let Some(stderr) = child.stderr.take() {
        for line in BufReader::new(stderr).lines() {
            let line = line?;
            eprintln!("{line}");
            let stat = |name: &str| {
                line.strip_prefix(name)
                    .and_then(|v| v.trim().parse::<u64>().ok())
            };
            execs = stat("stat::number_of_executed_units:").or(execs);
            // `Done 1234 runs in 61 second(s)`: the fuzzing alone, without a rebuild.
            if let Some(secs) = line
                .strip_prefix("Done ")
                .and_then(|rest| rest.split_once(" runs in "))
                .and_then(|(_, rest)| rest.split_once(' '))
                .and_then(|(secs, _)| secs.parse::<f64>().ok())
            {
                fuzzed = Some(secs);
            }
            peak_rss_mb = stat("stat::peak_rss_mb:").or(peak_rss_mb);
            if failure.is_none()
                && let Some(at) = line.find("ERROR: libFuzzer:")
            {
                failure = line
                    .get(at + "ERROR: ".len()..)
                    .map(|s| s.trim().to_owned());
            }
        }
    }
    let status = child.wait()?;
    if !status.success() && failure.is_none() {
        failure = Some(format!("exited with {status}"));
    }
    Ok(Run {
        target: target.to_owned(),
        seconds: fuzzed.unwrap_or_else(|| started.elapsed().as_secs_f64()),
        execs,
        peak_rss_mb,
        failure,
    })
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
