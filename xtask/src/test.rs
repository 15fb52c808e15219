//! `cargo xtask test`: bootstrap, then every test the project has. What CI runs.

use crate::bootstrap::{self, Needs};
use crate::shell::{self, Timings};
use crate::{dist, serve};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Skip `cargo fmt --check` and clippy.
    #[arg(long)]
    pub no_lint: bool,
    /// Skip the browser tests (headless Chromium).
    #[arg(long)]
    pub no_browser: bool,
    /// Skip fixer.exe under Wine.
    #[arg(long)]
    pub no_wine: bool,
}

pub fn run(args: TestArgs) -> Result<()> {
    let root = shell::repo_root();
    let target = target_dir(&root);
    if let Some(free) = free_bytes(&root)
        && free < MIN_FREE
    {
        eprintln!(
            "xtask: warning: only {:.1} GiB free on the disk of {}; a clean `cargo xtask test` \
             needs about {:.1} GiB for {} even deleting each step's outputs once done",
            gib(free),
            root.display(),
            gib(MIN_FREE),
            target.display()
        );
    }
    let mut t = Timings::default();
    let result = run_steps(&args, &root, &mut t);
    t.print();
    eprintln!(
        "disk: {:.1} GiB in {}, {} free",
        gib(dir_bytes(&target)),
        target.display(),
        free_bytes(&root).map_or_else(|| "? GiB".to_owned(), |f| format!("{:.1} GiB", gib(f)))
    );
    result
}

/// What a clean run needs on the disk when it deletes each step's outputs once done
/// ([`PRUNE_BELOW`]), with room to spare (measured 2.8 GB: BENCHMARKS.md, "CI disk").
const MIN_FREE: u64 = 7 << 29;

fn gib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1u32 << 30)
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// Bytes available to this user on the file system holding `path` (`df -Pk`), if `df` answers.
fn free_bytes(path: &Path) -> Option<u64> {
    let out = shell::read(Command::new("df").arg("-Pk").arg(path))?;
    let kib: u64 = out
        .lines()
        .nth(1)?
        .split_whitespace()
        .nth(3)?
        .parse()
        .ok()?;
    Some(kib * 1024)
}

/// Total size of the files under `dir` (symlinks not followed); 0 if it does not exist.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

/// Below this much free space, what a finished step built and no later step reads is deleted
/// (CI machines have had 4.2 GiB in all; deleting only the test builds, a clean run still
/// used 4.0 GB of a 4.5 GiB disk: BENCHMARKS.md, "CI disk"). Above it the outputs stay, so
/// running the tests again rebuilds nothing.
const PRUNE_BELOW: u64 = 6 << 30;

/// Deletes `paths` (files or folders) when less than [`PRUNE_BELOW`] is free, saying so.
fn prune_if_low(root: &Path, what: &str, paths: &[PathBuf]) {
    let Some(free) = free_bytes(root).filter(|&f| f < PRUNE_BELOW) else {
        return;
    };
    let mut bytes = 0;
    for path in paths {
        let size = if path.is_dir() {
            dir_bytes(path)
        } else {
            path.metadata().map_or(0, |m| m.len())
        };
        let gone = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        match gone {
            Ok(()) => bytes += size,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => eprintln!("xtask: warning: cannot delete {}: {e}", path.display()),
        }
    }
    eprintln!(
        "xtask: {:.1} GiB free: deleted the {what} ({:.2} GiB), which no later step reads",
        gib(free),
        gib(bytes)
    );
}

/// The test programs `cargo test` linked into `target/debug/deps` (files with no extension and
/// the executable bit: Linux test binaries). Libraries, metadata and build scripts stay, so a
/// later build of `fixer` or an example only links.
fn test_executables(target: &Path) -> Vec<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let Ok(entries) = std::fs::read_dir(target.join("debug/deps")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_none()
                && p.metadata()
                    .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .collect()
}

fn run_steps(args: &TestArgs, root: &Path, t: &mut Timings) -> Result<()> {
    let needs = Needs {
        browser: !args.no_browser,
        wine: !args.no_wine,
        ..Needs::all()
    };
    let tc = t.step("bootstrap", || bootstrap::run(needs))?;
    if !args.no_lint {
        t.step("cargo fmt --check", || {
            shell::run(Command::new("cargo").args(["fmt", "--all", "--", "--check"]))
        })?;
        t.step("clippy (native, all targets)", || {
            shell::run(Command::new("cargo").args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))
        })?;
        // A doc link that no longer resolves is a map that lies: private items' docs too
        // (most of the map is in them). The fixer's are built for this host, its
        // Windows-only modules left out.
        t.step("rustdoc (links resolve)", || {
            shell::run(
                Command::new("cargo")
                    .args([
                        "doc",
                        "--workspace",
                        "--no-deps",
                        "--document-private-items",
                    ])
                    .env("RUSTDOCFLAGS", "-D warnings"),
            )
        })?;
    }
    t.step("native tests", || {
        shell::run(
            Command::new("cargo")
                .args(["test", "--workspace", "--all-targets"])
                .env("RDPFIX_REQUIRE_TOOLS", "1"),
        )?;
        shell::run(Command::new("cargo").args(["test", "--workspace", "--doc"]))
    })?;
    prune_if_low(
        root,
        "native test binaries",
        &test_executables(&target_dir(root)),
    );
    let built = t.step("dist: wasm bundle and fixer.exe", || dist::build(&tc, true))?;
    t.step("analyzer tests on wasm32 (node)", || wasm_tests(root, &tc))?;
    if let Some(cc) = &tc.wasm {
        prune_if_low(root, "wasm32 test build", &[cc.out_dir("debug")]);
    }
    if !args.no_browser {
        t.step("browser tests (headless Chromium)", || {
            browser_tests(root, &built.dist)
        })?;
    }
    // What built the bundle and fixer.exe: the bundle is in dist/, the exe stays.
    let mut builds = Vec::new();
    if let Some(cc) = &tc.wasm {
        builds.push(cc.out_dir("wasm-release"));
    }
    if let Some(cc) = &tc.windows {
        let out = cc.out_dir("win-release");
        builds.extend([
            out.join("deps"),
            out.join("build"),
            out.join(".fingerprint"),
        ]);
    }
    prune_if_low(root, "wasm and Windows build files", &builds);
    if !args.no_wine {
        let exe = built.exe.as_deref().context("dist built no fixer.exe")?;
        t.step("fixer.exe under Wine", || {
            wine_version(root, exe)?;
            // A prefix is ~700 MB; the tests make their own.
            std::fs::remove_dir_all(root.join("target/wine/version"))?;
            wine_tests(root, exe)
        })?;
    }
    Ok(())
}

/// The analyzer's tests written for both targets (every `analyzer/tests/*.rs` that uses
/// `wasm_bindgen_test`), compiled for wasm32 and run in node by wasm-bindgen-test-runner:
/// the parsers the page runs must read the fixtures as they do natively.
fn wasm_tests(root: &Path, tc: &bootstrap::Toolchains) -> Result<()> {
    let cc = tc.wasm.as_ref().context("no wasm32 toolchain")?;
    let bindgen = tc.wasm_bindgen.as_ref().context("no wasm-bindgen")?;
    let runner = bindgen.with_file_name("wasm-bindgen-test-runner");
    if !runner.exists() {
        bail!(
            "{} is missing (it comes with wasm-bindgen-cli)",
            runner.display()
        );
    }
    let mut shared: Vec<String> = Vec::new();
    for entry in std::fs::read_dir(root.join("analyzer/tests"))? {
        let path = entry?.path();
        let text = match path.extension().and_then(|e| e.to_str()) {
            Some("rs") => std::fs::read_to_string(&path)?,
            _ => continue,
        };
        if text.contains("wasm_bindgen_test")
            && let Some(stem) = path.file_stem().and_then(|s| s.to_str())
        {
            shared.push(stem.to_owned());
        }
    }
    if shared.is_empty() {
        bail!("no analyzer test is written for wasm32 (wasm_bindgen_test)");
    }
    shared.sort();
    let mut cmd = cc.command("test");
    cmd.args(["-p", "analyzer"]);
    for name in &shared {
        cmd.args(["--test", name]);
    }
    shell::run(cmd.env("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER", runner))
}

/// Runs `tests/browser/*.test.mjs` (node's test runner + playwright-core driving Debian's
/// Chromium) against `dist/` served on a loopback port with the site's headers; the hosting
/// and offline tests also serve `RDPFIX_DIST` themselves, with no headers at all (as GitHub
/// Pages or an Azure Storage static website would). The native `fixer` is built for them:
/// they check the page's findings against `fixer diagnose` and its fix command with
/// `fixer trust add` and `fixer verify`; so is the analyzer's `generated_scripts` example,
/// whose every PowerShell text they parse.
fn browser_tests(root: &Path, dist: &Path) -> Result<()> {
    shell::run(Command::new("cargo").args(["build", "-p", "fixer", "--bin", "fixer"]))?;
    shell::run(Command::new("cargo").args([
        "build",
        "-p",
        "analyzer",
        "--example",
        "generated_scripts",
    ]))?;
    let fixer = target_dir(root).join("debug/fixer");
    let scripts = target_dir(root).join("debug/examples/generated_scripts");
    let addr = serve::spawn(dist)?;
    let dir = root.join("tests/browser");
    let artifacts = dir.join("artifacts");
    std::fs::create_dir_all(&artifacts)?;
    let chromium = shell::which("chromium").context("chromium is not installed")?;
    shell::run(
        Command::new("node")
            .args(["--test", "--test-reporter=spec", "--test-concurrency=1"])
            .current_dir(&dir)
            .env("RDPFIX_URL", format!("http://{addr}/"))
            .env("RDPFIX_CHROMIUM", chromium)
            .env("RDPFIX_ARTIFACTS", &artifacts)
            .env("RDPFIX_DIST", dist)
            .env("RDPFIX_ROOT", root)
            .env("RDPFIX_FIXER", fixer)
            .env("RDPFIX_SCRIPTS", scripts),
    )
}

/// A Wine command for `exe` in a fresh prefix under `target/`.
pub fn wine(root: &Path, prefix: &str) -> Result<Command> {
    let wine64 = ["/usr/lib/wine/wine64", "wine64"]
        .into_iter()
        .find(|p| shell::has(p))
        .context("wine64 is not installed")?;
    let prefix = root.join("target/wine").join(prefix);
    if prefix.exists() {
        std::fs::remove_dir_all(&prefix)?;
    }
    std::fs::create_dir_all(&prefix)?;
    let mut cmd = Command::new(wine64);
    cmd.env("WINEPREFIX", prefix).env("WINEDEBUG", "-all");
    Ok(cmd)
}

/// `fixer/tests/wine.rs` on the built fixer.exe: keygen, plan, trust add, verify, dry-run,
/// apply and rollback against Wine's registry, each test in its own fresh prefix under
/// `target/wine/`.
fn wine_tests(root: &Path, exe: &Path) -> Result<()> {
    let exe = std::fs::canonicalize(exe).with_context(|| format!("{}", exe.display()))?;
    let prefixes = root.join("target/wine");
    std::fs::create_dir_all(&prefixes)?;
    let mut cmd = Command::new("cargo");
    cmd.args(["test", "-p", "fixer", "--test", "wine", "--", "--ignored"]);
    // Each test's prefix is ~700 MB: one at a time when the disk is short.
    if free_bytes(root).is_some_and(|f| f < PRUNE_BELOW) {
        eprintln!("xtask: little free space: the Wine tests run one at a time");
        cmd.arg("--test-threads=1");
    }
    shell::run(
        cmd.env("RDPFIX_FIXER_EXE", exe)
            .env("RDPFIX_WINE_PREFIXES", prefixes),
    )
}

fn wine_version(root: &Path, exe: &Path) -> Result<()> {
    let out = wine(root, "version")?
        .arg(exe)
        .arg("--version")
        .output()
        .context("cannot start wine64")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!("fixer {}", env!("CARGO_PKG_VERSION"));
    eprintln!("wine64 fixer.exe --version: {}", stdout.trim());
    if !out.status.success() || stdout.trim() != expected {
        bail!(
            "fixer.exe under Wine: expected `{expected}`, got {} with stdout {stdout:?}, stderr {:?}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
