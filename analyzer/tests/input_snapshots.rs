//! Data-driven: every file in tests/fixtures/inputs is read and what came out — the report
//! and each event's fields — is compared with its snapshot (analyzer/tests/snapshots).
//! Adding a case is adding a file (and accepting its snapshot after reviewing it).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::input::{no_progress, read_bytes};
use std::fmt::Write;

fn render(name: &str, bytes: &[u8]) -> String {
    let mut events: Vec<analyzer::Event> = Vec::new();
    let report = read_bytes(name, bytes, &mut events, &mut no_progress);
    let mut out = String::new();
    let _ = writeln!(out, "{}", report.summary());
    let _ = writeln!(
        out,
        "format: {:?} / {:?} / {:?}",
        report.format, report.dialect, report.encoding
    );
    let _ = writeln!(
        out,
        "truncated: {}, skipped: {}",
        report.truncated, report.skipped
    );
    for i in &report.issues {
        let at =
            i.at.map(|a| a.to_string())
                .unwrap_or_else(|| "-".to_owned());
        let _ = writeln!(
            out,
            "issue {:?} {:?} at {at}: {}",
            i.severity, i.kind, i.message
        );
    }
    for e in &events {
        let _ = writeln!(
            out,
            "- {} {} q={:?} level={:?} time={} local={} record={:?} channel={:?} computer={:?} sid={:?} user={:?}",
            e.provider,
            e.event_id,
            e.qualifiers,
            e.level,
            e.time_created.map(|t| t.to_string()).unwrap_or_default(),
            e.time_is_local,
            e.record_id,
            e.channel,
            e.computer,
            e.user_sid,
            e.user_name,
        );
        for (k, v) in &e.data {
            let _ = writeln!(out, "    data {k} = {v:?}");
        }
        if let Some(m) = &e.message {
            let first: String = m
                .lines()
                .next()
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect();
            let _ = writeln!(out, "    message ({} lines): {first:?}", m.lines().count());
        }
    }
    out
}

#[test]
fn every_input_fixture_reads_as_its_snapshot() {
    let dir = testkit::fixture("inputs");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "README.md")
        .collect();
    names.sort();
    assert!(names.len() >= 19, "{names:?}");
    for name in names {
        let bytes = std::fs::read(dir.join(&name)).unwrap();
        insta::assert_snapshot!(format!("input__{name}"), render(&name, &bytes));
    }
}

/// Every fixture is also exercised by `input_text.rs` or `input_structured.rs`, which run
/// on wasm32 too.
#[test]
fn every_input_fixture_is_checked_on_wasm_too() {
    let shared = [
        include_str!("input_text.rs"),
        include_str!("input_structured.rs"),
    ]
    .concat();
    let readme = std::fs::read_to_string(testkit::fixture("inputs/README.md")).unwrap();
    for entry in std::fs::read_dir(testkit::fixture("inputs")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name == "README.md" {
            continue;
        }
        assert!(
            shared.contains(&format!("fixture!(\"{name}\")")),
            "{name} is used by neither input_text.rs nor input_structured.rs"
        );
        assert!(
            readme.contains(&format!("`{name}`")),
            "{name} has no source in the README"
        );
    }
}
