//! Findings from offline registry hives in a session, as the page and `fixer diagnose`
//! draw them: a SYSTEM hive alone, a SOFTWARE hive joined to the SYSTEM hive of its machine.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::input::no_progress;
use testkit::hive_writer;

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(testkit::fixture("hives").join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn findings(files: &[&str]) -> Vec<String> {
    let mut session = Session::new();
    for f in files {
        session.add_bytes(f, &fixture(f), &mut no_progress);
    }
    session
        .finish(&DiagnoseOptions::default())
        .findings
        .iter()
        .map(|f| f.id.clone())
        .collect()
}

#[test]
fn hives_give_configuration_findings_and_a_system_and_software_hive_join() {
    assert_eq!(
        findings(&["healthy/SYSTEM", "healthy/SOFTWARE"]),
        Vec::<String>::new()
    );
    assert_eq!(
        findings(&["port-changed/SYSTEM"]),
        vec!["rdp-config-port-changed"]
    );
    assert_eq!(
        findings(&["termservice-disabled/SYSTEM"]),
        vec!["rdp-config-termservice-disabled"]
    );
    assert_eq!(
        findings(&["healthy/SYSTEM", "rdp-disabled-policy/SOFTWARE"]),
        vec!["rdp-config-disabled-by-policy"]
    );
}

#[test]
fn a_finding_that_needs_both_hives_comes_only_from_both_in_one_session() {
    // RDP refused locally with no policy value: the SYSTEM hive says the first, only the
    // SOFTWARE hive the second.
    let system = hive_writer::system(1, |cs| {
        cs.key(r"Control\Terminal Server")
            .dword("fDenyTSConnections", 1);
    })
    .write()
    .bytes;
    let run = |software: bool| {
        let mut session = Session::new();
        session.add_bytes("SYSTEM", &system, &mut no_progress);
        if software {
            session.add_bytes("SOFTWARE", &fixture("healthy/SOFTWARE"), &mut no_progress);
        }
        let d = session.finish(&DiagnoseOptions::default());
        d.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>()
    };
    assert_eq!(run(false), Vec::<String>::new());
    assert_eq!(run(true), vec!["rdp-config-disabled"]);
}

#[test]
fn a_reason_read_from_a_hive_names_no_line() {
    let mut session = Session::new();
    session.add_bytes("SYSTEM", &fixture("port-changed/SYSTEM"), &mut no_progress);
    let d = session.finish(&DiagnoseOptions::default());
    let reasons: Vec<&str> = d.findings[0]
        .reasons
        .iter()
        .map(|r| r.text.as_str())
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("PortNumber = 3390") && !r.contains("line")),
        "{reasons:?}"
    );
}

/// A zip of the hives (what `fixer collect --offline` writes, or Explorer's "Compressed
/// folder"): each member is decompressed forward only, yet the hive reader reads at random.
fn zipped_findings(files: &[&str], method: zip::CompressionMethod) -> (Vec<String>, String) {
    let mut out = std::io::Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    for f in files {
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(format!("rdpfix-logs/{f}"), options).unwrap();
        std::io::Write::write_all(&mut w, &fixture(f)).unwrap();
    }
    w.finish().unwrap();
    let bytes = out.into_inner();
    let mut session = Session::new();
    let reports = session.add_seekable(
        "logs.zip",
        std::io::Cursor::new(&bytes),
        bytes.len() as u64,
        &mut no_progress,
    );
    let issues = format!("{reports:#?}");
    let d = session.finish(&DiagnoseOptions::default());
    (d.findings.iter().map(|f| f.id.clone()).collect(), issues)
}

#[test]
fn hives_in_a_zip_give_what_the_loose_hives_give() {
    for method in [
        zip::CompressionMethod::Deflated,
        zip::CompressionMethod::Stored,
    ] {
        for files in [
            &["port-changed/SYSTEM"][..],
            &["healthy/SYSTEM", "rdp-disabled-policy/SOFTWARE"][..],
        ] {
            let (zipped, issues) = zipped_findings(files, method);
            assert_eq!(zipped, findings(files), "{method:?} {files:?}: {issues}");
            assert!(!zipped.is_empty(), "{files:?}");
        }
    }
}
