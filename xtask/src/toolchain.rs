//! Which compiler builds the wasm bundle and fixer.exe on this machine.
//!
//! Two paths (see `../shared/TOOLCHAIN.md` and README):
//! - a laptop with `rustup target add wasm32-unknown-unknown` done: rustup's cargo, plain;
//! - Debian 12 without rustup targets (this project's CI): Debian's `rustc-web` 1.96 with its
//!   `rust-web-src`, building `std` from source (`-Zbuild-std`, `RUSTC_BOOTSTRAP=1`) and
//!   linking wasm with `wasm-ld-22`.
//!
//! `fixer.exe` targets `x86_64-win7-windows-gnu` (tier 3: always built with `-Zbuild-std`),
//! which runs under Wine 8 and on Windows Server 2008 R2 and later. It uses Debian's compiler
//! when present, otherwise rustup's nightly with the `rust-src` component.

use crate::shell;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const WIN_TARGET: &str = "x86_64-win7-windows-gnu";
pub const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
pub const DEBIAN_CARGO: &str = "/usr/bin/cargo";
pub const WASM_LD: &str = "wasm-ld-22";
pub const MINGW_GCC: &str = "x86_64-w64-mingw32-gcc";

/// A cargo invocation for one cross target.
#[derive(Debug, Clone)]
pub struct CrossCargo {
    pub target: &'static str,
    /// How it was chosen, for the log.
    pub via: &'static str,
    program: PathBuf,
    toolchain_arg: Option<&'static str>,
    env: Vec<(String, String)>,
    build_std: bool,
    target_dir: PathBuf,
}

impl CrossCargo {
    /// `cargo <sub> --target <t> [-Zbuild-std…]` with the right environment.
    pub fn command(&self, sub: &str) -> Command {
        let mut cmd = Command::new(&self.program);
        if let Some(tc) = self.toolchain_arg {
            cmd.arg(tc);
        }
        cmd.arg(sub).arg("--target").arg(self.target);
        if self.build_std {
            cmd.arg("-Zbuild-std=std,panic_abort");
        }
        // The outer `cargo xtask` exports variables meant for itself; keep them out.
        for var in [
            "RUSTC",
            "RUSTDOC",
            "RUSTC_WRAPPER",
            "RUSTUP_TOOLCHAIN",
            "CARGO_TARGET_DIR",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("CARGO_TARGET_DIR", &self.target_dir);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// Where `profile` artifacts for this target land.
    pub fn out_dir(&self, profile: &str) -> PathBuf {
        self.target_dir.join(self.target).join(profile)
    }
}

/// rustup's view: does it have this target's std installed?
fn rustup_has_target(toolchain: &str, target: &str) -> bool {
    shell::read(Command::new("rustup").args([
        &format!("+{toolchain}"),
        "target",
        "list",
        "--installed",
    ]))
    .is_some_and(|out| out.lines().any(|l| l.trim() == target))
}

fn rustup_has_rust_src(toolchain: &str) -> bool {
    shell::read(Command::new("rustup").args([
        &format!("+{toolchain}"),
        "component",
        "list",
        "--installed",
    ]))
    .is_some_and(|out| out.lines().any(|l| l.trim().starts_with("rust-src")))
}

/// Debian's rustc-web with its std sources.
pub fn debian_ready() -> bool {
    Path::new(DEBIAN_RUSTC).is_file()
        && Path::new(DEBIAN_CARGO).is_file()
        && shell::read(Command::new(DEBIAN_RUSTC).args(["--print", "sysroot"]))
            .map(|s| PathBuf::from(s.trim()).join("lib/rustlib/src/rust/library/std"))
            .is_some_and(|p| p.is_dir())
}

fn debian(target: &'static str, root: &Path, extra: &[(&str, &str)]) -> CrossCargo {
    let mut env = vec![
        ("RUSTC".to_owned(), DEBIAN_RUSTC.to_owned()),
        ("RUSTDOC".to_owned(), "/usr/bin/rustdoc".to_owned()),
        ("RUSTC_BOOTSTRAP".to_owned(), "1".to_owned()),
    ];
    env.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    CrossCargo {
        target,
        via: "Debian rustc-web + -Zbuild-std",
        program: PathBuf::from(DEBIAN_CARGO),
        toolchain_arg: None,
        env,
        build_std: true,
        // Its own target dir: mixing two compilers in one rebuilds everything at each switch.
        target_dir: root.join("target/debian"),
    }
}

const WASM_RUSTFLAGS: &str = r#"--cfg getrandom_backend="wasm_js""#;

/// rustup's stable toolchain, if its wasm32 target is installed.
pub fn wasm_rustup(root: &Path) -> Option<CrossCargo> {
    (shell::has("rustup") && rustup_has_target("stable", WASM_TARGET)).then(|| CrossCargo {
        target: WASM_TARGET,
        via: "rustup stable target",
        program: PathBuf::from("cargo"),
        toolchain_arg: Some("+stable"),
        env: vec![("RUSTFLAGS".to_owned(), WASM_RUSTFLAGS.to_owned())],
        build_std: false,
        target_dir: root.join("target"),
    })
}

/// Debian's rustc-web, if installed with its std sources and wasm-ld.
pub fn wasm_debian(root: &Path) -> Option<CrossCargo> {
    (debian_ready() && shell::has(WASM_LD)).then(|| {
        debian(
            WASM_TARGET,
            root,
            &[
                ("CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER", WASM_LD),
                ("RUSTFLAGS", WASM_RUSTFLAGS),
            ],
        )
    })
}

/// How to build fixer.exe here, if at all.
pub fn windows(root: &Path) -> Option<CrossCargo> {
    if !shell::has(MINGW_GCC) {
        return None;
    }
    let linker = ("CARGO_TARGET_X86_64_WIN7_WINDOWS_GNU_LINKER", MINGW_GCC);
    if debian_ready() {
        return Some(debian(WIN_TARGET, root, &[linker]));
    }
    (shell::has("rustup") && rustup_has_rust_src("nightly")).then(|| CrossCargo {
        target: WIN_TARGET,
        via: "rustup nightly + rust-src + -Zbuild-std",
        program: PathBuf::from("cargo"),
        toolchain_arg: Some("+nightly"),
        env: vec![(linker.0.to_owned(), linker.1.to_owned())],
        build_std: true,
        target_dir: root.join("target/nightly"),
    })
}

/// The `wasm-bindgen` crate version pinned in Cargo.lock; the CLI must equal it.
pub fn locked_version(root: &Path, krate: &str) -> Option<String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock")).ok()?;
    let needle = format!("name = \"{krate}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == needle {
            let v = lines.next()?.trim();
            return v
                .strip_prefix("version = \"")
                .and_then(|v| v.strip_suffix('"'))
                .map(str::to_owned);
        }
    }
    None
}
