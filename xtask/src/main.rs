//! `cargo xtask`: the one place that knows how to set up a machine, build the web bundle and
//! `fixer.exe`, serve the page and run every test. Shell scripts are thin entry points to it.

mod bench;
mod bootstrap;
mod dist;
mod exe;
mod fuzz;
mod release;
mod repro;
mod serve;
mod shell;
mod test;
mod toolchain;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "cargo xtask", about = "Build, serve and test rdpfix")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Install what this machine lacks (apt packages, wasm-bindgen-cli, npm modules); a
    /// second run only checks and takes seconds.
    Bootstrap,
    /// Build the static site into `dist/`: page, wasm, samples, fixer.exe and its SHA-256.
    Dist {
        /// Skip the Windows build of fixer.exe.
        #[arg(long)]
        no_exe: bool,
    },
    /// Build fixer.exe alone (the same bytes as `dist/fixer.exe`) and print its SHA-256 and
    /// the toolchain a rebuild must match.
    Exe {
        /// Also copy it here.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
    /// Build fixer.exe in two fresh clones of HEAD at different paths and check that both,
    /// and `dist/fixer.exe` when built from HEAD, have the same SHA-256 (about 5 minutes).
    Repro(repro::ReproArgs),
    /// The release artifacts from a clean tree: the site's tarball, fixer.exe, build-info.json
    /// and SHA256SUMS, all versioned (`--twice`: from two fresh clones, compared).
    Release(release::ReleaseArgs),
    /// Serve `dist/` on `http://127.0.0.1:<port>/`.
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Send no security headers (as GitHub Pages or Azure Storage would serve the site).
        #[arg(long)]
        no_headers: bool,
    },
    /// Bootstrap, build `dist/`, and serve it: the README's "run" command.
    Run {
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Bootstrap, then every test: the README's "test" command and what CI runs.
    Test(test::TestArgs),
    /// Run the cargo-fuzz targets (all, or one) on nightly; installs cargo-fuzz if missing.
    Fuzz {
        /// One target (a file of `fuzz/fuzz_targets/` without `.rs`); default: every one.
        target: Option<String>,
        /// Seconds per target.
        #[arg(long, default_value_t = 60)]
        seconds: u32,
    },
    /// Time `fixer diagnose` against `evtx_dump` on large logs made in `target/bench/`,
    /// with peak memory, and the browser benchmark when `dist/` is built (BENCHMARKS.md).
    Bench(bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    let root = shell::repo_root();
    std::env::set_current_dir(&root)?;
    match cli.cmd {
        Cmd::Bootstrap => bootstrap::run(bootstrap::Needs::all()).map(drop),
        Cmd::Dist { no_exe } => {
            let tc = bootstrap::run(bootstrap::Needs::build(!no_exe))?;
            dist::build(&tc, !no_exe).map(drop)
        }
        Cmd::Exe { out } => exe::run(&root, out.as_deref()),
        Cmd::Repro(args) => repro::run(&root, &args),
        Cmd::Release(args) => release::run(&root, &args),
        Cmd::Serve { port, no_headers } => {
            serve::serve_forever(&root.join("dist"), port, !no_headers)
        }
        Cmd::Run { port } => {
            let tc = bootstrap::run(bootstrap::Needs::build(true))?;
            dist::build(&tc, true)?;
            serve::serve_forever(&root.join("dist"), port, true)
        }
        Cmd::Test(args) => test::run(args),
        Cmd::Fuzz { target, seconds } => fuzz::run(&root, target.as_deref(), seconds),
        Cmd::Bench(args) => bench::run(args),
    }
}
