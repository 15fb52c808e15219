//! The fast `.evtx` path gives what the full path gives.
//!
//! Records no rule lists are not rendered: their System fields are read from the template's
//! values ([`analyzer::input::Details`]). Per record, that event must equal the rendered one
//! without its data and message; per input, the report must be the same; per session, the
//! whole `Diagnosis` (findings, evidence, input counts, statistics) must be identical — on
//! the real corpus (damaged files included) and on the seed scenarios buried in ordinary
//! events. Runs natively (threads) and on wasm32 (one thread).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use analyzer::Event;
use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::input::{Details, EventSink, InputReport, no_progress, read_bytes};
use jiff::{SignedDuration, Timestamp};

macro_rules! corpus {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/fixtures/corpus/", $name)).as_slice(),
        )
    };
}

const CORPUS: [(&str, &[u8]); 8] = [
    corpus!("system.evtx"),
    corpus!("2-vss_7-System.evtx"),
    corpus!("2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"),
    corpus!("2-vss_0-Microsoft-Windows-RemoteDesktopServices-RdpCoreTS%4Operational.evtx"),
    corpus!("security.evtx"),
    corpus!("sample_with_a_bad_chunk_magic.evtx"),
    corpus!("Application_no_crc32.evtx"),
    corpus!("security_bad_string_cache.evtx"),
];

/// Collects events and asks for the given details.
struct Sink {
    details: Details,
    events: Vec<Event>,
}

impl EventSink for Sink {
    fn event(&mut self, event: Event) {
        self.events.push(event);
    }

    fn details(&self) -> Details {
        self.details.clone()
    }
}

fn read(name: &str, bytes: &[u8], details: Details) -> (InputReport, Vec<Event>) {
    let mut sink = Sink {
        details,
        events: Vec::new(),
    };
    let report = read_bytes(name, bytes, &mut sink, &mut no_progress);
    (report, sink.events)
}

/// Every record read without rendering equals its rendered self minus data and message.
fn assert_light_equals_full(name: &str, bytes: &[u8]) -> usize {
    let (full_report, full) = read(name, bytes, Details::All);
    let (light_report, light) = read(name, bytes, Details::Only(Default::default()));
    assert_eq!(light_report, full_report, "{name}: report");
    assert_eq!(light.len(), full.len(), "{name}: events");
    // Records that carry event data but arrived without it: read from System fields alone.
    let mut lightened = 0;
    for (l, f) in light.iter().zip(&full) {
        let mut expected = f.clone();
        if l.data.is_empty() && l.message.is_none() {
            lightened += usize::from(!f.data.is_empty());
            expected.data.clear();
            expected.message = None;
        }
        assert_eq!(*l, expected, "{name}: record {:?}", f.record_id);
    }
    lightened
}

#[test]
fn every_corpus_record_read_without_rendering_equals_the_rendered_one() {
    for (name, bytes) in CORPUS {
        let lightened = assert_light_equals_full(name, bytes);
        eprintln!("{name}: {lightened} records read from their System fields alone");
    }
    // The big real logs are nearly all templated: the fast path must actually be taken.
    let (_, system) = CORPUS[0];
    assert!(assert_light_equals_full("system.evtx", system) > 1500);
}

#[test]
fn the_page_samples_and_plain_binxml_read_the_same_both_ways() {
    for sample in testkit::samples::all() {
        let bytes = testkit::samples::evtx(&sample).unwrap();
        assert_light_equals_full(sample.name, &bytes);
    }
    // Records written as plain BinXML (no template) always take the full path.
    let events = testkit::samples::healthy().events;
    let plain = testkit::EvtxWriter::new()
        .plain()
        .extend(events.iter().take(300).cloned())
        .to_bytes()
        .unwrap();
    assert_eq!(assert_light_equals_full("plain.evtx", &plain), 0);
}

fn diagnose(
    inputs: &[(&str, &[u8])],
    whole: bool,
    now: Option<Timestamp>,
) -> analyzer::diagnose::Diagnosis {
    let mut session = Session::new();
    if whole {
        session = session.read_every_record_whole();
    }
    for (name, bytes) in inputs {
        session.add_bytes(name, bytes, &mut no_progress);
    }
    session.finish(&DiagnoseOptions { now })
}

#[test]
fn the_diagnosis_of_the_corpus_is_the_same_both_ways() {
    for input in CORPUS {
        let fast = diagnose(&[input], false, None);
        let whole = diagnose(&[input], true, None);
        assert_eq!(fast, whole, "{}", input.0);
    }
    let fast = diagnose(&CORPUS, false, None);
    assert_eq!(fast, diagnose(&CORPUS, true, None));
    assert_eq!(
        fast.inputs.iter().map(|i| i.events).sum::<u64>(),
        fast.events
    );
}

#[test]
fn buried_seed_scenarios_are_diagnosed_the_same_both_ways() {
    let samples = testkit::samples::all();
    for sample in &samples {
        let bytes = testkit::samples::evtx(sample).unwrap();
        let fast = diagnose(&[(sample.name, &bytes)], false, None);
        let whole = diagnose(&[(sample.name, &bytes)], true, None);
        assert_eq!(fast, whole, "{}", sample.name);
        assert_eq!(
            fast.findings.first().map(|f| f.id.as_str()),
            sample.expected,
            "{}",
            sample.name
        );
        assert!(!fast.findings.iter().all(|f| f.evidence.is_empty()) || sample.expected.is_none());
    }
    // Scenario 1 buried in 20,000 ordinary events (many chunks: several threads natively),
    // next to a real System log, judged at a given "now".
    let end: Timestamp = "2024-05-14T09:30:00Z".parse().unwrap();
    let needles = testkit::seed::scenario1("VM01", end - SignedDuration::from_hours(3));
    let events = testkit::bury(&needles, 20_000, 7, end, SignedDuration::from_secs(9));
    let buried = testkit::EvtxWriter::new()
        .extend(events)
        .to_bytes()
        .unwrap();
    let inputs = [("buried.evtx", buried.as_slice()), CORPUS[0]];
    let fast = diagnose(&inputs, false, Some(end));
    assert_eq!(fast, diagnose(&inputs, true, Some(end)));
    assert!(!fast.findings.is_empty());
}

/// Two "workers" read disjoint chunk ranges; the merge gives what one read gives.
fn read_split(name: &str, bytes: &[u8], split: u64) -> (InputReport, Vec<Event>) {
    use analyzer::input::{ChunkPart, EvtxLayout, EvtxMerge, parse_evtx_chunks};
    use sha2::{Digest, Sha256};
    let mut sink = Sink {
        details: Details::Only([1149u16].into_iter().collect()),
        events: Vec::new(),
    };
    let mut progress = no_progress;
    let head = &bytes[..bytes.len().min(4096)];
    let mut merge = EvtxMerge::new(name, head, bytes.len() as u64, &mut sink, &mut progress);
    let layout: EvtxLayout = merge.layout();
    let details = merge.details();
    let mut parts: Vec<ChunkPart> = Vec::new();
    for range in [0..split, split..layout.chunks] {
        // The first range from the whole file, the second from its own bytes alone (from
        // its first chunk on), as a reader that read only those hands them over.
        let at = if range.start == 0 {
            0
        } else {
            layout.chunk_offset(range.start).min(bytes.len() as u64)
        };
        parse_evtx_chunks(
            &bytes[at as usize..],
            at,
            &layout,
            range,
            name,
            &details,
            &mut |p| {
                parts.push(p);
                std::ops::ControlFlow::Continue(())
            },
        );
    }
    for part in parts {
        assert!(merge.push(part).is_continue());
    }
    let (at, n) = layout.tail();
    let tail = &bytes[at as usize..(at + n) as usize];
    let sha = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    let report = merge.finish(tail, Some(sha));
    (report, sink.events)
}

#[test]
fn chunk_ranges_merged_in_order_equal_one_read() {
    let truncated = &CORPUS[0].1[..CORPUS[0].1.len() - 40_000];
    let headerless = &CORPUS[1].1[4096..];
    let mut inputs: Vec<(&str, &[u8])> = CORPUS.to_vec();
    inputs.push(("truncated", truncated));
    inputs.push(("headerless", headerless));
    for (name, bytes) in inputs {
        let whole = read(name, bytes, Details::Only([1149u16].into_iter().collect()));
        for split in [0, 1, 5, 1000] {
            assert_eq!(
                read_split(name, bytes, split),
                whole,
                "{name} split at {split}"
            );
        }
    }
}

/// Chunks before the bytes given are not parsed (nor reported): what the bytes hold is
/// parsed, from where they start.
#[test]
fn chunks_before_the_bytes_given_are_not_parsed() {
    use analyzer::input::{EvtxLayout, parse_evtx_chunks};
    let bytes = CORPUS[0].1;
    let layout = EvtxLayout::new(&bytes[..8], bytes.len() as u64);
    let numbers = |range: std::ops::Range<u64>, at: u64| {
        let mut seen = Vec::new();
        parse_evtx_chunks(
            &bytes[at as usize..],
            at,
            &layout,
            range,
            "system.evtx",
            &Details::All,
            &mut |p| {
                seen.push(p.number());
                std::ops::ControlFlow::Continue(())
            },
        );
        seen
    };
    let at = layout.chunk_offset(2);
    assert_eq!(numbers(1..4, at), Vec::<u64>::new());
    assert_eq!(numbers(2..4, at), vec![2, 3]);
    assert_eq!(numbers(2..4, at + 1), Vec::<u64>::new());
    assert_eq!(numbers(0..2, 0), vec![0, 1]);
}

/// A `.evtx` of failed logons whose account's state rejected them (`rdp-account-state`'s
/// 4625: Status 0xC000006E, SubStatus 0xC0000072, logon type 10), one at each time.
fn account_state_log(times: impl Iterator<Item = Timestamp>) -> Vec<u8> {
    let events: Vec<Event> = times
        .enumerate()
        .map(|(i, time)| {
            testkit::evtx_writer::event("Microsoft-Windows-Security-Auditing", 4625)
                .channel("Security")
                .computer("VM01")
                .time(time)
                .data("LogonType", "10")
                .data("Status", "0xc000006e")
                .data("SubStatus", "0xc0000072")
                .data("IpAddress", &format!("10.0.0.{}", i % 200))
                .build()
        })
        .collect();
    testkit::EvtxWriter::new()
        .extend(events)
        .to_bytes()
        .unwrap()
}

/// 150 failed logons an hour apart (the account's state), judged at a "now" whose 24-hour
/// window lies in the middle of the log: more events than are held, yet the evidence shows
/// the newest in the window and just before it, read whole or not.
#[test]
fn a_window_in_the_middle_of_a_long_log_still_shows_its_events() {
    use analyzer::rules::Age;
    let start: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
    let bytes = account_state_log((0..150).map(|i| start + SignedDuration::from_hours(i)));
    let now = start + SignedDuration::from_hours(83);
    for whole in [false, true] {
        let mut session = Session::new().judging_at(Some(now));
        if whole {
            session = session.read_every_record_whole();
        }
        session.add_bytes("state.evtx", &bytes, &mut no_progress);
        let d = session.finish(&DiagnoseOptions { now: Some(now) });
        let finding = d
            .findings
            .iter()
            .find(|f| f.id == "rdp-account-state")
            .unwrap();
        let ages: Vec<(Age, Timestamp)> = finding
            .evidence
            .iter()
            .map(|e| (e.age, e.time.unwrap()))
            .collect();
        let hour = |h: i64| start + SignedDuration::from_hours(h);
        let in_window: Vec<Timestamp> = (79..=83).rev().map(hour).collect();
        assert_eq!(
            ages.iter()
                .filter(|(a, _)| *a == Age::InWindow)
                .map(|(_, t)| *t)
                .collect::<Vec<_>>(),
            in_window,
            "{ages:?}"
        );
        // Just before the window: the newest older ones (hours 58 and 57), not the oldest.
        assert_eq!(
            ages.iter()
                .filter(|(a, _)| *a == Age::Older)
                .map(|(_, t)| *t)
                .collect::<Vec<_>>(),
            [hour(58), hour(57)],
            "{ages:?}"
        );
        // The "now" said before the inputs is the one judged at when `finish` is given none.
        assert_eq!(session.finish(&DiagnoseOptions::default()), d);
    }
}

/// Positional event data, read whole or with only what the rules read, diagnosed the same:
/// a Windows Server 2008 R2 7040 (`param1`…`param3`, no `param4`) beside a 7034 of
/// TermService, a 7022 whose items mix a positional name and another (its ID's rules
/// read positional names, so it is read whole: cut to `param2`, it would look positional),
/// and a 4625 with unnamed data (all positional: read whole, a check looks through all).
#[test]
fn positional_event_data_is_diagnosed_the_same_both_ways() {
    let now: Timestamp = "2024-05-14T09:30:00Z".parse().unwrap();
    let at = now - SignedDuration::from_hours(1);
    let scm = |id| {
        testkit::evtx_writer::event("Service Control Manager", id)
            .channel("System")
            .computer("VM01")
            .time(at)
            .level(2)
    };
    let old_7040 = [
        scm(7034)
            .data("param1", "Remote Desktop Services")
            .data("param2", "1")
            .build(),
        scm(7040)
            .data("param1", "Remote Desktop Services")
            .data("param2", "demand start")
            .data("param3", "disabled")
            .build(),
    ];
    let mixed_7022 = [scm(7022)
        .data("param2", "TermService")
        .data("Reason", "x")
        .build()];
    // Unnamed data (positional names) where the rules read a named item: read whole.
    let unnamed_4625: Vec<Event> = (0..70)
        .map(|i| {
            testkit::evtx_writer::event("Microsoft-Windows-Security-Auditing", 4625)
                .channel("Security")
                .computer("VM01")
                .time(at + SignedDuration::from_secs(3 * i))
                .data("Param1", "0xC000006D")
                .data("Param2", "10")
                .build()
        })
        .collect();
    for (name, events) in [
        ("7040.evtx", &old_7040[..]),
        ("7022.evtx", &mixed_7022[..]),
        ("4625.evtx", &unnamed_4625[..]),
    ] {
        let bytes = testkit::EvtxWriter::new()
            .extend(events.iter().cloned())
            .to_bytes()
            .unwrap();
        let fast = diagnose(&[(name, &bytes)], false, Some(now));
        let whole = diagnose(&[(name, &bytes)], true, Some(now));
        assert_eq!(fast, whole, "{name}");
        if name == "7040.evtx" {
            assert!(
                whole
                    .findings
                    .iter()
                    .flat_map(|f| &f.evidence)
                    .any(|e| e.event_id == 7040),
                "{:#?}",
                whole.findings
            );
        }
    }
}

/// What the collector asks of a `.evtx` reader survives the trip to a page's parsing helper
/// (JSON): the IDs it lists, and per ID the items it reads.
#[test]
fn what_the_collector_asks_goes_to_a_helper_as_it_is() {
    let mut sink = Session::new();
    let details = sink.input_sink().details();
    let Details::Checked(checked) = &details else {
        panic!("{details:?}")
    };
    let failed_logon = ["Status", "SubStatus", "LogonType"].map(String::from);
    assert_eq!(
        checked.reads.get(&4625).map(Vec::as_slice),
        Some(failed_logon.as_slice()),
        "{checked:?}"
    );
    let json = serde_json::to_string(&details).unwrap();
    assert_eq!(serde_json::from_str::<Details>(&json).unwrap(), details);
}

/// Without a given "now" (the window ends at the newest event), a long log's evidence from
/// before the window is from just before it — each hour's newest events are kept for the
/// window and two hours more — not from the log's first hour.
#[test]
fn without_a_given_now_the_older_evidence_is_from_just_before_the_window() {
    use analyzer::rules::Age;
    let start: Timestamp = "2024-05-01T00:00:00Z".parse().unwrap();
    let bytes = account_state_log((0..200).map(|i| start + SignedDuration::from_mins(20 * i)));
    let newest = start + SignedDuration::from_mins(20 * 199);
    let window_start = newest - SignedDuration::from_hours(24);
    for whole in [false, true] {
        let d = diagnose(&[("state.evtx", &bytes)], whole, None);
        let finding = d
            .findings
            .iter()
            .find(|f| f.id == "rdp-account-state")
            .unwrap();
        let older: Vec<Timestamp> = finding
            .evidence
            .iter()
            .filter(|e| e.age == Age::Older)
            .map(|e| e.time.unwrap())
            .collect();
        assert_eq!(older.len(), 2, "{:?}", finding.evidence);
        for t in older {
            assert!(
                t < window_start && t >= window_start - SignedDuration::from_hours(1),
                "{t} against a window from {window_start}"
            );
        }
    }
}

/// The reader's CRC-32 is zlib's (`crc32fast`) on every length and start, including the
/// path wasm32 takes for long inputs, across the table's and that path's boundary and on a
/// chunk's records region (65,024 bytes).
#[test]
fn the_chunk_crc_is_the_standard_crc32() {
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let data: Vec<u8> = (0..66_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[3]
        })
        .collect();
    let lengths = (0..400).chain([511, 512, 4096, 65_017, 65_023, 65_024]);
    for len in lengths {
        for start in [0, 3] {
            let part = &data[start..start + len];
            for crc in [0, 0x1234_5678] {
                let mut table = crc32fast::Hasher::new_with_initial(crc);
                table.update(part);
                assert_eq!(
                    analyzer::input::chunk_crc32(crc, part),
                    table.finalize(),
                    "{len} bytes from {start}"
                );
            }
        }
    }
    // A real chunk's records carry their CRC: the corpus's first chunk.
    let (_, file) = CORPUS[0];
    let chunk = &file[4096..4096 + 65_536];
    let free = u32::from_le_bytes(chunk[48..52].try_into().unwrap()) as usize;
    let stored = u32::from_le_bytes(chunk[52..56].try_into().unwrap());
    assert_eq!(analyzer::input::chunk_crc32(0, &chunk[512..free]), stored);
}
