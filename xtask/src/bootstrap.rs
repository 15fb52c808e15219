//! Makes this machine ready: installs only what is missing, so a second run takes seconds.
//!
//! On Debian (this project's CI) missing tools come from apt; wasm-bindgen-cli comes from
//! crates.io at exactly the version in Cargo.lock. Where rustup can add the wasm32 target
//! (a normal laptop) that is used instead of Debian's rustc-web. `RDPFIX_TOOLCHAIN=debian`
//! forces the Debian path, `=rustup` forbids it.

use crate::shell;
use crate::toolchain::{self, CrossCargo};
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What the caller is about to do, hence what must be installed.
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    pub wasm: bool,
    pub windows: bool,
    pub browser: bool,
    pub wine: bool,
}

impl Needs {
    pub fn all() -> Needs {
        Needs {
            wasm: true,
            windows: true,
            browser: true,
            wine: true,
        }
    }

    /// fixer.exe alone.
    pub fn exe() -> Needs {
        Needs {
            wasm: false,
            windows: true,
            browser: false,
            wine: false,
        }
    }

    pub fn build(windows: bool) -> Needs {
        Needs {
            wasm: true,
            windows,
            browser: false,
            wine: false,
        }
    }
}

/// The cross toolchains found (or made) ready.
#[derive(Debug)]
pub struct Toolchains {
    pub wasm: Option<CrossCargo>,
    pub windows: Option<CrossCargo>,
    pub wasm_bindgen: Option<PathBuf>,
}

const DEBIAN_RUST: [&str; 4] = ["rustc-web", "cargo-web", "rust-web-src", "lld-22"];

pub fn run(needs: Needs) -> Result<Toolchains> {
    let start = Instant::now();
    let root = shell::repo_root();
    let policy = std::env::var("RDPFIX_TOOLCHAIN").unwrap_or_default();
    let force_debian = policy == "debian";
    let forbid_debian = policy == "rustup";

    let debian = shell::has("apt-get") && !forbid_debian;
    let mut apt: Vec<&str> = Vec::new();
    if needs.wasm {
        // Already-installed rustup target first; then Debian's verified recipe; elsewhere ask
        // rustup (it hangs on machines that cannot reach its server, hence the time limit).
        let rustup_ready = !force_debian && toolchain::wasm_rustup(&root).is_some();
        if !rustup_ready {
            if debian {
                apt.extend(DEBIAN_RUST);
            } else {
                try_rustup(&["target", "add", toolchain::WASM_TARGET]);
            }
        }
        apt.push("binaryen");
    }
    if needs.windows {
        apt.push("gcc-mingw-w64-x86-64");
        if debian {
            apt.extend(DEBIAN_RUST);
        } else {
            try_rustup(&["component", "add", "rust-src", "--toolchain", "nightly"]);
        }
    }
    if needs.browser {
        apt.extend(["chromium", "chromium-driver"]);
    }
    if needs.wine {
        apt.extend(["wine64", "wine"]);
    }
    // `hivexsh`: the analyzer's tests read every registry hive fixture back with it.
    apt.push("libhivex-bin");
    apt.sort_unstable();
    apt.dedup();
    apt_install(&apt)?;

    let wasm_bindgen = if needs.wasm || needs.browser {
        Some(ensure_wasm_bindgen(&root)?)
    } else {
        None
    };
    if needs.browser {
        ensure_npm_modules(&root.join("tests/browser"))?;
    }

    let mut tc = Toolchains {
        wasm: None,
        windows: None,
        wasm_bindgen,
    };
    if needs.wasm {
        tc.wasm = if force_debian {
            toolchain::wasm_debian(&root)
        } else {
            toolchain::wasm_rustup(&root).or_else(|| toolchain::wasm_debian(&root))
        };
        let wasm = tc
            .wasm
            .as_ref()
            .context("no way to build for wasm32 was found or installed")?;
        eprintln!("bootstrap: wasm32 via {}", wasm.via);
    }
    if needs.windows {
        let win = toolchain::windows(&root);
        tc.windows = Some(win.context("no way to build fixer.exe was found or installed")?);
    }
    eprintln!("bootstrap: ready in {:.1} s", start.elapsed().as_secs_f64());
    Ok(tc)
}

/// Runs `rustup <args>` with a time limit: on machines whose rustup cannot reach its
/// download server it hangs instead of failing.
fn try_rustup(args: &[&str]) -> bool {
    if !shell::has("rustup") {
        return false;
    }
    eprintln!("$ rustup {} (up to 90 s)", args.join(" "));
    let Ok(mut child) = Command::new("rustup")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.success(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(200)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                eprintln!("rustup did not finish; using Debian's toolchain instead");
                return false;
            }
        }
    }
}

fn dpkg_installed(pkg: &str) -> bool {
    shell::read(Command::new("dpkg-query").args(["-W", "-f=${Status}", pkg]))
        .is_some_and(|s| s.trim() == "install ok installed")
}

fn apt_install(pkgs: &[&str]) -> Result<()> {
    if pkgs.is_empty() {
        return Ok(());
    }
    if !shell::has("dpkg-query") || !shell::has("apt-get") {
        let missing: Vec<_> = pkgs.iter().filter(|p| !tool_present(p)).collect();
        if missing.is_empty() {
            return Ok(());
        }
        bail!(
            "this is not a Debian machine; install the equivalents of {missing:?} by hand \
             (see README.md, \"Other machines\")"
        );
    }
    let missing: Vec<&str> = pkgs
        .iter()
        .copied()
        .filter(|p| !dpkg_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("bootstrap: installing {}", missing.join(" "));
    let sudo: &[&str] = if is_root() { &[] } else { &["sudo"] };
    let apt = |args: &[&str]| {
        let mut cmd = Command::new(sudo.first().copied().unwrap_or("apt-get"));
        if !sudo.is_empty() {
            cmd.arg("apt-get");
        }
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    };
    shell::run(&mut apt(&["update", "-qq"]))?;
    // Wine's recommends pull in hundreds of megabytes of 32-bit and desktop packages.
    let (wine, rest): (Vec<&str>, Vec<&str>) = missing.iter().partition(|p| p.starts_with("wine"));
    if !rest.is_empty() {
        shell::run(apt(&["install", "-y", "-qq"]).args(&rest))?;
    }
    if !wine.is_empty() {
        shell::run(apt(&["install", "-y", "-qq", "--no-install-recommends"]).args(&wine))?;
    }
    Ok(())
}

/// Without dpkg: is a package's main program on PATH?
fn tool_present(pkg: &str) -> bool {
    let program = match pkg {
        "binaryen" => "wasm-opt",
        "gcc-mingw-w64-x86-64" => toolchain::MINGW_GCC,
        "chromium-driver" => "chromedriver",
        "wine64" => "wine64",
        "libhivex-bin" => "hivexsh",
        "lld-22" => toolchain::WASM_LD,
        other => other,
    };
    shell::has(program)
}

fn is_root() -> bool {
    shell::read(Command::new("id").arg("-u")).is_some_and(|s| s.trim() == "0")
}

/// Installs a cargo-provided tool unless the same version is already there. Returns its path.
fn ensure_cargo_tool(bin: &str, krate: &str, version: Option<&str>) -> Result<PathBuf> {
    let path = shell::cargo_home().join("bin").join(bin);
    let current = shell::read(Command::new(&path).arg("--version"));
    let ok = match (&current, version) {
        (Some(out), Some(v)) => out.split_whitespace().any(|w| w == v),
        (Some(_), None) => true,
        (None, _) => false,
    };
    if !ok {
        let install = |locked: bool| {
            let mut cmd = Command::new("cargo");
            cmd.args(["+stable", "install", krate]);
            if locked {
                cmd.arg("--locked");
            }
            if let Some(v) = version {
                cmd.args(["--version", &format!("={v}")]);
            }
            // Its own target dir, so the project's builds are not invalidated.
            cmd.env("CARGO_TARGET_DIR", shell::repo_root().join("target/tools"));
            shell::run(&mut cmd)
        };
        // The tool's own lock file may name a version the registry mirror lacks (a yanked
        // or unmirrored crate); then resolve afresh.
        if let Err(e) = install(true) {
            eprintln!("bootstrap: {e:#}; retrying without --locked");
            install(false)?;
        }
    }
    Ok(path)
}

fn ensure_wasm_bindgen(root: &Path) -> Result<PathBuf> {
    let version = toolchain::locked_version(root, "wasm-bindgen")
        .context("Cargo.lock names no wasm-bindgen version; run `cargo generate-lockfile`")?;
    ensure_cargo_tool("wasm-bindgen", "wasm-bindgen-cli", Some(&version))
}

/// `npm ci` in `dir` when its lock file changed since the last install. No package's install
/// script runs: none is needed (tree-sitter-powershell's would look for a native build the
/// tests do not use; they load its wasm), and none may download anything.
fn ensure_npm_modules(dir: &Path) -> Result<()> {
    let lock = std::fs::read(dir.join("package-lock.json"))
        .with_context(|| format!("{} has no package-lock.json", dir.display()))?;
    let stamp = dir.join("node_modules/.rdpfix-lock");
    if std::fs::read(&stamp).is_ok_and(|s| s == lock) {
        return Ok(());
    }
    if !shell::has("npm") {
        bail!("npm is missing: install Node.js 20 or later (Debian: apt-get install nodejs npm)");
    }
    shell::run(
        Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(dir),
    )?;
    std::fs::write(&stamp, lock)?;
    Ok(())
}
