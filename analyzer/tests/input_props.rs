//! Properties of every reader: no input makes one panic or fail as a whole; damage to a real
//! export loses only what it touches; what is written can be read back.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::Event;
use analyzer::input::{InputReport, IssueKind, MAX_ISSUES, no_progress, read_bytes};
use proptest::prelude::*;
use testkit::evtx_writer::{EvtxWriter, event};

fn read(bytes: &[u8]) -> (InputReport, Vec<Event>) {
    let mut events = Vec::new();
    let report = read_bytes("prop", bytes, &mut events, &mut no_progress);
    (report, events)
}

/// What every report must satisfy, whatever the input.
fn check_invariants(report: &InputReport, events: &[Event], bytes: &[u8]) {
    assert_eq!(report.events, events.len() as u64);
    assert_eq!(report.bytes, bytes.len() as u64);
    assert_eq!(report.sha256.len(), 64);
    assert!(report.issues.len() <= MAX_ISSUES);
    let errors = report
        .issues
        .iter()
        .filter(|i| i.severity == analyzer::input::Severity::Error)
        .count() as u64;
    assert!(report.errors >= errors);
    if report.format.is_none() {
        assert!(events.is_empty());
        assert!(report.has_issue(IssueKind::Unrecognised));
    }
    for e in events {
        assert!(e.provider.len() <= 64 * 1024 * 4);
        if let Some(m) = &e.message {
            assert!(m.chars().count() <= analyzer::input::MAX_FIELD_CHARS);
        }
    }
}

const FIXTURES: [&[u8]; 12] = [
    include_bytes!("../../tests/fixtures/inputs/wevtutil-en-2016.txt"),
    include_bytes!("../../tests/fixtures/inputs/wevtutil-zh-laps.txt"),
    include_bytes!("../../tests/fixtures/inputs/eventviewer-en-schannel-36870.txt"),
    include_bytes!("../../tests/fixtures/inputs/eventviewer-de-sharepoint.txt"),
    include_bytes!("../../tests/fixtures/inputs/article-fr-seed.md"),
    include_bytes!("../../tests/fixtures/inputs/xml-wevtutil.xml"),
    include_bytes!("../../tests/fixtures/inputs/xml-rendered.xml"),
    include_bytes!("../../tests/fixtures/inputs/xml-eventviewer-utf16.xml"),
    include_bytes!("../../tests/fixtures/inputs/csv-eventviewer-en.csv"),
    include_bytes!("../../tests/fixtures/inputs/csv-export-typed.csv"),
    include_bytes!("../../tests/fixtures/inputs/formatlist-star.txt"),
    include_bytes!("../../tests/fixtures/inputs/tsv-eventviewer-en.txt"),
];

const SMALL_EVTX: &[u8] = include_bytes!("../../tests/fixtures/corpus/Application_no_crc32.evtx");

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let (report, events) = read(&bytes);
        check_invariants(&report, &events, &bytes);
    }

    #[test]
    fn arbitrary_text_lines_never_panic(lines in prop::collection::vec(
        prop_oneof![
            "\\PC{0,60}",
            "Event\\[[0-9]{1,3}\\]:",
            "  (Log Name|Source|Date|Event ID|Level|Computer|Description): \\PC{0,30}",
            "[A-Za-z]{1,12} *: \\PC{0,30}",
            "\"[^\"]{0,20}\",\"[0-9]{1,6}\",[a-z]{0,5}",
            "<Event xmlns='x'><System><Provider Name='\\PC{0,8}'/><EventID>[0-9]{0,6}</EventID>",
            "</System></Event>",
            "\\*\\*[A-Za-z ]{1,10}:\\*\\* \\PC{0,20} <br />",
        ], 0..60)) {
        let text = lines.join("\n");
        let (report, events) = read(text.as_bytes());
        check_invariants(&report, &events, text.as_bytes());
    }

    #[test]
    fn damaged_real_exports_lose_only_what_the_damage_touches(
        which in 0usize..FIXTURES.len(),
        cut in any::<prop::sample::Index>(),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..8),
    ) {
        let original = FIXTURES[which];
        let mut bytes = original[..cut.index(original.len() + 1).min(original.len())].to_vec();
        for (at, value) in &flips {
            if !bytes.is_empty() {
                let i = at.index(bytes.len());
                bytes[i] = *value;
            }
        }
        let (report, events) = read(&bytes);
        check_invariants(&report, &events, &bytes);
        let (_, whole) = read(original);
        // Damage never creates events: at most as many as the intact export, plus one per
        // flipped byte (a flip can split a block in two).
        prop_assert!(events.len() <= whole.len() + flips.len());
    }

    #[test]
    fn damaged_evtx_never_panics_and_keeps_untouched_records(
        flips in prop::collection::vec((4096usize..SMALL_EVTX.len(), any::<u8>()), 0..16),
        cut in 0usize..SMALL_EVTX.len(),
    ) {
        let mut bytes = SMALL_EVTX.to_vec();
        for (at, v) in &flips {
            bytes[*at] = *v;
        }
        bytes.truncate(cut.max(4096));
        let (report, events) = read(&bytes);
        check_invariants(&report, &events, &bytes);
        prop_assert!(events.len() <= 17 + flips.len());
    }

    #[test]
    fn wevtutil_text_round_trips(events in prop::collection::vec(arb_event(), 1..30)) {
        let text = testkit::samples::wevtutil_text(&events);
        let (report, got) = read(text.as_bytes());
        prop_assert_eq!(report.errors, 0);
        prop_assert_eq!(got.len(), events.len());
        for (g, e) in got.iter().zip(&events) {
            prop_assert_eq!(&g.provider, &e.provider);
            prop_assert_eq!(g.event_id, e.event_id);
            prop_assert_eq!(g.level, e.level);
            prop_assert_eq!(g.time_created, e.time_created);
            prop_assert_eq!(&g.computer, &e.computer);
            prop_assert_eq!(&g.message, &e.message);
        }
    }

    #[test]
    fn evtx_round_trips_through_the_chunk_reader(events in prop::collection::vec(arb_event(), 0..200)) {
        let mut w = EvtxWriter::new();
        w.extend(events);
        let bytes = w.to_bytes().unwrap();
        let (report, got) = read(&bytes);
        prop_assert_eq!(report.errors, 0);
        let want = w.events();
        prop_assert_eq!(got.len(), want.len());
        for (g, e) in got.iter().zip(&want) {
            prop_assert_eq!((&g.provider, g.event_id, g.time_created, &g.data), (&e.provider, e.event_id, e.time_created, &e.data));
        }
    }
}

/// Events as the text renderer can show them: a message of printable lines that do not
/// look like the next block, times at millisecond precision.
fn arb_event() -> impl Strategy<Value = Event> {
    // Not a word text exports use for "no value" (`ND`, `NONE`, `YOK`…): a provider or a
    // computer named so reads back as none, by design.
    let not_placeholder = |c: &String| {
        !matches!(
            c.to_lowercase().as_str(),
            "nd" | "none" | "null" | "yok" | "saknas"
        )
    };
    (
        "[A-Z][A-Za-z-]{2,40}".prop_filter("a placeholder word", not_placeholder),
        any::<u16>(),
        1u8..5,
        0i64..2_000_000_000_000,
        "[A-Z][A-Z0-9-]{1,14}".prop_filter("a placeholder word", not_placeholder),
        prop::option::of("[A-Za-z][A-Za-z ,.()0-9]{0,80}"),
        prop::collection::vec(("[A-Za-z]{1,8}", "[ -~]{0,20}"), 0..4),
    )
        .prop_map(|(provider, id, level, millis, computer, message, data)| {
            let mut b = event(&provider, id)
                .level(level)
                .computer(&computer)
                .time(jiff::Timestamp::from_millisecond(millis).unwrap());
            for (k, v) in data {
                b = b.data(&k, &v);
            }
            let mut e = b.build();
            e.message = message
                .map(|m| m.trim().to_owned())
                .filter(|m| !m.is_empty());
            e
        })
}
