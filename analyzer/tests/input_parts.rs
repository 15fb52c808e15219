//! Several exports pasted into one text (what several Run Command runs returned), as
//! properties over the real exports of tests/fixtures/inputs: each part read in its own
//! format, its events at the whole text's lines; and exports whose fields quote another
//! format's text read as the one export they are. Probe p27 itself: `input_text.rs`.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod text_common;

use analyzer::input::{Format, IssueLocation, Severity};
use analyzer::{Event, Location};
use proptest::prelude::*;
use text_common::*;

fn line(e: &Event) -> u32 {
    match e.origin.location {
        Location::Line { line } | Location::LineColumn { line, .. } => line,
        other => panic!("{other:?}"),
    }
}

/// What reading left of each event, where it lies aside.
fn what(events: &[Event]) -> Vec<(String, u16, String, Option<String>)> {
    events
        .iter()
        .map(|e| (e.provider.clone(), e.event_id, time(e), e.message.clone()))
        .collect()
}

/// Real exports of each format (tests/fixtures/inputs), as text without a byte order mark.
fn exports() -> Vec<(&'static str, String)> {
    let strip = |b: &[u8]| text(b).trim_start_matches('\u{feff}').to_owned();
    vec![
        ("wevtutil", strip(fixture!("wevtutil-en-2016.txt"))),
        (
            "event viewer copy",
            strip(fixture!("eventviewer-en-schannel-36870.txt")),
        ),
        ("xml", strip(fixture!("xml-wevtutil.xml"))),
        ("rendered xml", strip(fixture!("xml-rendered.xml"))),
        (
            "event viewer csv",
            strip(fixture!("csv-eventviewer-en.csv")),
        ),
        ("export-csv", strip(fixture!("csv-export-typed.csv"))),
        ("format-list", strip(fixture!("formatlist-default.txt"))),
        ("table", strip(fixture!("table-getwinevent-system.txt"))),
    ]
}

/// Two exports one after the other read as each alone, the second's events at its lines
/// in the whole text — for every pair of real exports of different formats (or two CSVs).
fn check_pair(a: &str, b: &str, sep: &str) -> Result<(), TestCaseError> {
    let (alone_a, events_a) = read("a", a.as_bytes());
    let (alone_b, events_b) = read("b", b.as_bytes());
    prop_assert!(alone_a.parts.is_empty() && alone_b.parts.is_empty());
    let a = if a.ends_with('\n') {
        a.to_owned()
    } else {
        format!("{a}\n")
    };
    let joined = format!("{a}{sep}{b}");
    let (report, events) = read("pasted text", joined.as_bytes());
    let mut expected = what(&events_a);
    expected.extend(what(&events_b));
    prop_assert_eq!(what(&events), expected);
    prop_assert_eq!(
        report.errors,
        alone_a.errors + alone_b.errors,
        "{:?}",
        report.issues
    );
    prop_assert_eq!(report.parts.len(), 2);
    prop_assert_eq!(report.parts[0].format, alone_a.format.unwrap());
    prop_assert_eq!(report.parts[1].format, alone_b.format.unwrap());
    let shift = (a.matches('\n').count() + sep.matches('\n').count()) as u32;
    let lines_b: Vec<u32> = events_b.iter().map(|e| line(e) + shift).collect();
    let got_b: Vec<u32> = events[events_a.len()..].iter().map(line).collect();
    prop_assert_eq!(got_b, lines_b);
    Ok(())
}

#[test]
fn every_pair_of_real_exports_pasted_together_reads_as_each_alone() {
    let all = exports();
    for (name_a, a) in &all {
        for (name_b, b) in &all {
            let (fa, fb) = (
                read("a", a.as_bytes()).0.format,
                read("b", b.as_bytes()).0.format,
            );
            if fa == fb && fa != Some(Format::Csv) {
                continue;
            }
            check_pair(a, b, "\r\n").unwrap_or_else(|e| panic!("{name_a} then {name_b}: {e}"));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// What lies between the two exports (nothing, empty lines, line ends of either kind)
    /// changes nothing.
    #[test]
    fn what_lies_between_two_exports_changes_nothing(
        pair in (0usize..8, 0usize..8),
        sep in prop::sample::select(vec!["", "\n", "\r\n\r\n", "\n\n\n"]),
    ) {
        let all = exports();
        let (a, b) = (&all[pair.0].1, &all[pair.1].1);
        let (fa, fb) = (read("a", a.as_bytes()).0.format, read("b", b.as_bytes()).0.format);
        prop_assume!(fa != fb || fa == Some(Format::Csv));
        check_pair(a, b, sep)?;
    }

    /// A CSV whose descriptions quote any lines of the other exports (a message quoting an
    /// `Event[0]:` block, event XML, a Format-List record) is one export.
    #[test]
    fn a_csv_quoting_other_exports_is_one_export(
        picks in prop::collection::vec((0usize..8, any::<prop::sample::Index>(), 1usize..12), 1..6),
    ) {
        let all = exports();
        let mut csv = String::from("Level,Date and Time,Source,Event ID,Task Category\r\n");
        for (n, (export, at, count)) in picks.iter().enumerate() {
            let lines: Vec<&str> = all[*export].1.lines().collect();
            let from = at.index(lines.len());
            let quoted = lines[from..(from + count).min(lines.len())].join("\r\n");
            csv.push_str(&format!(
                "Error,12/7/2026 3:11:{n:02} AM,Schannel,36871,None,\"{}\"\r\n",
                quoted.replace('"', "\"\"")
            ));
        }
        let (report, events) = read("quoting.csv", csv.as_bytes());
        prop_assert!(report.parts.is_empty(), "{:?}", report.parts);
        prop_assert_eq!(events.len(), picks.len());
        prop_assert_eq!(report.errors, 0, "{:?}", report.issues);
    }

    /// Event XML whose data values hold any lines of the other exports is one export.
    #[test]
    fn xml_quoting_other_exports_is_one_export(
        picks in prop::collection::vec((0usize..8, any::<prop::sample::Index>(), 1usize..12), 1..6),
    ) {
        let all = exports();
        let mut xml = String::from("<Events>\r\n");
        for (export, at, count) in &picks {
            let lines: Vec<&str> = all[*export].1.lines().collect();
            let from = at.index(lines.len());
            let quoted = lines[from..(from + count).min(lines.len())]
                .join("\r\n")
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            xml.push_str(&format!(
                "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>\
                 <System><Provider Name='Schannel'/><EventID>36871</EventID>\
                 <TimeCreated SystemTime='2026-12-07T03:11:15Z'/></System>\
                 <EventData><Data>\r\n{quoted}\r\n</Data></EventData></Event>\r\n"
            ));
        }
        xml.push_str("</Events>\r\n");
        let (report, events) = read("quoting.xml", xml.as_bytes());
        prop_assert!(report.parts.is_empty(), "{:?}", report.parts);
        prop_assert_eq!(events.len(), picks.len());
        prop_assert_eq!(report.errors, 0, "{:?}", report.issues);
    }
}

/// `wevtutil qe /f:xml` ends without a line break: in a console the next command's prompt
/// follows its last `</Event>` on that line, and saved one after the other a Format-List's
/// leading empty line only ends the XML's line. Each real export after it is still a part of
/// its own, read as alone.
#[test]
fn an_export_after_xml_with_no_line_break_reads_as_alone() {
    let all = exports();
    let xml = all[2].1.trim_end();
    let (alone_xml, events_xml) = read("a", xml.as_bytes());
    assert_eq!(alone_xml.format, Some(Format::Xml));
    for (name, b) in &all {
        let (alone_b, events_b) = read("b", b.as_bytes());
        if alone_b.format == Some(Format::Xml) {
            continue;
        }
        let mut joined = vec![if b.starts_with("PS ") {
            format!("{xml}{b}")
        } else {
            format!("{xml}C:\\Windows\\system32>wevtutil qe System /f:text\r\n{b}")
        }];
        if alone_b.format == Some(Format::FormatList) {
            // Without its prompt: the list's records right after the XML's line.
            let records = b.find("\nTimeCreated").map(|at| &b[at..]).unwrap();
            joined.push(format!("{xml}\r{records}"));
        }
        for text in joined {
            let (report, events) = read("pasted text", text.as_bytes());
            let mut expected = what(&events_xml);
            expected.extend(what(&events_b));
            assert_eq!(what(&events), expected, "xml then {name}");
            assert_eq!(report.parts.len(), 2, "xml then {name}");
            assert_eq!(report.errors, alone_b.errors, "{:?}", report.issues);
            assert!(
                report.issues.iter().all(|i| !i.message.contains("outside")),
                "xml then {name}: {:?}",
                report.issues
            );
        }
    }
}

/// Text glued to the XML's last event that no format starts with cannot be cut off as a
/// part; it is reported where it starts, and the events are read.
#[test]
fn text_outside_the_events_of_xml_is_reported_where_it_starts() {
    let xml = exports()[2].1.trim_end().to_owned();
    let (_, alone) = read("a", xml.as_bytes());
    let lines = xml.matches('\n').count() as u32 + 1;
    let last = xml.rsplit('\n').next().unwrap().chars().count() as u32;
    for (tail, column) in [(" and so on\r\nmore text\r\n", last + 2), ("x", last + 1)] {
        let (report, events) = read("pasted text", format!("{xml}{tail}").as_bytes());
        assert_eq!(what(&events), what(&alone));
        let stray: Vec<_> = report
            .issues
            .iter()
            .filter(|i| i.message.contains("outside any <Event>"))
            .collect();
        assert_eq!(stray.len(), 1, "{:?}", report.issues);
        assert_eq!(
            stray[0].at,
            Some(IssueLocation::LineColumn {
                line: lines,
                column
            }),
            "{tail:?}"
        );
    }
    // What an XML export holds besides its events is no stray text.
    let wrapped = format!(
        "<?xml version=\"1.0\"?>\r\n<!-- saved -->\r\n<Events>\r\n{xml}\r\n</Events>\r\n\
         C:\\Windows\\system32>\r\n"
    );
    let (report, events) = read("wrapped.xml", wrapped.as_bytes());
    assert_eq!(what(&events), what(&alone));
    assert!(
        report.issues.iter().all(|i| i.severity == Severity::Info),
        "{:?}",
        report.issues
    );
}

/// A description quoting an `Event[N]:` header and a field (a script's output logged as an
/// event) is description, not an event with no ID; a second run's `Event[0]:` after the
/// first run's events, followed by its fields, starts an event (helper C's probe q02).
#[test]
fn a_quoted_wevtutil_header_stays_in_its_description() {
    let export = exports()[0].1.clone();
    let (alone, events) = read("a", export.as_bytes());
    let quote = "Script output:\r\nEvent[0]:\r\n  Log Name: Application\r\nDone.\r\n";
    let label = export.find("Description:").unwrap();
    let at = label + export[label..].find('\n').unwrap() + 1;
    let quoting = format!("{}{quote}{}", &export[..at], &export[at..]);
    let (report, read_events) = read("quoting", quoting.as_bytes());
    assert_eq!(report.errors, alone.errors, "{:?}", report.issues);
    assert_eq!(read_events.len(), events.len());
    let message = read_events[0].message.as_deref().unwrap_or_default();
    assert!(
        message.contains("Event[0]:\n  Log Name: Application\nDone."),
        "{message:?}"
    );
    for (got, was) in read_events.iter().zip(&events).skip(1) {
        assert_eq!(got.message, was.message);
    }
    // Two runs one after the other: every event of both.
    let (report, twice) = read("twice", format!("{export}\n{export}").as_bytes());
    assert_eq!(twice.len(), 2 * events.len(), "{:?}", report.issues);
}

/// A description quoting a Format-List record (a PowerShell script block's expected output)
/// is description: the wevtutil text goes on with its next `Event[N]:` after it (helper C's
/// probe q03b). A second run after a Format-List starts again at `Event[0]:`: three parts.
#[test]
fn a_format_list_quoted_in_a_wevtutil_description_stays_in_it() {
    let all = exports();
    let (wevtutil, list) = (&all[0].1, &all[6].1);
    let (alone, events) = read("a", wevtutil.as_bytes());
    let record = "\r\nTimeCreated  : 12/7/2026 3:11:15 AM\r\nProviderName : Schannel\r\n\
                  Id           : 36871\r\nMessage      : A fatal error occurred.\r\n\r\n";
    let label = wevtutil.find("Description:").unwrap();
    let at = label + wevtutil[label..].find('\n').unwrap() + 1;
    let quoting = format!(
        "{}# expected output:{record}{}",
        &wevtutil[..at],
        &wevtutil[at..]
    );
    let (report, read_events) = read("quoting", quoting.as_bytes());
    assert!(report.parts.is_empty(), "{:?}", report.parts);
    assert_eq!(report.errors, alone.errors, "{:?}", report.issues);
    assert_eq!(ids(&read_events), ids(&events));
    let message = read_events[0].message.as_deref().unwrap_or_default();
    assert!(message.contains("ProviderName : Schannel"), "{message}");
    // Two runs with a Format-List between them: each read as alone.
    let (_, listed) = read("b", list.as_bytes());
    let three = format!("{wevtutil}\r\n{list}\r\n{wevtutil}");
    let (report, read_events) = read("three", three.as_bytes());
    assert_eq!(report.parts.len(), 3, "{:?}", report.parts);
    assert_eq!(read_events.len(), 2 * events.len() + listed.len());
}

/// A CSV description quoting a console, prompt line and all, keeps every line: the prompt
/// is the field's, not a shell's around the export (helper C's probe q06).
#[test]
fn a_prompt_inside_a_quoted_csv_field_is_the_fields() {
    let csv = "Level,Date and Time,Source,Event ID,Task Category\r\n\
               Error,12/7/2026 3:11:15 AM,Schannel,36871,None,\"The admin ran:\r\n\
               PS C:\\> Get-WinEvent -LogName System | fl\r\n\
               and saw this.\"\r\n";
    let (report, events) = read("quoting.csv", csv.as_bytes());
    assert_eq!(events.len(), 1);
    let message = events[0].message.as_deref().unwrap_or_default();
    assert!(message.contains("PS C:\\> Get-WinEvent"), "{message}");
    assert!(
        report.issues.iter().all(|i| !i.message.contains("prompt")),
        "{:?}",
        report.issues
    );
    // Outside a field a prompt is still set aside.
    let (report, events) = read(
        "run.csv",
        format!("PS C:\\> Get-Content x.csv\r\n{csv}").as_bytes(),
    );
    assert_eq!(events.len(), 1);
    assert!(
        report.issues.iter().any(|i| i.message.contains("prompt")),
        "{:?}",
        report.issues
    );
}

/// A Format-List value quoting a table (a script's output in its message) runs on from the
/// line before it: no table starts there. A table after the list, after an empty line, does.
#[test]
fn a_table_quoted_in_a_format_list_value_stays_in_it() {
    let list = "\r\nTimeCreated  : 12/7/2026 3:11:15 AM\r\nProviderName : PowerShell\r\n\
                Id           : 4104\r\nMessage      : Output:\r\n\
                \x20              TimeCreated                      Id LevelDisplayName Message\r\n\
                \x20              -----------                      -- ---------------- -------\r\n\
                \x20              12/7/2026 3:11:15 AM          36871 Error            A fatal error\r\n\r\n";
    let (report, events) = read("list.txt", list.as_bytes());
    assert!(report.parts.is_empty(), "{:?}", report.parts);
    assert_eq!(ids(&events), [("PowerShell", 4104)]);
    let table = text(fixture!("table-getwinevent-system.txt"));
    let (report, events) = read("both.txt", format!("{list}{table}").as_bytes());
    assert_eq!(report.parts.len(), 2, "{:?}", report.parts);
    assert_eq!(events.len(), 9);
}
