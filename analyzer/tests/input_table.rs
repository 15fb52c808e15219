//! PowerShell's tables of events (`Get-WinEvent`'s default output, `Format-Table`): the ways
//! consoles and Run Command change the fixtures (tests/fixtures/inputs/table-*.txt, read as
//! they are by `input_structured.rs`), other tables, and a property test against a model of
//! PowerShell's layout (`Event.format.ps1xml`'s widths).
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod text_common;

use analyzer::input::{Format, IssueKind, Severity};
use analyzer::{Event, Level};
use proptest::prelude::*;
use text_common::*;

/// Each event as (provider, ID, time, level).
fn rows(events: &[Event]) -> Vec<(String, u16, String, Option<Level>)> {
    events
        .iter()
        .map(|e| (e.provider.clone(), e.event_id, time(e), e.level))
        .collect()
}

/// A Serial Console at 80 columns: PowerShell fits the table to it, leaving the message
/// 26 columns; every event is still read.
#[test]
fn a_table_fitted_to_80_columns_reads_the_same_events() {
    let text = text(fixture!("table-getwinevent-system.txt"));
    let narrow: String = text
        .split("\r\n")
        .map(|l| {
            if l.chars().count() > 79 {
                format!("{}...", l.chars().take(76).collect::<String>())
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n");
    let (_, wide) = read("wide.txt", text.as_bytes());
    let (report, events) = read("narrow.txt", narrow.as_bytes());
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(rows(&events), rows(&wide));
}

/// Run Command returns the last 4,096 bytes: when they begin inside a group, the rows before
/// the next header have no provider. They are reported as cut, the rest read.
#[test]
fn rows_whose_group_line_was_cut_off_are_reported_not_guessed() {
    let text = text(fixture!("table-getwinevent-system.txt"));
    let from = text.find("12/7/2026 3:10:15 AM").unwrap();
    let (report, events) = read("tail.txt", &text.as_bytes()[from..]);
    assert!(report.truncated);
    let cut: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Truncated)
        .collect();
    assert_eq!(cut.len(), 1, "{:?}", report.issues);
    assert!(cut[0].message.starts_with("lines 1–1 are rows of a table"));
    assert_eq!(events.len(), 5);
    assert_eq!(events[0].provider, RCM);
}

/// `Format-Table -Wrap` puts the rest of a message on the lines below, blank up to its
/// column; chosen columns without a group line name the provider themselves.
#[test]
fn wrapped_messages_and_chosen_columns() {
    let text = "TimeCreated           ProviderName Id Message\r\n\
                -----------           ------------ -- -------\r\n\
                12/7/2026 3:11:15 AM  Schannel  36871 A fatal error occurred while creating a\r\n\
                \x20                                       TLS server credential. The internal\r\n\
                \x20                                       error state is 10013.\r\n\
                12/7/2026 3:12:15 AM  Microsof…  1058 The RD Session Host Server has failed\r\n";
    let (report, events) = read("ft.txt", text.as_bytes());
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(
        events[0].message.as_deref(),
        Some(
            "A fatal error occurred while creating a TLS server credential. The internal \
             error state is 10013."
        )
    );
    assert_eq!(ids(&events), [("Schannel", 36871), ("Microsof…", 1058)]);
    // A provider cut to its column cannot match a rule: a warning says so.
    assert!(report.issues.iter().any(|i| i.severity == Severity::Warning
        && i.message.starts_with("1 rows show their ProviderName cut")));
}

/// Localised: the dates and level names of the machine's culture, and East Asian wide
/// characters counted as two console cells.
#[test]
fn localised_tables_read_by_console_cells() {
    let de = "   ProviderName: Schannel\r\n\r\n\
              TimeCreated                      Id LevelDisplayName Message\r\n\
              -----------                      -- ---------------- -------\r\n\
              07.12.2026 03:11:15           36871 Fehler           Schwerwiegender Fehler beim Erstellen...\r\n";
    let (report, events) = read("de.txt", de.as_bytes());
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(rows(&events)[0].2, "2026-12-07T03:11:15Z");
    assert_eq!(events[0].level, Some(Level::Error));
    let ja = "   ProviderName: Schannel\r\n\r\n\
              TimeCreated                      Id LevelDisplayName Message\r\n\
              -----------                      -- ---------------- -------\r\n\
              2026/12/07 3:11:15            36871 エラー           TLS サーバーの資格情報の作成中に...\r\n";
    let (report, events) = read("ja.txt", ja.as_bytes());
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert_eq!(events[0].level, Some(Level::Error));
    assert_eq!(
        events[0].message.as_deref(),
        Some("TLS サーバーの資格情報の作成中に...")
    );
}

/// Get-EventLog's table has no year and cuts sources: refused, every row counted as
/// skipped, with the command that works.
#[test]
fn get_eventlogs_table_is_refused_with_the_command_that_works() {
    let text = "   Index Time          EntryType   Source                 InstanceID Message\r\n\
                \x20  ----- ----          ---------   ------                 ---------- -------\r\n\
                \x20  19711 Dec 07 03:11  Error       Schannel               3221262407 A fatal error occurred while creating a TLS serv...\r\n\
                \x20  19710 Dec 07 03:10  Error       Schannel               3221262407 A fatal error occurred while creating a TLS serv...\r\n";
    let (report, events) = read("eventlog.txt", text.as_bytes());
    assert!(events.is_empty());
    assert_eq!(report.format, Some(Format::Table));
    assert_eq!(report.skipped, 2);
    assert!(
        report.issues[0].message.contains("Get-EventLog's table")
            && report.issues[0].message.contains("| Format-List"),
        "{:?}",
        report.issues
    );
}

/// Other cmdlets' tables are no events: `Get-Process` has an `Id` column, `Get-Service`
/// none.
#[test]
fn other_tables_are_not_events() {
    let process = "Handles  NPM(K)    PM(K)      WS(K)     CPU(s)     Id  SI ProcessName\r\n\
                   -------  ------    -----      -----     ------     --  -- -----------\r\n\
                   \x20   230      14     3012      11840       0.05   4242   0 svchost\r\n";
    let service = "Status   Name               DisplayName\r\n\
                   ------   ----               -----------\r\n\
                   Running  TermService        Remote Desktop Services\r\n";
    for text in [process, service] {
        let (report, events) = read("other.txt", text.as_bytes());
        assert!(events.is_empty());
        assert_ne!(report.format, Some(Format::Table), "{text}");
    }
}

/// PowerShell's layout of the default view, as `Event.format.ps1xml` gives it: a group line
/// when the provider changes, the header, and each row cut at `width - 1` columns with
/// `...`.
fn lay_out(events: &[(String, u16, u32, &'static str, String)], width: usize) -> String {
    let mut out = String::new();
    let mut last: Option<&str> = None;
    for (provider, id, minute, level, message) in events {
        if last != Some(provider.as_str()) {
            out.push_str(&format!("\r\n   ProviderName: {provider}\r\n\r\n"));
            out.push_str(&format!(
                "{:<26} {:>8} {:<16} Message\r\n{:<26} {:>8} {:<16} -------\r\n",
                "TimeCreated", "Id", "LevelDisplayName", "-----------", "--", "----------------"
            ));
            last = Some(provider);
        }
        let time = format!("12/7/2026 {}:{:02}:00 AM", 1 + minute / 60, minute % 60);
        let mut row = format!("{time:<26} {id:>8} {level:<16} {message}");
        if row.chars().count() > width - 1 {
            row = format!("{}...", row.chars().take(width - 4).collect::<String>());
        }
        out.push_str(row.trim_end());
        out.push_str("\r\n");
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the events and the console's width, each row reads back as its provider,
    /// ID, time and level.
    #[test]
    fn any_default_table_reads_back(
        events in prop::collection::vec(
            (
                prop::sample::select(vec![
                    "Schannel".to_owned(),
                    "Service Control Manager".to_owned(),
                    RCM.to_owned(),
                    "Microsoft-Windows-Kernel-General".to_owned(),
                ]),
                any::<u16>(),
                0u32..600,
                prop::sample::select(vec!["Error", "Warning", "Information", "Critical"]),
                "[A-Za-z0-9 .,:()]{0,120}",
            ),
            1..30,
        ),
        width in 60usize..200,
    ) {
        let text = lay_out(&events, width);
        let (report, read_events) = read("table.txt", text.as_bytes());
        prop_assert_eq!(report.errors, 0, "{:?}\n{}", report.issues, text);
        let got: Vec<(String, u16, String)> = read_events
            .iter()
            .map(|e| (e.provider.clone(), e.event_id, time(e)))
            .collect();
        let expected: Vec<(String, u16, String)> = events
            .iter()
            .map(|(p, id, minute, _, _)| {
                (p.clone(), *id, format!("2026-12-07T{:02}:{:02}:00Z", 1 + minute / 60, minute % 60))
            })
            .collect();
        prop_assert_eq!(got, expected, "{}", text);
    }

    /// Any text: no panic, and every event read has a provider and a line.
    #[test]
    fn any_text_with_a_table_header_reads_without_panic(
        body in "[ -~\r\n…エ]{0,400}",
    ) {
        let text = format!(
            "TimeCreated                      Id LevelDisplayName Message\r\n\
             -----------                      -- ---------------- -------\r\n{body}"
        );
        let (_, events) = read("any.txt", text.as_bytes());
        prop_assert!(events.iter().all(|e| !e.provider.is_empty()));
    }
}
