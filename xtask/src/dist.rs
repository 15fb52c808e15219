//! Builds the static site into `dist/`: the page (index.html, CSS, JS glue, `.wasm`), its
//! sample logs, and `fixer.exe` with its SHA-256 so the page offers the very binary it was
//! built with (and says in `build-info.json` what it was built from, to rebuild it).
//!
//! Then it binds the files together: index.html gets the SHA-384 of the scripts, the style
//! sheet and the wasm it loads (subresource integrity: a changed copy is refused), and
//! `sw.js`, the offline copy's service worker, gets the version and every file's SHA-384
//! (its cache is named after them, so each build replaces the last one's).

use crate::bootstrap::Toolchains;
use crate::exe::{self, Exe};
use crate::release::Version;
use crate::shell;
use anyhow::{Context, Result, ensure};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256, Sha384};
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
    let version = Version::of(&root);
    write_build_info(&dist, &version, site_tools(tc), exe.as_ref())?;
    bind_integrity(&dist)?;
    write_offline_manifest(&dist, &version)?;
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

/// Whether `RDPFIX_WASM_NAMES=1` asks the bundle to keep the wasm's name section, for a
/// profile that names the wasm functions (tests/browser/profile.mjs): a larger, slower
/// module, refused by `cargo xtask release`.
pub fn names_kept() -> bool {
    std::env::var_os("RDPFIX_WASM_NAMES").is_some_and(|v| v == "1")
}

/// How hard `wasm-opt` works on the page's module ([`optimise_wasm`]).
const WASM_OPT_LEVEL: &str = "-O1";

/// `wasm-opt -O1` into a copy beside the input, when binaryen is there; returns the module to
/// hand to wasm-bindgen. It runs *before* wasm-bindgen: Debian's binaryen 108 cannot parse
/// the `table.fill` that wasm-bindgen's externref pass emits.
///
/// `-O1`, not `-Oz`: measured side by side on the same module (BENCHMARKS.md, "Session 9 —
/// page"), the page took ~20% longer from a 100 MiB `.evtx` chosen to its findings with
/// `-Oz`, whose gzip is no smaller (1,358 KB against 1,331 KB: dropping the name section
/// is most of what either saves).
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
            .arg(WASM_OPT_LEVEL)
            .args(names_kept().then_some("-g"))
            .args(features)
            .arg(wasm)
            .arg("-o")
            .arg(&out),
    );
    match ok {
        Ok(()) => {
            let (before, after) = (fs::metadata(wasm)?.len(), fs::metadata(&out)?.len());
            eprintln!(
                "dist: wasm-opt {WASM_OPT_LEVEL} {before} -> {after} bytes (before wasm-bindgen)"
            );
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

/// `build-info.json`: what the page reads to show its version and offer `fixer.exe` (its
/// SHA-256, or `null` when this build has none), so the page never requests a file that is
/// not there; the commit and the tools that built the page (`site_tools`); and
/// `fixer_build`, the commit and toolchain that rebuild the same fixer.exe.
fn write_build_info(
    dist: &Path,
    version: &Version,
    site_tools: Value,
    exe: Option<&Exe>,
) -> Result<()> {
    let info = serde_json::json!({
        "version": version.text,
        "commit": version.commit,
        "uncommitted_changes": version.dirty,
        "site_tools": site_tools,
        "fixer_sha256": exe.map(|e| &e.sha256),
        "fixer_build": exe.map(|e| &e.provenance),
    });
    let text = serde_json::to_string_pretty(&info)? + "\n";
    fs::write(dist.join("build-info.json"), text).context("cannot write dist/build-info.json")
}

/// The compiler, wasm-bindgen and wasm-opt that made the page's wasm and glue.
fn site_tools(tc: &Toolchains) -> Value {
    let mut tools: Map<String, Value> = tc
        .wasm
        .iter()
        .flat_map(|cc| cc.versions())
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    let first_line = |cmd: &mut Command| {
        shell::read(cmd).and_then(|s| s.lines().next().map(|l| l.trim().to_owned()))
    };
    if let Some(v) = tc
        .wasm_bindgen
        .as_ref()
        .and_then(|b| first_line(Command::new(b).arg("--version")))
    {
        tools.insert("wasm-bindgen".to_owned(), Value::String(v));
    }
    if let Some(v) = first_line(Command::new("wasm-opt").arg("--version")) {
        tools.insert("wasm-opt".to_owned(), Value::String(v));
    }
    Value::Object(tools)
}

/// `sha384-<base64>`: a subresource integrity value.
pub fn integrity(bytes: &[u8]) -> String {
    format!("sha384-{}", base64(&Sha384::digest(bytes)))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ABC[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Writes the integrity of what index.html loads into it: `style.css`, `app.js`, `pkg/web.js`
/// (a `modulepreload` with its integrity, so the module `app.js` imports is the checked
/// one) and the wasm (`data-wasm-integrity`, which `app.js` fetches it with).
fn bind_integrity(dist: &Path) -> Result<()> {
    let sri = |rel: &str| -> Result<String> {
        let bytes = fs::read(dist.join(rel)).with_context(|| format!("dist/{rel}"))?;
        Ok(integrity(&bytes))
    };
    let path = dist.join("index.html");
    let mut html = fs::read_to_string(&path)?;
    let edits = [
        (
            r#"<link rel="stylesheet" href="style.css">"#.to_owned(),
            format!(
                r#"<link rel="stylesheet" href="style.css" integrity="{}">"#,
                sri("style.css")?
            ),
        ),
        (
            r#"<script type="module" src="app.js"></script>"#.to_owned(),
            format!(
                "<link rel=\"modulepreload\" href=\"pkg/web.js\" integrity=\"{}\">\n  \
                 <script type=\"module\" src=\"app.js\" integrity=\"{}\" \
                 data-wasm-integrity=\"{}\"></script>",
                sri("pkg/web.js")?,
                sri("app.js")?,
                sri("pkg/web_bg.wasm")?
            ),
        ),
    ];
    for (from, to) in edits {
        ensure!(
            html.matches(&from).count() == 1,
            "static/index.html must hold `{from}` once (cargo xtask dist adds its integrity)"
        );
        html = html.replace(&from, &to);
    }
    fs::write(&path, html).context("cannot write dist/index.html")
}

/// The site's files the offline copy keeps (path → SHA-384): all but fixer.exe (the VM
/// downloads it, not this browser), the host's config and the service worker itself.
fn offline_files(dist: &Path) -> Result<Map<String, Value>> {
    let files = crate::release::site_files(dist)?;
    Ok(files
        .into_iter()
        .filter(|(p, _)| !["fixer.exe", "sw.js", "staticwebapp.config.json"].contains(&p.as_str()))
        .map(|(p, bytes)| (p, Value::String(integrity(&bytes))))
        .collect())
}

/// Writes the version, the cache's name and the file list into `dist/sw.js`. The name holds
/// a digest of the list, so any change of any file makes a new service worker and cache.
fn write_offline_manifest(dist: &Path, version: &Version) -> Result<()> {
    let files = offline_files(dist)?;
    let list = serde_json::to_string_pretty(&files)?;
    let digest = sha256_hex(list.as_bytes());
    let cache = format!("rdpfix-{}-{}", version.text, &digest[..16]);
    let path = dist.join("sw.js");
    let mut js = fs::read_to_string(&path).context("dist/sw.js")?;
    let edits = [
        (
            "const CACHE = 'rdpfix-dev';",
            format!("const CACHE = {};", Value::String(cache)),
        ),
        ("const FILES = {};", format!("const FILES = {list};")),
    ];
    for (from, to) in edits {
        ensure!(
            js.matches(from).count() == 1,
            "static/sw.js must hold `{from}` once (cargo xtask dist fills it in)"
        );
        js = js.replace(from, &to);
    }
    fs::write(&path, js).context("cannot write dist/sw.js")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integrity_is_sha384_in_base64() {
        // `printf abc | openssl dgst -sha384 -binary | base64`
        assert_eq!(
            integrity(b"abc"),
            "sha384-ywB1P0WjXou1oD1pmsZQBycsMqsO3tFjGotgWkP/W+2AhgcroefMI1i67KE0yCWn"
        );
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b""), "");
    }
}
