//! Zip archives of logs (`tests/fixtures/archives/`, made to the layouts Windows' tools
//! write; see its README): each gives what the loose files give, and every bad archive a
//! message in words while its readable members are still read.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::{
    Format, InputReport, IssueKind, MAX_MEMBERS, Severity, folder_reads, no_progress, read_any,
};
use std::io::{Cursor, Write};
use std::ops::ControlFlow;

const SYSTEM: &str = "static/samples/rdp-cert-keys.evtx";
const APPLICATION: &str = "tests/fixtures/corpus/Application_no_crc32.evtx";

fn root_file(rel: &str) -> Vec<u8> {
    std::fs::read(testkit::repo_root().join(rel)).unwrap()
}

fn archive(name: &str) -> Vec<u8> {
    std::fs::read(testkit::fixture(&format!("archives/{name}"))).unwrap()
}

/// The diagnosis of the loose files, and the session's inputs.
fn loose() -> Diagnosis {
    let mut session = Session::new();
    session.add_bytes(
        "Application.evtx",
        &root_file(APPLICATION),
        &mut no_progress,
    );
    session.add_bytes("System.evtx", &root_file(SYSTEM), &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

fn zipped(name: &str, bytes: Vec<u8>) -> Diagnosis {
    let mut session = Session::new();
    let len = bytes.len() as u64;
    session.add_seekable(name, Cursor::new(bytes), len, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

fn read(name: &str, bytes: &[u8]) -> Vec<InputReport> {
    read_any(
        name,
        Cursor::new(bytes),
        bytes.len() as u64,
        &mut Vec::new(),
        &mut no_progress,
    )
}

fn ids(d: &Diagnosis) -> Vec<String> {
    d.findings.iter().map(|f| f.id.clone()).collect()
}

fn messages(report: &InputReport) -> String {
    report
        .issues
        .iter()
        .map(|i| i.message.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn explorer_and_compress_archive_zips_give_what_the_loose_files_give() {
    let loose = loose();
    assert_eq!(ids(&loose), ["rdp-cert-keys"]);
    for name in ["explorer.zip", "compress-archive.zip"] {
        let d = zipped(name, archive(name));
        assert_eq!(ids(&d), ids(&loose), "{name}");
        assert_eq!(d.events, loose.events, "{name}");
        assert_eq!(d.most_likely, loose.most_likely, "{name}");
        // The members' digests are the loose files': the same evidence, the same plan.
        assert_eq!(d.evidence_sha256, loose.evidence_sha256, "{name}");
        let names: Vec<&str> = d.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                name.to_owned(),
                format!("{name} › rdpfix-logs/Application.evtx"),
                format!("{name} › rdpfix-logs/System.evtx"),
            ],
            "backslashes (Compress-Archive) are shown as slashes; the folder entry is no input"
        );
        let archive = &d.inputs[0];
        assert_eq!(archive.format, Some(Format::Zip));
        assert_eq!((archive.events, archive.errors), (0, 0), "{name}");
        assert!(archive.sha256.is_empty());
        for (member, plain) in d.inputs[1..].iter().zip(&loose.inputs) {
            assert_eq!(member.events, plain.events, "{}", member.name);
            assert_eq!(member.sha256, plain.sha256, "{}", member.name);
            assert_eq!(member.issues, plain.issues, "{}", member.name);
        }
    }
}

#[test]
fn a_stored_archive_is_read_and_its_other_files_listed_as_skipped() {
    let reports = read("logs.zip", &archive("stored.zip"));
    assert_eq!(reports.len(), 2, "{reports:#?}");
    let note = &reports[0].issues[0];
    assert_eq!(
        (note.severity, note.kind),
        (Severity::Info, IssueKind::Skipped)
    );
    assert_eq!(
        note.message,
        "rdpfix-logs/notes.txt: skipped: not an event log export"
    );
    let plain = read("Application.evtx", &root_file(APPLICATION));
    assert_eq!(reports[1].events, plain[0].events);
    assert_eq!(reports[1].sha256, plain[0].sha256);
}

/// A member's headers in an archive: where its central directory entry and its local
/// header start.
struct Entry {
    central: usize,
    local: usize,
}

fn entries(zip: &[u8]) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(i) = find(&zip[at..], b"PK\x01\x02") {
        let central = at + i;
        let local = u32::from_le_bytes(zip[central + 42..central + 46].try_into().unwrap());
        out.push(Entry {
            central,
            local: local as usize,
        });
        at = central + 4;
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Sets a little-endian field in an entry's central header (at `central`) and its local
/// header (at `local`, when given).
fn patch(zip: &mut [u8], e: &Entry, central: usize, local: Option<usize>, value: &[u8]) {
    zip[e.central + central..e.central + central + value.len()].copy_from_slice(value);
    if let Some(local) = local {
        zip[e.local + local..e.local + local + value.len()].copy_from_slice(value);
    }
}

/// `compress-archive.zip` (sizes in its local headers): Application, then System.
fn two_members() -> (Vec<u8>, Vec<Entry>) {
    let zip = archive("compress-archive.zip");
    let e = entries(&zip);
    assert_eq!(e.len(), 2);
    (zip, e)
}

fn application_events() -> u64 {
    read("Application.evtx", &root_file(APPLICATION))[0].events
}

#[test]
fn a_cut_archive_keeps_its_whole_members() {
    let (zip, e) = two_members();
    // Cut in the middle of System.evtx's data: no central directory any more.
    let cut = &zip[..e[1].local + 100_000];
    let reports = read("cut.zip", cut);
    let archive = &reports[0];
    assert!(archive.truncated);
    assert!(
        messages(archive).contains("central directory cannot be read"),
        "{}",
        messages(archive)
    );
    assert_eq!(reports[1].events, application_events(), "the whole member");
    assert_eq!(reports[1].errors, 0);
    let system = &reports[2];
    assert!(system.truncated && system.errors > 0, "{system:#?}");
    assert!(system.events > 0, "what came before the cut was read");
}

#[test]
fn damaged_member_data_is_reported_and_the_other_member_read() {
    let (mut zip, e) = two_members();
    // Garbage in the middle of System.evtx's deflate stream.
    let middle = e[1].local + 120_000;
    for b in &mut zip[middle..middle + 64] {
        *b ^= 0x5a;
    }
    let reports = read("damaged.zip", &zip);
    assert_eq!(reports[1].events, application_events());
    let system = &reports[2];
    assert!(system.errors > 0, "{system:#?}");
    assert!(
        messages(system).contains("damaged")
            || messages(system).contains("does not end as the archive says"),
        "{}",
        messages(system)
    );
}

#[test]
fn a_crc_mismatch_is_an_error_on_its_member() {
    let (mut zip, e) = two_members();
    patch(&mut zip, &e[0], 16, Some(14), &[1, 2, 3, 4]);
    let reports = read("crc.zip", &zip);
    let application = &reports[1];
    assert_eq!(application.events, application_events());
    assert!(
        messages(application).contains("does not end as the archive says"),
        "{}",
        messages(application)
    );
    assert_eq!(reports[2].errors, 0, "System.evtx is sound");
}

#[test]
fn encrypted_members_and_unknown_methods_are_skipped_in_words() {
    let (mut zip, e) = two_members();
    patch(&mut zip, &e[1], 8, Some(6), &[1, 0]); // "encrypted"
    let reports = read("locked.zip", &zip);
    assert_eq!(reports.len(), 2);
    assert!(messages(&reports[0]).contains("System.evtx: skipped: it is encrypted"));
    assert_eq!(reports[0].errors, 1);
    assert_eq!(reports[1].events, application_events());

    let (mut zip, e) = two_members();
    patch(&mut zip, &e[0], 10, Some(8), &[12, 0]); // bzip2
    let reports = read("bzip2.zip", &zip);
    assert!(
        messages(&reports[0]).contains("Application.evtx: skipped: it is compressed with"),
        "{}",
        messages(&reports[0])
    );
    assert_eq!(reports.len(), 2, "System.evtx is still read");
}

#[test]
fn path_tricks_and_nested_archives_are_skipped() {
    let mut out = Cursor::new(Vec::new());
    let mut w = zip::ZipWriter::new(&mut out);
    let options = zip::write::SimpleFileOptions::default();
    let text = std::fs::read(testkit::fixture("inputs/wevtutil-en-2016.txt")).unwrap();
    for name in [
        "../evil.txt",
        "/etc/abs.txt",
        "C:/Windows/win.txt",
        "logs/ok.txt",
    ] {
        w.start_file(name, options).unwrap();
        w.write_all(&text).unwrap();
    }
    w.start_file("inner/stored.zip", options).unwrap();
    w.write_all(&archive("stored.zip")).unwrap();
    w.finish().unwrap();
    let reports = read("tricks.zip", out.get_ref());
    let names: Vec<&str> = reports.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["tricks.zip", "tricks.zip › logs/ok.txt"]);
    let said = messages(&reports[0]);
    assert!(
        said.contains("../evil.txt: skipped: its name climbs out"),
        "{said}"
    );
    assert!(said.contains("/etc/abs.txt: skipped: its name is an absolute path"));
    assert!(said.contains("C:/Windows/win.txt: skipped: its name is an absolute path"));
    assert!(said.contains("inner/stored.zip: skipped: an archive inside the archive"));
    assert_eq!(
        reports[0].errors, 3,
        "the tricks are errors, the nested archive a note"
    );
    assert!(reports[1].events > 0);
}

#[test]
fn zip_bombs_are_refused() {
    // Two entries sharing one member's bytes: the overlapping-member bomb.
    let (mut zip, e) = two_members();
    let first_local = (e[0].local as u32).to_le_bytes();
    patch(&mut zip, &e[1], 42, None, &first_local);
    let reports = read("overlap.zip", &zip);
    assert!(
        messages(&reports[0]).contains("overlaps another member's"),
        "{}",
        messages(&reports[0])
    );
    assert_eq!(reports.len(), 2, "only the first of the two is read");

    // More than deflate can hold.
    let (mut zip, e) = two_members();
    patch(
        &mut zip,
        &e[0],
        24,
        Some(22),
        &(400_000_000u32).to_le_bytes(),
    );
    let reports = read("ratio.zip", &zip);
    assert!(
        messages(&reports[0]).contains("more than its compression can hold"),
        "{}",
        messages(&reports[0])
    );

    // More data than declared: reading stops at the declared size.
    let (mut zip, e) = two_members();
    patch(&mut zip, &e[0], 24, Some(22), &(40_000u32).to_le_bytes());
    let reports = read("more.zip", &zip);
    let application = &reports[1];
    assert_eq!(application.bytes, 40_000);
    assert!(application.errors > 0, "{application:#?}");

    // A directory announcing more members than the cap: nothing read.
    let mut zip = archive("stored.zip");
    let end = zip.len() - 22;
    assert_eq!(&zip[end..end + 4], b"PK\x05\x06");
    let many = u16::try_from(MAX_MEMBERS + 1).unwrap_or(u16::MAX);
    zip[end + 8..end + 10].copy_from_slice(&many.to_le_bytes());
    zip[end + 10..end + 12].copy_from_slice(&many.to_le_bytes());
    let reports = read("many.zip", &zip);
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].issues[0].kind, IssueKind::Limit);
}

#[test]
fn garbage_behind_a_zip_signature_is_an_error_in_words() {
    for bytes in [
        b"PK\x03\x04".to_vec(),
        b"PK\x05\x06".to_vec(),
        [b"PK\x03\x04".as_slice(), &[0xff; 200]].concat(),
    ] {
        let reports = read("junk.zip", &bytes);
        assert_eq!(reports[0].format, Some(Format::Zip));
        assert!(reports[0].errors > 0, "{reports:#?}");
    }
}

#[test]
fn cancelling_stops_the_archive() {
    let zip = archive("explorer.zip");
    let mut calls = 0;
    let reports = read_any(
        "logs.zip",
        Cursor::new(&zip),
        zip.len() as u64,
        &mut Vec::new(),
        &mut |_| {
            calls += 1;
            if calls > 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
    );
    assert!(reports[0].cancelled);
    assert!(reports.last().unwrap().cancelled);
}

#[test]
fn a_folder_reads_an_archive_only_when_it_is_alone() {
    assert_eq!(
        folder_reads(&["Application.evtx", "rdpfix-logs.zip", "System.evtx"]),
        [true, false, true]
    );
    assert_eq!(folder_reads(&["logs.ZIP"]), [true]);
    assert_eq!(folder_reads(&["a.zip", "b.zip"]), [true, true]);
    assert_eq!(folder_reads(&[".zip", "x"]), [true, true]);
}
