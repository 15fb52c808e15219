//! `cargo xtask bench --instructions`: how many instructions each command runs, counted by
//! valgrind's cachegrind — the same from one run to the next, where the shared machine's
//! CPU time swings by half (BENCHMARKS.md, "Session 18"). Under valgrind the CPU has no
//! SHA-NI, so the SHA-256 runs its software code: its instructions (every function of the
//! `sha2` crate) are counted apart, and the comparison is of the rest.

use anyhow::{Context, Result, bail};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// What one command ran, in instructions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub total: u64,
    /// In functions of the `sha2` crate (`sha2::…`).
    pub sha256: u64,
}

impl Counted {
    /// All but the SHA-256's.
    pub fn rest(self) -> u64 {
        self.total.saturating_sub(self.sha256)
    }
}

/// Runs `argv` under `valgrind --tool=cachegrind --cache-sim=no` (stdout to /dev/null), its
/// counts written to `out`; fails when valgrind is missing or the command does not exit 0.
pub fn count(argv: &[&str], out: &Path) -> Result<Counted> {
    let mut cmd = Command::new("valgrind");
    cmd.args(["--tool=cachegrind", "--cache-sim=no"])
        .arg(format!("--cachegrind-out-file={}", out.display()))
        .args(argv)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let done = match cmd.output() {
        Ok(done) => done,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("--instructions needs valgrind (Debian: apt-get install valgrind)")
        }
        Err(e) => return Err(e).context("cannot start valgrind"),
    };
    if !done.status.success() {
        bail!(
            "`valgrind … {}` failed ({}): {}",
            argv.join(" "),
            done.status,
            String::from_utf8_lossy(&done.stderr).trim()
        );
    }
    let text = std::fs::read_to_string(out).with_context(|| out.display().to_string())?;
    parse(&text).with_context(|| format!("{} is not cachegrind's output", out.display()))
}

/// The counts of a cachegrind output file with one event (`Ir`): its `summary:` line, and
/// the lines under each `fn=sha2::…`.
pub fn parse(text: &str) -> Result<Counted> {
    let mut total = None;
    let mut sha256 = 0u64;
    let mut in_sha2 = false;
    for (at, line) in text.lines().enumerate() {
        if let Some(name) = line.strip_prefix("fn=") {
            in_sha2 = name.starts_with("sha2::");
        } else if let Some(n) = line.strip_prefix("summary:") {
            total = Some(number(n, at)?);
        } else if in_sha2 && line.starts_with(|c: char| c.is_ascii_digit()) {
            // `<line> <count>`
            let count = line.split_whitespace().nth(1).unwrap_or_default();
            sha256 = sha256.saturating_add(number(count, at)?);
        }
    }
    let total = total.context("no `summary:` line")?;
    if sha256 > total {
        bail!("the sha2 functions count more than the whole ({sha256} > {total})");
    }
    Ok(Counted { total, sha256 })
}

fn number(text: &str, at: usize) -> Result<u64> {
    text.trim()
        .parse()
        .with_context(|| format!("line {}: `{}` is not a count", at + 1, text.trim()))
}

/// The Markdown table of `rows` (file, command, counts), each command's rest against
/// `evtx_dump -t 1`'s on the same file.
pub fn table(rows: &[(&str, &str, Counted)]) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Instructions (valgrind --tool=cachegrind --cache-sim=no; the SHA-256 runs in \
         software there):\n"
    );
    let _ = writeln!(
        s,
        "| file | command | instructions M | of them sha2 M | the rest M | rest / evtx_dump -t 1's |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    let millions = |n: u64| n as f64 / 1e6;
    for (file, label, counted) in rows {
        let base = rows
            .iter()
            .find(|(f, l, _)| f == file && l.starts_with("evtx_dump"))
            .map(|(_, _, c)| c.rest());
        let ratio = match base {
            Some(b) if b > 0 => format!("{:.3}×", counted.rest() as f64 / b as f64),
            _ => "?".to_owned(),
        };
        let _ = writeln!(
            s,
            "| {file} | `{label}` | {:.1} | {:.1} | {:.1} | {ratio} |",
            millions(counted.total),
            millions(counted.sha256),
            millions(counted.rest()),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cachegrind's format as valgrind 3.19 writes it: a function's lines until the next
    /// `fn=`, whatever file (`fl=`) they are in; the summary last.
    const OUTPUT: &str = "desc: I1 cache: 32768 B, 64 B, 8-way associative\n\
        cmd: fixer diagnose x.evtx\n\
        events: Ir\n\
        fl=src/main.rs\n\
        fn=main\n\
        1 10\n\
        2 5\n\
        fl=???\n\
        fn=sha2::sha256::soft::compress\n\
        0 700\n\
        fn=analyzer::diagnose::session::evidence_sha256\n\
        9 40\n\
        fl=sha2/src/lib.rs\n\
        fn=sha2::sha256::x86::shani_cpuid::init_get::init_inner\n\
        3 2\n\
        4 1\n\
        summary: 758\n";

    #[test]
    fn the_sha2_functions_are_counted_apart_from_the_whole() {
        let counted = parse(OUTPUT).unwrap();
        assert_eq!(
            counted,
            Counted {
                total: 758,
                sha256: 703
            }
        );
        assert_eq!(counted.rest(), 55);
    }

    #[test]
    fn output_without_a_summary_or_with_a_bad_count_is_refused() {
        assert!(parse("events: Ir\nfn=main\n1 2\n").is_err());
        let bad = OUTPUT.replace("0 700", "0 7x0");
        let e = format!("{:#}", parse(&bad).unwrap_err());
        assert!(e.contains("line 10"), "{e}");
        assert!(parse(&OUTPUT.replace("summary: 758", "summary: 100")).is_err());
    }

    #[test]
    fn each_command_is_compared_with_evtx_dump_on_its_file() {
        let dump = Counted {
            total: 2_000_000,
            sha256: 0,
        };
        let fixer = Counted {
            total: 5_000_000,
            sha256: 4_000_000,
        };
        let table = table(&[
            ("attack", "fixer diagnose", fixer),
            ("attack", "evtx_dump -o jsonl -t 1", dump),
        ]);
        assert!(
            table.contains("| attack | `fixer diagnose` | 5.0 | 4.0 | 1.0 | 0.500× |"),
            "{table}"
        );
        assert!(table.contains("| 2.0 | 0.0 | 2.0 | 1.000× |"), "{table}");
    }
}
