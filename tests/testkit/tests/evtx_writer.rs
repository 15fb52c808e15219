//! The writer's output is a valid `.evtx`: the `evtx` crate reads back exactly the events
//! written (fields, data, CRCs), and so does the analyzer.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::Event;
use analyzer::input::{IssueKind, no_progress, read_bytes};
use evtx::{EvtxParser, ParserSettings};
use jiff::{SignedDuration, Timestamp};
use testkit::event;
use testkit::evtx_writer::{DataLayout, DataType, EvtxWriter, Record, bury, filler_events};

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn seed_like() -> Vec<Event> {
    vec![
        event(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            1058,
        )
        .qualifiers(49152)
        .level(2)
        .time(t("2018-11-01T10:00:00Z"))
        .computer("vm1")
        .params(&["0x80070005"])
        .build(),
        event("Schannel", 36870)
            .level(2)
            .time(t("2018-11-01T10:00:01.1234567Z"))
            .computer("vm1")
            .user_sid("S-1-5-18")
            .data("Type", "server")
            .data("ErrorCode", "0x8009030d")
            .data("ErrorStatus", "10001")
            .build(),
    ]
}

fn xml_records(bytes: &[u8], checksums: bool) -> Vec<String> {
    let settings = ParserSettings::new()
        .validate_checksums(checksums)
        .indent(false);
    let mut parser = EvtxParser::from_buffer(bytes.to_vec())
        .unwrap()
        .with_configuration(settings);
    assert!(parser.header().validate_checksum());
    parser
        .records()
        .map(|r| r.expect("every record reads back").data)
        .collect()
}

fn analyzer_events(bytes: &[u8]) -> (analyzer::input::InputReport, Vec<Event>) {
    let mut events = Vec::new();
    let report = read_bytes("written.evtx", bytes, &mut events, &mut no_progress);
    (report, events)
}

/// The fields the writer promises to keep, for comparison.
#[allow(clippy::type_complexity)]
fn essence(
    e: &Event,
) -> (
    String,
    u16,
    Option<u16>,
    Option<analyzer::Level>,
    Option<Timestamp>,
    Option<u64>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
) {
    (
        e.provider.clone(),
        e.event_id,
        e.qualifiers,
        e.level,
        e.time_created,
        e.record_id,
        e.channel.clone(),
        e.computer.clone(),
        e.user_sid.clone(),
        e.data.clone(),
    )
}

#[test]
fn evtx_crate_reads_back_templated_records_with_valid_checksums() {
    let mut w = EvtxWriter::new();
    w.extend(seed_like());
    let bytes = w.to_bytes().unwrap();
    let xml = xml_records(&bytes, true);
    assert_eq!(xml.len(), 2);
    assert!(
        xml[0].contains(r#"<EventID Qualifiers="49152">1058</EventID>"#),
        "{}",
        xml[0]
    );
    assert!(xml[0].contains("<Data>0x80070005</Data>"), "{}", xml[0]);
    assert!(
        xml[1].contains(r#"<Data Name="ErrorStatus">10001</Data>"#),
        "{}",
        xml[1]
    );
    assert!(
        xml[1].contains(r#"<Security UserID="S-1-5-18""#),
        "{}",
        xml[1]
    );
    assert!(
        xml[1].contains(r#"SystemTime="2018-11-01T10:00:01.1234567Z""#),
        "{}",
        xml[1]
    );
}

#[test]
fn analyzer_reads_back_exactly_what_was_written() {
    for plain in [false, true] {
        let mut w = EvtxWriter::new();
        if plain {
            w.plain();
        }
        w.extend(seed_like());
        let bytes = w.to_bytes().unwrap();
        let (report, got) = analyzer_events(&bytes);
        assert_eq!(report.errors, 0, "{:#?}", report.issues);
        assert!(report.issues.is_empty(), "{:#?}", report.issues);
        let want: Vec<_> = w.events().iter().map(essence).collect();
        let got: Vec<_> = got.iter().map(essence).collect();
        assert_eq!(got, want, "plain={plain}");
    }
}

#[test]
fn user_data_layout_is_written_under_its_element() {
    let mut w = EvtxWriter::new();
    w.push(Record {
        event: event(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            1149,
        )
        .channel("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational")
        .data("Param1", "alice")
        .data("Param2", "CONTOSO")
        .data("Param3", "10.0.0.4")
        .build(),
        layout: DataLayout::UserData {
            element: "EventXML".to_owned(),
        },
    });
    let bytes = w.to_bytes().unwrap();
    let xml = xml_records(&bytes, true);
    assert!(
        xml[0].contains(r#"<UserData><EventXML xmlns="Event_NS"><Param1>alice</Param1>"#),
        "{}",
        xml[0]
    );
    let (_, got) = analyzer_events(&bytes);
    assert_eq!(got[0].data_value("Param3"), Some("10.0.0.4"));
}

#[test]
fn typed_values_are_stored_as_their_types_and_read_back_as_written() {
    let mut w = EvtxWriter::new();
    let types = [
        DataType::Sid,
        DataType::Hex64,
        DataType::Hex32,
        DataType::U32,
        DataType::Guid,
        DataType::Str,
        DataType::Hex32,
    ];
    w.push(Record {
        event: event("Microsoft-Windows-Security-Auditing", 4625)
            .channel("Security")
            .data("SubjectUserSid", "S-1-5-18")
            .data("SubjectLogonId", "0x3e7")
            .data("Status", "0xc000006d")
            .data("LogonType", "10")
            .data("LogonGuid", "{54849625-5478-4994-a5ba-3e3b0328c30d}")
            .data("IpAddress", "203.0.113.7")
            // Not hex: stored as text.
            .data("SubStatus", "n/a")
            .build(),
        layout: DataLayout::Typed(types.to_vec()),
    });
    let bytes = w.to_bytes().unwrap();
    let xml = xml_records(&bytes, true);
    assert!(
        xml[0].contains(r#"<Data Name="Status">0xc000006d</Data>"#),
        "{}",
        xml[0]
    );
    // The value types in the template instance: SID, HexInt64, HexInt32, UInt32, GUID.
    let mut found = Vec::new();
    for (ty, len) in [(0x13u8, 12u16), (0x15, 8), (0x14, 4), (0x08, 4), (0x0f, 16)] {
        let descriptor = [len.to_le_bytes()[0], len.to_le_bytes()[1], ty, 0];
        found.push(bytes.windows(4).any(|w| w == descriptor));
    }
    assert_eq!(found, [true; 5], "typed substitution descriptors");
    let (report, got) = analyzer_events(&bytes);
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
    assert_eq!(got[0].data, w.events()[0].data);
}

#[test]
fn thousands_of_events_span_many_chunks() {
    let needles = seed_like();
    let events = bury(
        &needles,
        5000,
        7,
        t("2018-11-01T12:00:00Z"),
        SignedDuration::from_secs(5),
    );
    assert_eq!(events.len(), 5002);
    let mut w = EvtxWriter::new();
    w.extend(events.clone());
    let bytes = w.to_bytes().unwrap();
    let chunks = (bytes.len() - 4096) / 65536;
    assert!(chunks > 5, "{chunks} chunks");
    assert_eq!((bytes.len() - 4096) % 65536, 0);
    assert_eq!(xml_records(&bytes, true).len(), 5002);
    let (report, got) = analyzer_events(&bytes);
    assert_eq!(report.events, 5002);
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
    assert_eq!(report.evtx.unwrap().chunks_read as usize, chunks);
    // The needles are there, once each, with their data, in time order with the rest.
    for n in &needles {
        let found: Vec<_> = got
            .iter()
            .filter(|e| e.provider == n.provider && e.event_id == n.event_id && e.data == n.data)
            .collect();
        assert_eq!(found.len(), 1, "{} {}", n.provider, n.event_id);
        assert_eq!(found[0].time_created, n.time_created);
    }
    assert!(
        got.windows(2)
            .all(|w| w[0].time_created <= w[1].time_created)
    );
    assert!(got.windows(2).all(|w| w[0].record_id < w[1].record_id));
}

#[test]
fn filler_is_real_and_deterministic() {
    let a = filler_events(1, 200);
    let b = filler_events(1, 200);
    let c = filler_events(2, 200);
    assert_eq!(a, b);
    assert_ne!(a, c);
    let providers: std::collections::BTreeSet<_> = a.iter().map(|e| e.provider.as_str()).collect();
    assert!(providers.len() > 5, "{providers:?}");
    assert!(a.iter().all(|e| !e.provider.is_empty()));
}

#[test]
fn dirty_flag_is_reported_by_the_analyzer() {
    let mut w = EvtxWriter::new();
    w.dirty().extend(seed_like());
    let (report, _) = analyzer_events(&w.to_bytes().unwrap());
    assert!(report.has_issue(IssueKind::DirtyHeader));
    assert!(report.evtx.unwrap().header_dirty);
}

#[test]
fn an_event_too_large_for_a_chunk_is_an_error() {
    let huge = "x".repeat(40_000);
    let mut w = EvtxWriter::new();
    w.push(event("Big", 1).data("a", &huge).data("b", &huge).build());
    let err = w.to_bytes().unwrap_err();
    assert!(err.to_string().contains("64 KiB chunk"), "{err}");
}

#[test]
fn empty_writer_makes_a_valid_empty_log() {
    let bytes = EvtxWriter::new().to_bytes().unwrap();
    assert_eq!(xml_records(&bytes, true).len(), 0);
    let (report, got) = analyzer_events(&bytes);
    assert!(got.is_empty());
    assert_eq!(report.errors, 0);
}

mod props {
    use super::*;
    use proptest::prelude::*;

    fn arb_event() -> impl Strategy<Value = Event> {
        (
            prop::sample::select(vec![
                "Schannel",
                "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
                "Service Control Manager",
                "Ünïcödé-Provider",
            ]),
            any::<u16>(),
            prop::option::of(any::<u16>()),
            0u8..6,
            0i64..2_000_000_000,
            prop::collection::vec(("[A-Za-z][A-Za-z0-9]{0,12}", "\\PC{0,40}"), 0..6),
            prop::option::of("S-1-5-(18|19|20|21-[1-9][0-9]{0,8}-[1-9][0-9]{0,8})"),
        )
            .prop_map(|(provider, id, q, level, secs, data, sid)| {
                let mut b = event(provider, id)
                    .level(level)
                    .time(Timestamp::from_second(secs).unwrap());
                if let Some(q) = q {
                    b = b.qualifiers(q);
                }
                if let Some(sid) = sid {
                    b = b.user_sid(&sid);
                }
                for (k, v) in data {
                    b = b.data(&k, &v);
                }
                b.build()
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn any_events_round_trip(events in prop::collection::vec(arb_event(), 0..40), plain in any::<bool>()) {
            let mut w = EvtxWriter::new();
            if plain { w.plain(); }
            w.extend(events);
            let bytes = w.to_bytes().unwrap();
            prop_assert_eq!(xml_records(&bytes, true).len(), w.events().len());
            let (report, got) = analyzer_events(&bytes);
            prop_assert_eq!(report.errors, 0);
            let want: Vec<_> = w.events().iter().map(essence).collect();
            let got: Vec<_> = got.iter().map(essence).collect();
            prop_assert_eq!(got, want);
        }
    }
}

#[test]
fn seed_scenarios_buried_in_a_log_are_found_once_each() {
    let at = t("2018-11-01T10:00:00Z");
    let mut needles = testkit::seed::scenario1("vm1", at);
    needles.extend(testkit::seed::scenario2("vm1", at));
    needles.extend(testkit::seed::scenario3("vm1", at));
    let events = bury(
        &needles,
        3000,
        42,
        t("2018-11-01T12:00:00Z"),
        SignedDuration::from_secs(3),
    );
    let mut w = EvtxWriter::new();
    w.extend(events);
    let (_, got) = analyzer_events(&w.to_bytes().unwrap());
    for n in &needles {
        let hits = got
            .iter()
            .filter(|e| {
                e.provider == n.provider
                    && e.event_id == n.event_id
                    && e.time_created == n.time_created
            })
            .count();
        assert_eq!(hits, 1, "{} {}", n.provider, n.event_id);
    }
    let e2056 = got
        .iter()
        .find(|e| e.event_id == 2056 && e.provider.ends_with("SessionBroker"))
        .unwrap();
    assert_eq!(
        e2056.data_value("Param3"),
        Some("Logon to the database failed.")
    );
    assert_eq!(e2056.user_sid.as_deref(), Some("S-1-5-20"));
}

/// Real records keep their ids; events written among them without one get ids no other
/// record has. (Numbering them from the record before them gave the id of the next real
/// record, and the `evtx` crate then stopped reading that chunk at the shared id.)
#[test]
fn new_events_mixed_into_real_records_get_ids_of_their_own() {
    let mut real = Vec::new();
    read_bytes(
        "system.evtx",
        include_bytes!("../../fixtures/corpus/system.evtx"),
        &mut real,
        &mut no_progress,
    );
    real.retain(|e| !e.provider.is_empty());
    real.truncate(300);
    assert!(real.iter().all(|e| e.record_id.is_some()));
    let mut mixed = Vec::new();
    for (i, e) in real.iter().enumerate() {
        mixed.push(e.clone());
        if i % 10 == 0 {
            mixed.push(event("Schannel", 36871).level(2).build());
        }
    }
    let mut w = EvtxWriter::new();
    w.extend(mixed.clone());
    let written = w.events();
    let bytes = w.to_bytes().unwrap();
    let (report, got) = analyzer_events(&bytes);
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(got.len(), mixed.len(), "records were lost on reading back");
    let ids: Vec<u64> = got.iter().map(|e| e.record_id.unwrap()).collect();
    let unique: std::collections::BTreeSet<u64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert_eq!(
        ids,
        written
            .iter()
            .map(|e| e.record_id.unwrap())
            .collect::<Vec<_>>(),
        "what events() promises is what is read back"
    );
    for e in &real {
        assert!(unique.contains(&e.record_id.unwrap()), "{:?}", e.record_id);
    }
    assert_eq!(xml_records(&bytes, true).len(), mixed.len());
}

#[test]
fn two_events_given_one_record_id_are_an_error() {
    let mut w = EvtxWriter::new();
    w.push(event("Schannel", 36871).record_id(7).build())
        .push(event("Schannel", 36870).record_id(7).build());
    let err = w.to_bytes().unwrap_err();
    assert!(err.to_string().contains("record id 7"), "{err}");
}
