//! `fixer diagnose --offline <drive>` end to end: a folder laid out like an OS disk attached
//! to a rescue VM (logs in `Windows/System32/winevt/Logs`, hives in `config`), read through
//! the binary as an admin runs it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use testkit::{EvtxWriter, samples};

const RCM_OPERATIONAL: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational";
const RCM_FILE: &str =
    "Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx";

fn fixer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fixer"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("fixer-offline-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn logs(disk: &Path) -> PathBuf {
    disk.join("Windows/System32/winevt/Logs")
}

fn config(disk: &Path) -> PathBuf {
    disk.join("Windows/System32/config")
}

/// An `.evtx` of `events` whose header says one chunk and that the log was not closed:
/// Windows stopped while writing it, the header behind the chunks written after it.
fn stale_header_log(events: Vec<analyzer::Event>) -> Vec<u8> {
    let mut bytes = EvtxWriter::new().extend(events).to_bytes().unwrap();
    let chunks = (bytes.len() - 4096) / 65536;
    assert!(chunks > 2, "{chunks} chunks: the header must fall behind");
    bytes[16..24].copy_from_slice(&0u64.to_le_bytes()); // last chunk: 0
    bytes[42..44].copy_from_slice(&1u16.to_le_bytes()); // chunk count: 1
    bytes[120..124].copy_from_slice(&1u32.to_le_bytes()); // dirty
    let crc = crc32(&bytes[..120]);
    bytes[124..128].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// CRC-32 (IEEE), as the `.evtx` header's checksum.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A disk with a stale System log (Scenario 1's events), the RCM Operational log under its
/// `%4` name, and the healthy SYSTEM and SOFTWARE hives; every other log missing.
fn attached_disk(name: &str) -> (PathBuf, usize) {
    let disk = scratch(name);
    std::fs::create_dir_all(logs(&disk)).unwrap();
    std::fs::create_dir_all(config(&disk)).unwrap();
    let sample = samples::cert_keys();
    let system = stale_header_log(sample.events.clone());
    std::fs::write(logs(&disk).join("System.evtx"), system).unwrap();
    let operational: Vec<analyzer::Event> = testkit::evtx_writer::filler_events(7, 40)
        .into_iter()
        .map(|mut e| {
            e.channel = Some(RCM_OPERATIONAL.to_owned());
            e
        })
        .collect();
    let operational = EvtxWriter::new().extend(operational).to_bytes().unwrap();
    std::fs::write(logs(&disk).join(RCM_FILE), operational).unwrap();
    for hive in ["SYSTEM", "SOFTWARE"] {
        std::fs::copy(
            testkit::fixture(&format!("hives/healthy/{hive}")),
            config(&disk).join(hive),
        )
        .unwrap();
    }
    (disk, sample.events.len())
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `fixer --json diagnose --offline <disk>` at the samples' end.
fn diagnose_disk(disk: &Path) -> serde_json::Value {
    json(&fixer(&[
        "--json",
        "diagnose",
        "--offline",
        disk.to_str().unwrap(),
        "--now",
        samples::SAMPLE_END,
    ]))
}

fn input<'a>(json: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no input {name}: {:#}", json["inputs"]))
}

#[test]
fn an_attached_disk_is_diagnosed_from_its_logs_and_hives() {
    let (disk, events) = attached_disk("whole");
    let json = diagnose_disk(&disk);
    let offline = &json["offline"];
    assert_eq!(
        offline["found"],
        serde_json::json!([
            "Windows/System32/winevt/Logs/System.evtx",
            format!("Windows/System32/winevt/Logs/{RCM_FILE}"),
            "Windows/System32/config/SYSTEM",
            "Windows/System32/config/SOFTWARE",
        ])
    );
    let missing: Vec<&str> = offline["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert!(
        missing.contains(&"Windows/System32/winevt/Logs/Security.evtx"),
        "{missing:?}"
    );
    assert!(
        missing.contains(
            &"Windows/System32/winevt/Logs/Microsoft-Windows-TerminalServices-SessionBroker%4Operational.evtx"
        ),
        "{missing:?}"
    );
    assert_eq!(offline["refused"], serde_json::json!([]));

    // The header said one chunk; every chunk written after it was read.
    let system = input(&json, "System.evtx");
    assert_eq!(system["events"], events as u64, "{system:#}");
    assert_eq!(input(&json, RCM_FILE)["events"], 40);
    // Both hives read into one snapshot of the disk's computer.
    input(&json, "SYSTEM");
    input(&json, "SOFTWARE");
    let findings: Vec<&str> = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap_or_default())
        .collect();
    assert!(findings.contains(&"rdp-cert-keys"), "{findings:?}");
}

#[test]
fn the_text_says_offline_disk_control_set_and_missing_and_ends_with_the_verdict() {
    let (disk, _) = attached_disk("text");
    let out = fixer(&[
        "diagnose",
        "--offline",
        disk.to_str().unwrap(),
        "--now",
        samples::SAMPLE_END,
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.len() <= 4096, "{} bytes", text.len());
    let head = text.lines().next().unwrap();
    assert!(
        head.starts_with("Offline disk ") && head.ends_with(": 4 of 8 expected files read"),
        "{head}"
    );
    assert!(text.contains("SYSTEM hive: control set 001"), "{text}");
    let missing = text.lines().find(|l| l.starts_with("  missing: ")).unwrap();
    assert!(
        missing.contains("Windows/System32/winevt/Logs/Security.evtx"),
        "{missing}"
    );
    let verdict = text.rfind("\nVERDICT: most likely: rdp-cert-keys").unwrap();
    assert!(
        !text[verdict..].contains("\n["),
        "no finding after the verdict"
    );
}

#[cfg(unix)]
#[test]
fn links_on_the_disk_are_refused_and_not_followed() {
    let (disk, _) = attached_disk("links");
    // Outside the disk: a log a link on the disk points at, which must not be read.
    let outside = scratch("links-outside");
    std::fs::write(
        outside.join("Security.evtx"),
        EvtxWriter::new()
            .extend(testkit::evtx_writer::filler_events(3, 5))
            .to_bytes()
            .unwrap(),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.join("Security.evtx"),
        logs(&disk).join("Security.evtx"),
    )
    .unwrap();
    // A linked folder: the hives behind it are not read either.
    std::fs::rename(config(&disk), outside.join("config")).unwrap();
    std::os::unix::fs::symlink(outside.join("config"), config(&disk)).unwrap();

    let out = fixer(&["--json", "diagnose", "--offline", disk.to_str().unwrap()]);
    let json = json(&out);
    assert_eq!(
        json["offline"]["refused"],
        serde_json::json!([
            { "path": "Windows/System32/winevt/Logs/Security.evtx",
              "why": "a link or reparse point; not followed" },
            { "path": "Windows/System32/config",
              "why": "a link or reparse point; not followed" },
        ])
    );
    let names: Vec<&str> = json["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["System.evtx", RCM_FILE]);
}

#[test]
fn a_folder_that_is_not_a_windows_disk_is_refused_with_what_to_name() {
    let empty = scratch("empty");
    let out = fixer(&["diagnose", "--offline", empty.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not the root of an attached Windows disk"),
        "{err}"
    );
}

#[test]
fn names_are_found_whatever_their_case() {
    let (disk, _) = attached_disk("case");
    std::fs::rename(
        logs(&disk).join("System.evtx"),
        logs(&disk).join("SYSTEM.EVTX"),
    )
    .unwrap();
    let json = json(&fixer(&[
        "--json",
        "diagnose",
        "--offline",
        disk.to_str().unwrap(),
    ]));
    assert_eq!(
        json["offline"]["found"][0],
        "Windows/System32/winevt/Logs/SYSTEM.EVTX"
    );
    input(&json, "SYSTEM.EVTX");
}

/// What `Host::zip_logs` writes on Windows (`bundle::write`), made from the disk's files:
/// its logs and its hives read as the disk's do.
#[test]
fn the_disk_s_files_zipped_read_as_the_disk() {
    let (disk, events) = attached_disk("zip");
    let catalog = analyzer::rules::Catalog::builtin().unwrap();
    let found = fixer::offline::locate(&disk, &catalog).unwrap();
    let out = scratch("zip-out").join("rdpfix-logs");
    std::fs::create_dir_all(&out).unwrap();
    let bundle = fixer::bundle::write(&out, &found.files).unwrap();
    assert_eq!(
        bundle.members,
        [
            "rdpfix-logs/System.evtx".to_owned(),
            format!("rdpfix-logs/{RCM_FILE}"),
            "rdpfix-logs/SYSTEM".to_owned(),
            "rdpfix-logs/SOFTWARE".to_owned(),
        ]
    );
    let from_zip = json(&fixer(&[
        "--json",
        "diagnose",
        &bundle.path,
        "--now",
        samples::SAMPLE_END,
    ]));
    let from_disk = diagnose_disk(&disk);
    assert_eq!(
        input(&from_zip, "rdpfix-logs.zip › rdpfix-logs/System.evtx")["events"],
        events as u64
    );
    // The same findings, scored alike (their evidence names the zip's members instead).
    let scored = |json: &serde_json::Value| -> Vec<(String, u64)> {
        json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_owned(),
                    f["score"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    for hive in ["SYSTEM", "SOFTWARE"] {
        let member = input(&from_zip, &format!("rdpfix-logs.zip › rdpfix-logs/{hive}"));
        assert_eq!(member["errors"], 0, "{hive}: {member:#}");
        let loose = &input(&from_disk, hive)["configs"][0];
        let zipped = &member["configs"][0];
        for part in ["computer", "entries", "not_collected"] {
            assert!(!loose[part].is_null(), "{hive}: {part} in {loose:#}");
            assert_eq!(zipped[part], loose[part], "{hive}: {part} as from the disk");
        }
    }
    assert_eq!(scored(&from_zip), [("rdp-cert-keys".to_owned(), 100)]);
    assert_eq!(scored(&from_zip), scored(&from_disk));
}

/// `collect --offline` on a simulated machine: the safe folder made, the disk's files (and
/// only those) handed to `zip_logs`, what was missing said.
#[test]
fn collect_offline_zips_the_disk_s_files_into_the_safe_folder() {
    let (disk, _) = attached_disk("collect");
    let catalog = analyzer::rules::Catalog::builtin().unwrap();
    let files = fixer::offline::locate(&disk, &catalog).unwrap().files;
    let machine =
        fixer::host::sim::Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
    let sim = support::Sim::new("offline-collect", machine);
    // The simulated host zips what its machine holds: the disk's files, by path.
    sim.edit(|m| {
        for f in &files {
            m.exported.insert(f.display().to_string(), "bytes".into());
        }
    });
    let run = sim.run(&[
        "--json",
        "collect",
        "--offline",
        disk.to_str().unwrap(),
        "--out",
        r"C:\rdpfix-logs",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let json = run.json();
    assert_eq!(json["zip"]["path"], r"C:\rdpfix-logs\rdpfix-logs.zip");
    assert!(
        json["offline"]["missing"]
            .as_array()
            .unwrap()
            .contains(&"Windows/System32/winevt/Logs/Security.evtx".into())
    );
    // The simulated zip names members by what follows the last `\`; a Linux path has none.
    let m = sim.machine();
    let members: Vec<&str> = m.exported[r"C:\rdpfix-logs\rdpfix-logs.zip"]
        .lines()
        .map(|l| l.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        members,
        [
            "System.evtx",
            RCM_FILE,
            "SYSTEM",
            "SOFTWARE",
            "rdpfix-config.txt"
        ]
    );
    // Loose copies in the folder, beside the snapshot the hives give, as printed.
    assert_eq!(m.exported[r"C:\rdpfix-logs\SYSTEM"], "bytes");
    let printed = json["config"].as_str().unwrap();
    assert_eq!(m.exported[r"C:\rdpfix-logs\rdpfix-config.txt"], printed);
    assert_eq!(
        json["config_file"], r"C:\rdpfix-logs\rdpfix-config.txt",
        "{json}"
    );
    // The block holds what the hives hold: every value the analyzer reads from them, and
    // every section they leave out (in the writer's order: compared sorted).
    let values =
        |configs: &[analyzer::config::ConfigSnapshot]| -> Vec<String> {
            let mut all: Vec<String> =
                configs
                    .iter()
                    .flat_map(|c| &c.entries)
                    .map(|e| format!("{:?} {:?} {} {:?}", e.section, e.subject, e.key, e.value))
                    .chain(configs.iter().flat_map(|c| &c.not_collected).map(|n| {
                        format!("{:?} {:?} not collected: {:?}", n.section, n.subject, n.why)
                    }))
                    .collect();
            all.sort();
            all
        };
    let mut no_events = Vec::new();
    let block = analyzer::input::read_bytes(
        "block",
        printed.as_bytes(),
        &mut no_events,
        &mut analyzer::input::no_progress,
    );
    let mut hives = Vec::new();
    for hive in ["SYSTEM", "SOFTWARE"] {
        let bytes = std::fs::read(config(&disk).join(hive)).unwrap();
        hives.push(analyzer::input::read_bytes(
            hive,
            &bytes,
            &mut no_events,
            &mut analyzer::input::no_progress,
        ));
    }
    let joined = analyzer::input::hive::merge(hives.iter().flat_map(|r| &r.configs));
    assert_eq!(block.configs.len(), 1, "{printed}");
    assert!(values(&joined).len() > 20);
    assert_eq!(values(&block.configs), values(&joined));
    let text = sim
        .run(&["collect", "--offline", disk.to_str().unwrap()])
        .stdout;
    assert!(text.starts_with("Offline disk "), "{text}");
    assert!(text.contains("NEXT: copy it to your computer"), "{text}");
}
