//! Offline registry hives as an input: the fixtures of `tests/fixtures/hives/` (written by
//! `testkit::hive_writer`, checked here to read back with `hivexsh` as well), the snapshot
//! they give, the control set `Select\Current` names, dirty and damaged hives, and the
//! findings a session draws from them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use analyzer::config::{ConfigSnapshot, Section, Value};
use analyzer::input::{Format, InputReport, IssueKind, Severity, no_progress, read_bytes};
use std::path::PathBuf;
use testkit::hive_writer::{self, HiveWriter, KeySpec};

fn dir() -> PathBuf {
    testkit::fixture("hives")
}

fn read(name: &str, bytes: &[u8]) -> InputReport {
    read_bytes(name, bytes, &mut Vec::new(), &mut no_progress)
}

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn value<'a>(
    s: &'a ConfigSnapshot,
    section: Section,
    subject: Option<&str>,
    key: &str,
) -> &'a Value {
    &s.entry(section, subject, key)
        .unwrap_or_else(|| panic!("{section:?} {subject:?} {key} not in the snapshot"))
        .value
}

fn set(v: &str) -> Value {
    Value::Set(v.to_owned())
}

/// Set `RDPFIX_BLESS_HIVES=1` to rewrite `tests/fixtures/hives/` from the writer.
#[test]
fn the_committed_hives_are_the_writers_output() {
    for (rel, bytes) in hive_writer::fixtures()
        .into_iter()
        .chain(hive_writer::damaged())
    {
        let path = dir().join(rel);
        if std::env::var_os("RDPFIX_BLESS_HIVES").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &bytes).unwrap();
        }
        let committed = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (RDPFIX_BLESS_HIVES=1 writes it)", path.display()));
        assert!(
            committed == bytes,
            "{rel} differs from the writer; RDPFIX_BLESS_HIVES=1 rewrites it"
        );
    }
}

/// What `hivexsh`'s `ls` and `lsval` print for a key as written: its subkeys' names in
/// list order, then each value (`"Name"=dword:…`, `"Name"="text"`, else
/// `"Name"=str(2):"…"` or `"Name"=hex(T):..,..`).
fn hivexsh_listing(key: &KeySpec) -> String {
    let mut out = String::new();
    let mut subkeys: Vec<&KeySpec> = key.subkeys.iter().collect();
    subkeys.sort_by_key(|k| k.name.to_uppercase());
    for k in subkeys {
        out.push_str(&k.name);
        out.push('\n');
    }
    for (name, kind, data) in &key.values {
        let text = |d: &[u8]| {
            let units: Vec<u16> = d
                .chunks_exact(2)
                .map(|p| u16::from_le_bytes([p[0], p[1]]))
                .take_while(|u| *u != 0)
                .collect();
            String::from_utf16_lossy(&units).replace('\\', "\\\\")
        };
        let shown = match *kind {
            hive_writer::REG_DWORD => format!(
                "dword:{:08x}",
                u32::from_le_bytes(data[..4].try_into().unwrap())
            ),
            hive_writer::REG_SZ => format!("\"{}\"", text(data)),
            hive_writer::REG_EXPAND_SZ => format!("str(2):\"{}\"", text(data)),
            k => format!(
                "hex({k}):{}",
                data.iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        out.push_str(&format!("\"{name}\"={shown}\n"));
    }
    out
}

/// Every key of a tree with its path below the root (`\` for the root).
fn keys<'a>(key: &'a KeySpec, path: String, out: &mut Vec<(String, &'a KeySpec)>) {
    for k in &key.subkeys {
        keys(k, format!("{path}\\{}", k.name), out);
    }
    out.push((path, key));
}

#[test]
fn every_fixture_reads_back_whole_with_hivexsh_as_with_the_reader() {
    for (rel, writer) in hive_writer::fixture_writers() {
        let path = dir().join(rel);
        let mut all = Vec::new();
        keys(&writer.root, String::new(), &mut all);
        // hivexsh: every key's subkeys and values, as written.
        let script: String = all
            .iter()
            .map(|(p, _)| format!("cd \\{}\nls\nlsval\n", p.trim_start_matches('\\')))
            .collect();
        let want: String = all.iter().map(|(_, k)| hivexsh_listing(k)).collect();
        // Without hivexsh only that half is skipped (the reader's half below still runs);
        // with RDPFIX_REQUIRE_TOOLS=1 (`cargo xtask test`) its absence is a failure.
        match hive_writer::hivexsh(&path, &script) {
            Some(printed) => assert!(
                printed == want,
                "{rel}: hivexsh printed\n{printed}\nwanted\n{want}"
            ),
            None if std::env::var_os("RDPFIX_REQUIRE_TOOLS").is_some_and(|v| v == "1") => {
                panic!("hivexsh is not installed and RDPFIX_REQUIRE_TOOLS=1")
            }
            None => eprintln!(
                "SKIPPED: hivexsh is not installed (apt-get install libhivex-bin); {rel} was \
                 not checked with it"
            ),
        }
        // The reader: every key found by its path, every value's type and bytes.
        let bytes = fixture(rel);
        let header = analyzer::input::hive::regf::parse_header(&bytes[..4096]).unwrap();
        let mut hive = analyzer::input::hive::regf::Hive::new(bytes.as_slice(), header);
        let _ = hive.map_bins(bytes.len() as u64);
        let root = hive.root().unwrap();
        for (p, spec) in &all {
            let key = hive.path(&root, p).unwrap().unwrap();
            assert_eq!(
                hive.subkeys(&key).unwrap().len(),
                spec.subkeys.len(),
                "{rel} {p}"
            );
            for (name, kind, data) in &spec.values {
                let got = hive.value(&key, name).unwrap().unwrap();
                assert_eq!((got.kind, &got.bytes), (*kind, data), "{rel} {p} {name}");
            }
        }
        assert!(hive.damage.is_empty(), "{rel}: {:?}", hive.damage);
        let report = read(rel, &bytes);
        assert_eq!(report.format, Some(Format::RegistryHive), "{rel}");
        assert_eq!(report.configs.len(), 1, "{rel}");
    }
}

#[test]
fn a_system_hive_gives_the_control_set_select_current_names() {
    let healthy = read("SYSTEM", &fixture("healthy/SYSTEM"));
    let s = &healthy.configs[0];
    assert_eq!(s.computer, "VM-APP-01");
    assert_eq!(value(s, Section::Rdp, None, "port"), &set("3389"));
    assert!(healthy.issues.iter().any(|i| {
        i.kind == IssueKind::Hive
            && i.message
                .contains("control set 001 (named by Select\\Current), computer VM-APP-01")
    }));
    // ControlSet002 is the one named: its port is read, not ControlSet001's.
    let moved = read("SYSTEM", &fixture("port-changed/SYSTEM"));
    assert_eq!(
        value(&moved.configs[0], Section::Rdp, None, "port"),
        &set("3390")
    );
    assert!(
        moved
            .issues
            .iter()
            .any(|i| i.message.contains("control set 002"))
    );
}

#[test]
fn a_system_hive_gives_every_registry_value_of_the_snapshot_and_says_what_it_cannot() {
    let report = read("SYSTEM", &fixture("healthy/SYSTEM"));
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    assert!(!report.sha256.is_empty());
    let s = &report.configs[0];
    assert_eq!(value(s, Section::Ts, None, "deny"), &set("0"));
    assert_eq!(value(s, Section::Rdp, None, "max"), &set("4294967295"));
    assert_eq!(value(s, Section::Rdp, None, "cert"), &Value::Absent);
    assert_eq!(value(s, Section::Lsa, None, "lm"), &set("5"));
    assert_eq!(value(s, Section::Lsa, None, "nodomcreds"), &Value::Absent);
    assert_eq!(value(s, Section::Tls, Some("TLS1.2"), "en"), &set("1"));
    assert_eq!(value(s, Section::Tls, Some("TLS1.0"), "en"), &Value::Absent);
    assert_eq!(
        value(s, Section::Svc, Some("TermService"), "start"),
        &set("3")
    );
    assert_eq!(
        value(s, Section::Svc, Some("TermService"), "acct"),
        &set("NT Authority\\NetworkService")
    );
    assert_eq!(value(s, Section::Boot, None, "setup"), &set("0"));
    // No state offline; the live sections are not collected, with the reason.
    assert!(
        s.entry(Section::Svc, Some("TermService"), "state")
            .is_none()
    );
    assert!(s.not_collected.iter().any(|n| n.section == Section::Svc
        && n.subject.as_deref() == Some("TermService")
        && n.why.as_deref() == Some("offline hive: not running")));
    for section in [Section::Fw, Section::Listen, Section::Disk, Section::Time] {
        assert!(
            s.not_collected
                .iter()
                .any(|n| n.section == section && n.why.as_deref() == Some("offline hive")),
            "{section:?}"
        );
    }
    // The SOFTWARE hive's sections are not in a SYSTEM hive.
    assert!(!s.has(Section::Tsp));
}

#[test]
fn a_software_hive_gives_the_release_the_policy_and_the_certificate_store() {
    let report = read("SOFTWARE", &fixture("rdp-disabled-policy/SOFTWARE"));
    assert_eq!(report.errors, 0, "{:?}", report.issues);
    let s = &report.configs[0];
    assert_eq!(s.os_build, Some(20348));
    assert_eq!(s.computer, "");
    assert_eq!(value(s, Section::Tsp, None, "deny"), &set("1"));
    assert_eq!(value(s, Section::Tsp, None, "nla"), &Value::Absent);
    assert_eq!(value(s, Section::Ciphers, None, "policy"), &Value::Absent);
    assert_eq!(
        value(s, Section::Cert, None, "thumb"),
        &set("3A8F2C4B5D6E7F8091A2B3C4D5E6F708192A3B4C")
    );
    assert_eq!(value(s, Section::Cert, None, "store"), &set("rd"));
    assert!(report.issues.iter().any(|i| {
        i.message
            .contains("Windows Server 2022 Datacenter, build 20348")
    }));
}

#[test]
fn a_system_and_a_software_hive_merge_into_one_snapshot_of_the_computer() {
    let system = read("SYSTEM", &fixture("healthy/SYSTEM"));
    let software = read("SOFTWARE", &fixture("rdp-disabled-policy/SOFTWARE"));
    let merged = analyzer::input::hive::merge(system.configs.iter().chain(&software.configs));
    assert_eq!(merged.len(), 1);
    let s = &merged[0];
    assert_eq!(
        (s.computer.as_str(), s.os_build),
        ("VM-APP-01", Some(20348))
    );
    assert_eq!(value(s, Section::Tsp, None, "deny"), &set("1"));
    assert_eq!(value(s, Section::Ts, None, "deny"), &set("0"));
    // Two computers: the SOFTWARE hive cannot be placed and stays on its own.
    let mut other = system.configs[0].clone();
    other.computer = "VM-OTHER".to_owned();
    let apart = analyzer::input::hive::merge(
        system
            .configs
            .iter()
            .chain([&other])
            .chain(&software.configs),
    );
    assert_eq!(apart.len(), 3);
    // A nameless snapshot that is not a hive's (a `reg query` paste) is not joined.
    let mut pasted = software.configs[0].clone();
    pasted.origin.location = analyzer::Location::Line { line: 5 };
    let kept = analyzer::input::hive::merge(system.configs.iter().chain([&pasted]));
    assert_eq!(kept.len(), 2);
}

#[test]
fn a_nameless_system_hive_is_not_joined_and_nameless_snapshots_do_not_replace_each_other() {
    let system = read("SYSTEM", &fixture("healthy/SYSTEM"));
    // A SYSTEM hive whose name cannot be read (Select\Current names a missing set): it
    // may be another machine's, so it is not joined into VM-APP-01's snapshot.
    let nameless = read("SYSTEM", &hive_writer::system(3, |_| {}).write().bytes);
    assert_eq!(nameless.configs[0].computer, "");
    let merged = analyzer::input::hive::merge(system.configs.iter().chain(&nameless.configs));
    assert_eq!(merged.len(), 2);
    assert_eq!(
        value(&merged[0], Section::Ts, None, "deny"),
        &set("0"),
        "VM-APP-01 keeps its own values"
    );
    // Two nameless snapshots (a SOFTWARE hive and that SYSTEM hive, read with no named
    // SYSTEM hive) are both kept: nothing says they are of one machine.
    let software = read("SOFTWARE", &fixture("healthy/SOFTWARE"));
    let alone: Vec<ConfigSnapshot> = software
        .configs
        .iter()
        .chain(&nameless.configs)
        .cloned()
        .collect();
    let newest = analyzer::config::newest_per_computer(&alone);
    assert_eq!(newest.len(), 2);
}

#[test]
fn a_dirty_hive_is_read_and_says_its_logs_hold_newer_changes() {
    let report = read("SYSTEM", &fixture("dirty/SYSTEM"));
    let dirty: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::DirtyHeader)
        .collect();
    assert_eq!(dirty.len(), 1, "{:?}", report.issues);
    assert_eq!(dirty[0].severity, Severity::Warning);
    assert!(dirty[0].message.contains("9 and 8 differ") && dirty[0].message.contains(".LOG1"));
    assert_eq!(
        value(&report.configs[0], Section::Rdp, None, "port"),
        &set("3389")
    );
    let clean = read("SYSTEM", &fixture("healthy/SYSTEM"));
    assert!(!clean.has_issue(IssueKind::DirtyHeader));
}

#[test]
fn a_bad_checksum_is_reported_and_the_hive_still_read() {
    let report = read("SYSTEM", &fixture("damaged/bad-checksum-SYSTEM"));
    assert!(
        report.has_issue(IssueKind::HeaderChecksum),
        "{:?}",
        report.issues
    );
    assert_eq!(report.configs.len(), 1);
}

#[test]
fn a_truncated_hive_reads_what_it_holds_and_says_it_is_cut() {
    let committed = read("SYSTEM", &fixture("damaged/truncated-SYSTEM"));
    assert!(
        committed.truncated && committed.has_issue(IssueKind::Truncated),
        "{:?}",
        committed.issues
    );
    // The root's subkey list was in the lost bins: nothing could be reached, and it says so.
    assert!(committed.configs.is_empty());
    assert!(
        committed
            .issues
            .iter()
            .any(|i| i.message.contains("root key, its list of subkeys"))
    );
    let bytes = fixture("healthy/SYSTEM");
    for cut in [
        0usize,
        3,
        100,
        4096,
        4096 + 4096,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        let report = read("SYSTEM", &bytes[..cut]);
        assert!(
            report.errors > 0 || cut < 4,
            "cut at {cut}: {:?}",
            report.issues
        );
        if cut >= 4096 {
            assert!(report.truncated, "cut at {cut}");
        }
    }
}

#[test]
fn a_cell_outside_its_bin_is_skipped_and_named_and_the_rest_is_read() {
    // The RDP-Tcp key's value list points far past the last bin.
    let report = read("SYSTEM", &fixture("damaged/cell-outside-bin-SYSTEM"));
    let bad: Vec<_> = report
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::BadCell)
        .collect();
    assert_eq!(bad.len(), 1, "{:?}", report.issues);
    assert!(bad[0].message.contains("outside every hive bin"));
    let s = &report.configs[0];
    assert_eq!(value(s, Section::Rdp, None, "port"), &Value::Unreadable);
    assert_eq!(value(s, Section::Ts, None, "deny"), &set("0"));
}

#[test]
fn big_data_and_every_value_type_read_as_written() {
    let mut h = HiveWriter::new("TEST");
    let big: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    h.root
        .key("K")
        .set("big", hive_writer::REG_BINARY, big.clone())
        .set(
            "q",
            hive_writer::REG_QWORD,
            0x0102_0304_0506_0708u64.to_le_bytes().to_vec(),
        )
        .set(
            "m",
            hive_writer::REG_MULTI_SZ,
            hive_writer::multi_sz(&["a", "bé"]),
        )
        .string("s", "text");
    let bytes = h.write().bytes;
    let header = analyzer::input::hive::regf::parse_header(&bytes[..4096]).unwrap();
    let mut hive = analyzer::input::hive::regf::Hive::new(bytes.as_slice(), header);
    let _ = hive.map_bins(bytes.len() as u64);
    let root = hive.root().unwrap();
    let k = hive.subkey(&root, "k").unwrap().unwrap();
    assert_eq!(hive.value(&k, "BIG").unwrap().unwrap().bytes, big);
    assert_eq!(
        hive.value(&k, "q").unwrap().unwrap().qword(),
        Some(0x0102_0304_0506_0708)
    );
    assert_eq!(
        hive.value(&k, "m").unwrap().unwrap().strings(),
        Some(vec!["a".to_owned(), "bé".to_owned()])
    );
    assert_eq!(
        hive.value(&k, "s").unwrap().unwrap().string().as_deref(),
        Some("text")
    );
    assert_eq!(hive.value(&k, "none").unwrap(), None);
    assert!(hive.damage.is_empty());
}

#[test]
fn a_system_hive_of_600_services_takes_few_cell_reads() {
    // A real SYSTEM hive has some 600 services: each lookup goes by the lh name hash to the
    // one key, and the snapshot's keys are each found once.
    let bytes = hive_writer::system(1, |cs| {
        for i in 0..600 {
            cs.key(&format!(r"Services\Svc{i:03}")).dword("Start", 3);
        }
    })
    .write()
    .bytes;
    let header = analyzer::input::hive::regf::parse_header(&bytes[..4096]).unwrap();
    let mut hive = analyzer::input::hive::regf::Hive::new(bytes.as_slice(), header);
    let _ = hive.map_bins(bytes.len() as u64);
    let mut snapshot = read("SYSTEM", &bytes).configs.remove(0);
    snapshot.entries.clear();
    let _ = analyzer::input::hive::snapshot::read(&mut hive, &mut snapshot);
    assert_eq!(
        value(&snapshot, Section::Svc, Some("MpsSvc"), "start"),
        &set("2")
    );
    assert!(
        hive.cells_read() < 1_000,
        "{} cells read",
        hive.cells_read()
    );
}

#[test]
fn a_list_naming_one_large_cell_many_times_stops_at_the_byte_budget() {
    use analyzer::input::hive::regf::{Hive, MAX_BYTES_READ, parse_header};
    // A 1,000,000-byte cell (one cell: hive version 1.3 has no big data) and a subkey list
    // of 65,535 entries all naming it, made the root's list: 65 GB if read in full.
    let build = |big_at: u32| {
        let mut list = b"lh\xff\xff".to_vec();
        for _ in 0..0xFFFF {
            list.extend_from_slice(&big_at.to_le_bytes());
            list.extend_from_slice(&0u32.to_le_bytes());
        }
        let mut big = b"BIGCELL!".to_vec();
        big.resize(1_000_000, 0);
        let mut h = HiveWriter::new("TEST");
        h.minor = 3;
        h.root
            .key("K")
            .set("big", hive_writer::REG_BINARY, big)
            .set("list", hive_writer::REG_BINARY, list);
        h.write()
    };
    let find = |bytes: &[u8], marker: &[u8]| {
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker)
            .unwrap();
        u32::try_from(at - 4 - 4096).unwrap()
    };
    let first = build(0);
    let big_at = find(&first.bytes, b"BIGCELL!");
    let written = build(big_at);
    let mut bytes = written.bytes.clone();
    let list_at = find(&bytes, b"lh\xff\xff");
    let root = 4096 + written.keys[""] as usize + 4;
    bytes[root + 20..root + 24].copy_from_slice(&0xFFFFu32.to_le_bytes());
    bytes[root + 28..root + 32].copy_from_slice(&list_at.to_le_bytes());
    let header = parse_header(&bytes[..4096]).unwrap();
    let mut hive = Hive::new(bytes.as_slice(), header);
    let _ = hive.map_bins(bytes.len() as u64);
    let top = hive.root().unwrap();
    // The budget ran out before every subkey was read: "X" may be among them, so the
    // lookup fails rather than saying it is absent.
    let found = hive.subkey(&top, "X");
    assert!(found.is_err(), "{found:?}");
    assert!(hive.exhausted);
    // 64 MiB of 1 MB cells, and the few before them.
    assert!(
        u64::from(hive.cells_read()) <= MAX_BYTES_READ / 1_000_000 + 5,
        "{} cells",
        hive.cells_read()
    );
    // Through the input: reported, not fatal.
    let report = read("TEST", &bytes);
    assert!(report.has_issue(IssueKind::Limit), "{:?}", report.issues);
}
