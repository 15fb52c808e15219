//! A damaged hive never reads as absent: a key or value cell that cannot be read, or a
//! control set that is not there, leaves what needed it unreadable (`?`), so no Windows
//! default is applied in its place and no configuration finding rests on it.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use analyzer::config::{Section, Value};
use analyzer::diagnose::{DiagnoseOptions, Session};
use analyzer::input::{InputReport, IssueKind, no_progress, read_bytes};
use testkit::hive_writer;

/// Where the hive bins start: cell offsets count from here.
const BIN: usize = 4096;
const TS: &str = r"ControlSet001\Control\Terminal Server";

fn read(bytes: &[u8]) -> InputReport {
    read_bytes("SYSTEM", bytes, &mut Vec::new(), &mut no_progress)
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize
}

/// The file offset of the `vk` cell's payload of value `name` of the key whose `nk` cell
/// is at `nk` (the payload starts 4 bytes into a cell; the value count is 36 bytes into an
/// `nk`'s payload, the value list's offset 40; a `vk`'s name length 2, its name 20).
fn vk_at(bytes: &[u8], nk: u32, name: &str) -> usize {
    let nk = BIN + nk as usize + 4;
    let count = u32_at(bytes, nk + 36);
    let list = BIN + u32_at(bytes, nk + 40) + 4;
    (0..count)
        .map(|i| BIN + u32_at(bytes, list + 4 * i) + 4)
        .find(|&vk| {
            let len = usize::from(u16::from_le_bytes([bytes[vk + 2], bytes[vk + 3]]));
            &bytes[vk + 20..vk + 20 + len] == name.as_bytes()
        })
        .unwrap_or_else(|| panic!("no value {name}"))
}

/// The findings of a session given this SYSTEM hive and the healthy SOFTWARE hive (no
/// policy: a finding on the local values may rest on the SYSTEM hive's values alone).
fn findings(system: &[u8]) -> Vec<String> {
    let software = hive_writer::software(|_| {}).write().bytes;
    let mut session = Session::new();
    session.add_bytes("SYSTEM", system, &mut no_progress);
    session.add_bytes("SOFTWARE", &software, &mut no_progress);
    let d = session.finish(&DiagnoseOptions::default());
    d.findings.iter().map(|f| f.id.clone()).collect()
}

fn deny(report: &InputReport) -> &Value {
    &report.configs[0]
        .entry(Section::Ts, None, "deny")
        .unwrap()
        .value
}

#[test]
fn the_healthy_hive_reads_deny_as_set_and_gives_no_finding() {
    let healthy = hive_writer::system(1, |_| {}).write().bytes;
    assert_eq!(deny(&read(&healthy)), &Value::Set("0".to_owned()));
    assert_eq!(findings(&healthy), Vec::<String>::new());
}

#[test]
fn a_damaged_key_cell_leaves_its_values_unreadable_not_absent() {
    let written = hive_writer::system(1, |_| {}).write();
    let mut bytes = written.bytes.clone();
    // The Terminal Server key's `nk` signature flipped: its parent lists it, it cannot be read.
    let nk = BIN + written.keys[TS] as usize + 4;
    bytes[nk] ^= 0xFF;
    let report = read(&bytes);
    assert_eq!(deny(&report), &Value::Unreadable);
    let rdp = report.configs[0].entry(Section::Rdp, None, "port").unwrap();
    assert_eq!(rdp.value, Value::Unreadable);
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.kind == IssueKind::BadCell && i.message.contains("nk signature")),
        "{:?}",
        report.issues
    );
    // Absent would apply the default (fDenyTSConnections 1: RDP refused).
    assert_eq!(findings(&bytes), Vec::<String>::new());
}

#[test]
fn a_damaged_value_cell_leaves_the_value_unreadable_not_absent() {
    let written = hive_writer::system(1, |_| {}).write();
    for (what, at) in [("signature", 0), ("name longer than its cell", 2)] {
        let mut bytes = written.bytes.clone();
        let vk = vk_at(&bytes, written.keys[TS], "fDenyTSConnections");
        bytes[vk + at] ^= 0xFF;
        let report = read(&bytes);
        assert_eq!(deny(&report), &Value::Unreadable, "{what}");
        // Its siblings still read.
        let drain = report.configs[0].entry(Section::Ts, None, "drain").unwrap();
        assert_eq!(drain.value, Value::Set("0".to_owned()), "{what}");
        assert_eq!(findings(&bytes), Vec::<String>::new(), "{what}");
    }
}

#[test]
fn a_control_set_select_names_but_the_hive_lacks_is_unreadable_and_named() {
    // Select\Current = 3; the hive has ControlSet001 and 002.
    let bytes = hive_writer::system(3, |_| {}).write().bytes;
    let report = read(&bytes);
    assert_eq!(deny(&report), &Value::Unreadable);
    let s = &report.configs[0];
    assert!(
        s.entries
            .iter()
            .filter(|e| e.section == Section::Svc)
            .all(|e| e.value == Value::Unreadable),
        "{:?}",
        s.entries
    );
    assert!(
        report
            .issues
            .iter()
            .any(|i| i.message.contains("ControlSet003 is not in the hive")),
        "{:?}",
        report.issues
    );
    assert_eq!(findings(&bytes), Vec::<String>::new());
}
