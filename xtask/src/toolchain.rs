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
//! when present, otherwise rustup's nightly with the `rust-src` component, and is built so
//! that anyone with the same toolchain gets the same bytes ([`exe_rustflags`]).

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
    rustc: PathBuf,
    toolchain_arg: Option<&'static str>,
    linker: Option<&'static str>,
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
        // Profile settings from the environment would change what the profiles in Cargo.toml
        // say (and fixer.exe's bytes).
        for (var, _) in std::env::vars_os() {
            if var.to_string_lossy().starts_with("CARGO_PROFILE_") {
                cmd.env_remove(var);
            }
        }
        cmd.env("CARGO_TARGET_DIR", &self.target_dir);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    /// The versions a rebuild must match to get the same bytes: `rustc -vV`'s first line and
    /// commit, cargo's, the linker's and its `ld`'s, and on Debian the packages they come
    /// from. For the log and `build-info.json`.
    pub fn versions(&self) -> Vec<(String, String)> {
        let first_line = |cmd: &mut Command| {
            shell::read(cmd).and_then(|out| out.lines().next().map(|l| l.trim().to_owned()))
        };
        let mut out = Vec::new();
        let mut push = |name: &str, value: Option<String>| {
            if let Some(v) = value {
                out.push((name.to_owned(), v));
            }
        };
        let info = rustc_info(&self.rustc, self.toolchain_arg);
        push("rustc", info.as_ref().map(|i| i.version.clone()));
        push("rustc_commit", info.map(|i| i.commit));
        let mut cargo = Command::new(&self.program);
        cargo.args(self.toolchain_arg).arg("-V");
        push("cargo", first_line(&mut cargo));
        if let Some(linker) = self.linker {
            push("linker", first_line(Command::new(linker).arg("--version")));
            let ld = shell::read(Command::new(linker).arg("-print-prog-name=ld"))
                .map(|s| s.trim().to_owned());
            push(
                "ld",
                ld.and_then(|ld| first_line(Command::new(ld).arg("--version"))),
            );
        }
        let mut packages = Vec::new();
        if self.toolchain_arg.is_none() {
            packages.extend(["rustc-web", "cargo-web", "rust-web-src"]);
        }
        if self.linker.is_some() {
            packages.extend([
                "gcc-mingw-w64-x86-64-win32",
                "binutils-mingw-w64-x86-64",
                "mingw-w64-x86-64-dev",
            ]);
        }
        for pkg in packages {
            let version =
                shell::read(Command::new("dpkg-query").args(["-W", "-f=${Version}", pkg]));
            push(&format!("deb:{pkg}"), version.filter(|v| !v.is_empty()));
        }
        out
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

/// What `rustc -vV` and `--print sysroot` say.
#[derive(Debug, Clone)]
pub struct RustcInfo {
    /// `rustc 1.96.0 (ac68faa20 2026-05-25) …`
    pub version: String,
    pub commit: String,
    pub sysroot: PathBuf,
}

fn rustc_info(rustc: &Path, toolchain_arg: Option<&str>) -> Option<RustcInfo> {
    let ask = |args: &[&str]| {
        let mut cmd = Command::new(rustc);
        cmd.args(toolchain_arg).args(args);
        shell::read(&mut cmd)
    };
    let vv = ask(&["-vV"])?;
    let commit = vv
        .lines()
        .find_map(|l| l.strip_prefix("commit-hash: "))
        .unwrap_or("unknown")
        .trim()
        .to_owned();
    Some(RustcInfo {
        version: vv.lines().next()?.trim().to_owned(),
        commit,
        sysroot: PathBuf::from(ask(&["--print", "sysroot"])?.trim()),
    })
}

/// The flags that make fixer.exe the same bytes wherever it is built (README, "Reproduce
/// fixer.exe"), as `CARGO_ENCODED_RUSTFLAGS`, which outranks `RUSTFLAGS` and every config
/// `rustflags`, so nothing on the builder's machine adds to them:
/// - panic messages name their source files: those under the workspace, `$CARGO_HOME` (the
///   registry's sources) and the compiler's std sources (built here by `-Zbuild-std`) are
///   remapped to `/rdpfix`, `/cargo` and `/rustc/<commit>` (where rustup's prebuilt std
///   says it was built); workspace members are already named relative to it;
/// - MinGW's ld writes the link time into the PE header (and so into its checksum);
///   `--no-insert-timestamp` writes 0 instead.
///
/// Cargo leaves `--remap-path-prefix` out of its hashes (the folder's name changes no file
/// name in the target dir). Changing these flags rebuilds the Windows units of
/// `target/debian` (or `target/nightly`), which only this build uses, not the native ones.
pub fn exe_rustflags(root: &Path, cargo_home: &Path, rustc: &RustcInfo) -> String {
    let mut remaps: Vec<(PathBuf, String)> = Vec::new();
    let mut remap = |from: PathBuf, to: String| {
        // Both spellings, when a symlink makes the one cargo passes differ from the other.
        if let Ok(real) = from.canonicalize()
            && real != from
        {
            remaps.push((real, to.clone()));
        }
        remaps.push((from, to));
    };
    remap(root.to_path_buf(), "/rdpfix".to_owned());
    remap(cargo_home.to_path_buf(), "/cargo".to_owned());
    remap(
        rustc.sysroot.join("lib/rustlib/src/rust"),
        format!("/rustc/{}", rustc.commit),
    );
    // rustc applies the last prefix that matches: the longest (most specific) goes last.
    remaps.sort_by_key(|(from, _)| from.as_os_str().len());
    let mut flags: Vec<String> = remaps
        .iter()
        .map(|(from, to)| format!("--remap-path-prefix={}={to}", from.display()))
        .collect();
    flags.push("-Clink-arg=-Wl,--no-insert-timestamp".to_owned());
    flags.join("\u{1f}")
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
        rustc: PathBuf::from(DEBIAN_RUSTC),
        toolchain_arg: None,
        linker: None,
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
        rustc: PathBuf::from("rustc"),
        toolchain_arg: Some("+stable"),
        linker: None,
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

/// How to build fixer.exe here, if at all: reproducibly ([`exe_rustflags`]).
pub fn windows(root: &Path) -> Option<CrossCargo> {
    if !shell::has(MINGW_GCC) {
        return None;
    }
    let mut cc = if debian_ready() {
        debian(WIN_TARGET, root, &[])
    } else if shell::has("rustup") && rustup_has_rust_src("nightly") {
        CrossCargo {
            target: WIN_TARGET,
            via: "rustup nightly + rust-src + -Zbuild-std",
            program: PathBuf::from("cargo"),
            rustc: PathBuf::from("rustc"),
            toolchain_arg: Some("+nightly"),
            linker: None,
            env: Vec::new(),
            build_std: true,
            target_dir: root.join("target/nightly"),
        }
    } else {
        return None;
    };
    let rustc = rustc_info(&cc.rustc, cc.toolchain_arg)?;
    cc.linker = Some(MINGW_GCC);
    cc.env.extend([
        (
            "CARGO_TARGET_X86_64_WIN7_WINDOWS_GNU_LINKER".to_owned(),
            MINGW_GCC.to_owned(),
        ),
        (
            "CARGO_ENCODED_RUSTFLAGS".to_owned(),
            exe_rustflags(root, &shell::cargo_home(), &rustc),
        ),
        // Release profiles build without it; a developer's `CARGO_INCREMENTAL=1` would not.
        ("CARGO_INCREMENTAL".to_owned(), "0".to_owned()),
    ]);
    Some(cc)
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
