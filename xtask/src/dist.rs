//! Builds the static site into `dist/`: the page (index.html, CSS, JS glue, `.wasm`), its
//! sample logs, and `fixer.exe` with its SHA-256 so the page offers the very binary it was
//! built with.

use crate::bootstrap::Toolchains;
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
        Some(build_exe(tc, &dist)?)
    } else {
        None
    };
    write_build_info(&dist)?;
    report_sizes(&dist)?;
    Ok(Built { dist, exe })
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

fn build_exe(tc: &Toolchains, dist: &Path) -> Result<PathBuf> {
    let cc = tc.windows.as_ref().context("no Windows toolchain")?;
    shell::run(
        cc.command("build")
            .args(["--profile", "win-release", "-p", "fixer"]),
    )?;
    let exe = cc.out_dir("win-release").join("fixer.exe");
    let bytes = fs::read(&exe).with_context(|| format!("cannot read {}", exe.display()))?;
    let out = dist.join("fixer.exe");
    fs::write(&out, &bytes)?;
    let hex = sha256_hex(&bytes);
    fs::write(dist.join("fixer.exe.sha256"), format!("{hex}  fixer.exe\n"))?;
    eprintln!("dist: fixer.exe {} bytes, SHA-256 {hex}", bytes.len());
    Ok(out)
}

/// `build-info.json`: what the page reads to offer `fixer.exe` (its SHA-256, or `null` when
/// this build has none), so the page never requests a file that is not there.
fn write_build_info(dist: &Path) -> Result<()> {
    let sha = match fs::read(dist.join("fixer.exe")) {
        Ok(bytes) => format!("\"{}\"", sha256_hex(&bytes)),
        Err(_) => "null".to_owned(),
    };
    fs::write(
        dist.join("build-info.json"),
        format!("{{\"fixer_sha256\": {sha}}}\n"),
    )
    .context("cannot write dist/build-info.json")
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
