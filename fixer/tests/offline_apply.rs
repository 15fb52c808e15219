//! Offline plans (issue 16): a plan for the OS disk of a VM attached to a rescue VM,
//! signed as the page signs it, verified and applied to a hive-backed simulated disk: the
//! hive files are read back with the analyzer and with `hivexsh`; a failure at every call
//! rolls back and leaves the files as they were and nothing loaded; a crash between any two
//! writes leaves what `fixer rollback` finishes; dirty hives, another disk, another control
//! set and a junction on the disk are refused.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use analyzer::input::hive::tree::{KeySpec, read_tree};
use analyzer::plan::AllowedStep;
use analyzer::plan::offline::OfflineHive;
use clap::Parser;
use fixer::cli::Cli;
use fixer::exit::Exit;
use fixer::host::sim::{DiskFile, Fault, FaultAt, FaultKind, Machine, SimHost};
use fixer::operator::Nobody;
use support::{PlanSpec, key, now, plan, plan_id, token};
use testkit::hive_writer::{self, DISK_GUID as GUID, DiskHives};
use testkit::plans::{disk_target, for_disk};

const SYSTEM: &str = r"F:\Windows\System32\config\SYSTEM";
const SOFTWARE: &str = r"F:\Windows\System32\config\SOFTWARE";
const MACHINE_KEYS: &str = r"F:\ProgramData\Microsoft\Crypto\RSA\MachineKeys";
const KEY_FILE: &str = r"F:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_5e3a3f5c-1f0d-4b8e-9f1e-2b7c1d0e9a11";
const APPLIED: &str = r"F:\ProgramData\rdpfix\offline-applied.jsonl";
const CERT: &str = "3A8F2C4B5D6E7F8091A2B3C4D5E6F708192A3B4C";

/// The broken VM's OS disk: in SYSTEM, RDP denied, the listener on 3390, DHCP disabled; in
/// SOFTWARE, the MachineGuid, RDP denied by policy, the self-signed certificate.
fn broken_disk() -> DiskHives {
    DiskHives::new(1, GUID)
        .edit_system(|cs| {
            cs.key(r"Control\Terminal Server\WinStations\RDP-Tcp")
                .dword("PortNumber", 3390);
            cs.key(r"Services\Dhcp").dword("Start", 4);
        })
        .edit_software(|s| {
            s.key(r"Policies\Microsoft\Windows NT\Terminal Services")
                .dword("fDenyTSConnections", 1);
        })
}

/// A rescue VM with the broken VM's OS disk attached as F:.
fn rescue_vm() -> Machine {
    let mut m = Machine::new("RESCUE01", "rescue01", now());
    for (rel, bytes) in broken_disk().files() {
        m.disk_files.insert(format!(r"F:\{rel}"), DiskFile(bytes));
    }
    m.security.insert(
        MACHINE_KEYS.into(),
        "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)".into(),
    );
    m.security.insert(
        KEY_FILE.into(),
        "O:S-1-5-21-9-9-9-1001D:PAI(A;;FA;;;S-1-5-21-9-9-9-1001)".into(),
    );
    m
}

/// Steps with an offline form, as the issue 15 and Scenario 1 plans have them: RDP allowed
/// locally and by policy, the listener back on 3389, DHCP automatic, the store's
/// certificate deleted, the RDP key files' owner and grants.
fn steps() -> Vec<AllowedStep> {
    let config = support::config_steps();
    let keys = support::s1_s2_steps();
    [
        &config[0], &config[1], &config[2], &config[5], &keys[6], &keys[0], &keys[1], &keys[2],
    ]
    .into_iter()
    .cloned()
    .collect()
}

/// The offline plan for the disk (`guid`, `control_set`), signed by key 1.
fn offline_token(id: u8, guid: &str, control_set: u32) -> String {
    offline_token_of(id, guid, control_set, &steps())
}

fn offline_token_of(id: u8, guid: &str, control_set: u32, steps: &[AllowedStep]) -> String {
    offline_token_seq(id, 1000, guid, control_set, steps)
}

fn offline_token_seq(
    id: u8,
    seq: u64,
    guid: &str,
    control_set: u32,
    steps: &[AllowedStep],
) -> String {
    let mut spec = PlanSpec::new("VM-APP-01", now());
    spec.id = id;
    spec.seq = seq;
    token(&for_disk(plan(steps, &spec), guid, control_set), &key(1))
}

/// The rescue VM with key 1 trusted.
fn trusted(m: Machine) -> SimHost {
    let host = SimHost::new(m);
    let r = run(
        &host,
        &[
            "trust",
            "add",
            &key(1).public_key().to_string(),
            "--label",
            "ops",
        ],
    );
    assert_eq!(r.0, Exit::Success, "{}", r.1);
    host
}

/// `fixer <args>` in this process, on `host`: the exit and the text report (or error),
/// its wrapped lines joined (one space for each run of white space).
fn run(host: &SimHost, args: &[&str]) -> (Exit, String) {
    let cli = Cli::try_parse_from(std::iter::once("fixer").chain(args.iter().copied())).unwrap();
    let (exit, text) = match fixer::commands::run(&cli, host, &Nobody) {
        Ok(report) => (report.exit(), report.text()),
        Err(e) => (e.exit, format!("error: {:#}", e.error)),
    };
    (exit, text.split_whitespace().collect::<Vec<_>>().join(" "))
}

fn tree(m: &Machine, path: &str) -> KeySpec {
    read_tree(&m.disk_files[path].0).unwrap().root.normalized()
}

fn dword(root: &KeySpec, key: &str, name: &str) -> Option<u32> {
    let (_, data) = root.find(key)?.value(name)?;
    Some(u32::from_le_bytes(data.try_into().ok()?))
}

/// What `hivexsh` prints for `script` on `bytes`; `None` without hivexsh (unless
/// RDPFIX_REQUIRE_TOOLS=1 says it must be there).
fn hivexsh(bytes: &[u8], script: &str) -> Option<String> {
    let file = std::env::temp_dir().join(format!(
        "rdpfix-offline-{}-{}",
        std::process::id(),
        bytes.len()
    ));
    std::fs::write(&file, bytes).unwrap();
    let out = hive_writer::hivexsh(&file, script);
    let _ = std::fs::remove_file(&file);
    assert!(
        out.is_some() || std::env::var("RDPFIX_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "hivexsh is missing and RDPFIX_REQUIRE_TOOLS=1"
    );
    out
}

/// `fixer apply --offline <drive> --yes <t>`.
fn apply(host: &SimHost, drive: &str, t: &str) -> (Exit, String) {
    run(host, &["apply", "--offline", drive, "--yes", t])
}

/// How many changing calls a clean apply of `t` makes on the rescue VM.
fn calls_of_a_clean_apply(t: &str) -> u64 {
    let clean = trusted(rescue_vm());
    clean.inject(Fault {
        at: FaultAt::Target("never".into()),
        kind: FaultKind::Fail,
    });
    assert_eq!(
        run(&clean, &["apply", "--offline", "auto", "--yes", t]).0,
        Exit::Success
    );
    clean.change_count()
}

/// The disk as it was before call `n` struck, nothing loaded.
fn assert_as_before(host: &SimHost, before: &Machine, n: u64, text: &str) {
    let m = host.machine();
    assert!(m.hives.is_empty(), "call {n}: still loaded\n{text}");
    assert_eq!(tree(&m, SYSTEM), tree(before, SYSTEM), "call {n}: {text}");
    assert_eq!(
        tree(&m, SOFTWARE),
        tree(before, SOFTWARE),
        "call {n}: {text}"
    );
    assert_eq!(m.security[KEY_FILE], before.security[KEY_FILE], "call {n}");
}

#[test]
fn an_offline_plan_is_verified_dry_run_applied_to_the_hive_files_and_rolled_back() {
    let host = trusted(rescue_vm());
    let before = host.machine();
    let t = offline_token(1, GUID, 1);

    let (exit, text) = run(&host, &["verify", "--offline", "F:", &t]);
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(
        text.contains(r"offline: the disk at F:\: VM-APP-01"),
        "{text}"
    );
    assert!(
        text.contains("NEXT: fixer apply --offline auto --dry-run"),
        "{text}"
    );

    // The dry-run reads the files: nothing is loaded, nothing written.
    let (exit, text) = run(&host, &["apply", "--offline", "auto", "--dry-run", &t]);
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(text.contains("DRY RUN: 7 step(s) would change"), "{text}");
    assert!(
        text.contains("fixer apply --offline auto --yes <plan>"),
        "{text}"
    );
    assert_eq!(host.machine().disk_files, before.disk_files);

    let (exit, text) = apply(&host, "auto", &t);
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(text.contains("APPLIED plan"), "{text}");
    assert!(
        text.contains(&format!(
            r"loaded as HKLM\rdpfix-{}-SYSTEM and HKLM\rdpfix-{0}-SOFTWARE, and are unloaded",
            &plan_id(1)[..8]
        )),
        "{text}"
    );
    let m = host.machine();
    assert!(m.hives.is_empty(), "still loaded: {:?}", m.hives.keys());
    // The rescue VM's own registry is untouched.
    assert_eq!(m.registry, before.registry);
    let system = tree(&m, SYSTEM);
    let cs = r"CONTROLSET001\CONTROL\TERMINAL SERVER";
    assert_eq!(dword(&system, cs, "FDENYTSCONNECTIONS"), Some(0));
    assert_eq!(
        dword(&system, &format!(r"{cs}\WINSTATIONS\RDP-TCP"), "PORTNUMBER"),
        Some(3389)
    );
    assert_eq!(
        dword(&system, r"CONTROLSET001\SERVICES\DHCP", "START"),
        Some(2)
    );
    // The other control set is another machine state: left as it was.
    assert_eq!(
        dword(&system, r"CONTROLSET002\SERVICES\DHCP", "START"),
        dword(
            &tree(&before, SYSTEM),
            r"CONTROLSET002\SERVICES\DHCP",
            "START"
        )
    );
    let software = tree(&m, SOFTWARE);
    assert_eq!(
        dword(
            &software,
            r"POLICIES\MICROSOFT\WINDOWS NT\TERMINAL SERVICES",
            "FDENYTSCONNECTIONS"
        ),
        Some(0)
    );
    let store = r"MICROSOFT\SYSTEMCERTIFICATES\REMOTE DESKTOP\CERTIFICATES";
    assert!(software.find(store).unwrap().subkeys.is_empty());
    let cert = format!(r"{store}\{CERT}");
    assert!(tree(&before, SOFTWARE).find(&cert).is_some());
    // hivexsh reads the same out of the files.
    if let Some(out) = hivexsh(
        &m.disk_files[SYSTEM].0,
        "cd \\ControlSet001\\Control\\Terminal Server\nlsval fDenyTSConnections\ncd \\ControlSet001\\Services\\Dhcp\nlsval Start\n",
    ) {
        assert_eq!(out, "0\n2\n");
    }
    if let Some(out) = hivexsh(
        &m.disk_files[SOFTWARE].0,
        "cd \\Microsoft\\SystemCertificates\\Remote Desktop\\Certificates\nls\ncd \\Policies\\Microsoft\\Windows NT\\Terminal Services\nlsval fDenyTSConnections\n",
    ) {
        assert_eq!(out, "0\n");
    }
    // MachineKeys on the disk, by well-known SID.
    assert_eq!(
        m.security[KEY_FILE],
        "O:BAD:PAI(A;;FA;;;S-1-5-21-9-9-9-1001)(A;;FA;;;SY)(A;;FR;;;NS)(A;;FA;;;BA)"
    );
    // Recorded on the disk, for check 8 on the VM once it runs again.
    let applied = String::from_utf8(m.disk_files[APPLIED].0.clone()).unwrap();
    assert!(
        applied.contains(&plan_id(1)) && applied.contains("\"applied\""),
        "{applied}"
    );
    let (exit, text) = apply(&host, "auto", &t);
    assert_eq!(exit, Exit::Rejected, "{text}");
    let (_, text) = run(&host, &["journal"]);
    assert!(
        text.contains(&format!(
            r"offline: the disk at F:\ (MachineGuid {GUID}, ControlSet001)"
        )),
        "{text}"
    );

    // Undone from the rescue VM's journal, on the disk named (the one the journal names).
    let (exit, text) = run(&host, &["rollback", &plan_id(1), "--offline", "F:"]);
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(text.contains("ROLLED BACK"), "{text}");
    let m = host.machine();
    assert!(m.hives.is_empty());
    assert_eq!(tree(&m, SYSTEM), tree(&before, SYSTEM));
    assert_eq!(tree(&m, SOFTWARE), tree(&before, SOFTWARE));
    assert_eq!(
        tree(&m, SOFTWARE).find(&cert).unwrap().value("BLOB"),
        Some((3, [0x30u8; 700].as_slice()))
    );
    assert_eq!(m.security[KEY_FILE], before.security[KEY_FILE]);
    let applied = String::from_utf8(m.disk_files[APPLIED].0.clone()).unwrap();
    assert!(applied.contains("\"rollback: rolledback\""), "{applied}");
}

/// One rule places a key on the disk: what the fixer writes for a plan on control set 2 is
/// where the analyzer's `OfflineTarget::hive_key` (which the plan and its PowerShell preview
/// use) says, and control set 1 is left as it was.
#[test]
fn each_key_is_written_where_the_analyzer_places_it_in_the_plan_s_control_set() {
    let mut m = rescue_vm();
    let system = DiskHives::new(2, GUID)
        .edit_system(|cs| {
            cs.key(r"Services\Dhcp").dword("Start", 4);
        })
        .system;
    m.disk_files
        .insert(SYSTEM.into(), DiskFile(system.write().bytes));
    let host = trusted(m);
    let before = host.machine();
    let (exit, text) = apply(&host, "auto", &offline_token(9, GUID, 2));
    assert_eq!(exit, Exit::Success, "{text}");
    let after = host.machine();
    let target = disk_target(GUID, 2);
    let mut placed = 0;
    for (key, name, want) in [
        (
            r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
            "fDenyTSConnections",
            0,
        ),
        (
            r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp",
            "PortNumber",
            3389,
        ),
        (r"HKLM\SYSTEM\CurrentControlSet\Services\Dhcp", "Start", 2),
        (
            r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services",
            "fDenyTSConnections",
            0,
        ),
    ] {
        let (hive, path) = target.hive_key(key).unwrap();
        let file = match hive {
            OfflineHive::System => SYSTEM,
            OfflineHive::Software => SOFTWARE,
        };
        assert_eq!(
            dword(
                &tree(&after, file),
                &path.to_uppercase(),
                &name.to_uppercase()
            ),
            Some(want),
            "{key} -> {path}"
        );
        placed += usize::from(path.starts_with("ControlSet002"));
    }
    assert_eq!(placed, 3);
    assert_eq!(
        tree(&after, SYSTEM).find("CONTROLSET001"),
        tree(&before, SYSTEM).find("CONTROLSET001")
    );
}

#[test]
fn a_failure_at_any_call_rolls_back_and_leaves_the_hive_files_as_they_were_and_unloaded() {
    let t = offline_token(2, GUID, 1);
    let calls = calls_of_a_clean_apply(&t);
    assert!(calls > 20, "{calls}");
    let mut rolled_back = 0;
    for n in 1..=calls {
        let host = trusted(rescue_vm());
        let before = host.machine();
        host.inject(Fault {
            at: FaultAt::Call(n),
            kind: FaultKind::Fail,
        });
        let (exit, text) = apply(&host, "auto", &t);
        if text.contains("NOT UNLOADED") {
            // The fault struck an unload after the last step: never a success, never
            // "swap it in", and the hive named with its command.
            assert_eq!(exit, Exit::Failure, "call {n}: {text}");
            assert!(
                text.contains("NOT READY to go back to its VM")
                    && text.contains("do not swap it in")
                    && text.contains(r"reg unload HKLM\rdpfix-")
                    && !host.machine().hives.is_empty(),
                "call {n}: {text}"
            );
            continue;
        }
        if exit == Exit::Success {
            // The fault struck after the last step (the journal's last record, the list
            // of loaded hives, the record on the disk): the hives are unloaded.
            assert!(host.machine().hives.is_empty(), "call {n}: {text}");
            continue;
        }
        assert!(
            matches!(exit, Exit::RolledBack | Exit::Rejected | Exit::Failure),
            "call {n}: {exit:?} {text}"
        );
        rolled_back += 1;
        assert_as_before(&host, &before, n, &text);
    }
    assert!(rolled_back > 10, "{rolled_back} of {calls}");
}

#[test]
fn a_crash_between_any_two_writes_leaves_what_rollback_finishes() {
    let t = offline_token(3, GUID, 1);
    for n in 1..=calls_of_a_clean_apply(&t) {
        let host = trusted(rescue_vm());
        let before = host.machine();
        host.inject(Fault {
            at: FaultAt::Call(n),
            kind: FaultKind::Crash,
        });
        let _ = apply(&host, "auto", &t);
        assert!(host.crashed(), "call {n}");
        host.restart();
        let begun = host
            .machine()
            .state_files
            .get(&format!("journal/{}/journal.jsonl", plan_id(3)))
            .is_some_and(|j| j.starts_with(b"{\"event\":\"begin\""));
        let (exit, text) = run(&host, &["rollback", &plan_id(3)]);
        if begun {
            assert_eq!(exit, Exit::Success, "call {n}: {text}");
        } else {
            // Died before its first record: nothing changed; what it loaded is unloaded.
            assert!(
                text.contains("no journal here names it") || text.contains("no plan"),
                "call {n}: {exit:?} {text}"
            );
        }
        assert_as_before(&host, &before, n, &text);
    }
}

/// SOFTWARE fails to load and unloading SYSTEM again fails too: the report names the hive
/// left loaded and the command that unloads it; the next apply (of another plan) unloads
/// it first, says so, and runs.
#[test]
fn a_hive_left_loaded_by_a_failed_load_is_said_with_its_command_and_the_next_apply_unloads_it() {
    let host = trusted(rescue_vm());
    let before = host.machine();
    let system_mount = format!("rdpfix-{}-SYSTEM", &plan_id(11)[..8]);
    // The SOFTWARE file is damaged between the check and the load; the unload of SYSTEM
    // then fails.
    host.tamper("SOFTWARE as rdpfix-", |m| {
        let f = m.disk_files.get_mut(SOFTWARE).unwrap();
        f.0[..4].copy_from_slice(b"xxxx");
    });
    host.inject(Fault {
        at: FaultAt::Target(format!("hive unload {system_mount}")),
        kind: FaultKind::Fail,
    });
    let (exit, text) = apply(&host, "auto", &offline_token(11, GUID, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(
        text.contains("could not be loaded, so nothing was changed")
            && text.contains(&format!(r"HKLM\{system_mount} is STILL LOADED"))
            && text.contains(&format!(r"reg unload HKLM\{system_mount}")),
        "{text}"
    );
    let m = host.machine();
    assert_eq!(
        m.hives.keys().cloned().collect::<Vec<_>>(),
        [system_mount.to_lowercase()]
    );
    assert_eq!(tree(&m, SYSTEM), tree(&before, SYSTEM));

    // The disk mended, another plan: the stale hive is unloaded first, then it applies.
    host.edit(|m| {
        m.disk_files.insert(
            SOFTWARE.into(),
            DiskFile(broken_disk().software.write().bytes),
        );
    });
    let (exit, text) = apply(&host, "auto", &offline_token(12, GUID, 1));
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(
        text.contains(&format!(
            r"HKLM\{system_mount} was still loaded (a run that stopped left it): unloaded first"
        )),
        "{text}"
    );
    assert!(text.contains("APPLIED plan"), "{text}");
    assert!(host.machine().hives.is_empty());
}

/// A crash after SYSTEM is loaded and before the journal's first record leaves it loaded
/// (as on Windows when the process dies); a rollback of another plan unloads it first.
#[test]
fn a_hive_a_crash_left_loaded_before_the_first_record_is_unloaded_by_the_next_rollback() {
    let host = trusted(rescue_vm());
    let (exit, text) = apply(&host, "auto", &offline_token(13, GUID, 1));
    assert_eq!(exit, Exit::Success, "{text}");
    let mount = format!("rdpfix-{}-SYSTEM", &plan_id(14)[..8]);
    host.inject(Fault {
        at: FaultAt::Target("SOFTWARE as rdpfix-".into()),
        kind: FaultKind::Crash,
    });
    let (_, text) = apply(
        &host,
        "auto",
        &offline_token_seq(14, 1001, GUID, 1, &steps()),
    );
    assert!(host.crashed(), "{text}");
    host.restart();
    assert!(host.machine().hives.contains_key(&mount.to_lowercase()));
    assert!(
        !host
            .machine()
            .state_files
            .contains_key(&format!("journal/{}/journal.jsonl", plan_id(14)))
    );
    let (exit, text) = run(&host, &["rollback", &plan_id(13)]);
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(
        text.contains(&format!(r"HKLM\{mount} was still loaded")) && text.contains("ROLLED BACK"),
        "{text}"
    );
    assert!(host.machine().hives.is_empty());
}

/// "Applied" is said only of what the hive files hold after the unload: an unload that
/// did not write the change (the simulated Windows told not to), or a file left dirty, is
/// a failure with "do not swap it in".
#[test]
fn the_hive_files_are_read_back_after_the_unload_and_a_change_not_in_them_is_not_applied() {
    let host = trusted(rescue_vm());
    let mount = format!("rdpfix-{}-SYSTEM", &plan_id(15)[..8]);
    let lower = mount.to_lowercase();
    host.tamper(&format!("hive unload {mount}"), move |m| {
        m.hives.get_mut(&lower).unwrap().dirty = false;
    });
    let (exit, text) = apply(&host, "auto", &offline_token(15, GUID, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(
        text.contains("NOT IN THE FILES: read back from the hive files after the unload")
            && text.contains("fDenyTSConnections=REG_DWORD 0x1")
            && text.contains("do not swap it in"),
        "{text}"
    );

    let host = trusted(rescue_vm());
    host.tamper("disk write", |m| {
        let f = m.disk_files.get_mut(SYSTEM).unwrap();
        f.0[8] ^= 1;
    });
    let (exit, text) = apply(&host, "auto", &offline_token(16, GUID, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(
        text.contains("the hive files cannot be read back") && text.contains("is dirty"),
        "{text}"
    );
}

/// The disk's `ProgramData\rdpfix` made by a user of the broken VM (anyone may create a
/// folder in ProgramData): the record in it counts only by plan id, never by sequence
/// number (a planted huge one would block every plan), and nothing is written into it.
#[test]
fn a_user_made_record_folder_on_the_disk_counts_by_plan_id_only_and_is_not_written() {
    // The key's fingerprint as the fixer writes it, from a clean run.
    let clean = trusted(rescue_vm());
    assert_eq!(
        apply(&clean, "auto", &offline_token(17, GUID, 1)).0,
        Exit::Success
    );
    let line = String::from_utf8(clean.machine().disk_files[APPLIED].0.clone()).unwrap();
    let fingerprint =
        serde_json::from_str::<serde_json::Value>(line.trim()).unwrap()["key_fingerprint"].clone();

    let mut m = rescue_vm();
    m.security.insert(
        r"F:\ProgramData\rdpfix".into(),
        "O:S-1-5-21-9-9-9-1001G:S-1-5-21-9-9-9-1001D:(A;OICI;FA;;;BU)".into(),
    );
    let planted = [
        serde_json::json!({"plan_id": plan_id(18), "key_fingerprint": fingerprint, "seq": 1,
            "computer": "VM-APP-01", "at": "2026-11-25T00:00:00Z", "outcome": "applied"}),
        serde_json::json!({"plan_id": "ffffffffffffffffffffffffffffffff",
            "key_fingerprint": fingerprint, "seq": u64::MAX, "computer": "VM-APP-01",
            "at": "2026-11-25T00:00:00Z", "outcome": "applied"}),
    ]
    .iter()
    .map(|v| format!("{v}\n"))
    .collect::<String>();
    m.disk_files
        .insert(APPLIED.into(), DiskFile(planted.clone().into_bytes()));
    let host = trusted(m);
    // A plan id it names is refused (check 8)...
    let (exit, text) = apply(&host, "auto", &offline_token(18, GUID, 1));
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(text.contains("check 8"), "{text}");
    // ...but its sequence number does not count: seq 1000 < u64::MAX applies.
    let (exit, text) = apply(&host, "auto", &offline_token(19, GUID, 1));
    assert_eq!(exit, Exit::Success, "{text}");
    assert!(
        text.contains("could not be recorded on the disk") && text.contains("cannot be trusted"),
        "{text}"
    );
    assert_eq!(
        host.machine().disk_files[APPLIED].0,
        planted.into_bytes(),
        "written into a user's folder"
    );
}

/// A rollback too is said done only when the hive files read back clean after the unload.
#[test]
fn a_rollback_whose_hive_file_is_left_dirty_is_not_said_done() {
    let host = trusted(rescue_vm());
    assert_eq!(
        apply(&host, "auto", &offline_token(23, GUID, 1)).0,
        Exit::Success
    );
    // SOFTWARE is unloaded first, SYSTEM last: damage SOFTWARE's file in between.
    host.tamper(
        &format!("hive unload rdpfix-{}-SYSTEM", &plan_id(23)[..8]),
        |m| {
            m.disk_files.get_mut(SOFTWARE).unwrap().0[8] ^= 1;
        },
    );
    let (exit, text) = run(&host, &["rollback", &plan_id(23)]);
    assert_eq!(exit, Exit::RollbackIncomplete, "{text}");
    assert!(
        text.contains("NOT IN THE FILES: the hive files cannot be read back")
            && text.contains("do not swap the disk in"),
        "{text}"
    );
}

#[test]
fn a_dirty_hive_is_refused_with_what_to_do_and_nothing_is_loaded() {
    let mut m = rescue_vm();
    let mut dirty = broken_disk().system;
    dirty.primary_sequence = 12;
    m.disk_files
        .insert(SYSTEM.into(), DiskFile(dirty.write().bytes));
    let host = trusted(m);
    let before = host.machine();
    let (exit, text) = apply(&host, "F:", &offline_token(4, GUID, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(
        text.contains("is dirty (primary sequence 12, secondary 7"),
        "{text}"
    );
    assert!(text.contains("start the VM from this disk once"), "{text}");
    // The commands that have Windows replay the hive's logs, naming this hive file.
    assert!(
        text.contains("`reg load HKLM\\rdpfix-replay \"")
            && text.contains("then `reg unload HKLM\\rdpfix-replay`"),
        "{text}"
    );
    assert_eq!(host.machine().disk_files, before.disk_files);
    assert!(host.machine().hives.is_empty());
}

#[test]
fn another_disk_another_control_set_or_the_wrong_kind_of_plan_is_refused_by_check_6() {
    let host = trusted(rescue_vm());
    let before = host.machine();
    let other = "00000000-1111-2222-3333-444444444444";
    let (exit, text) = apply(&host, "F:", &offline_token(5, other, 1));
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(text.contains("check 6"), "{text}");
    assert!(text.contains(GUID), "{text}");
    let (exit, text) = apply(&host, "auto", &offline_token(5, other, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(
        text.contains(&format!(
            "no attached disk is the disk with MachineGuid {other}"
        )),
        "{text}"
    );
    let (exit, text) = apply(&host, "F:", &offline_token(6, GUID, 2));
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(text.contains("ControlSet002"), "{text}");
    // A plan for a running machine is not applied to a disk, nor an offline plan without
    // --offline.
    let running = token(&plan(&steps(), &PlanSpec::new("VM-APP-01", now())), &key(1));
    let (exit, text) = apply(&host, "F:", &running);
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(text.contains("the running machine"), "{text}");
    let (exit, text) = run(&host, &["apply", "--yes", &offline_token(7, GUID, 1)]);
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(text.contains("--offline auto"), "{text}");
    let m = host.machine();
    assert_eq!(m.disk_files, before.disk_files);
    assert!(m.hives.is_empty());
}

/// `Select\Current` (the set the last boot used) and `Select\Default` (the one the next
/// boot uses) differ, as after a Last Known Good boot: a plan for either set is refused by
/// check 6, saying the admin chooses; nothing is loaded or changed.
#[test]
fn a_disk_whose_next_boot_uses_another_control_set_is_refused_by_check_6() {
    let mut m = rescue_vm();
    let mut system = DiskHives::new(2, GUID).system;
    system.root.key("Select").dword("Default", 1);
    m.disk_files
        .insert(SYSTEM.into(), DiskFile(system.write().bytes));
    let host = trusted(m);
    let before = host.machine();
    for (id, set) in [(20, 2), (21, 1)] {
        let (exit, text) = apply(&host, "auto", &offline_token(id, GUID, set));
        assert_eq!(exit, Exit::Rejected, "{text}");
        assert!(
            text.contains("check 6")
                && text.contains(r"Select\Default (the control set it boots next) is 1")
                && text.contains("for you to choose"),
            "{text}"
        );
    }
    let m = host.machine();
    assert_eq!(m.disk_files, before.disk_files);
    assert!(m.hives.is_empty());
}

/// A key on a step's path that is a registry symbolic link (nk flag 0x10, as an admin of
/// the broken VM can make): loaded on the rescue VM its target could be the rescue VM's
/// own registry. Check 10's dry-run on the files refuses it; nothing is loaded.
#[test]
fn a_registry_link_key_on_a_step_s_path_is_refused_before_anything_is_loaded() {
    use analyzer::input::hive::regf::{self, Hive};
    let mut bytes = broken_disk().system.write().bytes;
    let at = {
        let header = regf::parse_header(&bytes[..4096]).unwrap();
        let mut hive = Hive::new(&bytes[..], header);
        hive.map_bins(bytes.len() as u64);
        let root = hive.root().unwrap();
        let key = hive
            .path(&root, r"ControlSet001\Control\Terminal Server")
            .unwrap()
            .unwrap();
        4096 + key.cell as usize + 4 + 2
    };
    bytes[at] |= regf::KEY_SYM_LINK as u8;
    let mut m = rescue_vm();
    m.disk_files.insert(SYSTEM.into(), DiskFile(bytes));
    let host = trusted(m);
    let before = host.machine();
    let (exit, text) = apply(&host, "auto", &offline_token(22, GUID, 1));
    // The dry-run stops at the step (as any step that would fail there): never applied.
    assert_eq!(exit, Exit::RolledBack, "{text}");
    assert!(text.starts_with("DRY RUN (nothing is changed)"), "{text}");
    assert!(
        text.contains(r"ControlSet001\Control\Terminal Server in")
            && text.contains("is a registry symbolic link"),
        "{text}"
    );
    let m = host.machine();
    assert_eq!(m.disk_files, before.disk_files);
    assert!(m.hives.is_empty());
}

#[test]
fn a_junction_on_the_disk_s_path_is_refused_never_followed() {
    let mut m = rescue_vm();
    m.reparse_points.insert(
        r"F:\Windows\System32\config".into(),
        r"C:\Windows\System32\config".into(),
    );
    let host = trusted(m);
    let (exit, text) = apply(&host, "F:", &offline_token(8, GUID, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(text.contains("junction"), "{text}");
    assert!(host.machine().hives.is_empty());
    // A junction in MachineKeys' path: the ACL step is refused, the plan rolled back.
    let mut m = rescue_vm();
    m.reparse_points.insert(
        r"F:\ProgramData\Microsoft".into(),
        r"C:\ProgramData\Microsoft".into(),
    );
    let host = trusted(m);
    let before = host.machine();
    let (exit, text) = apply(&host, "F:", &offline_token(9, GUID, 1));
    assert_ne!(exit, Exit::Success, "{text}");
    let m = host.machine();
    assert!(m.hives.is_empty());
    assert_eq!(tree(&m, SYSTEM), tree(&before, SYSTEM), "{text}");
    assert_eq!(m.security[KEY_FILE], before.security[KEY_FILE]);
    // ProgramData itself a junction (to the rescue VM's): refused before anything, as the
    // disk's record of plans (check 8) cannot be read through it; no folder made there.
    let mut m = rescue_vm();
    m.reparse_points
        .insert(r"F:\ProgramData".into(), r"C:\ProgramData".into());
    let host = trusted(m);
    let before = host.machine();
    let (exit, text) = apply(&host, "F:", &offline_token(13, GUID, 1));
    assert_eq!(exit, Exit::Failure, "{text}");
    assert!(
        text.contains(r"F:\ProgramData is a junction or symbolic link"),
        "{text}"
    );
    let m = host.machine();
    assert_eq!(m.dirs, before.dirs);
    assert!(m.hives.is_empty());
    assert_eq!(tree(&m, SYSTEM), tree(&before, SYSTEM), "{text}");
    assert_eq!(m.disk_files.len(), before.disk_files.len());
}

#[test]
fn a_step_with_no_offline_form_is_refused_before_anything_is_loaded() {
    let host = trusted(rescue_vm());
    let before = host.machine();
    let mut with_restart = steps();
    with_restart.push(support::s1_s2_steps()[7].clone());
    let (exit, text) = apply(&host, "F:", &offline_token_of(10, GUID, 1, &with_restart));
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(
        text.contains("REJECTED by check 9 (allowlist): step 9 (restart Remote Desktop Services"),
        "{text}"
    );
    assert!(text.contains("starts at boot"), "{text}");
    assert_eq!(host.machine().disk_files, before.disk_files);
    assert!(host.machine().hives.is_empty());
}

#[test]
fn the_plans_recorded_on_the_disk_count_for_check_8_once_the_vm_runs_from_it() {
    let rescue = trusted(rescue_vm());
    let mut spec = PlanSpec::new("VM-APP-01", now());
    spec.id = 11;
    spec.seq = 2000;
    let p = for_disk(plan(&steps(), &spec), GUID, 1);
    let (exit, text) = apply(&rescue, "auto", &token(&p, &key(1)));
    assert_eq!(exit, Exit::Success, "{text}");
    let record = rescue.machine().disk_files[APPLIED].0.clone();

    // The disk back in its VM: what was F:\ProgramData\rdpfix is its state directory.
    let vm = trusted(Machine::new("VM-APP-01", "vm-app-01", now()));
    vm.edit(|m| {
        m.state_files
            .insert("offline-applied.jsonl".into(), record.clone());
    });
    let mut older = PlanSpec::new("VM-APP-01", now());
    older.id = 12;
    older.seq = 1999;
    let running = token(&plan(&steps()[..1], &older), &key(1));
    let (exit, text) = run(&vm, &["verify", &running]);
    assert_eq!(exit, Exit::Rejected, "{text}");
    assert!(text.contains("check 8"), "{text}");
    assert!(text.contains("2000"), "{text}");
    // Without the record the same plan passes: the refusal comes from it.
    vm.edit(|m| {
        m.state_files.remove("offline-applied.jsonl");
    });
    let (exit, text) = run(&vm, &["verify", &running]);
    assert_eq!(exit, Exit::Success, "{text}");
}
