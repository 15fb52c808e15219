//! Builds the static site into `dist/`: the page (index.html, CSS, JS glue, `.wasm`), its
//! sample logs, and `fixer.exe` with its SHA-256 so the page offers the very binary it was
//! built with (and says in `build-info.json` what it was built from, to rebuild it).

use crate::bootstrap::Toolchains;
use crate::exe::{self, Exe};
use crate::shell;
use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a build produced, with sizes for the log and the notes.
#[derive(Debug)]
pub struct Built {
    pub dist: PathBuf,
    pub exe: Option<PathBuf>,
}

pub fn build(tc: &Toolchains, with_exe: bool) -> Result<Built> {
    let root = shell::repo_root();
    let dist = root.join("dist");
    if dist.exists() {
        fs::remove_dir_all(&dist).context("cannot clear dist/")?;
    }
    copy_tree(&root.join("static"), &dist)?;
    build_wasm(tc, &dist)?;
    let exe = if with_exe {
        Some(build_exe(&root, tc, &dist)?)
    } else {
        None
    };
    write_build_info(&dist, exe.as_ref())?;
    report_sizes(&dist)?;
    Ok(Built {
        exe: exe.map(|_| dist.join("fixer.exe")),
        dist,
    })
}

fn build_wasm(tc: &Toolchains, dist: &Path) -> Result<()> {
    let cc = tc.wasm.as_ref().context("no wasm32 toolchain")?;
    let bindgen = tc.wasm_bindgen.as_ref().context("no wasm-bindgen")?;
    shell::run(
        cc.command("build")
            .args(["--profile", "wasm-release", "-p", "web"]),
    )?;
    let wasm = cc.out_dir("wasm-release").join("web.wasm");
    let wasm = optimise_wasm(&wasm)?;
    shell::run(
        Command::new(bindgen)
            .args(["--target", "web", "--no-typescript", "--out-dir"])
            .arg(dist.join("pkg"))
            .arg(&wasm),
    )
}

/// `wasm-opt -Oz` into a copy beside the input, when binaryen is there; returns the module to
/// hand to wasm-bindgen. It runs *before* wasm-bindgen: Debian's binaryen 108 cannot parse
/// the `table.fill` that wasm-bindgen's externref pass emits.
fn optimise_wasm(wasm: &Path) -> Result<PathBuf> {
    if !shell::has("wasm-opt") {
        eprintln!("dist: wasm-opt not found, keeping the unoptimised module");
        return Ok(wasm.to_path_buf());
    }
    let dir = wasm.with_file_name("opt");
    fs::create_dir_all(&dir)?;
    let out = dir.join(wasm.file_name().context("wasm path has no file name")?);
    // The features rustc enables by default for wasm32-unknown-unknown; binaryen 108 must be
    // told about them.
    let features = [
        "--enable-bulk-memory",
        "--enable-mutable-globals",
        "--enable-nontrapping-float-to-int",
        "--enable-sign-ext",
        "--enable-reference-types",
        "--enable-multivalue",
    ];
    let ok = shell::run(
        Command::new("wasm-opt")
            .arg("-Oz")
            .args(features)
            .arg(wasm)
            .arg("-o")
            .arg(&out),
    );
    match ok {
        Ok(()) => {
            let (before, after) = (fs::metadata(wasm)?.len(), fs::metadata(&out)?.len());
            eprintln!("dist: wasm-opt -Oz {before} -> {after} bytes (before wasm-bindgen)");
            Ok(out)
        }
        Err(e) => {
            eprintln!("dist: wasm-opt failed ({e:#}); keeping the unoptimised module");
            Ok(wasm.to_path_buf())
        }
    }
}

fn build_exe(root: &Path, tc: &Toolchains, dist: &Path) -> Result<Exe> {
    let cc = tc.windows.as_ref().context("no Windows toolchain")?;
    let exe = exe::build(root, cc)?;
    fs::copy(&exe.path, dist.join("fixer.exe")).context("cannot copy fixer.exe into dist/")?;
    fs::write(
        dist.join("fixer.exe.sha256"),
        format!("{}  fixer.exe\n", exe.sha256),
    )?;
    eprintln!("dist:\n{}", exe::describe(&exe));
    Ok(exe)
}

/// `build-info.json`: what the page reads to offer `fixer.exe` (its SHA-256, or `null` when
/// this build has none), so the page never requests a file that is not there; and
/// `fixer_build`, the commit and toolchain that rebuild the same bytes.
fn write_build_info(dist: &Path, exe: Option<&Exe>) -> Result<()> {
    let info = serde_json::json!({
        "fixer_sha256": exe.map(|e| &e.sha256),
        "fixer_build": exe.map(|e| &e.provenance),
    });
    let text = serde_json::to_string_pretty(&info)? + "\n";
    fs::write(dist.join("build-info.json"), text).context("cannot write dist/build-info.json")
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn report_sizes(dist: &Path) -> Result<()> {
    for rel in ["pkg/web_bg.wasm", "pkg/web.js"] {
        let path = dist.join(rel);
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        let gz = shell::read(
            Command::new("sh")
                .arg("-c")
                .arg(format!("gzip -9 -c '{}' | wc -c", path.display())),
        )
        .and_then(|s| s.trim().parse::<u64>().ok());
        match gz {
            Some(gz) => eprintln!("dist: {rel} {} bytes raw, {gz} bytes gzip -9", meta.len()),
            None => eprintln!("dist: {rel} {} bytes raw", meta.len()),
        }
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), &dest)?;
        }
    }
    Ok(())
}
