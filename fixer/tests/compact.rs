//! `fixer collect --compact` through the binary: the block it prints, pasted back into
//! `fixer diagnose -` (the page's paste path), gives the finding the full log gives; the
//! block and the summary after it fit Run Command's 4,096-byte tail even when the logs hold
//! thousands of relevant events, and the block says how many it left out.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use analyzer::evidence_block::{MAX_BLOCK_BYTES, find_blocks};
use jiff::{SignedDuration, Timestamp};
use std::path::{Path, PathBuf};
use support::{Run, fixer};
use testkit::EvtxWriter;
use testkit::samples::{self, SampleLog};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fixer-compact-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_evtx(dir: &Path, sample: &SampleLog) -> PathBuf {
    let path = dir.join(format!("{}.evtx", sample.name));
    std::fs::write(&path, samples::evtx(sample).unwrap()).unwrap();
    path
}

fn compact(log: &Path) -> Run {
    let out = fixer(
        &["collect", "--compact", "--from", log.to_str().unwrap()],
        None,
    );
    assert_eq!(out.code, 0, "{out:?}");
    out
}

fn finding_ids(diagnosis: &serde_json::Value) -> Vec<String> {
    diagnosis["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// What Run Command returns of `text` printed on a Windows console (CR LF line ends).
fn run_command_tail(text: &str) -> String {
    let console = text.replace('\n', "\r\n");
    let start = console.len().saturating_sub(4096);
    console[start..].replace("\r\n", "\n")
}

/// The tail holds the whole block, then the summary as the last line.
fn assert_tail_holds_block_and_summary(out: &str) {
    let tail = run_command_tail(out);
    let blocks = find_blocks(&tail, "tail");
    assert_eq!(blocks.len(), 1, "{tail}");
    assert!(blocks[0].result.is_ok(), "{:?}", blocks[0].result);
    let last = tail.trim_end().lines().last().unwrap();
    assert!(last.starts_with("rdpfix: "), "{last}");
    assert!(last.len() <= 90, "{last}");
}

#[test]
fn each_sample_round_trips_through_the_paste_path_to_the_same_finding() {
    let dir = scratch("round-trip");
    for sample in samples::all() {
        let log = write_evtx(&dir, &sample);
        let full = fixer(&["--json", "diagnose", log.to_str().unwrap()], None);
        assert_eq!(full.code, 0, "{full:?}");
        let out = compact(&log);
        assert_tail_holds_block_and_summary(&out.stdout);
        // The whole output, as pasted from Run Command or Serial Console.
        let pasted = fixer(&["--json", "diagnose", "-"], Some(&out.stdout));
        assert_eq!(pasted.code, 0, "{pasted:?}");
        let (full, pasted) = (full.json(), pasted.json());
        assert_eq!(
            finding_ids(&pasted),
            finding_ids(&full),
            "{}: {}",
            sample.name,
            out.stdout
        );
        if let Some(expected) = sample.expected {
            assert_eq!(finding_ids(&pasted)[0], expected);
            assert_eq!(pasted["most_likely"]["id"], full["most_likely"]["id"]);
        }
        assert_eq!(pasted["computers"][0]["name"], sample.computer);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn thousands_of_relevant_events_stay_within_the_cap_and_are_counted() {
    let dir = scratch("cap");
    let sample = samples::cert_keys();
    // The sample, plus Scenario 1 repeating every 20 s for a day: ~17,000 relevant events.
    let end: Timestamp = sample.events.last().unwrap().time_created.unwrap();
    let mut events = sample.events.clone();
    for i in 0..4320 {
        let at = end - SignedDuration::from_secs(20 * i + 7);
        events.extend(testkit::seed::scenario1(sample.computer, at));
    }
    events.sort_by_key(|e| e.time_created);
    // Numbered again in time order, as Windows numbers records.
    for e in &mut events {
        e.record_id = None;
    }
    let log = dir.join("many.evtx");
    std::fs::write(&log, EvtxWriter::new().extend(events).to_bytes().unwrap()).unwrap();

    let out = compact(&log);
    assert_tail_holds_block_and_summary(&out.stdout);
    let json = fixer(
        &[
            "--json",
            "collect",
            "--compact",
            "--from",
            log.to_str().unwrap(),
        ],
        None,
    )
    .json();
    assert_eq!(json["ok"], true);
    let console = json["block_console_bytes"].as_u64().unwrap();
    assert!(console <= MAX_BLOCK_BYTES as u64, "{console}");
    let relevant = json["relevant"].as_u64().unwrap();
    let left_out = json["left_out"].as_u64().unwrap();
    assert!(relevant > 17_000, "{json}");
    assert!(left_out > 16_000, "{json}");
    assert_eq!(json["kept"].as_u64().unwrap() + left_out, relevant);
    let header = json["block"].as_str().unwrap().lines().next().unwrap();
    assert!(
        header.ends_with(&format!("{left_out} left out")),
        "{header}"
    );
    eprintln!(
        "compact block: {console} console bytes, {} kept, {left_out} left out of {relevant}",
        json["kept"]
    );

    // Still the right diagnosis from what fitted.
    let pasted = fixer(&["--json", "diagnose", "-"], Some(&out.stdout)).json();
    assert_eq!(finding_ids(&pasted)[0], "rdp-cert-keys");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn without_windows_or_files_it_says_to_use_from() {
    let out = fixer(&["collect", "--compact"], None);
    assert_eq!(out.code, 8, "{out:?}");
    assert!(
        out.stderr
            .contains(r"folder C:\rdpfix-logs: changing it needs fixer.exe on Windows"),
        "{out:?}"
    );
    assert!(
        out.stderr.contains(
            "run fixer.exe collect --compact on the VM (the page's Run Command collection script \
             does), or export the logs there and make the block here with fixer collect \
             --compact --from <files>"
        ),
        "{out:?}"
    );
    let out = fixer(&["collect", "--from", "x.evtx"], None);
    assert_eq!(out.code, 2, "--from needs --compact: {out:?}");
}
