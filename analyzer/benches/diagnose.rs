//! Throughput of a whole diagnosis and of the rules engine alone.
//!
//! `cargo bench -p analyzer --bench diagnose` prints events per second for:
//! - `session`: `Session::add_bytes` + `finish` over every `.evtx` of the real corpus and the
//!   page's sample logs (parsing included);
//! - `rules`: the collector and evaluation alone, over the same events already parsed.
//!
//! Under `cargo test` (no `--bench` argument) it runs each once as a smoke test.

use analyzer::Event;
use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::input::{no_progress, read_bytes};
use analyzer::rules::{self, Catalog, Collector};
use std::path::PathBuf;
use std::time::Instant;

fn inputs() -> Vec<(String, Vec<u8>)> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    for dir in [
        root.join("tests/fixtures/corpus"),
        root.join("static/samples"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "evtx"))
        {
            if let Ok(bytes) = std::fs::read(&p) {
                out.push((
                    p.file_name()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned(),
                    bytes,
                ));
            }
        }
    }
    out
}

fn run(label: &str, rounds: u32, events: u64, bytes: u64, mut f: impl FnMut()) {
    let start = Instant::now();
    for _ in 0..rounds {
        f();
    }
    let per = start.elapsed() / rounds.max(1);
    let secs = per.as_secs_f64().max(f64::MIN_POSITIVE);
    let throughput = if bytes > 0 {
        format!(
            ", {:.1} MB/s of {:.1} MB",
            bytes as f64 / 1e6 / secs,
            bytes as f64 / 1e6
        )
    } else {
        String::new()
    };
    println!(
        "{label:8} {events} events: {:>8.2} ms/run, {:>10.0} events/s{throughput}",
        per.as_secs_f64() * 1e3,
        events as f64 / secs,
    );
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds = if bench { 10 } else { 1 };
    let inputs = inputs();
    let bytes: u64 = inputs.iter().map(|(_, b)| b.len() as u64).sum();
    let mut parsed: Vec<Event> = Vec::new();
    for (name, b) in &inputs {
        read_bytes(name, b, &mut parsed, &mut no_progress);
    }
    let events = parsed.len() as u64;
    run("session", rounds, events, bytes, || {
        let mut session = Session::new();
        for (name, b) in &inputs {
            session.add_bytes(name, b, &mut no_progress);
        }
        std::hint::black_box(session.finish(&DiagnoseOptions::default()));
    });
    let catalog = Catalog::builtin().unwrap_or_else(|_| Catalog::empty());
    run("rules", rounds, events, 0, || {
        let mut collector = Collector::new(catalog.clone());
        for e in &parsed {
            collector.observe(e);
        }
        std::hint::black_box(rules::evaluate(&collector, collector.stats().newest));
    });
}
