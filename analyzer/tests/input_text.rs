//! Text exports (tests/fixtures/inputs, see its README for where each comes from) and the
//! ways consoles and editors change them: UTF-16, cmd's OEM code page, Serial Console
//! wrapping, Run Command's 4,096-byte tail, several outputs pasted together, labels the
//! reader does not know: `wevtutil /f:text` and the article's layout. XML, CSV and the
//! rest: `input_structured.rs`. Runs natively and on wasm32.
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

use analyzer::Level;
use analyzer::input::{Dialect, Format, IssueKind, IssueLocation, Severity, TextEncoding};
use text_common::*;

// ---- wevtutil /f:text ---------------------------------------------------------------------

#[test]
fn reads_wevtutil_text_with_local_dates() {
    let (report, events) = read("system.txt", fixture!("wevtutil-en-2016.txt"));
    assert_eq!(report.format, Some(Format::WevtutilText));
    assert_eq!(report.dialect, Some(Dialect::WevtutilText));
    assert_eq!(
        ids(&events),
        [
            ("EventLog", 6009),
            ("Microsoft-Windows-DistributedCOM", 10016)
        ]
    );
    let dcom = &events[1];
    assert_eq!(dcom.level, Some(Level::Error));
    assert_eq!(dcom.channel.as_deref(), Some("System"));
    assert_eq!(dcom.computer.as_deref(), Some("GISEONG-PC"));
    assert_eq!(dcom.user_sid.as_deref(), Some("S-1-5-18"));
    assert_eq!(dcom.user_name.as_deref(), Some("NT AUTHORITY\\SYSTEM"));
    assert_eq!(time(dcom), "2017-03-02T21:21:08.135Z");
    assert!(dcom.time_is_local);
    assert!(
        dcom.message
            .as_deref()
            .unwrap()
            .starts_with("The application-specific permission")
    );
    assert_eq!(
        events[0].message.as_deref(),
        Some("Microsoft (R) Windows (R) 10.00. 14393  Multiprocessor Free.")
    );
    assert!(report.has_issue(IssueKind::AmbiguousTime));
    assert_eq!(report.errors, 0);
}

#[test]
fn reads_wevtutil_text_with_utc_dates_and_localised_values() {
    let (report, events) = read("laps.txt", fixture!("wevtutil-zh-laps.txt"));
    assert_eq!(
        ids(&events),
        [
            ("Microsoft-Windows-LAPS", 10004),
            ("Microsoft-Windows-LAPS", 10024)
        ]
    );
    assert_eq!(events[0].level, Some(Level::Information), "Level: 信息");
    assert_eq!(time(&events[0]), "2025-11-12T15:49:43.563Z");
    assert!(!events[0].time_is_local);
    assert!(
        events[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("LAPS 策略处理成功。")
    );
    assert!(
        events[0]
            .message
            .as_deref()
            .unwrap()
            .contains("linkid=2220550"),
        "blank line kept inside"
    );
    assert!(!report.has_issue(IssueKind::AmbiguousTime));
}

/// A FILETIME of zero printed as a date (a damaged record's, `wevtutil` in UTC) is no time,
/// as in `.evtx` and XML: the event is undated, and the date not reported as unreadable.
#[test]
fn a_zero_filetime_date_in_text_is_no_time() {
    let text = "Event[0]:\n  Log Name: System\n  Source: EventLog\n  \
                Date: 1601-01-01T00:00:00.000Z\n  Event ID: 6009\n  Level: Information\n  \
                Computer: vm1\n  Description:\nstarted\n\nEvent[1]:\n  Log Name: System\n  \
                Source: EventLog\n  Date: 2016-12-22T05:29:02.512Z\n  Event ID: 6005\n  \
                Level: Information\n  Computer: vm1\n  Description:\nstarted\n";
    let (report, events) = read("zero.txt", text.as_bytes());
    assert_eq!(events.len(), 2, "{:#?}", report.issues);
    assert_eq!(events[0].time_created, None);
    assert_eq!(time(&events[1]), "2016-12-22T05:29:02.512Z");
    assert!(
        report.issues.iter().all(|i| i.severity == Severity::Info),
        "{:#?}",
        report.issues
    );
}

#[test]
fn reads_utf16_wevtutil_export() {
    let original = fixture!("wevtutil-en-2016.txt");
    let (_, expected) = read("a.txt", original);
    let (report, events) = read("a.txt", &utf16le_bom(&text(original)));
    assert_eq!(report.encoding, Some(TextEncoding::Utf16Le));
    assert_eq!(events, expected);
}

#[test]
fn reads_utf8_bom_and_lf_and_crlf_alike() {
    let crlf = text(fixture!("wevtutil-en-2016.txt"));
    let lf = crlf.replace("\r\n", "\n");
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(lf.as_bytes());
    let (_, a) = read("a", crlf.as_bytes());
    let (_, b) = read("a", lf.as_bytes());
    let (r, c) = read("a", &bom);
    assert_eq!(r.encoding, Some(TextEncoding::Utf8Bom));
    assert_eq!(a, b);
    assert_eq!(b, c);
}

/// A terminal's capture whose lines end in CR alone reads as the same export (lines and
/// their numbers included), and says how its lines were split.
#[test]
fn reads_lines_ending_in_cr_alone() {
    let crlf = text(fixture!("wevtutil-en-2016.txt"));
    let cr = crlf.replace("\r\n", "\r");
    assert!(!cr.contains('\n'));
    let (_, want) = read("a", crlf.as_bytes());
    let (report, got) = read("a", cr.as_bytes());
    assert_eq!(got, want);
    assert!(!got.is_empty());
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::Encoding && i.message.contains("CR alone")),
        "{:?}",
        report.issues
    );
}

#[test]
fn reads_cp850_wevtutil_export_with_french_service_name() {
    // `wevtutil … /f:text > out.txt` in cmd on a French VM: the OEM code page. The text is the
    // French article's Scenario 3 user and a description from its 2056 event.
    let export = "Event[0]:\r\n  Log Name: Microsoft-Windows-TerminalServices-SessionBroker/Operational\r\n  \
Source: Microsoft-Windows-TerminalServices-SessionBroker\r\n  Date: 2018-11-01T10:00:00.000\r\n  Event ID: 2056\r\n  \
Task: N/A\r\n  Level: Error\r\n  Opcode: Info\r\n  Keyword: N/A\r\n  User: S-1-5-20\r\n  User Name: AUTORITE NT\\SERVICE RÉSEAU\r\n  \
Computer: vm1.contoso.com\r\n  Description: \r\nL'ouverture de session sur la base de données a échoué.\r\n";
    let (report, events) = read("fr.txt", &cp850(export));
    assert_eq!(report.encoding, Some(TextEncoding::Cp850));
    assert_eq!(ids(&events), [(BROKER, 2056)]);
    assert_eq!(
        events[0].user_name.as_deref(),
        Some("AUTORITE NT\\SERVICE RÉSEAU")
    );
    assert_eq!(events[0].user_sid.as_deref(), Some("S-1-5-20"));
    assert_eq!(
        events[0].message.as_deref(),
        Some("L'ouverture de session sur la base de données a échoué.")
    );
    assert!(
        report.issues.iter().all(|i| i.kind != IssueKind::Encoding),
        "{:?}",
        report.issues
    );
}

/// A code page this reader does not decode (here Greek Windows' ANSI code page, 1253, with
/// Greek labels and a 36871 message of this test's rendering): the report must say the
/// text is garbled, not leave only odd values behind. (cmd's Japanese, Chinese, Korean and
/// Cyrillic code pages are decoded: `input_code_pages.rs`.)
#[test]
fn an_undecoded_code_page_is_said_to_be_unread() {
    let export = "Όνομα αρχείου καταγραφής: System\r\nΠροέλευση: Schannel\r\n\
Αναγνωριστικό συμβάντος: 36871\r\nΕπίπεδο: Σφάλμα\r\nΧρήστης: ΣΥΣΤΗΜΑ\r\n\
Περιγραφή:\r\nΠαρουσιάστηκε \
ανεπανόρθωτο σφάλμα κατά τη δημιουργία διαπιστευτηρίων διακομιστή TLS. Η κατάσταση \
εσωτερικού σφάλματος είναι 10013.\r\n";
    let (greek, _, unmappable) = encoding_rs::WINDOWS_1253.encode(export);
    assert!(!unmappable);
    let (report, _) = read("el.txt", &greek);
    // Read as Windows-1251 it would be Cyrillic letters, but not Russian's most frequent
    // ones: it is read as a Latin code page, and said to be garbled.
    assert_eq!(report.encoding, Some(TextEncoding::Windows1252));
    let warning = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Encoding)
        .unwrap_or_else(|| panic!("{:?}", report.issues));
    assert!(warning.message.contains("Greek"), "{}", warning.message);
    assert!(warning.message.contains("Out-File -Encoding utf8"));
    // Read as UTF-8, the same export raises no such warning.
    let (utf8, _) = read("el.txt", export.as_bytes());
    assert!(utf8.issues.iter().all(|i| i.kind != IssueKind::Encoding));
}

#[test]
fn reads_several_outputs_pasted_together() {
    let mut all = text(fixture!("wevtutil-en-2016.txt")).replace("\r\n", "\n");
    all.push('\n');
    all.push_str(&text(fixture!("wevtutil-en-taskscheduler.txt")));
    all.push_str(
        "\nC:\\Users\\admin>wevtutil qe Microsoft-Windows-LAPS/Operational /c:2 /rd:true /f:text\n",
    );
    all.push_str(&text(fixture!("wevtutil-zh-laps.txt")));
    let (report, events) = read("pasted", all.as_bytes());
    assert_eq!(events.len(), 6);
    assert_eq!(events[2].event_id, 201);
    assert_eq!(events[5].event_id, 10024);
    // A command prompt between outputs is no event; the pasted TaskScheduler output starts at
    // Event[97], so Event[2]–[96] are reported missing (a warning: nothing unreadable).
    assert_eq!(report.errors, 0, "{:#?}", report.issues);
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.message.contains("Event[2] to Event[96]"))
    );
    // The prompt that starts the next output is not part of the last message before it.
    assert!(!events[3].message.as_deref().unwrap().contains("wevtutil"));
}

#[test]
fn reads_serial_console_output_wrapped_at_80_columns() {
    let original = text(fixture!("wevtutil-en-taskscheduler.txt"));
    let wrapped: String = original
        .lines()
        .flat_map(|line| {
            let chars: Vec<char> = line.chars().collect();
            if chars.is_empty() {
                vec![String::new()]
            } else {
                chars
                    .chunks(80)
                    .map(|c| c.iter().collect::<String>())
                    .collect()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    assert!(wrapped.lines().any(|l| l.chars().count() == 80));
    let (_, expected) = read("a", original.as_bytes());
    let (_, events) = read("a", wrapped.as_bytes());
    assert_eq!(events.len(), 2);
    for (got, want) in events.iter().zip(&expected) {
        assert_eq!(got.message, want.message);
        assert_eq!(
            (got.event_id, &got.provider, &got.channel),
            (want.event_id, &want.provider, &want.channel)
        );
    }
}

/// A PowerShell session in Serial Console as the terminal hands it over: the banner after
/// the cursor-hide and clear-screen sequences the console wrote first, the command typed at
/// `PS C:\Windows\system32>` wrapped at 80 columns, a coloured field, CR LF and LF mixed.
/// The escape sequences must not hide the banner: it is set aside, not taken for the end of
/// an event cut off by Run Command.
#[test]
fn a_powershell_banner_behind_escape_sequences_is_set_aside() {
    let bytes = fixture!("serial-powershell-ansi.txt");
    assert!(bytes.starts_with(b"\x1b[?25l\x1b[2J\x1b[HWindows PowerShell"));
    let (report, events) = read("serial-powershell-ansi.txt", bytes);
    assert_eq!(events.len(), 6, "{:?}", report.issues);
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert!(!report.truncated, "{:?}", report.issues);
    assert!(
        report.issues.iter().any(|i| i.kind == IssueKind::Wrapper),
        "{:?}",
        report.issues
    );
    let seed: Vec<_> = ids(&events)
        .into_iter()
        .filter(|(_, id)| *id != 7036 && *id != 37)
        .collect();
    assert_eq!(seed, [("Schannel", 36870), (RCM, 1058), (RCM, 1057)]);
    // The wrapped description is one message again.
    assert!(
        events[3]
            .message
            .as_deref()
            .unwrap()
            .contains("module is 0x8009030D.")
    );
}

/// A prompt line as long as the lines a console would have wrapped at (here 97 characters,
/// the length of both 36871 descriptions) is not a command running on: the `Event[0]:` after
/// it stays, and no event is taken for one cut at its start.
#[test]
fn a_prompt_as_long_as_the_wrap_width_keeps_the_output_after_it() {
    let bytes = fixture!("serial-powershell-prompt-at-width.txt");
    let (report, events) = read("serial-powershell-prompt-at-width.txt", bytes);
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert!(!report.truncated, "{:?}", report.issues);
    assert_eq!(events.len(), 5, "{:?}", report.issues);
    assert_eq!(events[0].event_id, 7036);
    assert_eq!(events.iter().filter(|e| e.event_id == 36871).count(), 2);
}

/// Copied from a legacy console window with Mark: every line padded with spaces to the
/// buffer's 120 columns, the command typed at the prompt wrapped at 120. Each line being
/// exactly 120 long must not be taken for a console's wrapping (everything glued into one
/// line, or the prompt's command running on to the end: nothing was read).
#[test]
fn a_console_copy_padded_to_its_width_is_read() {
    let bytes = fixture!("console-mark-copy-padded.txt");
    let all: Vec<&str> = std::str::from_utf8(bytes).unwrap().split("\r\n").collect();
    assert!(all.iter().all(|l| l.chars().count() == 120), "padded");
    let (report, events) = read("console-mark-copy-padded.txt", bytes);
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(events.len(), 7, "{:?}", report.issues);
    let seed: Vec<_> = ids(&events)
        .into_iter()
        .filter(|(_, id)| ![7036, 37, 6013].contains(id))
        .collect();
    assert_eq!(seed, [("Schannel", 36870), (RCM, 1058), (RCM, 1057)]);
    let schannel = events.iter().find(|e| e.event_id == 36870).unwrap();
    assert_eq!(schannel.computer.as_deref(), Some("vm-rdp-01"));
    assert!(
        schannel
            .message
            .as_deref()
            .unwrap()
            .ends_with("The internal error state is 10001."),
        "{:?}",
        schannel.message
    );
}

/// A `wevtutil` export of `n` events (Event[0]…), each a copy of the 2016 DCOM event.
fn long_export(n: usize) -> String {
    let block = text(fixture!("wevtutil-en-2016.txt")).replace("\r\n", "\n");
    let dcom = block.split("Event[1]:\n").nth(1).unwrap();
    (0..n).map(|i| format!("Event[{i}]:\n{dcom}\n")).collect()
}

#[test]
fn run_command_tail_reports_the_cut_first_event_and_invents_nothing() {
    let full = long_export(40);
    let tail = &full.as_bytes()[full.len() - 4096..];
    let (report, events) = read("runcommand.txt", tail);
    assert!(report.truncated);
    let cut = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::Truncated)
        .unwrap();
    assert_eq!(cut.severity, Severity::Error);
    assert_eq!(cut.at, Some(IssueLocation::Line { line: 1 }));
    assert!(cut.message.contains("4,096"), "{}", cut.message);
    assert_eq!(report.skipped, 1);
    // Every event read is a whole one, exactly as exported.
    let (_, whole) = read("full.txt", full.as_bytes());
    let headers = String::from_utf8_lossy(tail).matches("\nEvent[").count();
    assert_eq!(events.len(), headers);
    for e in &events {
        let w = &whole[0];
        assert_eq!(
            (&e.provider, e.event_id, &e.computer, &e.message),
            (&w.provider, w.event_id, &w.computer, &w.message)
        );
    }
}

#[test]
fn events_missing_from_the_numbering_are_reported() {
    let full = long_export(5);
    let gap = full.replace("Event[2]:", "Event[9]:");
    let (report, events) = read("gap.txt", gap.as_bytes());
    assert_eq!(events.len(), 5);
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::Truncated && i.message.contains("Event[2] to Event[8]"))
    );
}

#[test]
fn cut_at_the_end_inside_the_fields_is_reported() {
    let full = long_export(2);
    let cut = &full[..full.rfind("  Event ID:").unwrap()];
    let (report, events) = read("cut.txt", cut.as_bytes());
    assert_eq!(events.len(), 1);
    assert!(report.truncated);
    assert_eq!(report.skipped, 1);
}

#[test]
fn unknown_labels_are_read_by_position() {
    // Labels this reader does not know (opaque on purpose: no translation is invented):
    // the fixed field order still gives provider, ID, time, level and computer.
    let labels = [
        "Log Name",
        "Source",
        "Date",
        "Event ID",
        "Task",
        "Level",
        "Opcode",
        "Keyword",
        "User",
        "User Name",
        "Computer",
        "Description",
    ];
    let mut export = text(fixture!("wevtutil-en-2016.txt"));
    for (i, label) in labels.iter().enumerate().rev() {
        export = export.replace(&format!("  {label}:"), &format!("  Xq{i}:"));
    }
    let export = export.replace("Event[", "Zdarzenie[");
    let (report, events) = read("unknown.txt", export.as_bytes());
    assert_eq!(
        ids(&events),
        [
            ("EventLog", 6009),
            ("Microsoft-Windows-DistributedCOM", 10016)
        ]
    );
    assert_eq!(events[1].level, Some(Level::Error));
    assert_eq!(events[1].computer.as_deref(), Some("GISEONG-PC"));
    assert_eq!(time(&events[1]), "2017-03-02T21:21:08.135Z");
    assert!(
        events[1]
            .message
            .as_deref()
            .unwrap()
            .starts_with("The application-specific")
    );
    assert!(report.has_issue(IssueKind::PositionalFields));
}

#[test]
fn classic_32_bit_event_id_is_split_into_id_and_qualifiers() {
    let export = long_export(1).replace("Event ID: 10016", "Event ID: 3221226529");
    let (_, events) = read("a.txt", export.as_bytes());
    assert_eq!(
        (events[0].event_id, events[0].qualifiers),
        (1057, Some(0xC000))
    );
}

#[test]
fn non_numeric_event_id_is_reported_with_its_line() {
    let export = long_export(2).replacen("Event ID: 10016", "Event ID: ten", 1);
    let (report, events) = read("a.txt", export.as_bytes());
    assert_eq!(events.len(), 1);
    let bad = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::BadValue)
        .unwrap();
    assert_eq!(bad.at, Some(IssueLocation::Line { line: 5 }));
}

// ---- the article's layout, Event Viewer's copy -------------------------------------------

fn seed_ids() -> Vec<(&'static str, u16)> {
    vec![
        (RCM, 1058),
        (RCM, 1058),
        (RCM, 1057),
        ("Schannel", 36870),
        ("Schannel", 36871),
        (BROKER, 2056),
        (BROKER_CLIENT, 1296),
    ]
}

#[test]
fn reads_the_seed_article_in_english_german_and_french() {
    // German and French: Microsoft's localised copies of the article (labels as published).
    for (name, bytes, network_service) in [
        ("en", fixture!("article-en-seed.md"), "NETWORK SERVICE"),
        ("de", fixture!("article-de-seed.md"), "NETZWERKDIENST"),
        ("fr", fixture!("article-fr-seed.md"), "SERVICE RÉSEAU"),
    ] {
        let (report, events) = read(name, bytes);
        assert_eq!(report.dialect, Some(Dialect::ArticleText), "{name}");
        assert_eq!(ids(&events), seed_ids(), "{name}");
        assert!(
            events.iter().all(|e| e.level == Some(Level::Error)),
            "{name}"
        );
        assert!(
            events
                .iter()
                .all(|e| e.time_created.is_none() && e.computer.is_none()),
            "{name}: placeholders are no values"
        );
        assert!(
            events[..5]
                .iter()
                .all(|e| e.channel.as_deref() == Some("System")),
            "{name}"
        );
        assert_eq!(
            events[6].channel.as_deref(),
            Some("Microsoft-Windows-TerminalServices-SessionBroker-Client/Operational")
        );
        assert_eq!(
            events[5].user_name.as_deref(),
            Some(network_service),
            "{name}"
        );
        let schannel = events[3].message.as_deref().unwrap();
        assert!(
            schannel.contains("0x8009030D") && schannel.contains("10001"),
            "{name}: {schannel}"
        );
        assert!(!schannel.contains("<br"), "{name}");
        assert!(
            !events[4].message.as_deref().unwrap().contains("Cause")
                && !events[4].message.as_deref().unwrap().contains("Ursache"),
            "{name}: prose after the block is not the message"
        );
        assert_eq!(report.errors, 0, "{name}: {:#?}", report.issues);
    }
}

#[test]
fn reads_the_article_as_pasted_from_a_browser() {
    // What the rendered page gives on copy: no `**`, no `<br />`.
    let md = text(fixture!("article-en-seed.md"));
    let plain = md.replace("**", "").replace(" <br />", "");
    let (report, events) = read("pasted", plain.as_bytes());
    assert_eq!(report.dialect, Some(Dialect::EventViewerText));
    assert_eq!(ids(&events)[..5], seed_ids()[..5]);
    assert_eq!(events[0].channel.as_deref(), Some("System"));
}

#[test]
fn reads_event_viewer_copy_with_its_xml() {
    let (report, events) = read("copy.txt", fixture!("eventviewer-en-schannel-36870.txt"));
    assert_eq!(report.dialect, Some(Dialect::EventViewerText));
    assert_eq!(ids(&events), [("Schannel", 36870)]);
    let e = &events[0];
    assert_eq!(e.data_value("ErrorStatus"), Some("10001"));
    assert_eq!(e.data_value("ErrorCode"), Some("0x8009030d"));
    assert_eq!(time(e), "2022-10-16T20:27:36.2228549Z");
    assert!(
        !e.time_is_local,
        "the XML's UTC time wins over the displayed local one"
    );
    assert_eq!(e.record_id, Some(2213));
    assert!(
        e.message
            .as_deref()
            .unwrap()
            .starts_with("A fatal error occurred")
    );
}

/// Windows formats a date for display with left-to-right marks around its parts (and
/// right-to-left ones on Hebrew and Arabic systems); a copy keeps them. The date still reads.
#[test]
fn reads_a_date_with_directional_marks() {
    let copy = text(fixture!("eventviewer-en-schannel-36870.txt"));
    // Without its XML, the displayed date is the only time the copy has.
    let plain = &copy[..copy.find("Event Xml:").unwrap()];
    let marked = plain.replace(
        "10/16/2022 8:27:36 PM",
        "\u{200e}10/\u{200e}16/\u{200e}2022 \u{200f}8:27:36 PM",
    );
    assert_ne!(marked, plain);
    let (_, want) = read("copy.txt", plain.as_bytes());
    let (report, got) = read("copy.txt", marked.as_bytes());
    assert_eq!(time(&got[0]), "2022-10-16T20:27:36Z", "{:?}", report.issues);
    assert_eq!(got, want);
}

#[test]
fn reads_german_event_viewer_copy() {
    let (report, events) = read("de.txt", fixture!("eventviewer-de-sharepoint.txt"));
    assert_eq!(
        ids(&events),
        [("Microsoft-SharePoint Products-SharePoint Foundation", 2137)]
    );
    let e = &events[0];
    assert_eq!(e.level, Some(Level::Error), "Ebene: Fehler");
    assert_eq!(e.channel.as_deref(), Some("Application"));
    assert_eq!(e.user_name.as_deref(), Some("NETZWERKDIENST"));
    assert_eq!(e.computer.as_deref(), Some("Miami.****"));
    assert_eq!(time(e), "2010-07-20T00:00:01Z");
    assert_eq!(report.errors, 0);
}

/// A log's translated display name, as a translated article or a hand-made copy shows it,
/// is read as its channel: without it the S1 events would be set aside as another log's.
#[test]
fn reads_translated_log_names_as_their_channel() {
    for (name, bytes) in [
        ("es.txt", fixture!("eventviewer-es-sistema.txt")),
        ("zh.txt", fixture!("eventviewer-zh-system.txt")),
    ] {
        let (report, events) = read(name, bytes);
        assert_eq!(
            ids(&events),
            [("Schannel", 36870), (RCM, 1058), (RCM, 1057)],
            "{name}"
        );
        for e in &events {
            assert_eq!(e.channel.as_deref(), Some("System"), "{name}");
        }
        assert_eq!(report.errors, 0, "{name}: {:?}", report.issues);
    }
}

/// Japanese, Chinese and Korean cultures write a 12-hour clock's mark before the time
/// (`午前 3:11:15`, `下午 8:27:36`, `오후 8:27:36`); the time is read, not dropped.
#[test]
fn reads_a_time_with_an_east_asian_half_of_day_mark() {
    let (report, events) = read("ja.txt", fixture!("eventviewer-ja-gozen.txt"));
    assert_eq!(ids(&events), [("Schannel", 36871)]);
    assert_eq!(
        time(&events[0]),
        "2026-12-07T03:11:15Z",
        "{:?}",
        report.issues
    );

    let copy = text(fixture!("eventviewer-en-schannel-36870.txt"));
    let plain = &copy[..copy.find("Event Xml:").unwrap()];
    for date in ["2022/10/16 下午 8:27:36", "2022-10-16 오후 8:27:36"] {
        let local = plain.replace("10/16/2022 8:27:36 PM", date);
        assert_ne!(local, plain);
        let (report, got) = read("copy.txt", local.as_bytes());
        assert_eq!(
            time(&got[0]),
            "2022-10-16T20:27:36Z",
            "{date}: {:?}",
            report.issues
        );
    }
}

/// Real Event Viewer copies from Chinese and Japanese Windows, as published on GitHub: the
/// labels, the level words and zh-CN's `暂缺` (N/A) are known, so nothing is read by position.
/// Without their XML, every field comes from the labelled lines.
#[test]
fn reads_real_chinese_and_japanese_event_viewer_copies_by_their_labels() {
    for (name, bytes, xml_label, want) in [
        (
            "zh.txt",
            fixture!("eventviewer-zh-application-error.txt"),
            "事件 Xml:",
            ("Application Error", 1000, Level::Error, "WIN-2GTCJVJJS1T"),
        ),
        (
            "ja.txt",
            fixture!("eventviewer-ja-defrag.txt"),
            "イベント XML:",
            (
                "Microsoft-Windows-Defrag",
                259,
                Level::Information,
                "sunshine7",
            ),
        ),
    ] {
        let copy = text(bytes);
        let (report, events) = read(name, copy.as_bytes());
        assert!(!report.has_issue(IssueKind::PositionalFields), "{name}");
        assert!(!events[0].message.as_deref().unwrap().contains("<Event"));
        let plain = &copy[..copy.find(xml_label).unwrap()];
        let (report, events) = read(name, plain.as_bytes());
        assert!(
            !report.has_issue(IssueKind::PositionalFields),
            "{name}: {:?}",
            report.issues
        );
        let e = &events[0];
        assert_eq!(
            (
                e.provider.as_str(),
                e.event_id,
                e.level,
                e.computer.as_deref()
            ),
            (want.0, want.1, Some(want.2), Some(want.3)),
            "{name}"
        );
        assert_eq!(e.channel.as_deref(), Some("Application"), "{name}");
        assert_eq!(e.user_name, None, "{name}: 暂缺 and N/A are placeholders");
    }
    // The level words in the copies made for the probe's findings.
    for (name, bytes) in [
        ("zh.txt", fixture!("eventviewer-zh-system.txt")),
        ("ja.txt", fixture!("eventviewer-ja-gozen.txt")),
    ] {
        let (report, events) = read(name, bytes);
        assert!(
            events.iter().all(|e| e.level == Some(Level::Error)),
            "{name}"
        );
        assert!(!report.has_issue(IssueKind::PositionalFields), "{name}");
    }
}

/// An event without its ID is skipped and said to be, in words (helper C's probe q02 showed
/// "has no a source and an event ID").
#[test]
fn an_event_without_an_id_is_skipped_and_said_to_be() {
    let text = "Event[0]:\n  Log Name: System\n  Source: Schannel\n  Date: 2026-12-07T03:11:15.000\n  \
                Level: Error\n  Description:\nA fatal error.\n\nEvent[1]:\n  Log Name: System\n  \
                Date: 2026-12-07T03:11:16.000\n  Level: Error\n  Description:\nAnother.\n\n\
                Event[2]:\n  Log Name: System\n  Source: Schannel\n  Date: 2026-12-07T03:11:17.000\n  \
                Event ID: 36871\n  Level: Error\n  Description:\nA third.\n";
    let (report, events) = read("export.txt", text.as_bytes());
    assert_eq!(events.len(), 1, "{:?}", report.issues);
    let said: Vec<&str> = report.issues.iter().map(|i| i.message.as_str()).collect();
    assert!(
        said.contains(&"this event has no event ID; it was skipped"),
        "{said:?}"
    );
    assert!(
        said.contains(&"this event has no source and no event ID; it was skipped"),
        "{said:?}"
    );
}

/// Helper C's probe (session 12, q01, q01b, q03): a wevtutil text whose first event's
/// description quotes another event's XML (on one line, or pretty-printed after a task's
/// `Task Content:`) or a PowerShell script block naming CSV columns. The quote is that event's
/// message: one export, the quoting event first, no event made of
/// the quote, and the quote whole in the message.
#[test]
fn what_a_wevtutil_description_quotes_stays_in_it() {
    for (bytes, first, quoted) in [
        (
            fixture!("wevtutil-description-quotes-xml.txt"),
            ("Application Error", 1000),
            "<Event xmlns=",
        ),
        (
            fixture!("wevtutil-description-quotes-pretty-xml.txt"),
            ("Microsoft-Windows-TaskScheduler", 106),
            "<?xml",
        ),
        (
            fixture!("wevtutil-description-quotes-script.txt"),
            ("Microsoft-Windows-PowerShell", 4104),
            "Export-Csv",
        ),
    ] {
        let (report, events) = read("export.txt", bytes);
        assert_eq!(report.errors, 0, "{:?}", report.issues);
        assert!(report.parts.len() <= 1, "{:?}", report.parts);
        assert_eq!(events.len(), 23, "{:?}", ids(&events));
        assert_eq!((events[0].provider.as_str(), events[0].event_id), first);
        let message = events[0].message.as_deref().unwrap_or_default();
        assert!(message.contains(quoted), "{message}");
        // The quoted 36871 is not an event of its own: only the two real ones are.
        let schannel = events.iter().filter(|e| e.event_id == 36871).count();
        assert_eq!(schannel, 2, "{:?}", ids(&events));
    }
}

/// Session 11's probe p27: an Event Viewer CSV (S2's 36871s) and a wevtutil text (S1's
/// 36870, 1058, 1057) pasted into one box. Read as CSV alone it gave 43 "malformed row"
/// errors and lost S1.
#[test]
fn a_csv_then_a_wevtutil_text_are_both_read() {
    let (report, events) = read("pasted text", fixture!("paste-csv-then-wevtutil.txt"));
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(
        ids(&events),
        [
            ("Schannel", 36871),
            ("Schannel", 36871),
            ("Schannel", 36870),
            (RCM, 1058),
            (RCM, 1057)
        ]
    );
    // Each event at its line of the whole text.
    assert_eq!(
        events.iter().map(|e| e.origin.location).collect::<Vec<_>>(),
        [2, 3, 5, 21, 36].map(|line| analyzer::Location::Line { line })
    );
    assert_eq!(report.format, Some(Format::Csv));
    assert_eq!(report.dialect, Some(Dialect::EventViewerCsv));
    let parts: Vec<_> = report
        .parts
        .iter()
        .map(|p| (p.format, p.dialect, p.first_line, p.last_line, p.events))
        .collect();
    assert_eq!(
        parts,
        [
            (Format::Csv, Some(Dialect::EventViewerCsv), 1, 3, 2),
            (Format::WevtutilText, Some(Dialect::WevtutilText), 5, 49, 3)
        ]
    );
    assert_eq!(
        report.dialect_names().as_deref(),
        Some("Event Viewer CSV + wevtutil /f:text")
    );
    assert_eq!(
        report.format_names().as_deref(),
        Some("csv + wevtutil-text")
    );
    assert!(
        report
            .summary()
            .contains("Event Viewer CSV + wevtutil /f:text")
    );
    let said = report
        .issues
        .iter()
        .find(|i| i.kind == IssueKind::SeveralExports)
        .expect("the report says the text held several exports");
    assert!(
        said.message
            .contains("lines 5–49: wevtutil /f:text, 3 events"),
        "{}",
        said.message
    );
}
