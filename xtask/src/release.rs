//! `cargo xtask release`: the site and fixer.exe as versioned artifacts an organisation can
//! host and check — `rdpfix-site-<version>.tar.gz`, `fixer-<version>-x86_64-windows.exe`,
//! `build-info.json` (the very file the page reads) and `SHA256SUMS` (`sha256sum -c`).
//!
//! Built from a clean tree the artifacts are the same bytes every time: the tarball is
//! written here (entries sorted, every mtime the commit's time, owner 0:0, modes 0644/0755, no
//! user names) and gzipped with no time or name in its header. `--twice` checks it: two fresh
//! clones of HEAD at different paths, a release in each, their `SHA256SUMS` compared.

use crate::bootstrap::{self, Needs};
use crate::{dist, shell};
use anyhow::{Context, Result, bail, ensure};
use flate2::{Compression, GzBuilder};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// Where the artifacts go (default: `target/rdpfix-release/<version>/`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Build from a tree with uncommitted changes; the version then ends in `.dirty`.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Instead: release HEAD in two fresh clones (different paths) and compare their
    /// `SHA256SUMS` (two builds from scratch: tens of minutes; not part of CI).
    #[arg(long)]
    pub twice: bool,
    /// With `--twice`: keep the clones and their target dirs.
    #[arg(long)]
    pub keep: bool,
}

/// What a build is, from Cargo.toml and git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `0.1.0` at a tag `v0.1.0`; else `0.1.0+g<commit>` (`+<n>.g<commit>` after a tag of
    /// this version), `.dirty` appended when the tree has uncommitted changes.
    pub text: String,
    pub commit: Option<String>,
    pub dirty: bool,
    /// The commit's time (Unix seconds): every mtime in the tarball.
    pub commit_time: u64,
}

impl Version {
    /// The version of the tree at `root`; outside git, the Cargo version with `+unknown`.
    pub fn of(root: &Path) -> Version {
        let git = |args: &[&str]| {
            shell::read(Command::new("git").arg("-C").arg(root).args(args))
                .map(|s| s.trim().to_owned())
        };
        let commit = git(&["rev-parse", "HEAD"]);
        // Untracked files count: they would be in dist/ (static/ is copied whole).
        let dirty = git(&["status", "--porcelain"]).is_some_and(|s| !s.is_empty());
        let describe = git(&["describe", "--tags", "--long", "--always", "--match", "v*"]);
        let commit_time = git(&["show", "-s", "--format=%ct", "HEAD"])
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        Version {
            text: version_text(env!("CARGO_PKG_VERSION"), describe.as_deref(), dirty),
            commit,
            dirty,
            commit_time,
        }
    }
}

/// The version from the crate's version and `git describe --tags --long --always`.
fn version_text(cargo: &str, describe: Option<&str>, dirty: bool) -> String {
    let base = match describe {
        None => format!("{cargo}+unknown"),
        Some(d) => match d.rsplitn(3, '-').collect::<Vec<_>>().as_slice() {
            // `v0.1.0-0-gabc1234`: exactly at the tag of this version.
            [_, "0", tag] if tag.strip_prefix('v') == Some(cargo) => cargo.to_owned(),
            [hash, n, tag] if tag.strip_prefix('v') == Some(cargo) => format!("{cargo}+{n}.{hash}"),
            // Another version's tag: say it, in build metadata's characters.
            [hash, n, tag] => format!("{cargo}+{}.{n}.{hash}", sanitize(tag)),
            // No tag at all: the abbreviated commit.
            _ => format!("{cargo}+g{d}"),
        },
    };
    if dirty { format!("{base}.dirty") } else { base }
}

fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

pub fn run(root: &Path, args: &ReleaseArgs) -> Result<()> {
    if args.twice {
        return twice(root, args);
    }
    ensure!(
        !dist::names_kept(),
        "RDPFIX_WASM_NAMES=1 keeps the wasm's function names, for profiling: unset it to \
         build a release"
    );
    let version = Version::of(root);
    if version.dirty && !args.allow_dirty {
        bail!(
            "the tree has uncommitted changes (`git status`): a release is built from a \
             commit; commit them, or pass --allow-dirty (the version then ends in .dirty)"
        );
    }
    let start = Instant::now();
    let tc = bootstrap::run(Needs::build(true))?;
    let built = dist::build(&tc, true)?;
    let out = args.out.clone().unwrap_or_else(|| {
        root.join("target/rdpfix-release")
            .join(sanitize_path(&version.text))
    });
    let written = write_artifacts(&built.dist, &out, &version)?;
    eprintln!(
        "release {} in {:.0} s, in {}:",
        version.text,
        start.elapsed().as_secs_f64(),
        out.display()
    );
    for (name, sha) in &written {
        eprintln!("  {sha}  {name}");
    }
    eprintln!("check: (cd {} && sha256sum -c SHA256SUMS)", out.display());
    Ok(())
}

/// A version as a file name (it is one already; this only guards against a strange tag).
fn sanitize_path(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+.-_".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Whether a file name is one a release writes (what [`clear_out`] may delete).
fn is_artifact_name(name: &str) -> bool {
    name == "SHA256SUMS"
        || name == "build-info.json"
        || (name.starts_with("rdpfix-site-") && name.ends_with(".tar.gz"))
        || (name.starts_with("fixer-") && name.ends_with("-x86_64-windows.exe"))
}

/// Empties `out` of an earlier release's artifacts, and refuses a folder holding anything
/// else: `--out .` or a typo must never delete a working tree or a home folder.
fn clear_out(out: &Path) -> Result<()> {
    if !out.exists() {
        return Ok(fs::create_dir_all(out)?);
    }
    let mut artifacts = Vec::new();
    for entry in fs::read_dir(out).with_context(|| format!("cannot list {}", out.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type()?.is_file() || !is_artifact_name(&name) {
            bail!(
                "{} holds {name}, which is not a release artifact: give --out an empty or new \
                 folder (nothing was deleted)",
                out.display()
            );
        }
        artifacts.push(entry.path());
    }
    for path in artifacts {
        fs::remove_file(&path).with_context(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// Writes the artifacts of `dist` into `out` (an earlier release's removed first); returns
/// `(name, sha256)` of each, as `SHA256SUMS` lists them.
fn write_artifacts(dist: &Path, out: &Path, version: &Version) -> Result<Vec<(String, String)>> {
    let v = sanitize_path(&version.text);
    clear_out(out)?;
    let mut written = Vec::new();
    let mut put = |name: String, bytes: &[u8]| -> Result<()> {
        fs::write(out.join(&name), bytes).with_context(|| format!("cannot write {name}"))?;
        written.push((name, dist::sha256_hex(bytes)));
        Ok(())
    };

    let site_dir = format!("rdpfix-site-{v}");
    let files = site_files(dist)?;
    let tar = tar(&site_dir, &files, version.commit_time)?;
    put(format!("{site_dir}.tar.gz"), &gzip(&tar)?)?;
    let exe = fs::read(dist.join("fixer.exe")).context("dist/ has no fixer.exe")?;
    put(format!("fixer-{v}-x86_64-windows.exe"), &exe)?;
    let info = fs::read(dist.join("build-info.json")).context("dist/ has no build-info.json")?;
    check_build_info(&info, version, &dist::sha256_hex(&exe))?;
    put("build-info.json".to_owned(), &info)?;

    let sums: String = written
        .iter()
        .map(|(name, sha)| format!("{sha}  {name}\n"))
        .collect();
    fs::write(out.join("SHA256SUMS"), sums)?;
    Ok(written)
}

/// The page's `build-info.json` must name this version and the fixer.exe beside it.
fn check_build_info(info: &[u8], version: &Version, exe_sha256: &str) -> Result<()> {
    let info: serde_json::Value = serde_json::from_slice(info).context("build-info.json")?;
    ensure!(
        info["version"].as_str() == Some(&version.text),
        "build-info.json names version {}, not {}",
        info["version"],
        version.text
    );
    ensure!(
        info["fixer_sha256"].as_str() == Some(exe_sha256),
        "build-info.json's fixer_sha256 {} is not fixer.exe's {exe_sha256}",
        info["fixer_sha256"]
    );
    Ok(())
}

/// Every file under `dir` as `(path relative to dir with '/', bytes)`.
pub fn site_files(dir: &Path) -> Result<Vec<(String, Vec<u8>)>> {
    fn walk(dir: &Path, rel: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
            let entry = entry?;
            let name = entry.file_name().into_string().map_err(|n| {
                anyhow::anyhow!("{}: a file name that is not UTF-8: {n:?}", dir.display())
            })?;
            let rel = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            let kind = entry.file_type()?;
            if kind.is_dir() {
                walk(&entry.path(), &rel, out)?;
            } else if kind.is_file() {
                out.push((rel, fs::read(entry.path())?));
            } else {
                bail!("{}: not a file or a folder", entry.path().display());
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out)?;
    out.sort();
    Ok(out)
}

const BLOCK: usize = 512;
/// tar's record: archives are written in multiples of 20 blocks.
const RECORD: usize = 20 * BLOCK;

/// A POSIX ustar archive of `files` (paths with '/') under the folder `top`: a folder entry
/// before its files, entries in byte order of their paths, mtime `mtime`, uid/gid 0, no user
/// or group names, folders 0755 and files 0644. The same input gives the same bytes.
pub fn tar(top: &str, files: &[(String, Vec<u8>)], mtime: u64) -> Result<Vec<u8>> {
    let mut entries: Vec<(String, Option<&[u8]>)> = vec![(format!("{top}/"), None)];
    for (path, bytes) in files {
        ensure!(
            !path.is_empty()
                && path
                    .split('/')
                    .all(|c| !c.is_empty() && c != "." && c != ".."),
            "unsafe path in the site: {path:?}"
        );
        // The folders of this file, each once.
        let mut dir = String::new();
        let folders = path.rsplit_once('/').map_or("", |(folders, _)| folders);
        for part in folders.split('/').filter(|p| !p.is_empty()) {
            dir.push_str(part);
            dir.push('/');
            entries.push((format!("{top}/{dir}"), None));
        }
        entries.push((format!("{top}/{path}"), Some(bytes.as_slice())));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    entries.dedup_by(|a, b| a.0 == b.0 && a.1.is_none() && b.1.is_none());
    let mut out = Vec::new();
    for (path, bytes) in entries {
        out.extend_from_slice(&header(&path, bytes.map(<[u8]>::len), mtime)?);
        if let Some(bytes) = bytes {
            out.extend_from_slice(bytes);
            out.resize(out.len().div_ceil(BLOCK) * BLOCK, 0);
        }
    }
    // Two zero blocks end the archive; then zeros to the end of the record.
    out.resize(out.len() + 2 * BLOCK, 0);
    out.resize(out.len().div_ceil(RECORD) * RECORD, 0);
    Ok(out)
}

/// One ustar header: `len` None for a folder (`path` ends in '/').
fn header(path: &str, len: Option<usize>, mtime: u64) -> Result<[u8; BLOCK]> {
    let mut h = [0u8; BLOCK];
    // A long path is split at a '/' into prefix (155 bytes) and name (100 bytes).
    let (prefix, name) = if path.len() <= 100 {
        ("", path)
    } else {
        let cut = path
            .char_indices()
            .filter(|&(i, c)| c == '/' && i <= 155 && path.len() - i - 1 <= 100 && i > 0)
            .map(|(i, _)| i)
            .next()
            .with_context(|| format!("path too long for a tar header: {path}"))?;
        (&path[..cut], &path[cut + 1..])
    };
    let field = |h: &mut [u8; BLOCK], at: usize, bytes: &[u8]| {
        h[at..at + bytes.len()].copy_from_slice(bytes);
    };
    let octal = |value: u64, width: usize| -> Result<Vec<u8>> {
        let text = format!("{value:0w$o}\0", w = width - 1);
        ensure!(text.len() == width, "{value} does not fit a tar field");
        Ok(text.into_bytes())
    };
    field(&mut h, 0, name.as_bytes());
    let (mode, size, kind) = match len {
        Some(n) => (0o644, n as u64, b'0'),
        None => (0o755, 0, b'5'),
    };
    field(&mut h, 100, &octal(mode, 8)?);
    field(&mut h, 108, &octal(0, 8)?);
    field(&mut h, 116, &octal(0, 8)?);
    field(&mut h, 124, &octal(size, 12)?);
    field(&mut h, 136, &octal(mtime, 12)?);
    field(&mut h, 148, b"        ");
    h[156] = kind;
    field(&mut h, 257, b"ustar\0");
    field(&mut h, 263, b"00");
    field(&mut h, 345, prefix.as_bytes());
    let sum: u64 = h.iter().map(|&b| u64::from(b)).sum();
    field(&mut h, 148, format!("{sum:06o}\0 ").as_bytes());
    Ok(h)
}

/// gzip at the best compression, with no file name and mtime 0 in the header (OS "unknown"),
/// so the same bytes in give the same bytes out.
pub fn gzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    gz.write_all(bytes)?;
    Ok(gz.finish()?)
}

/// `--twice`: HEAD released in two fresh clones at different paths and depths; their
/// `SHA256SUMS` must be the same bytes.
fn twice(root: &Path, args: &ReleaseArgs) -> Result<()> {
    let head = shell::read(
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(["rev-parse", "HEAD"]),
    )
    .map(|s| s.trim().to_owned())
    .context("cannot read HEAD")?;
    let base = std::env::temp_dir().join(format!("rdpfix-release-{}", std::process::id()));
    ensure!(!base.exists(), "{} exists", base.display());
    let clones = [base.join("a"), base.join("x/y/rdpfix-b")];
    let start = Instant::now();
    let mut sums = Vec::new();
    for (n, clone) in clones.iter().enumerate() {
        let t = Instant::now();
        let out = base.join(format!("out-{n}"));
        crate::repro::clone_at(root, &head, clone)?;
        shell::run(
            Command::new("cargo")
                .args(["xtask", "release", "--out"])
                .arg(&out)
                .current_dir(clone)
                .env_remove("CARGO_TARGET_DIR"),
        )?;
        let text = fs::read_to_string(out.join("SHA256SUMS"))?;
        eprintln!(
            "release --twice: clone {} in {:.0} s:\n{text}",
            clone.display(),
            t.elapsed().as_secs_f64()
        );
        sums.push(text);
    }
    if !args.keep {
        for clone in &clones {
            let _ = fs::remove_dir_all(clone);
        }
    }
    eprintln!(
        "release --twice: commit {head}, {:.0} s for both",
        start.elapsed().as_secs_f64()
    );
    ensure!(
        sums.first() == sums.get(1),
        "the two releases differ: compare {}/out-0 and out-1 (diffoscope)",
        base.display()
    );
    if !args.keep {
        let _ = fs::remove_dir_all(&base);
    }
    eprintln!("release --twice: the same artifacts from both clones");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_is_cleared_of_artifacts_only_and_anything_else_refused() {
        let dir = std::env::temp_dir().join(format!("rdpfix-release-out-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for name in [
            "SHA256SUMS",
            "build-info.json",
            "rdpfix-site-0.1.0+g1.tar.gz",
            "fixer-0.1.0+g1-x86_64-windows.exe",
        ] {
            fs::write(dir.join(name), b"old").unwrap();
        }
        clear_out(&dir).unwrap();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 0);
        // A working tree, a home folder, a typo: refused, and nothing deleted.
        fs::write(dir.join("SHA256SUMS"), b"old").unwrap();
        fs::write(dir.join("Cargo.toml"), b"[workspace]").unwrap();
        let err = clear_out(&dir).unwrap_err().to_string();
        assert!(err.contains("Cargo.toml"), "{err}");
        assert!(dir.join("SHA256SUMS").exists() && dir.join("Cargo.toml").exists());
        fs::remove_file(dir.join("Cargo.toml")).unwrap();
        fs::create_dir(dir.join(".git")).unwrap();
        assert!(
            clear_out(&dir).is_err(),
            "a folder inside is not an artifact"
        );
        assert!(dir.join(".git").exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    fn site() -> Vec<(String, Vec<u8>)> {
        vec![
            ("index.html".to_owned(), b"<!doctype html>".to_vec()),
            (
                "pkg/web_bg.wasm".to_owned(),
                vec![0, 97, 115, 109, 1, 0, 0, 0],
            ),
            ("pkg/snippets/x/page.js".to_owned(), vec![b'a'; 513]),
            ("samples/healthy.evtx".to_owned(), vec![7; 1000]),
        ]
    }

    #[test]
    fn the_same_files_in_any_order_give_the_same_bytes() {
        let a = gzip(&tar("rdpfix-site-1", &site(), 1_700_000_000).unwrap()).unwrap();
        let mut reversed = site();
        reversed.reverse();
        let b = gzip(&tar("rdpfix-site-1", &reversed, 1_700_000_000).unwrap()).unwrap();
        assert_eq!(a, b);
        // The gzip header: deflate, no flags (no name), mtime 0, OS unknown.
        assert_eq!(a[..10], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
        // A changed byte or time changes the archive.
        let mut changed = site();
        changed[0].1.push(b' ');
        assert_ne!(
            a,
            gzip(&tar("rdpfix-site-1", &changed, 1_700_000_000).unwrap()).unwrap()
        );
        assert_ne!(
            a,
            gzip(&tar("rdpfix-site-1", &site(), 1_700_000_001).unwrap()).unwrap()
        );
    }

    /// GNU tar (what `tar -xzf` is on the hosts' machines) lists what was written, with
    /// the owner, modes and time, and extracts the same bytes.
    #[test]
    fn gnu_tar_reads_it_back() {
        if !shell::has("tar") {
            eprintln!("no tar here; skipped");
            return;
        }
        let dir = std::env::temp_dir().join(format!("rdpfix-tar-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let archive = dir.join("site.tar.gz");
        let files = site();
        fs::write(
            &archive,
            gzip(&tar("top", &files, 1_700_000_000).unwrap()).unwrap(),
        )
        .unwrap();
        let listing = shell::read(
            Command::new("tar")
                .args(["--numeric-owner", "--full-time", "-tvzf"])
                .arg(&archive)
                .env("TZ", "UTC"),
        )
        .unwrap();
        let lines: Vec<_> = listing
            .lines()
            .map(|l| {
                let f: Vec<_> = l.split_whitespace().collect();
                format!("{} {} {} {} {}", f[0], f[1], f[3], f[4], f[5])
            })
            .collect();
        assert_eq!(
            lines,
            [
                "drwxr-xr-x 0/0 2023-11-14 22:13:20 top/",
                "-rw-r--r-- 0/0 2023-11-14 22:13:20 top/index.html",
                "drwxr-xr-x 0/0 2023-11-14 22:13:20 top/pkg/",
                "drwxr-xr-x 0/0 2023-11-14 22:13:20 top/pkg/snippets/",
                "drwxr-xr-x 0/0 2023-11-14 22:13:20 top/pkg/snippets/x/",
                "-rw-r--r-- 0/0 2023-11-14 22:13:20 top/pkg/snippets/x/page.js",
                "-rw-r--r-- 0/0 2023-11-14 22:13:20 top/pkg/web_bg.wasm",
                "drwxr-xr-x 0/0 2023-11-14 22:13:20 top/samples/",
                "-rw-r--r-- 0/0 2023-11-14 22:13:20 top/samples/healthy.evtx",
            ]
        );
        shell::run(
            Command::new("tar")
                .arg("-xzf")
                .arg(&archive)
                .current_dir(&dir),
        )
        .unwrap();
        for (path, bytes) in &files {
            assert_eq!(
                &fs::read(dir.join("top").join(path)).unwrap(),
                bytes,
                "{path}"
            );
        }
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_long_path_is_split_into_prefix_and_name() {
        let long = format!("{}/{}", "d".repeat(120), "f".repeat(90));
        let t = tar("t", &[(long.clone(), b"x".to_vec())], 0).unwrap();
        let file = t.chunks(BLOCK).find(|h| h[156] == b'0').unwrap();
        let text = |b: &[u8]| String::from_utf8(b.split(|&c| c == 0).next().unwrap().to_vec());
        assert_eq!(
            text(&file[345..500]).unwrap(),
            format!("t/{}", "d".repeat(120))
        );
        assert_eq!(text(&file[..100]).unwrap(), "f".repeat(90));
        assert!(tar("t", &[("a/../b".to_owned(), vec![])], 0).is_err());
        assert!(tar("t", &[("x".repeat(300), vec![])], 0).is_err());
    }

    #[test]
    fn versions_from_git_describe() {
        assert_eq!(
            version_text("0.1.0", Some("v0.1.0-0-gabc1234"), false),
            "0.1.0"
        );
        assert_eq!(
            version_text("0.1.0", Some("v0.1.0-5-gabc1234"), false),
            "0.1.0+5.gabc1234"
        );
        assert_eq!(
            version_text("0.2.0", Some("v0.1.0-5-gabc1234"), true),
            "0.2.0+v0-1-0.5.gabc1234.dirty"
        );
        assert_eq!(
            version_text("0.1.0", Some("abc1234"), false),
            "0.1.0+gabc1234"
        );
        assert_eq!(version_text("0.1.0", None, false), "0.1.0+unknown");
    }
}
