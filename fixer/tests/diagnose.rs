//! `fixer diagnose` end to end: the binary on real-format fixtures, as Run Command and
//! Serial Console users run it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn fixture(rel: &str) -> PathBuf {
    testkit::fixture(&format!("rules/{rel}"))
}

fn fixer(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fixer"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

#[test]
fn text_report_fits_run_commands_tail_and_ends_with_the_verdict() {
    let s1 = fixture("rdp-cert-keys/rcm-and-schannel.xml");
    let s2 = fixture("rdp-tls-disabled/schannel-36871.de.txt");
    let out = fixer(
        &["diagnose", s1.to_str().unwrap(), s2.to_str().unwrap()],
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = text(&out);
    assert!(report.len() <= 4096, "{} bytes", report.len());
    assert!(report.is_ascii());
    let verdict = report.rfind("VERDICT: most likely: rdp-cert-keys").unwrap();
    assert!(
        !report[verdict..].contains("\n["),
        "no finding after the verdict"
    );
    insta::assert_snapshot!(report);
}

#[test]
fn many_inputs_and_findings_still_fit_in_four_kilobytes() {
    let mut args = vec!["diagnose".to_string()];
    for dir in testkit::rule_fixture_dirs() {
        for f in std::fs::read_dir(dir).unwrap() {
            let p = f.unwrap().path();
            if p.extension().is_some_and(|e| e != "toml") {
                args.push(p.to_string_lossy().into_owned());
            }
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = fixer(&args, None);
    assert!(out.status.success());
    let report = text(&out);
    assert!(report.len() <= 4096, "{} bytes", report.len());
    assert!(report.contains("VERDICT: most likely: "), "{report}");
}

#[test]
fn json_output_carries_the_design_contract() {
    let f = fixture("rdp-broker-renamed/broker-2056-and-1296.xml");
    let out = fixer(&["diagnose", "--json", f.to_str().unwrap()], None);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let input = &v["inputs"][0];
    assert_eq!(input["name"], "broker-2056-and-1296.xml");
    assert_eq!(input["format"], "xml");
    assert!(input["events"].as_u64().unwrap() > 20);
    assert_eq!(input["errors"], 0);
    let finding = &v["findings"][0];
    assert_eq!(finding["id"], "rdp-broker-renamed");
    assert_eq!(finding["confidence"], "high");
    assert!(
        finding["title"]
            .as_str()
            .unwrap()
            .contains("Connection Broker")
    );
    let evidence = &finding["evidence"][0];
    assert!(
        evidence["provider"]
            .as_str()
            .unwrap()
            .starts_with("Microsoft-Windows-TerminalServices-SessionBroker")
    );
    assert!(evidence["event_id"].as_u64().is_some());
    assert!(evidence["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(evidence["computer"], "rdcb02.contoso.local");
    assert_eq!(v["now_source"], "newest_event");
    assert_eq!(v["evidence_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn reads_wevtutil_text_piped_on_standard_input() {
    let bytes = std::fs::read(fixture("rdp-cert-keys/rcm-1058.en.txt")).unwrap();
    let out = fixer(&["diagnose", "--json", "-"], Some(&bytes));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["name"], "(stdin)");
    assert_eq!(v["inputs"][0]["format"], "wevtutil-text");
    assert_eq!(v["findings"][0]["id"], "rdp-cert-keys");
}

#[test]
fn an_evidence_block_announcing_more_than_a_block_holds_is_an_error_not_a_crash() {
    // Issue 14: these four lines made `fixer diagnose -` reserve 99,999,999,999,999 bytes
    // and abort. The fuzz seed is the fixture.
    let paste = std::fs::read(
        testkit::repo_root()
            .join("fuzz/seeds/evidence_block/issue-14-announces-99999999999999-chars.txt"),
    )
    .unwrap();
    let out = fixer(&["diagnose", "-"], Some(&paste));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = text(&out);
    assert!(
        report.contains(
            "line 2: the block announces 99999999999999 characters, more than a block ever holds"
        ) && report.contains("copy the block again"),
        "{report}"
    );
    assert!(report.contains("\nVERDICT: "), "{report}");
}

#[test]
fn now_moves_the_window_and_is_reported_as_given() {
    let f = fixture("rdp-cert-keys/rcm-1058.en.txt");
    let out = fixer(
        &[
            "diagnose",
            "--json",
            "--now",
            "2024-05-20T00:00:00Z",
            f.to_str().unwrap(),
        ],
        None,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["now_source"], "given");
    assert_eq!(v["findings"][0]["evidence"][0]["age"], "older");
    assert_eq!(v["findings"][0]["confidence"], "low");
    let bad = fixer(
        &["diagnose", "--now", "yesterday", f.to_str().unwrap()],
        None,
    );
    assert_eq!(bad.status.code(), Some(2), "a bad --now is a usage error");
}

#[test]
fn kql_prints_the_queries_without_inputs() {
    let out = fixer(&["diagnose", "--kql"], None);
    assert!(out.status.success());
    let kql = text(&out);
    assert!(kql.contains("// rdp-broker-renamed (S3)"));
    assert!(kql.contains("is an Operational channel"));
    let json = fixer(&["diagnose", "--kql", "--json"], None);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(
        v["kql"]
            .as_str()
            .unwrap()
            .starts_with("// rdp-cert-keys (S1)")
    );
}

#[test]
fn a_missing_file_fails_and_names_it() {
    let out = fixer(&["diagnose", "/nonexistent/System.evtx"], None);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("/nonexistent/System.evtx") && err.contains("check the path"),
        "{err}"
    );
    let none = fixer(&["diagnose"], None);
    assert_eq!(
        none.status.code(),
        Some(2),
        "no file and no --kql is a usage error"
    );
}

#[test]
fn nothing_found_says_what_was_looked_for_and_what_to_export() {
    let f = fixture("rdp-broker-renamed/system-only-with-rename.en.txt");
    let report = text(&fixer(&["diagnose", f.to_str().unwrap()], None));
    assert!(report.contains("No documented RDP failure found. Looked for:"));
    assert!(
        report.contains(
            "rdp-broker-renamed (S3): IDs 2056/1296/6011 - its log was not in the inputs"
        )
    );
    assert!(report.contains("mkdir C:\\rdpfix-logs"));
    assert!(
        report
            .trim_end()
            .lines()
            .rev()
            .nth(1)
            .unwrap()
            .starts_with("VERDICT: no documented RDP failure found")
    );
    insta::assert_snapshot!(report);
}

#[test]
fn a_folder_is_read_file_by_file() {
    let dir = testkit::fixture("rules/rdp-tls-disabled");
    let out = fixer(&["diagnose", "--json", dir.to_str().unwrap()], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"schannel-36871-server.xml") && names.contains(&"cases.toml"),
        "{names:?}"
    );
    // cases.toml is not a log: it is reported as unrecognised, not fatal.
    let toml = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "cases.toml")
        .unwrap();
    assert_eq!(toml["events"], 0);
    assert_eq!(v["findings"][0]["id"], "rdp-tls-disabled");
}

/// `fixer diagnose --json` of `paths`, checked to have succeeded.
fn diagnose_json(paths: &[&std::path::Path]) -> serde_json::Value {
    let mut args = vec!["diagnose", "--json"];
    args.extend(paths.iter().map(|p| p.to_str().unwrap()));
    let out = fixer(&args, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn finding_ids(v: &serde_json::Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A zip of `fixer collect`'s folder (Explorer's and Compress-Archive's layouts), the folder
/// itself with the `rdpfix-logs.zip` collect writes beside the logs, and a zip piped on
/// standard input: the loose files' findings, events and evidence digest each time.
#[test]
fn archives_and_the_collect_folder_give_the_loose_files_findings() {
    let root = testkit::repo_root();
    let system = root.join("static/samples/rdp-cert-keys.evtx");
    let application = testkit::fixture("corpus/Application_no_crc32.evtx");
    let loose = diagnose_json(&[&application, &system]);
    assert_eq!(finding_ids(&loose), ["rdp-cert-keys"]);
    let folder = std::env::temp_dir()
        .join(format!("fixer-collect-folder-{}", std::process::id()))
        .join("rdpfix-logs");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(&application, folder.join("Application.evtx")).unwrap();
    std::fs::copy(&system, folder.join("System.evtx")).unwrap();
    let explorer = testkit::fixture("archives/explorer.zip");
    std::fs::copy(&explorer, folder.join("rdpfix-logs.zip")).unwrap();
    let compress = testkit::fixture("archives/compress-archive.zip");
    for (what, v) in [
        ("explorer.zip", diagnose_json(&[&explorer])),
        ("compress-archive.zip", diagnose_json(&[&compress])),
        ("the folder", diagnose_json(&[&folder])),
    ] {
        assert_eq!(finding_ids(&v), finding_ids(&loose), "{what}");
        assert_eq!(v["events"], loose["events"], "{what}");
        assert_eq!(v["evidence_sha256"], loose["evidence_sha256"], "{what}");
        let kinds: Vec<&str> = v["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["format"].as_str().unwrap_or("none"))
            .collect();
        assert_eq!(kinds.iter().filter(|k| **k == "evtx").count(), 2, "{what}");
        assert_eq!(kinds.iter().filter(|k| **k == "zip").count(), 1, "{what}");
    }
    let piped = fixer(
        &["diagnose", "--json", "-"],
        Some(&std::fs::read(&compress).unwrap()),
    );
    let v: serde_json::Value = serde_json::from_slice(&piped.stdout).unwrap();
    assert_eq!(
        finding_ids(&v),
        finding_ids(&loose),
        "a zip on standard input"
    );
    assert_eq!(
        v["inputs"][2]["name"],
        "(stdin) \u{203a} rdpfix-logs/System.evtx"
    );
    std::fs::remove_dir_all(folder.parent().unwrap()).unwrap();
}

/// The console text is ASCII with the project's own punctuation written as ASCII: a report
/// that names an archive's members, an input that is not a log (whose message lists what
/// was tried, with dashes and ellipses) and a burst (`2x the threshold`) carries no escape.
#[test]
fn the_console_report_carries_no_escapes_of_the_projects_own_text() {
    let dir = std::env::temp_dir().join(format!("fixer-ascii-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let note = dir.join("notes.txt");
    std::fs::write(&note, "Remember to restart the VM after lunch.\n").unwrap();
    let burst = fixture("rdp-brute-force/security-4625-burst.xml");
    let zip = testkit::fixture("archives/stored.zip");
    let out = fixer(
        &[
            "diagnose",
            note.to_str().unwrap(),
            burst.to_str().unwrap(),
            zip.to_str().unwrap(),
        ],
        None,
    );
    let report = text(&out);
    assert!(report.is_ascii());
    assert!(!report.contains("\\u{"), "{report}");
    assert!(
        report.contains("stored.zip > rdpfix-logs/Application.evtx"),
        "{report}"
    );
    assert!(report.contains("wevtutil-text - no Event[N]:"), "{report}");
    assert!(report.contains("the burst is 2x the threshold"), "{report}");
    std::fs::remove_dir_all(&dir).unwrap();
}
