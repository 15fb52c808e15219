//! `RDPFIX-CONFIG v1` snapshots read from the fixtures (`tests/fixtures/config/`, made by
//! `make.py` after what the collection script prints), bare and wrapped by Run Command;
//! errors named by line; unknown keys kept; the newest snapshot per computer.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::config::{
    ConfigSnapshot, Reading, Section, Value, find_snapshots, newest_per_computer, text::Writer,
};
use analyzer::input::{Format, InputReport, IssueLocation, Severity, no_progress, read_bytes};
use std::path::PathBuf;

fn fixture(case: &str, file: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/config")
        .join(case)
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read(name: &str, bytes: &[u8]) -> InputReport {
    read_bytes(name, bytes, &mut Vec::new(), &mut no_progress)
}

fn only_snapshot(report: &InputReport) -> &ConfigSnapshot {
    assert_eq!(report.configs.len(), 1, "{report:#?}");
    &report.configs[0]
}

#[test]
fn reads_the_healthy_snapshot_with_every_section() {
    let report = read("snapshot.txt", &fixture("healthy", "snapshot.txt"));
    assert_eq!(report.format, Some(Format::ConfigSnapshot));
    assert_eq!(report.errors, 0, "{:#?}", report.issues);
    assert!(report.issues.is_empty(), "{:#?}", report.issues);
    let s = only_snapshot(&report);
    assert_eq!(s.computer, "vm-app-01");
    assert_eq!(s.os_build, Some(20348));
    assert_eq!(s.taken, Some("2026-11-20T09:41:07Z".parse().unwrap()));
    for section in analyzer::config::schema::SECTIONS {
        assert!(s.has(section), "{section:?} missing");
    }
    assert_eq!(s.dword(Section::Rdp, None, "port"), Reading::Value(3389));
    assert_eq!(s.dword(Section::Rdp, None, "max"), Reading::Value(u32::MAX));
    assert_eq!(s.dword(Section::Ts, None, "drain"), Reading::Absent);
    // A value wrapped onto a second line of its section is still its service's.
    assert_eq!(
        s.dword(Section::Svc, Some("termservice"), "type"),
        Reading::Value(32)
    );
    assert_eq!(
        s.text(Section::Svc, Some("TermService"), "acct"),
        Reading::Value(r"NT Authority\NetworkService")
    );
    assert_eq!(
        s.list(Section::Rights, None, "allow"),
        ["S-1-5-32-544", "S-1-5-32-555"]
    );
    assert!(s.list(Section::Rdu, None, "m").is_empty());
    assert_eq!(s.subjects(Section::Fw), ["Domain", "Private", "Public"]);
    // The drain mode's default applies when its value is absent; the port is set.
    let drain = s.effective(Section::Ts, "drain").unwrap();
    assert!(drain.by_default && drain.value == 0);
    let port = s.effective(Section::Rdp, "port").unwrap();
    assert!(!port.by_default && port.line == Some(4));
}

#[test]
fn every_case_reads_without_errors_bare_and_from_az_json() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config");
    let mut cases = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.join("snapshot.txt").exists() {
            continue;
        }
        cases += 1;
        let case = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bare = read("snapshot.txt", &fixture(&case, "snapshot.txt"));
        let wrapped = read("az.json", &fixture(&case, "az-run-command.json"));
        for report in [&bare, &wrapped] {
            assert_eq!(report.errors, 0, "{case}: {:#?}", report.issues);
            assert_eq!(report.format, Some(Format::ConfigSnapshot), "{case}");
        }
        let (a, b) = (only_snapshot(&bare), only_snapshot(&wrapped));
        assert_eq!(a.entries.len(), b.entries.len(), "{case}");
        // The JSON's message starts on a line of its own: lines differ, nothing else.
        let why = |s: &ConfigSnapshot| -> Vec<(Section, Option<String>)> {
            s.not_collected
                .iter()
                .map(|n| (n.section, n.why.clone()))
                .collect()
        };
        assert_eq!(why(a), why(b), "{case}");
    }
    assert!(cases >= 10, "{cases} cases");
}

#[test]
fn reads_the_snapshot_inside_invoke_azvmruncommands_listing() {
    let bytes = fixture("rdp-disabled-policy", "invoke-azvmruncommand.txt");
    let report = read("invoke.txt", &bytes);
    assert_eq!(report.errors, 0, "{:#?}", report.issues);
    let s = only_snapshot(&report);
    assert_eq!(s.dword(Section::Tsp, None, "deny"), Reading::Value(1));
    assert_eq!(s.subjects(Section::Svc).len(), 8);
}

#[test]
fn a_section_not_collected_says_why_and_reads_as_not_collected() {
    let report = read("nc.txt", &fixture("rdp-not-collected", "snapshot.txt"));
    let s = only_snapshot(&report);
    assert!(!s.has(Section::Fw) && !s.has(Section::Rights));
    let fw = s
        .not_collected
        .iter()
        .find(|n| n.section == Section::Fw)
        .unwrap();
    assert!(
        fw.why
            .as_deref()
            .unwrap()
            .contains("Get-NetFirewallProfile")
    );
    assert_eq!(
        s.dword(Section::Fw, Some("Public"), "on"),
        Reading::NotCollected
    );
    assert_eq!(s.effective(Section::Rights, "allow"), None);
}

const SMALL: &str = "RDPFIX-CONFIG v1 host=vm1 at=2026-11-20T09:00:00Z os=17763\n\
                     rdp port=3389 colour=4\n\
                     quux a=1\n\
                     rdp nla=yes\n\
                     END RDPFIX-CONFIG lines=3\n";

#[test]
fn unknown_keys_and_sections_are_kept_and_reported_by_line() {
    let report = read("small.txt", SMALL.as_bytes());
    let s = only_snapshot(&report);
    let unknown: Vec<(u32, &str)> = s
        .unknown
        .iter()
        .map(|u| (u.line, u.text.as_str()))
        .collect();
    assert_eq!(unknown, [(2, "rdp colour=4"), (3, "quux a=1")]);
    assert_eq!(s.dword(Section::Rdp, None, "port"), Reading::Value(3389));
    // A value of the wrong kind is reported at its line and read as unreadable.
    assert_eq!(s.dword(Section::Rdp, None, "nla"), Reading::Unreadable);
    let at = |line| Some(IssueLocation::Line { line });
    let bad = report.issues.iter().find(|i| i.at == at(4)).unwrap();
    assert_eq!(bad.severity, Severity::Warning);
    assert!(
        bad.message.contains("UserAuthentication"),
        "{}",
        bad.message
    );
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.at == at(2) && i.severity == Severity::Info)
    );
    assert_eq!(report.errors, 0);
}

#[test]
fn a_cut_block_is_an_error_and_its_last_half_line_is_dropped() {
    let text = "RDPFIX-CONFIG v1 host=vm1 os=20348\nts deny=0 drain=-\nrdp port=33";
    let report = read("cut.txt", text.as_bytes());
    assert_eq!(report.errors, 1, "{:#?}", report.issues);
    assert!(report.truncated);
    let s = only_snapshot(&report);
    assert_eq!(s.dword(Section::Ts, None, "deny"), Reading::Value(0));
    assert_eq!(s.dword(Section::Rdp, None, "port"), Reading::NotCollected);
    let issue = &report.issues[0];
    assert_eq!(issue.at, Some(IssueLocation::Line { line: 3 }));
}

#[test]
fn lines_lost_from_a_block_are_counted_against_its_end_line() {
    let text = SMALL.replace("quux a=1\n", "");
    let report = read("lost.txt", text.as_bytes());
    assert_eq!(report.errors, 1, "{:#?}", report.issues);
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.message.contains("announces 3"))
    );
}

#[test]
fn only_the_end_of_a_block_or_another_version_is_named_and_not_used() {
    let report = read("end.txt", b"rdp port=3389\nEND RDPFIX-CONFIG lines=1\n");
    assert!(report.configs.is_empty());
    assert_eq!(report.errors, 1);
    assert!(
        report.issues[0]
            .message
            .contains("first lines were cut off")
    );
    let report = read(
        "v2.txt",
        b"RDPFIX-CONFIG v2 host=a\nrdp port=1\nEND RDPFIX-CONFIG lines=1\n",
    );
    assert!(report.configs.is_empty());
    assert!(
        report.issues[0].message.contains("version `2`"),
        "{:?}",
        report.issues
    );
}

#[test]
fn the_newest_snapshot_per_computer_wins() {
    let block = |host: &str, at: &str, port: u32| {
        let mut w = Writer::new(host, Some(at.parse().unwrap()), Some(20348));
        w.value(Section::Rdp, None, "port", &Value::Set(port.to_string()));
        w.finish()
    };
    let text = [
        block("vm1", "2026-11-20T09:00:00Z", 1),
        block("vm2", "2026-11-20T08:00:00Z", 2),
        block("VM1", "2026-11-20T10:00:00Z", 3),
        block("vm1", "2026-11-20T07:00:00Z", 4),
    ]
    .concat();
    let found = find_snapshots(&text, "pasted");
    assert_eq!(found.len(), 4);
    let snapshots: Vec<ConfigSnapshot> = found.into_iter().filter_map(|f| f.snapshot).collect();
    let newest = newest_per_computer(&snapshots);
    let ports: Vec<Reading<u32>> = newest
        .iter()
        .map(|s| s.dword(Section::Rdp, None, "port"))
        .collect();
    assert_eq!(ports, [Reading::Value(3), Reading::Value(2)]);
}

#[test]
fn a_snapshot_beside_event_text_leaves_the_events_to_their_reader() {
    let mut text = String::from_utf8(fixture("healthy", "snapshot.txt")).unwrap();
    text.push_str(
        "\r\nEvent[0]:\r\n  Log Name: System\r\n  Source: Service Control Manager\r\n  \
         Date: 2026-11-20T09:30:00.000\r\n  Event ID: 7036\r\n  Level: Information\r\n  \
         Computer: vm-app-01\r\n  Description: \r\nThe Remote Desktop Services service entered the running state.\r\n",
    );
    let report = read("both.txt", text.as_bytes());
    assert_eq!(report.configs.len(), 1);
    assert_eq!(report.events, 1, "{:#?}", report.issues);
}

#[test]
fn serial_console_reg_query_output_reads_as_the_registry_sections() {
    let report = read("reg-query.txt", &fixture("serial-console", "reg-query.txt"));
    assert_eq!(report.format, Some(Format::ConfigSnapshot));
    assert_eq!(report.errors, 0, "{:#?}", report.issues);
    let s = only_snapshot(&report);
    assert_eq!(s.computer, "");
    assert_eq!(s.dword(Section::Ts, None, "deny"), Reading::Value(1));
    // The policy key does not exist: `echo` printed its name, `reg query` an error.
    assert_eq!(s.dword(Section::Tsp, None, "deny"), Reading::Absent);
    // Keys wrapped at 80 columns by the console are joined again.
    assert_eq!(s.dword(Section::Rdp, None, "max"), Reading::Value(u32::MAX));
    assert_eq!(s.dword(Section::Lsa, None, "fips"), Reading::Value(0));
    assert_eq!(s.dword(Section::Tls, Some("TLS1.2"), "en"), Reading::Absent);
    assert_eq!(
        s.dword(Section::Svc, Some("TermService"), "start"),
        Reading::Value(3)
    );
    // `/v Start` prints Start alone: the type is not collected, not absent.
    assert_eq!(
        s.dword(Section::Svc, Some("Dhcp"), "type"),
        Reading::NotCollected
    );
    // Nothing `reg query` cannot show is made up.
    for section in [Section::Fw, Section::Cert, Section::Rights, Section::Disk] {
        assert!(!s.has(section), "{section:?}");
    }
}

#[test]
fn the_summary_lists_what_deviates_from_the_release_defaults_and_what_is_missing() {
    use analyzer::config::deviation::summary;
    let healthy = read("h.txt", &fixture("healthy", "snapshot.txt"));
    let s = summary(only_snapshot(&healthy));
    assert_eq!(s.release.as_deref(), Some("Windows Server 2022"));
    // Azure images allow RDP; a fresh install's default refuses it.
    let names: Vec<(&str, &str, &str)> = s
        .deviations
        .iter()
        .map(|d| (d.name.as_str(), d.value.as_str(), d.default.as_str()))
        .collect();
    assert_eq!(names, [("fDenyTSConnections", "0", "1")]);
    assert!(s.not_collected.is_empty(), "{:?}", s.not_collected);

    let changed = read("p.txt", &fixture("rdp-port-changed", "snapshot.txt"));
    let s = summary(only_snapshot(&changed));
    assert!(
        s.deviations.iter().any(|d| d.name == "PortNumber"
            && d.value == "3390"
            && d.default == "3389"
            && d.line == 4),
        "{:?}",
        s.deviations
    );
    let missing = read("n.txt", &fixture("rdp-not-collected", "snapshot.txt"));
    let s = summary(only_snapshot(&missing));
    let sections: Vec<Section> = s.not_collected.iter().map(|(s, _)| *s).collect();
    assert!(sections.contains(&Section::Fw) && sections.contains(&Section::Rights));
    assert!(sections.contains(&Section::Fwrule), "{sections:?}");
}

#[test]
fn a_value_line_wrapped_by_the_console_is_joined_and_the_values_after_it_read() {
    // The RDP-Tcp key at 80 columns: the binary certificate hash's line is 84 long.
    let bytes = fixture("serial-console", "reg-query-wrapped.txt");
    let report = read("reg-query-wrapped.txt", &bytes);
    assert_eq!(report.errors, 0, "{:#?}", report.issues);
    let s = only_snapshot(&report);
    assert_eq!(
        s.text(Section::Rdp, None, "cert"),
        Reading::Value("6F2B0E8A1C4D93B7E05A2F8C61D47E39B0A5C2D8")
    );
    // The values after the wrapped line are read, not absent.
    assert_eq!(s.dword(Section::Rdp, None, "max"), Reading::Value(u32::MAX));
    assert_eq!(s.dword(Section::Rdp, None, "port"), Reading::Value(3389));
    assert_eq!(s.dword(Section::Rdp, None, "sec"), Reading::Value(2));
    assert_eq!(s.dword(Section::Rdp, None, "nla"), Reading::Value(1));
    assert_eq!(s.dword(Section::Rdp, None, "neg"), Reading::Value(1));
}

#[test]
fn a_long_text_value_wrapped_over_several_lines_is_joined_whole() {
    let key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server";
    let data = "x".repeat(150) + " y";
    let whole = format!("    TSServerDrainMode    REG_SZ    {data}");
    let mut text = format!("{key}\r\n\r\n{key}\r\n");
    for chunk in whole.as_bytes().chunks(80) {
        text.push_str(std::str::from_utf8(chunk).unwrap());
        text.push_str("\r\n");
    }
    text.push_str("    fDenyTSConnections    REG_DWORD    0x1\r\n");
    let report = read("wrapped.txt", text.as_bytes());
    let s = only_snapshot(&report);
    assert_eq!(
        s.text(Section::Ts, None, "drain"),
        Reading::Value(data.as_str())
    );
    assert_eq!(s.dword(Section::Ts, None, "deny"), Reading::Value(1));
}

#[test]
fn the_rest_of_a_wrapped_value_that_looks_like_a_prompt_stays_the_values() {
    // A value holding `C:\>` cut by the console right before it: the next line reads like
    // a cmd prompt, but it follows a line the console filled. Alone (no width known),
    // inside a Serial Console session whose other lines show the width, and printed twice
    // (its key's header, repeated, is then the most common long line, not the wrap).
    let key = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Terminal Server";
    let data = format!("{}C:\\>echo y", "x".repeat(45));
    let whole = format!("    TSServerDrainMode    REG_SZ    {data}");
    let mut values = String::new();
    for chunk in whole.as_bytes().chunks(80) {
        values.push_str(std::str::from_utf8(chunk).unwrap());
        values.push_str("\r\n");
    }
    assert!(values.contains("\r\nC:\\>echo y\r\n"));
    values.push_str("    fDenyTSConnections    REG_DWORD    0x1\r\n");
    let alone = format!("{key}\r\n\r\n{key}\r\n{values}");
    let filler = format!("{}\r\n", "z".repeat(80)).repeat(3);
    let session = format!(
        "C:\\Windows\\system32>reg query \"{key}\"\r\n{filler}\r\n{alone}\r\nC:\\Windows\\system32>\r\n"
    );
    let twice = format!("{alone}\r\n{alone}");
    for text in [alone, session, twice] {
        let report = read("wrapped.txt", text.as_bytes());
        let s = only_snapshot(&report);
        assert_eq!(
            s.text(Section::Ts, None, "drain"),
            Reading::Value(data.as_str()),
            "{text}"
        );
        assert_eq!(s.dword(Section::Ts, None, "deny"), Reading::Value(1));
    }
}

#[test]
fn blocks_past_the_most_one_input_holds_are_named_not_dropped_silently() {
    use analyzer::config::MAX_SNAPSHOTS;
    let block = |i: usize| {
        let mut w = Writer::new(
            &format!("vm{i}"),
            Some("2026-11-20T09:00:00Z".parse().unwrap()),
            None,
        );
        w.value(Section::Rdp, None, "port", &Value::Set("3389".to_owned()));
        w.finish()
    };
    let blocks: Vec<String> = (0..=MAX_SNAPSHOTS).map(block).collect();
    let text = blocks.join("\n");
    let first_skipped = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("RDPFIX-CONFIG v1"))
        .nth(MAX_SNAPSHOTS)
        .map(|(i, _)| u32::try_from(i + 1).unwrap())
        .unwrap();
    let report = read("many.txt", text.as_bytes());
    assert_eq!(report.configs.len(), MAX_SNAPSHOTS);
    let limit: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == analyzer::input::IssueKind::Limit)
        .collect();
    assert_eq!(limit.len(), 1, "{:#?}", report.issues);
    assert_eq!(
        limit[0].at,
        Some(IssueLocation::Line {
            line: first_skipped
        })
    );
    // Exactly the most: nothing to name.
    let report = read("32.txt", blocks[..MAX_SNAPSHOTS].join("\n").as_bytes());
    assert!(
        report
            .issues
            .iter()
            .all(|i| i.kind != analyzer::input::IssueKind::Limit),
        "{:#?}",
        report.issues
    );
}
