//! Structured exports (tests/fixtures/inputs): PowerShell's tables, wevtutil and Event
//! Viewer XML, Event Viewer CSV and tab-delimited text, PowerShell's Format-List, and what
//! is not an export at all. Runs natively and on wasm32.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[macro_use]
mod text_common;

use analyzer::input::{Dialect, Format, IssueKind, IssueLocation, Severity, TextEncoding};
use analyzer::{Event, Level};
use text_common::*;

// ---- Tables -------------------------------------------------------------------------------

fn line_of(e: &Event) -> u32 {
    match e.origin.location {
        analyzer::Location::Line { line } => line,
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_default_table_of_a_system_log_is_read_row_by_row() {
    let (report, events) = read("system.txt", fixture!("table-getwinevent-system.txt"));
    assert_eq!(report.format, Some(Format::Table));
    assert_eq!(report.dialect, Some(Dialect::FormatTable));
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    let scm = "Service Control Manager";
    let expected = [
        (scm, 7036, "2026-12-07T03:14:15Z", Level::Information, 8),
        ("Schannel", 36871, "2026-12-07T03:11:15Z", Level::Error, 14),
        ("Schannel", 36871, "2026-12-07T03:10:15Z", Level::Error, 15),
        (RCM, 1058, "2026-12-07T03:09:15Z", Level::Error, 21),
        (RCM, 1057, "2026-12-07T03:09:14Z", Level::Error, 22),
        (scm, 7040, "2026-12-07T03:05:02Z", Level::Information, 28),
        (
            "Microsoft-Windows-Kernel-General",
            16,
            "2026-12-07T03:00:00Z",
            Level::Information,
            34,
        ),
        (
            "EventLog",
            6013,
            "2026-12-07T02:00:01Z",
            Level::Information,
            40,
        ),
    ];
    let got: Vec<_> = events
        .iter()
        .map(|e| {
            (
                e.provider.as_str(),
                e.event_id,
                time(e),
                e.level.unwrap(),
                line_of(e),
            )
        })
        .collect();
    let expected: Vec<_> = expected
        .iter()
        .map(|(p, id, t, l, n)| (*p, *id, (*t).to_owned(), *l, *n))
        .collect();
    assert_eq!(got, expected);
    assert!(events.iter().all(|e| e.time_is_local));
    // Cut at the width: the message's start, and a note saying so.
    assert_eq!(
        events[1].message.as_deref(),
        Some("A fatal error occurred while creating a TLS server credential. ...")
    );
    assert_eq!(
        events[0].message.as_deref(),
        Some("The Windows Modules Installer service entered the running state.")
    );
    assert!(
        report.issues.iter().any(|i| i.severity == Severity::Info
            && i.message.starts_with("6 messages show only their start")),
        "{:?}",
        report.issues
    );
}

#[test]
fn the_published_examples_read_with_their_groups() {
    let (report, events) = read("docs.txt", fixture!("table-getwinevent-docs.txt"));
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    let ids: Vec<(&str, u16)> = ids(&events);
    let ps = "PowerShell";
    let core = "PowerShellCore";
    assert_eq!(
        ids,
        [
            (ps, 403),
            (ps, 400),
            (ps, 600),
            (ps, 600),
            (ps, 600),
            (core, 4104),
            (core, 40962),
            (core, 4104),
            (core, 40961),
            (core, 8197),
            (core, 8195)
        ]
    );
    assert_eq!(time(&events[5]), "2019-03-15T09:54:54Z");
    assert_eq!(events[9].level, Some(Level::Verbose));
    assert_eq!(
        events[6].message.as_deref(),
        Some("PowerShell console is ready for user input")
    );
}

// ---- XML ---------------------------------------------------------------------------------

#[test]
fn reads_wevtutil_xml_without_a_root() {
    let (report, events) = read("x.xml", fixture!("xml-wevtutil.xml"));
    assert_eq!(report.dialect, Some(Dialect::WevtutilXml));
    assert_eq!(
        ids(&events),
        [("EventLog", 6009), ("EventLog", 6005), (RCM, 1149)]
    );
    assert_eq!(events[0].qualifiers, Some(32768));
    assert_eq!(events[0].data_value("Param2"), Some("15063"));
    assert_eq!(events[2].data_value("Param1"), Some("mpowers"));
    assert_eq!(events[2].data_value("Param3"), Some("174.127.93.2"));
    assert_eq!(events[2].user_sid.as_deref(), Some("S-1-5-20"));
}

#[test]
fn reads_rendered_xml_message_as_display_text() {
    let (report, events) = read("r.xml", fixture!("xml-rendered.xml"));
    assert_eq!(report.dialect, Some(Dialect::RenderedXml));
    assert_eq!(
        ids(&events),
        [
            ("Service Control Manager", 7036),
            ("Microsoft-Windows-Security-Auditing", 4689)
        ]
    );
    assert_eq!(events[0].qualifiers, Some(16384));
    assert_eq!(
        events[0].data_value("param1"),
        Some("AppX Deployment Service (AppXSVC)")
    );
    assert_eq!(
        events[0].message.as_deref(),
        Some("The AppX Deployment Service (AppXSVC) service entered the running state.")
    );
    assert!(
        events[1]
            .message
            .as_deref()
            .unwrap()
            .starts_with("A process has exited.\n\nSubject:\n\tSecurity ID:")
    );
    // RenderingInfo's Level is display text only: the numeric level stays.
    assert_eq!(events[1].level, Some(Level::LogAlways));
}

#[test]
fn reads_event_viewer_saved_xml_in_utf16() {
    let (report, events) = read("saved.xml", fixture!("xml-eventviewer-utf16.xml"));
    let (_, expected) = read("x.xml", fixture!("xml-wevtutil.xml"));
    assert_eq!(report.dialect, Some(Dialect::EventViewerXml));
    assert_eq!(report.encoding, Some(TextEncoding::Utf16Le));
    assert_eq!(ids(&events), ids(&expected));
    assert_eq!(events[2].data, expected[2].data);
}

#[test]
fn malformed_xml_event_is_skipped_with_its_line() {
    let xml = text(fixture!("xml-wevtutil.xml"));
    let mut lines: Vec<String> = xml.lines().map(str::to_owned).collect();
    lines[1] = lines[1].replace("</System>", "</Sys>");
    let (report, events) = read("bad.xml", lines.join("\n").as_bytes());
    assert_eq!(ids(&events), [("EventLog", 6009), (RCM, 1149)]);
    assert_eq!(report.skipped, 1);
    let bad = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Malformed)
        .unwrap();
    assert_eq!(bad.at, Some(IssueLocation::Line { line: 2 }));
}

#[test]
fn xml_cut_short_is_reported_as_truncated() {
    let xml = text(fixture!("xml-wevtutil.xml"));
    let cut = &xml[..xml.len() - 200];
    let (report, events) = read("cut.xml", cut.as_bytes());
    assert_eq!(events.len(), 2);
    assert!(report.truncated);
}

#[test]
fn xml_cut_at_its_start_is_reported_as_truncated() {
    // What Run Command gives back of `wevtutil qe … /f:xml`: its last 4,096 bytes, the first
    // event's start cut off. The fixture's events one after another on one line, as wevtutil
    // prints them, cut inside the first event's <System>.
    let xml = text(fixture!("xml-wevtutil.xml")).replace('\n', "");
    let cut = &xml[xml.find("<EventRecordID>").unwrap()..];
    let (report, events) = read("tail.xml", cut.as_bytes());
    assert_eq!(ids(&events), [("EventLog", 6005), (RCM, 1149)]);
    assert!(report.truncated);
    assert_eq!(report.skipped, 1);
    let issue = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Truncated)
        .unwrap();
    assert_eq!(issue.at, Some(IssueLocation::Line { line: 1 }));
    assert!(
        issue.message.contains("cut at its start"),
        "{}",
        issue.message
    );
    // A whole export has nothing of the kind before its first event.
    let (whole, _) = read("x.xml", xml.as_bytes());
    assert!(!whole.truncated && whole.skipped == 0, "{:?}", whole.issues);
}

#[test]
fn xml_wrapped_by_a_console_is_joined_back() {
    // `wevtutil qe … /f:xml` in Serial Console: each event's one long line cut at 80
    // columns, typed at a cmd prompt.
    let xml = text(fixture!("xml-wevtutil.xml"));
    let mut wrapped = vec!["C:\\Windows\\system32>wevtutil qe System /c:3 /f:xml".to_owned()];
    let mut starts = Vec::new();
    for line in xml.lines() {
        starts.push(wrapped.len() + 1);
        let chars: Vec<char> = line.chars().collect();
        wrapped.extend(chars.chunks(80).map(|c| c.iter().collect::<String>()));
    }
    wrapped.push("C:\\Windows\\system32>".to_owned());
    let wrapped = wrapped.join("\r\n");
    let (_, want) = read("x.xml", xml.as_bytes());
    let (report, events) = read("serial.txt", wrapped.as_bytes());
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(ids(&events), ids(&want));
    for (got, want) in events.iter().zip(&want) {
        assert_eq!(
            (&got.data, got.time_created),
            (&want.data, want.time_created)
        );
    }
    // Each event's line is where it starts in the wrapped text.
    let lines: Vec<usize> = events
        .iter()
        .map(|e| match e.origin.location {
            analyzer::Location::Line { line } => line as usize,
            _ => 0,
        })
        .collect();
    assert_eq!(lines, starts);
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.message.contains("80 columns")),
        "{:?}",
        report.issues
    );
}

/// `wevtutil qe /f:xml` prints every event on one line (session 11 probe p19, and its Run
/// Command tail p29): each event and each issue is located by its line and its column, in
/// characters as an editor counts them, not by "line 1" alone.
#[test]
fn xml_events_on_one_line_are_located_by_their_column() {
    // The fixture's events on one line, as wevtutil prints them, with a computer name
    // outside ASCII (two bytes a character) and the second event's ID damaged.
    let one_line = text(fixture!("xml-wevtutil.xml"))
        .replace('\n', "")
        .replace("WIN-P4SIAA0SQCO", "SRV-ÉTÉ-01")
        .replacen(">6005<", ">6OO5<", 1);
    let columns: Vec<u32> = one_line
        .match_indices("<Event ")
        .map(|(at, _)| one_line[..at].chars().count() as u32 + 1)
        .collect();
    assert_eq!(columns.len(), 3);
    assert!(one_line.len() > one_line.chars().count());
    let (report, events) = read("oneline.xml", one_line.as_bytes());
    let at = |column| analyzer::Location::LineColumn { line: 1, column };
    // The first event starts its line: the line finds it.
    assert_eq!(
        events.iter().map(|e| e.origin.location).collect::<Vec<_>>(),
        [analyzer::Location::Line { line: 1 }, at(columns[2])]
    );
    assert_eq!(
        events[1].origin.location.to_string(),
        format!("line 1, column {}", columns[2])
    );
    let bad = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::BadValue)
        .unwrap_or_else(|| panic!("{:?}", report.issues));
    let place = IssueLocation::LineColumn {
        line: 1,
        column: columns[1],
    };
    assert_eq!(bad.at, Some(place));
    assert_eq!(place.to_string(), format!("line 1, column {}", columns[1]));
    // Run Command's tail of it: the whole events after the cut one keep their columns in
    // the tail's text.
    let tail = &one_line[one_line.find("<EventRecordID>").unwrap()..];
    let (_, events) = read("tail.xml", tail.as_bytes());
    let shift = one_line.chars().count() - tail.chars().count();
    assert_eq!(
        events.iter().map(|e| e.origin.location).collect::<Vec<_>>(),
        [at(columns[2] - shift as u32)]
    );
}

// ---- CSV and tab-delimited ----------------------------------------------------------------

#[test]
fn reads_event_viewer_csv_with_its_unnamed_description_column() {
    let (report, events) = read("ev.csv", fixture!("csv-eventviewer-en.csv"));
    assert_eq!(report.dialect, Some(Dialect::EventViewerCsv));
    assert_eq!(
        ids(&events),
        [
            ("Microsoft-Windows-Security-Auditing", 4658),
            ("Microsoft-Windows-Security-Auditing", 4656),
            ("Microsoft-Windows-DistributedCOM", 10016)
        ]
    );
    assert_eq!(
        time(&events[0]),
        "2016-10-07T18:38:24Z",
        "month first: the US culture's AM/PM"
    );
    assert_eq!(events[2].level, Some(Level::Warning));
    let msg = events[0].message.as_deref().unwrap();
    assert!(
        msg.starts_with("The handle to an object was closed.\n\nSubject :"),
        "{msg}"
    );
}

#[test]
fn reads_event_viewer_csv_with_german_headers_by_position() {
    let (report, events) = read("de.csv", fixture!("csv-eventviewer-de.csv"));
    assert_eq!(report.dialect, Some(Dialect::EventViewerCsv));
    assert_eq!(
        ids(&events),
        [("Microsoft-SharePoint Products-SharePoint Foundation", 2137)]
    );
    assert_eq!(time(&events[0]), "2010-07-20T00:00:01Z");
    assert_eq!(events[0].level, Some(Level::Error));
}

#[test]
fn reads_event_viewer_tab_delimited_utf16() {
    let (report, events) = read("ev.txt", fixture!("tsv-eventviewer-en.txt"));
    assert_eq!(report.dialect, Some(Dialect::EventViewerTabs));
    assert_eq!(
        ids(&events),
        [
            ("Microsoft-Windows-Security-Auditing", 4658),
            ("Microsoft-Windows-DistributedCOM", 10016)
        ]
    );
    assert!(
        events[1]
            .message
            .as_deref()
            .unwrap()
            .ends_with("Component Services administrative tool.")
    );
}

#[test]
fn reads_export_csv_with_and_without_the_type_line() {
    let (typed_report, typed) = read("typed.csv", fixture!("csv-export-typed.csv"));
    let (semi_report, semi) = read("de.csv", fixture!("csv-export-notype-semicolon.csv"));
    for (report, events) in [(&typed_report, &typed), (&semi_report, &semi)] {
        assert_eq!(report.dialect, Some(Dialect::ExportCsv));
        assert_eq!(
            ids(events),
            [
                ("Microsoft-Windows-DistributedCOM", 10016),
                ("Microsoft-Windows-TaskScheduler", 110)
            ]
        );
        let dcom = &events[0];
        assert_eq!(dcom.qualifiers, Some(0));
        assert_eq!(dcom.level, Some(Level::Warning));
        assert_eq!(dcom.record_id, Some(2132));
        assert_eq!(dcom.channel.as_deref(), Some("System"));
        assert_eq!(dcom.computer.as_deref(), Some("DESKTOP-0DEIIFH"));
        assert_eq!(
            dcom.user_sid.as_deref(),
            Some("S-1-5-21-3472141054-596731019-3949029117-1001")
        );
        assert_eq!(time(dcom), "2021-12-10T09:58:30Z");
        assert_eq!(time(&events[1]), "2018-09-05T00:48:37Z");
        assert!(
            dcom.message
                .as_deref()
                .unwrap()
                .contains("{2593F8B9-4EAF-457C-B68A-50F6B8EA6B54}")
        );
    }
    let essence = |e: &Event| {
        (
            e.provider.clone(),
            e.event_id,
            e.qualifiers,
            e.time_created,
            e.data.clone(),
            e.message.clone(),
        )
    };
    assert_eq!(
        typed.iter().map(essence).collect::<Vec<_>>(),
        semi.iter().map(essence).collect::<Vec<_>>()
    );
}

#[test]
fn reads_get_eventlog_export_with_its_32_bit_instance_id() {
    let (report, events) = read("el.csv", fixture!("csv-export-eventlog.csv"));
    assert_eq!(report.dialect, Some(Dialect::EventLogExportCsv));
    assert_eq!(ids(&events), [("TermService", 1058)]);
    assert_eq!(events[0].qualifiers, Some(0xC000));
    assert_eq!(events[0].record_id, Some(4242));
    assert_eq!(events[0].level, Some(Level::Error));
}

// ---- Format-List --------------------------------------------------------------------------

#[test]
fn reads_format_list_star_in_utf16() {
    let (report, events) = read("fl.txt", fixture!("formatlist-star.txt"));
    assert_eq!(report.format, Some(Format::FormatList));
    assert_eq!(report.encoding, Some(TextEncoding::Utf16Le));
    assert_eq!(
        ids(&events),
        [
            ("Microsoft-Windows-DistributedCOM", 10016),
            ("Microsoft-Windows-TaskScheduler", 110)
        ]
    );
    let dcom = &events[0];
    assert_eq!(
        (dcom.qualifiers, dcom.level, dcom.record_id),
        (Some(0), Some(Level::Warning), Some(2132))
    );
    assert_eq!(time(dcom), "2021-12-10T09:58:30Z");
    let msg = dcom.message.as_deref().unwrap();
    assert!(
        msg.starts_with("The application-specific permission settings")
            && msg.ends_with("Services administrative tool."),
        "{msg}"
    );
    assert_eq!(events[1].qualifiers, None);
    assert_eq!(time(&events[1]), "2018-09-05T00:48:37Z");
}

#[test]
fn reads_format_list_default_view_after_a_prompt() {
    let (report, events) = read("fl.txt", fixture!("formatlist-default.txt"));
    assert_eq!(report.dialect, Some(Dialect::FormatList));
    assert_eq!(
        ids(&events),
        [
            ("Microsoft-Windows-Sysmon", 1),
            ("Microsoft-Windows-Sysmon", 1)
        ]
    );
    assert_eq!(time(&events[0]), "2023-05-29T00:44:58Z");
    assert_eq!(
        events[0].message.as_deref().unwrap().lines().nth(1),
        Some("RuleName: -")
    );
    assert_eq!(report.errors, 0);
}

/// `Format-List` cut at 80 columns by a terminal rather than wrapped by PowerShell (session
/// 11 probe p13): the rest of each Message starts its line unindented. It belongs to the
/// message, where the 36871's state 10013 is.
#[test]
fn format_list_cut_by_a_terminal_keeps_the_rest_of_its_lines() {
    let (report, events) = read("serial.txt", fixture!("formatlist-terminal-wrapped-80.txt"));
    assert_eq!(report.dialect, Some(Dialect::FormatList));
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(ids(&events), [("Schannel", 36871), ("Schannel", 36871)]);
    for e in &events {
        assert_eq!(
            e.message.as_deref(),
            Some(
                "A fatal error occurred while creating a TLS server credential. The internal \
                 error state is 10013."
            )
        );
    }
}

/// The prompt's line cut by the console too (session 11 probe p13b): once the prompt is set
/// aside, what is left of the command pipes into `Format-List`. It is the command, not the
/// end of a cut record.
#[test]
fn the_rest_of_a_cut_command_before_a_list_is_not_a_cut_record() {
    let list = text(fixture!("formatlist-default.txt"));
    let (prompt, rest) = list.split_once("\r\n").unwrap();
    let split = prompt.char_indices().nth(80).unwrap().0;
    let cut = format!("{}\r\n{}\r\n{rest}", &prompt[..split], &prompt[split..]);
    let (report, events) = read("serial.txt", cut.as_bytes());
    assert_eq!(events.len(), 2);
    assert!(!report.truncated, "{:?}", report.issues);
    assert_eq!(report.errors, 0, "{:?}", report.issues);
}

/// Run Command's 4,096-byte tail of a `Format-List` (session 11 probe p31): the first record
/// has lost its `TimeCreated` and the start of the text is the rest of its time. The cut is
/// reported and that record is not read as an event without a time.
#[test]
fn format_list_tail_reports_the_cut_first_record() {
    let (report, events) = read("tail.txt", fixture!("formatlist-runcommand-tail.txt"));
    assert_eq!(report.dialect, Some(Dialect::FormatList));
    assert!(report.truncated);
    let cut: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Truncated)
        .collect();
    assert_eq!(cut.len(), 1, "{:?}", report.issues);
    assert_eq!(cut[0].at, Some(IssueLocation::Line { line: 1 }));
    assert!(
        cut[0]
            .message
            .contains("Microsoft-Windows-DistributedCOM 10016"),
        "{}",
        cut[0].message
    );
    assert_eq!(report.skipped, 1);
    // The eleven whole records after it, each with its time; the oldest is S1's 1057.
    assert_eq!(events.len(), 11);
    assert!(events.iter().all(|e| e.time_created.is_some()));
    assert_eq!(ids(&events)[10], (RCM, 1057));
    assert_eq!(time(&events[10]), "2026-12-07T02:09:15Z");
}

/// The same cut at every character of a real `Format-List`'s first record: the records read
/// are whole ones, and a cut record is reported, never read.
#[test]
fn format_list_cut_anywhere_in_its_first_record_reads_only_whole_records() {
    let full = text(fixture!("formatlist-default.txt"));
    let (_, whole) = read("fl.txt", full.as_bytes());
    assert_eq!(whole.len(), 2);
    let first = full.find("TimeCreated").unwrap();
    let prompt_end = full.find('\n').unwrap();
    let second = full.rfind("TimeCreated").unwrap();
    for k in (0..=second).filter(|k| full.is_char_boundary(*k)) {
        let (report, events) = read("tail.txt", &full.as_bytes()[k..]);
        let message = |e: &Event| e.message.clone();
        if k <= first {
            let same = |e: &Event| (e.provider.clone(), time(e), message(e));
            assert_eq!(
                events.iter().map(same).collect::<Vec<_>>(),
                whole.iter().map(same).collect::<Vec<_>>(),
                "cut at {k}"
            );
            // A prompt cut inside is a line like the rest of a record: it may be reported.
            if k == 0 || k >= prompt_end {
                assert!(!report.truncated, "cut at {k}: {:?}", report.issues);
            }
        } else {
            assert_eq!(events.len(), 1, "cut at {k}");
            assert_eq!(
                (time(&events[0]), message(&events[0])),
                (time(&whole[1]), message(&whole[1])),
                "cut at {k}"
            );
            // A cut between two records leaves no trace to report.
            if !full[k..second].trim().is_empty() {
                assert!(report.truncated, "cut at {k}: {:?}", report.issues);
                assert!(
                    report.has_issue(IssueKind::Truncated),
                    "cut at {k}: {:?}",
                    report.issues
                );
            }
        }
    }
}

// ---- not an export -------------------------------------------------------------------------

#[test]
fn unknown_content_is_reported_with_what_was_tried() {
    for (name, bytes) in [
        (
            "notes.txt",
            b"Meeting notes\nTODO: call the vendor\nnothing to see here\n".as_slice(),
        ),
        ("empty.txt", b"".as_slice()),
        (
            "random.bin",
            &[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0xff, 0x13, 0x37][..],
        ),
    ] {
        let (report, events) = read(name, bytes);
        assert!(events.is_empty(), "{name}");
        assert_eq!(report.format, None, "{name}");
        let issue = report
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::Unrecognised)
            .unwrap();
        assert!(
            issue
                .message
                .starts_with("this is not an event log export I can read"),
            "{name}: {}",
            issue.message
        );
        assert_eq!(report.tried.len(), 5, "{name}");
        assert_eq!(report.sha256.len(), 64);
    }
}

#[test]
fn report_serialises_as_the_diagnose_json_contract() {
    let (report, _) = read("system.txt", fixture!("wevtutil-en-2016.txt"));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["name"], "system.txt");
    assert_eq!(json["format"], "wevtutil-text");
    assert_eq!(json["events"], 2);
    assert_eq!(json["errors"], 0);
    assert_eq!(json["sha256"].as_str().unwrap().len(), 64);
}
