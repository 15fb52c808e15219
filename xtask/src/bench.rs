//! `cargo xtask bench`: how fast and how lean the analysis of a large `.evtx` is, natively
//! and in the browser, side by side with the `evtx` crate's own `evtx_dump` (issue 8).
//!
//! 1. Makes large real-content logs in `target/bench/` (reused when present) by repeating
//!    the 64 KiB chunks of `tests/fixtures/corpus/system.evtx` and rewriting the file header.
//! 2. Installs `evtx_dump` into `target/tools/bin` when it is missing.
//! 3. Times, in one run and on the same files, `fixer diagnose` (release build) against
//!    `evtx_dump -o jsonl -t 1` and `-t 2` (output to `/dev/null`): medians of several runs,
//!    interleaved so that load from elsewhere hits every command alike; peak RSS of each.
//! 4. When `dist/` and `tests/browser/bench.mjs` exist, runs the browser benchmark in headless
//!    Chromium against `dist/` served on a loopback port: each file as the page parses it by
//!    default, and on two workers (`?workers=2`).
//! 5. With `--instructions`, counts the instructions `fixer diagnose` and `evtx_dump -t 1`
//!    run on each 100 MiB file under valgrind ([`instructions`]): a figure the shared
//!    machine's load does not move.
//! 6. Prints a Markdown table (also written to `target/bench/results.md`) for BENCHMARKS.md.

use crate::{serve, shell};

pub mod attack;
mod instructions;
use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FILE_HEADER_SIZE: usize = 4096;
const CHUNK_SIZE: usize = 64 * 1024;
const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";
/// The source of the large logs: a real System log, 15 chunks, 1,881 records.
pub const SOURCE: &str = "tests/fixtures/corpus/system.evtx";

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Timed runs per command and file (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Skip the 1 GiB file (its timing; memory is the point of it).
    #[arg(long)]
    pub no_1g: bool,
    /// Skip the browser benchmark.
    #[arg(long)]
    pub no_browser: bool,
    /// Also count the instructions each command runs on the 100 MiB files, under valgrind
    /// (about a minute per file): the same from one run to the next.
    #[arg(long)]
    pub instructions: bool,
}

/// A large log made from a real one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Made {
    pub chunks: u64,
    pub records: u64,
    pub bytes: u64,
}

/// A source chunk's bytes and its record count.
type SourceChunk<'a> = (&'a [u8], u64);

/// The file header and the chunks of a real log that hold records.
fn source_chunks(src: &[u8]) -> Result<(&[u8], Vec<SourceChunk<'_>>)> {
    let header = src
        .get(..FILE_HEADER_SIZE)
        .filter(|h| h.starts_with(FILE_MAGIC))
        .context("the source is not an .evtx file (no ElfFile header)")?;
    let body = src.get(FILE_HEADER_SIZE..).unwrap_or_default();
    let chunks: Vec<(&[u8], u64)> = body
        .chunks_exact(CHUNK_SIZE)
        .filter(|c| c.starts_with(CHUNK_MAGIC))
        .map(|c| {
            // Records in a chunk: last record number - first + 1 (chunk header, 8 and 16).
            let first = u64_at(c, 8);
            let last = u64_at(c, 16);
            (c, last.saturating_sub(first) + 1)
        })
        .collect();
    if chunks.is_empty() {
        bail!("the source .evtx has no chunk with records");
    }
    Ok((header, chunks))
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut v = [0u8; 8];
    if let Some(s) = b.get(at..at + 8) {
        v.copy_from_slice(s);
    }
    u64::from_le_bytes(v)
}

/// Writes a log of `chunks` chunks: the source's chunks with records, repeated in order, behind
/// a rewritten file header (first chunk 0, last chunk, next record id, chunk count, clean
/// flags, CRC32). The chunks are copied byte for byte, so their CRCs stay valid and their
/// record ids repeat with each copy: the content is real, only repeated.
pub fn write_repeated(src: &[u8], chunks: u64, out: &mut impl Write) -> Result<Made> {
    let (header, source) = source_chunks(src)?;
    let count = u16::try_from(chunks)
        .ok()
        .filter(|n| *n > 0)
        .context("an .evtx file holds 1 to 65,535 chunks")?;
    let max_record_id = source.iter().map(|(c, _)| u64_at(c, 32)).max().unwrap_or(0);
    out.write_all(&file_header(header, count, max_record_id + 1))?;
    let mut records = 0;
    for (chunk, n) in source.iter().cycle().take(chunks as usize) {
        out.write_all(chunk)?;
        records += n;
    }
    out.flush()?;
    Ok(Made {
        chunks,
        records,
        bytes: (FILE_HEADER_SIZE + CHUNK_SIZE * chunks as usize) as u64,
    })
}

/// `header` (a file header) rewritten for `count` chunks 0.. and `next_record_id`: clean
/// flags, not full, its CRC32 made again.
fn file_header(header: &[u8], count: u16, next_record_id: u64) -> Vec<u8> {
    let mut h = header.to_vec();
    let put = |h: &mut Vec<u8>, at: usize, bytes: &[u8]| {
        if let Some(dst) = h.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
    };
    put(&mut h, 8, &0u64.to_le_bytes()); // first chunk number
    put(
        &mut h,
        16,
        &u64::from(count.saturating_sub(1)).to_le_bytes(),
    ); // last chunk number
    put(&mut h, 24, &next_record_id.to_le_bytes()); // next record id
    put(&mut h, 42, &count.to_le_bytes()); // chunk count
    put(&mut h, 120, &0u32.to_le_bytes()); // flags: clean, not full
    let crc = crc32fast::hash(h.get(..120).unwrap_or_default());
    put(&mut h, 124, &crc.to_le_bytes());
    h
}

/// Makes `path` (`chunks` chunks from `src`) unless a file of the right size is there.
fn ensure_file(src: &[u8], path: &Path, chunks: u64) -> Result<Made> {
    let bytes = (FILE_HEADER_SIZE + CHUNK_SIZE * chunks as usize) as u64;
    let (_, source) = source_chunks(src)?;
    let records = source
        .iter()
        .cycle()
        .take(chunks as usize)
        .map(|(_, n)| n)
        .sum();
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes) {
        eprintln!("bench: reusing {}", path.display());
        return Ok(Made {
            chunks,
            records,
            bytes,
        });
    }
    eprintln!("bench: making {} ({chunks} chunks)", path.display());
    let tmp = path.with_extension("evtx.part");
    let file = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    let made = write_repeated(src, chunks, &mut BufWriter::new(file))?;
    std::fs::rename(&tmp, path)?;
    Ok(made)
}

/// Makes the attack log at `path` (`chunks` chunks) unless a file of that size is there.
fn ensure_attack_file(path: &Path, chunks: u64) -> Result<Made> {
    let bytes = (FILE_HEADER_SIZE + CHUNK_SIZE * chunks as usize) as u64;
    if std::fs::metadata(path).is_ok_and(|m| m.len() == bytes) {
        eprintln!("bench: reusing {}", path.display());
        let file = std::fs::read(path)?;
        let (_, made) = source_chunks(&file)?;
        return Ok(Made {
            chunks,
            records: made.iter().map(|(_, n)| n).sum(),
            bytes,
        });
    }
    eprintln!("bench: making {} ({chunks} chunks)", path.display());
    let tmp = path.with_extension("evtx.part");
    let file = std::fs::File::create(&tmp).with_context(|| format!("{}", tmp.display()))?;
    let made = attack::write(chunks, &mut BufWriter::new(file))?;
    std::fs::rename(&tmp, path)?;
    Ok(made)
}

/// `evtx_dump` from `target/tools/bin`, installed there when missing.
fn evtx_dump(root: &Path) -> Result<PathBuf> {
    let tools = root.join("target/tools");
    let bin = tools.join("bin/evtx_dump");
    if !bin.is_file() {
        shell::run(
            Command::new("cargo")
                .args(["install", "evtx", "--locked", "--root"])
                .arg(&tools),
        )?;
    }
    Ok(bin)
}

/// One timed run: wall time and peak resident set size.
#[derive(Debug, Clone, Copy)]
struct Sample {
    wall: Duration,
    peak_kib: Option<u64>,
    /// User + system CPU time (GNU time's `%U` + `%S`).
    cpu_s: Option<f64>,
}

/// GNU time, when installed: its `%M` is the child's peak RSS from `wait4`.
fn gnu_time() -> Option<PathBuf> {
    let time = PathBuf::from("/usr/bin/time");
    let version = shell::read(Command::new(&time).arg("--version"))
        .or_else(|| {
            // GNU time prints its version on stderr.
            let out = Command::new(&time).arg("--version").output().ok()?;
            Some(String::from_utf8_lossy(&out.stderr).into_owned())
        })
        .unwrap_or_default();
    version.contains("GNU").then_some(time)
}

/// Runs `argv` with stdout to /dev/null; fails when it does not exit 0.
fn measure(argv: &[&str], time: Option<&Path>, scratch: &Path) -> Result<Sample> {
    let rss_file = scratch.join("rss.txt");
    let mut cmd = match time {
        Some(t) => {
            let mut c = Command::new(t);
            c.args(["-f", "%M %U %S", "-o"]).arg(&rss_file).args(argv);
            c
        }
        None => {
            let mut c = Command::new(argv.first().context("empty command")?);
            c.args(argv.get(1..).unwrap_or_default());
            c
        }
    };
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("cannot start {}", argv.join(" ")))?;
    let mut polled: Option<u64> = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if time.is_none() {
            // Without GNU time: the high-water mark the kernel keeps, read while it runs.
            let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()));
            if let Some(kib) = status.ok().as_deref().and_then(vm_hwm_kib) {
                polled = Some(polled.map_or(kib, |p| p.max(kib)));
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let wall = start.elapsed();
    if !status.success() {
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut e, &mut err);
        }
        bail!("`{}` failed ({status}): {}", argv.join(" "), err.trim());
    }
    // GNU time's last line: peak KiB, user s, system s.
    let timed = time
        .and_then(|_| std::fs::read_to_string(&rss_file).ok())
        .and_then(|s| s.lines().last().map(str::to_owned))
        .unwrap_or_default();
    let mut fields = timed.split_whitespace();
    let peak_kib = match time {
        Some(_) => fields.next().and_then(|f| f.parse().ok()),
        None => polled,
    };
    let cpu_s = match (
        fields.next().and_then(|f| f.parse::<f64>().ok()),
        fields.next().and_then(|f| f.parse::<f64>().ok()),
    ) {
        (Some(user), Some(sys)) => Some(user + sys),
        _ => None,
    };
    Ok(Sample {
        wall,
        peak_kib,
        cpu_s,
    })
}

fn vm_hwm_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v.get(n / 2).copied().unwrap_or(f64::NAN),
        n => {
            (v.get(n / 2 - 1).copied().unwrap_or(f64::NAN)
                + v.get(n / 2).copied().unwrap_or(f64::NAN))
                / 2.0
        }
    }
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).trim().to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or_else(
            || "?".to_owned(),
            |kib| format!("{:.1} GiB", kib as f64 / 1048576.0),
        );
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{model}, {cores} cores, {mem} RAM, Linux {}", kernel.trim())
}

/// A command under test.
#[derive(Debug)]
struct Tool {
    label: &'static str,
    argv: Vec<String>,
}

/// The measured figures of one tool on one file.
#[derive(Debug)]
struct Row {
    file: String,
    label: &'static str,
    median_s: f64,
    min_s: f64,
    /// Median CPU time (user + system), when GNU time measured it.
    cpu_s: Option<f64>,
    peak_mib: Option<f64>,
    runs: usize,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let root = shell::repo_root();
    let dir = root.join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let src = std::fs::read(root.join(SOURCE)).with_context(|| SOURCE.to_owned())?;
    let mut files = vec![
        (
            "100 MiB",
            ensure_file(&src, &dir.join("system-100MiB.evtx"), 1600)?,
            dir.join("system-100MiB.evtx"),
        ),
        (
            "attack 100 MiB",
            ensure_attack_file(&dir.join("security-attack-100MiB.evtx"), 1600)?,
            dir.join("security-attack-100MiB.evtx"),
        ),
    ];
    if !args.no_1g {
        files.push((
            "1 GiB",
            ensure_file(&src, &dir.join("system-1GiB.evtx"), 16384)?,
            dir.join("system-1GiB.evtx"),
        ));
    }
    let dump = evtx_dump(&root)?;
    shell::run(Command::new("cargo").args(["build", "--release", "-p", "fixer"]))?;
    let fixer = root.join("target/release/fixer");
    let time = gnu_time();
    if time.is_none() {
        eprintln!("bench: GNU time not found; peak RSS is read from /proc while each command runs");
    }
    let load_before = load_average();
    let mut rows = Vec::new();
    for (size, made, path) in &files {
        let file = path.to_string_lossy().into_owned();
        let tools = [
            Tool {
                label: "fixer diagnose",
                argv: vec![
                    fixer.to_string_lossy().into_owned(),
                    "diagnose".into(),
                    file.clone(),
                ],
            },
            Tool {
                label: "evtx_dump -o jsonl -t 1",
                argv: vec![
                    dump.to_string_lossy().into_owned(),
                    "-o".into(),
                    "jsonl".into(),
                    "-t".into(),
                    "1".into(),
                    file.clone(),
                ],
            },
            Tool {
                label: "evtx_dump -o jsonl -t 2",
                argv: vec![
                    dump.to_string_lossy().into_owned(),
                    "-o".into(),
                    "jsonl".into(),
                    "-t".into(),
                    "2".into(),
                    file.clone(),
                ],
            },
        ];
        eprintln!(
            "bench: {size}: {} records in {} chunks, {} runs each",
            made.records, made.chunks, args.runs
        );
        // One warm-up run each (page cache, binaries), then interleaved timed runs.
        let mut samples: Vec<Vec<Sample>> = tools.iter().map(|_| Vec::new()).collect();
        for t in &tools {
            let argv: Vec<&str> = t.argv.iter().map(String::as_str).collect();
            measure(&argv, time.as_deref(), &dir)?;
        }
        for _ in 0..args.runs.max(1) {
            for (t, s) in tools.iter().zip(samples.iter_mut()) {
                let argv: Vec<&str> = t.argv.iter().map(String::as_str).collect();
                s.push(measure(&argv, time.as_deref(), &dir)?);
            }
        }
        for (t, s) in tools.iter().zip(samples) {
            let secs: Vec<f64> = s.iter().map(|x| x.wall.as_secs_f64()).collect();
            let peak = s.iter().filter_map(|x| x.peak_kib).max();
            let cpu: Vec<f64> = s.iter().filter_map(|x| x.cpu_s).collect();
            rows.push(Row {
                file: (*size).to_owned(),
                label: t.label,
                median_s: median(secs.clone()),
                min_s: secs.iter().copied().fold(f64::INFINITY, f64::min),
                cpu_s: (!cpu.is_empty()).then(|| median(cpu)),
                peak_mib: peak.map(|k| k as f64 / 1024.0),
                runs: secs.len(),
            });
        }
    }
    let load_after = load_average();
    let counted = if args.instructions {
        count_instructions(&files, &fixer, &dump, &dir)?
    } else {
        String::new()
    };
    let browser = if args.no_browser {
        "skipped (--no-browser)".to_owned()
    } else {
        browser_bench(&root, &files)
    };
    let mut table = results_table(&rows, &files, &load_before, &load_after, &browser);
    table.push_str(&counted);
    std::fs::write(dir.join("results.md"), &table)?;
    println!("{table}");
    eprintln!("bench: written to {}", dir.join("results.md").display());
    Ok(())
}

/// [`instructions::count`] of `fixer diagnose` and `evtx_dump -o jsonl -t 1` on each file
/// but the 1 GiB one (ten times as long under valgrind, and its point is memory), as a
/// Markdown section.
fn count_instructions(
    files: &[(&str, Made, PathBuf)],
    fixer: &Path,
    dump: &Path,
    dir: &Path,
) -> Result<String> {
    let mut rows = Vec::new();
    for (size, _, path) in files.iter().filter(|(size, ..)| !size.contains("GiB")) {
        let file = path.to_string_lossy();
        let fixer = fixer.to_string_lossy();
        let dump = dump.to_string_lossy();
        let commands: [(&str, Vec<&str>); 2] = [
            ("fixer diagnose", vec![&fixer, "diagnose", &file]),
            (
                "evtx_dump -o jsonl -t 1",
                vec![&dump, "-o", "jsonl", "-t", "1", &file],
            ),
        ];
        for (label, argv) in commands {
            eprintln!("bench: {size}: counting the instructions of {label}");
            let counted = instructions::count(&argv, &dir.join("cachegrind.out"))?;
            rows.push((*size, label, counted));
        }
    }
    Ok(format!("\n{}", instructions::table(&rows)))
}

fn results_table(
    rows: &[Row],
    files: &[(&str, Made, PathBuf)],
    load_before: &str,
    load_after: &str,
    browser: &str,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "Machine: {}", machine());
    let _ = writeln!(
        s,
        "Load average (1/5/15 min) before: {load_before}; after: {load_after}"
    );
    for (size, made, path) in files {
        let _ = writeln!(
            s,
            "- {size}: `{}`, {} bytes, {} chunks, {} records",
            path.file_name().unwrap_or_default().to_string_lossy(),
            made.bytes,
            made.chunks,
            made.records
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "| file | command | median s | fastest s | runs | vs evtx_dump -t 1 | vs -t 2 | MB/s | CPU s | CPU / evtx_dump -t 1's | peak RSS MiB |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let base = |label: &str| {
            rows.iter()
                .find(|o| o.file == r.file && o.label == label)
                .map_or(f64::NAN, |o| o.median_s)
        };
        let base_cpu = rows
            .iter()
            .find(|o| o.file == r.file && o.label == "evtx_dump -o jsonl -t 1")
            .and_then(|o| o.cpu_s);
        let cpu = r
            .cpu_s
            .map_or_else(|| "?".to_owned(), |c| format!("{c:.3}"));
        let cpu_ratio = match (r.cpu_s, base_cpu) {
            (Some(c), Some(b)) if b > 0.0 => format!("{:.2}×", c / b),
            _ => "?".to_owned(),
        };
        let bytes = files
            .iter()
            .find(|(size, ..)| *size == r.file)
            .map_or(0, |(_, m, _)| m.bytes);
        let _ = writeln!(
            s,
            "| {} | `{}` | {:.3} | {:.3} | {} | {:.2}× | {:.2}× | {:.0} | {cpu} | {cpu_ratio} | {} |",
            r.file,
            r.label,
            r.median_s,
            r.min_s,
            r.runs,
            base("evtx_dump -o jsonl -t 1") / r.median_s,
            base("evtx_dump -o jsonl -t 2") / r.median_s,
            bytes as f64 / 1e6 / r.median_s,
            r.peak_mib
                .map_or_else(|| "?".to_owned(), |m| format!("{m:.1}")),
        );
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "\"vs\" columns: how many times faster than that command (its median / this median). \
         CPU: median user + system time; its ratio: this CPU time / `evtx_dump -t 1`'s."
    );
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "Browser (headless Chromium, `tests/browser/bench.mjs`): {browser}"
    );
    s
}

/// The page's query strings each file is timed with: as a visitor gets it (on this machine's
/// cores), and parsed by two workers (`web/src/split.rs`).
const PAGE_QUERIES: [&str; 2] = ["", "?workers=2"];

/// Runs `node tests/browser/bench.mjs <file> [query]` against `dist/` on a loopback port,
/// for each of [`PAGE_QUERIES`]; returns its JSON lines, or why it was skipped.
fn browser_bench(root: &Path, files: &[(&str, Made, PathBuf)]) -> String {
    let script = root.join("tests/browser/bench.mjs");
    let dist = root.join("dist");
    if !script.is_file() {
        return "skipped: tests/browser/bench.mjs is not there yet".to_owned();
    }
    if !dist.join("index.html").is_file() {
        return "skipped: dist/ is not built (cargo xtask dist)".to_owned();
    }
    let Some(chromium) = shell::which("chromium") else {
        return "skipped: chromium is not installed (cargo xtask bootstrap)".to_owned();
    };
    let addr = match serve::spawn(&dist) {
        Ok(addr) => addr,
        Err(e) => return format!("skipped: cannot serve dist/: {e:#}"),
    };
    let mut out = String::new();
    for ((size, _, path), query) in files
        .iter()
        .flat_map(|f| PAGE_QUERIES.iter().map(move |q| (f, *q)))
    {
        let label = if query.is_empty() {
            (*size).to_owned()
        } else {
            format!("{size}, `{query}`")
        };
        eprintln!("bench: browser, {label}");
        let result = Command::new("node")
            .arg(&script)
            .arg(path)
            .arg(query)
            .current_dir(root.join("tests/browser"))
            .env("RDPFIX_URL", format!("http://{addr}/"))
            .env("RDPFIX_CHROMIUM", &chromium)
            .env("RDPFIX_ROOT", root)
            .stderr(Stdio::inherit())
            .output();
        let line = match result {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout)
                .lines()
                .rev()
                .find(|l| l.trim_start().starts_with('{'))
                .map_or_else(|| "(no JSON line)".to_owned(), str::to_owned),
            Ok(o) => format!("failed ({})", o.status),
            Err(e) => format!("cannot start node: {e}"),
        };
        let _ = write!(out, "\n- {label}: `{line}`");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use evtx::{EvtxFileHeader, EvtxParser};

    #[test]
    fn attack_log_is_mostly_failed_logons_from_many_addresses_in_full_chunks() {
        let chunks = 12;
        let mut made = Vec::new();
        let m = attack::write(chunks, &mut made).unwrap();
        assert_eq!(m.bytes, made.len() as u64);
        assert_eq!(made.len(), 4096 + 12 * 65536);
        let header = EvtxFileHeader::from_bytes(&made).unwrap();
        assert!(header.validate_checksum(), "header CRC32");
        assert_eq!(header.chunk_count, 12);
        assert_eq!(header.next_record_id, m.records + 1);
        let mut parser = EvtxParser::from_buffer(made.clone()).unwrap();
        let (mut records, mut failures) = (0u64, 0u64);
        let mut addresses = std::collections::HashSet::new();
        let mut statuses = std::collections::HashSet::new();
        for r in parser.records() {
            let xml = r.unwrap().data;
            records += 1;
            if xml.contains("<EventID>4625</EventID>") {
                failures += 1;
                let value = |name: &str| {
                    let tag = format!("<Data Name=\"{name}\">");
                    let at = xml.find(&tag).unwrap() + tag.len();
                    xml[at..].split('<').next().unwrap().to_owned()
                };
                addresses.insert(value("IpAddress"));
                statuses.insert(value("Status"));
                assert!(["3", "10"].contains(&value("LogonType").as_str()));
            }
        }
        // Record ids run 1..=records: every chunk was kept whole, none written twice.
        assert_eq!(records, m.records);
        let share = failures as f64 / records as f64;
        assert!((0.85..0.95).contains(&share), "4625 share {share}");
        assert!(addresses.len() > 300, "{} addresses", addresses.len());
        assert_eq!(statuses.len(), 4, "{statuses:?}");
        // Chunks are filled as Windows fills them: over 60 KiB of records each.
        for chunk in made[4096..].chunks(65536) {
            assert!(u64_at(chunk, 48) as usize > 60 * 1024, "free space offset");
        }
    }

    /// The page's analysis worker reads `web/assets/warm-security.evtx` as it starts
    /// (`web/src/worker.rs`): it is the attack log's first chunk, as [`attack::write`]
    /// makes it. `RDPFIX_WRITE_WARM=1` writes it again (after a change to the generator).
    #[test]
    fn the_pages_warm_security_chunk_is_the_attack_logs_first() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/assets/warm-security.evtx");
        let mut made = Vec::new();
        attack::write(1, &mut made).unwrap();
        if std::env::var_os("RDPFIX_WRITE_WARM").is_some() {
            std::fs::write(&path, &made).unwrap();
        }
        let asset = std::fs::read(&path).unwrap();
        assert!(
            asset == made,
            "{} is not attack::write(1)'s output: run this test with RDPFIX_WRITE_WARM=1",
            path.display()
        );
    }

    #[test]
    fn repeated_log_reads_back_with_n_times_the_records_and_a_valid_header() {
        let root = shell::repo_root();
        let src = std::fs::read(root.join(SOURCE)).unwrap();
        let (_, source) = source_chunks(&src).unwrap();
        let per_copy: u64 = source.iter().map(|(_, n)| n).sum();
        assert_eq!((source.len(), per_copy), (15, 1881));
        // Three whole copies and two chunks of a fourth.
        let chunks = 3 * 15 + 2;
        let mut made = Vec::new();
        let m = write_repeated(&src, chunks, &mut made).unwrap();
        assert_eq!(m.bytes, made.len() as u64);
        let extra: u64 = source.iter().take(2).map(|(_, n)| n).sum();
        assert_eq!(m.records, 3 * per_copy + extra);

        let header = EvtxFileHeader::from_bytes(&made).unwrap();
        assert!(header.validate_checksum(), "header CRC32");
        assert_eq!(header.chunk_count, chunks as u16);
        assert_eq!(header.last_chunk_number, chunks - 1);
        assert_eq!(header.next_record_id, 1882);
        assert!(header.flags.is_empty(), "clean header");

        let mut parser = EvtxParser::from_buffer(made).unwrap();
        let mut records = 0u64;
        for r in parser.records() {
            r.unwrap();
            records += 1;
        }
        assert_eq!(records, m.records);
    }
}
