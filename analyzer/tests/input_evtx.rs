//! `.evtx` on the real corpus (tests/fixtures/corpus, from the `evtx` crate's samples):
//! event counts equal the `evtx` crate's own (`evtx_dump`), damaged files yield their
//! readable records plus a report of what was skipped and why. Runs natively and on wasm32.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use analyzer::Event;
use analyzer::input::{Format, InputReport, IssueKind, Progress, read_bytes, read_seekable};
use std::ops::ControlFlow;

macro_rules! corpus {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/corpus/", $name)).as_slice()
    };
}

const SYSTEM: &[u8] = corpus!("system.evtx");
const VSS_SYSTEM: &[u8] = corpus!("2-vss_7-System.evtx");
const RCM: &[u8] =
    corpus!("2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx");
const RDPCORETS: &[u8] =
    corpus!("2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx");
const SECURITY: &[u8] = corpus!("security.evtx");
const BAD_CHUNK_MAGIC: &[u8] = corpus!("sample_with_a_bad_chunk_magic.evtx");
const NO_CRC32: &[u8] = corpus!("Application_no_crc32.evtx");
const BAD_STRING_CACHE: &[u8] = corpus!("security_bad_string_cache.evtx");

fn read(name: &str, bytes: &[u8]) -> (InputReport, Vec<Event>) {
    let mut events = Vec::new();
    let report = read_bytes(name, bytes, &mut events, &mut |_| ControlFlow::Continue(()));
    (report, events)
}

/// Counts pinned from the `evtx` crate 0.15.1 (`evtx_dump`, i.e. `EvtxParser::records()`
/// without carving); the native test `counts_equal_the_evtx_crates_own` re-derives them.
const EXPECTED: [(&str, usize, u64); 8] = [
    ("system.evtx", 1881, 0),
    ("2-vss_7-System.evtx", 1160, 0),
    ("RCM Operational", 1795, 2),
    ("RdpCoreTS Operational", 1910, 4),
    ("security.evtx", 2261, 0),
    ("sample_with_a_bad_chunk_magic.evtx", 301, 1),
    ("Application_no_crc32.evtx", 17, 0),
    ("security_bad_string_cache.evtx", 2261, 0),
];

fn corpus() -> [(&'static str, &'static [u8]); 8] {
    [
        ("system.evtx", SYSTEM),
        ("2-vss_7-System.evtx", VSS_SYSTEM),
        ("RCM Operational", RCM),
        ("RdpCoreTS Operational", RDPCORETS),
        ("security.evtx", SECURITY),
        ("sample_with_a_bad_chunk_magic.evtx", BAD_CHUNK_MAGIC),
        ("Application_no_crc32.evtx", NO_CRC32),
        ("security_bad_string_cache.evtx", BAD_STRING_CACHE),
    ]
}

#[test]
fn corpus_event_counts_equal_evtx_dump() {
    for ((name, bytes), (expected_name, events, skipped)) in corpus().into_iter().zip(EXPECTED) {
        assert_eq!(name, expected_name);
        let (report, got) = read(name, bytes);
        assert_eq!(report.format, Some(Format::Evtx), "{name}");
        assert_eq!(got.len(), events, "{name}: {}", report.summary());
        assert_eq!(report.events, events as u64, "{name}");
        assert_eq!(report.skipped, skipped, "{name}: {:#?}", report.issues);
        assert_eq!(report.sha256.len(), 64, "{name}");
    }
}

#[test]
fn rcm_operational_holds_1790_connections_and_5_logons() {
    let (_, events) = read("rcm.evtx", RCM);
    let count = |id| events.iter().filter(|e| e.event_id == id).count();
    assert_eq!(count(261), 1790);
    assert_eq!(count(1149), 5);
    assert!(
        events
            .iter()
            .all(|e| e.provider == "Microsoft-Windows-TerminalServices-RemoteConnectionManager")
    );
    let logon = events.iter().find(|e| e.event_id == 1149).unwrap();
    assert!(
        logon.data_value("Param1").is_some(),
        "UserData leaves are read: {logon:?}"
    );
    assert_eq!(
        logon.channel.as_deref(),
        Some("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational")
    );
}

#[test]
fn classic_events_keep_qualifiers_apart() {
    let (_, events) = read("system.evtx", SYSTEM);
    let first = events.iter().find(|e| e.record_id == Some(1)).unwrap();
    assert_eq!(first.provider, "EventLog");
    assert_eq!((first.event_id, first.qualifiers), (6009, Some(32768)));
    assert_eq!(first.computer.as_deref(), Some("WIN-P4SIAA0SQCO"));
    assert_eq!(
        first.time_created.unwrap().to_string(),
        "2017-07-12T17:16:28.2141616Z"
    );
    assert_eq!(first.data_value("Param2"), Some("15063"));
}

#[test]
fn bad_chunk_magic_skips_the_chunks_and_keeps_the_rest() {
    let (report, events) = read("sample_with_a_bad_chunk_magic.evtx", BAD_CHUNK_MAGIC);
    assert_eq!(events.len(), 301);
    let bad: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::BadChunkSignature)
        .collect();
    assert_eq!(bad.len(), 2, "{:#?}", report.issues);
    assert!(bad.iter().all(|i| i.message.contains("ElfChnk")));
    let evtx = report.evtx.unwrap();
    assert_eq!(evtx.chunks_skipped, 2);
    assert!(report.has_issue(IssueKind::ChunkChecksum));
    assert!(report.has_issue(IssueKind::BadRecord));
    assert!(report.errors >= 3);
    // Record 46741's template values are gone: kept (evtx_dump counts it), and flagged.
    let hollow = events.iter().find(|e| e.record_id == Some(46741)).unwrap();
    assert_eq!((hollow.provider.as_str(), hollow.event_id), ("", 0));
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::IncompleteEvent && i.message.contains("46741"))
    );
}

#[test]
fn no_crc32_chunks_are_read_and_reported() {
    let (report, events) = read("Application_no_crc32.evtx", NO_CRC32);
    assert_eq!(events.len(), 17);
    assert!(
        report.has_issue(IssueKind::NoChecksums),
        "{:#?}",
        report.issues
    );
    assert!(!report.has_issue(IssueKind::ChunkChecksum));
}

#[test]
fn bad_string_cache_chunk_is_read_and_flagged() {
    let (report, events) = read("security_bad_string_cache.evtx", BAD_STRING_CACHE);
    let (_, clean) = read("security.evtx", SECURITY);
    assert_eq!(events.len(), clean.len());
    let flagged: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::ChunkChecksum)
        .collect();
    assert_eq!(flagged.len(), 1, "{:#?}", report.issues);
    assert!(flagged[0].message.contains("chunk 0"));
    assert_eq!(report.evtx.unwrap().chunks_checksum_mismatch, 1);
}

#[test]
fn dirty_header_is_reported_and_every_chunk_read() {
    // system.evtx's header says 3 chunks; 15 hold records.
    let (report, events) = read("system.evtx", SYSTEM);
    let evtx = report.evtx.unwrap();
    assert!(evtx.header_dirty);
    assert_eq!(evtx.header_chunk_count, 3);
    assert!(evtx.chunks_read > 3);
    assert!(report.has_issue(IssueKind::DirtyHeader));
    assert_eq!(events.len(), 1881);
}

#[test]
fn seekable_reader_gives_the_same_events_and_hash() {
    let (by_bytes, events) = read("system.evtx", SYSTEM);
    let mut seen = Vec::new();
    let report = read_seekable(
        "system.evtx",
        std::io::Cursor::new(SYSTEM),
        SYSTEM.len() as u64,
        &mut seen,
        &mut |_| ControlFlow::Continue(()),
    );
    assert_eq!(seen, events);
    assert_eq!(report.sha256, by_bytes.sha256);
    assert_eq!(report.events, by_bytes.events);
}

#[test]
fn progress_reaches_the_total_and_cancel_stops_early() {
    let mut last = Progress {
        bytes_done: 0,
        bytes_total: 0,
        events: 0,
    };
    let mut calls = 0;
    let mut events = Vec::new();
    read_bytes("system.evtx", SYSTEM, &mut events, &mut |p| {
        assert!(p.bytes_done >= last.bytes_done);
        last = p;
        calls += 1;
        ControlFlow::Continue(())
    });
    assert_eq!(last.bytes_done, SYSTEM.len() as u64);
    assert_eq!(last.events, 1881);
    assert!(calls > 10);

    let mut events = Vec::new();
    let report = read_bytes("system.evtx", SYSTEM, &mut events, &mut |p| {
        if p.events > 200 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert!(report.cancelled);
    assert!(report.sha256.is_empty());
    assert!(events.len() < 1881 && events.len() > 200);
    assert!(report.has_issue(IssueKind::Cancelled));
}

#[test]
fn truncated_file_keeps_records_of_the_cut_chunk() {
    let cut = SYSTEM.get(..4096 + 65536 + 30000).unwrap();
    let (report, events) = read("cut.evtx", cut);
    assert!(report.truncated);
    assert!(report.has_issue(IssueKind::Truncated));
    // Chunk 0 whole, and the records lying in the first 30000 bytes of chunk 1.
    let chunk0 = events
        .iter()
        .filter(|e| {
            matches!(
                e.origin.location,
                analyzer::Location::Record { chunk: 0, .. }
            )
        })
        .count();
    let chunk1 = events.len() - chunk0;
    assert!(
        chunk0 > 100 && chunk1 > 10,
        "{chunk0} {chunk1}: {:#?}",
        report.issues
    );
}

/// A file cut inside a chunk: the chunk is read up to zeros, and its last record, cut
/// short, holds no time (a FILETIME of zero). Its event is undated, not of 1601: the span
/// the events cover starts with the file's real first event (helper P's probe, F13).
#[test]
fn a_record_cut_short_is_undated_not_of_1601() {
    let sample = include_bytes!("../../static/samples/rdp-cert-keys.evtx");
    let cut = sample.get(..sample.len() / 2 + 12345).unwrap();
    let (report, events) = read("cut.evtx", cut);
    assert!(report.has_issue(IssueKind::Truncated));
    let year = |e: &Event| {
        e.time_created
            .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).year())
    };
    let oldest = events.iter().filter_map(year).min().unwrap();
    assert!(oldest >= 2020, "{oldest}");
    // The record cut short is still there, without a time.
    assert!(events.iter().any(|e| e.time_created.is_none()));
}

#[test]
fn file_without_its_header_is_still_read() {
    let headless = SYSTEM.get(4096..).unwrap();
    let (report, events) = read("headless.evtx", headless);
    assert_eq!(report.format, Some(Format::Evtx));
    assert!(report.has_issue(IssueKind::BadHeader));
    assert_eq!(events.len(), 1881);
}

#[test]
fn zeroed_header_is_still_recognised_by_its_first_chunk() {
    let mut bytes = SYSTEM.to_vec();
    bytes.get_mut(..4096).unwrap().fill(0);
    let (report, events) = read("zeroed.evtx", &bytes);
    assert_eq!(report.format, Some(Format::Evtx));
    assert!(report.has_issue(IssueKind::BadHeader));
    assert_eq!(events.len(), 1881);
}

/// The pinned counts above, re-derived from the `evtx` crate itself: every record its
/// parser yields (what `evtx_dump` prints) is an event here, and every error a skip.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn counts_equal_the_evtx_crates_own() {
    for ((name, bytes), (_, events, skipped)) in corpus().into_iter().zip(EXPECTED) {
        let mut parser = evtx::EvtxParser::from_buffer(bytes.to_vec()).unwrap();
        let (mut ok, mut err) = (0usize, 0u64);
        for r in parser.records() {
            match r {
                Ok(_) => ok += 1,
                Err(_) => err += 1,
            }
        }
        assert_eq!(ok, events, "{name}");
        // The crate also yields one error per unreadable chunk; we count chunks apart.
        let (report, _) = read(name, bytes);
        let chunks_skipped = report.evtx.unwrap().chunks_skipped;
        assert_eq!(err, skipped + chunks_skipped, "{name}");
    }
}

/// Two logs joined into one file (`copy /b system.evtx+other.evtx`): the first log's events
/// are all read, and the second log's header, where a chunk belongs, is named for what it
/// is, with what to do (session 11's probe F12).
#[test]
fn logs_joined_into_one_file_are_named_as_such() {
    let records = |events: &[analyzer::Event]| -> Vec<(Option<u64>, u16)> {
        events.iter().map(|e| (e.record_id, e.event_id)).collect()
    };
    let (_, alone) = read("system.evtx", SYSTEM);
    let joined = [SYSTEM, BAD_CHUNK_MAGIC].concat();
    let (report, events) = read("joined.evtx", &joined);
    assert!(events.len() >= alone.len());
    assert!(
        records(&events[..alone.len()]) == records(&alone),
        "the first log's events"
    );
    let header = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::BadChunkSignature)
        .unwrap();
    assert!(
        header
            .message
            .contains("several .evtx files joined into one (copy /b)"),
        "{}",
        header.message
    );
}
