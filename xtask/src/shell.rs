//! Running commands with their output visible, and timing steps.

use anyhow::{Context, Result, bail};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The workspace root (xtask lives one level below it).
pub fn repo_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(PathBuf::from).unwrap_or(here)
}

/// `$CARGO_HOME`, or `~/.cargo` (where cargo keeps the registry's sources and its tools).
pub fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
}

/// Runs `cmd`, streaming its output; fails with the command line if it exits non-zero.
pub fn run(cmd: &mut Command) -> Result<()> {
    eprintln!("$ {}", display(cmd));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", display(cmd)))?;
    if !status.success() {
        bail!("`{}` failed with {status}", display(cmd));
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout, or `None` when it cannot start or fails.
pub fn read(cmd: &mut Command) -> Option<String> {
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `program` is on PATH (or is an existing path).
pub fn has(program: &str) -> bool {
    which(program).is_some()
}

/// Finds `program` on PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return p.is_file().then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Times named steps and prints a summary table at the end.
#[derive(Debug, Default)]
pub struct Timings {
    steps: Vec<(String, f64)>,
}

impl Timings {
    pub fn step<T>(&mut self, name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        eprintln!("\n==> {name}");
        let start = Instant::now();
        let out = f().with_context(|| format!("step `{name}` failed"));
        let secs = start.elapsed().as_secs_f64();
        self.steps.push((name.to_owned(), secs));
        eprintln!(
            "<== {name}: {secs:.1} s{}",
            if out.is_ok() { "" } else { " (failed)" }
        );
        out
    }

    pub fn print(&self) {
        eprintln!("\nstep durations:");
        let mut total = 0.0;
        for (name, secs) in &self.steps {
            eprintln!("  {secs:>7.1} s  {name}");
            total += secs;
        }
        eprintln!("  {total:>7.1} s  total");
    }
}
