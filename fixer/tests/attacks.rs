//! The attacks of SECURITY.md, each carried out on the simulated machine the way a local
//! user (or a crash, or a second fixer) would: the legitimate run, then the attack, then the
//! state — refused with nothing changed, or recovered exactly.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use analyzer::plan::{AllowedStep, ServiceAccount, StartType as PlanStart};
use analyzer::plan::{CertStore as PlanCertStore, CertificateExpect, Expect, RdpService};
use fixer::cli::{ApplyArgs, CollectArgs};
use fixer::commands::{apply, collect, journal as journal_cmd};
use fixer::executor::{self, Mode, RollbackOutcome, RunOutcome, StepStatus};
use fixer::exit::Exit;
use fixer::host::sim::{Machine, STATE_DIR, SimHost, TASK_DIR};
use fixer::host::{Host, HostError, StartType};
use fixer::operator::{Nobody, Operator};
use fixer::state_dir;
use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;
use support::{
    KEY_FILE, MACHINE_KEYS, PlanSpec, broken_vm, key, now, plan, restorable, runnable, s1_s2_steps,
    token, trusted,
};

const APPLY: Mode = Mode::Apply {
    confirm_within: None,
};

/// A file only SYSTEM could read or write before the attack: what the attacker wants.
const SAM: &str = r"C:\Windows\System32\config\SAM";
const SAM_SDDL: &str = "O:SYG:SYD:P(A;;FA;;;SY)";
/// A second RDP-named key file, planted by a user (Everyone may create files in MachineKeys).
const PLANTED: &str =
    r"C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_planted";
const USER_SDDL: &str = "O:S-1-5-21-1-2-3-1001D:(A;;FA;;;S-1-5-21-1-2-3-1001)";

fn key_steps() -> Vec<AllowedStep> {
    s1_s2_steps().into_iter().take(3).collect()
}

fn vm_with_sam() -> Machine {
    let mut m = broken_vm();
    m.security.insert(SAM.into(), SAM_SDDL.into());
    m
}

fn args(plan: &str, yes: bool) -> ApplyArgs {
    ApplyArgs {
        plan: plan.into(),
        dry_run: false,
        yes,
        confirm_within: None,
        offline: None,
    }
}

fn spec(id: u8, seq: u64) -> PlanSpec {
    PlanSpec {
        id,
        seq,
        ..PlanSpec::default()
    }
}

// --- redirectable file effects ------------------------------------------------------

/// A user plants an RDP-named key file, then swaps it for a junction to SAM between the
/// fixer's read and its write: the write is refused by the identity check, SAM untouched.
#[test]
fn a_key_file_swapped_for_a_junction_between_read_and_write_is_refused() {
    let mut m = vm_with_sam();
    m.security.insert(PLANTED.into(), USER_SDDL.into());
    let host = SimHost::new(m.clone());
    host.tamper(&format!("acl set {PLANTED}"), |m| {
        m.security.remove(PLANTED);
        m.reparse_points.insert(PLANTED.into(), SAM.into());
    });
    let r = executor::run(&host, &runnable("p1", &key_steps()), APPLY).unwrap();
    let error = r.error.clone().unwrap();
    assert!(error.contains("junction"), "{error}");
    // The report says the planted name could not be restored: what stands there now is a
    // junction, which rdpfix neither reads nor writes through.
    assert_eq!(r.outcome, RunOutcome::RollbackIncomplete, "{r:?}");
    assert!(
        matches!(&r.steps[1].status, StepStatus::UndoFailed { error } if error.contains("junction")),
        "{r:?}"
    );
    let after = host.machine();
    assert_eq!(after.security[SAM], SAM_SDDL);
    // The genuine key file was put back as it was.
    assert_eq!(after.security[KEY_FILE], m.security[KEY_FILE]);
}

/// The same swap for another file of the same name (a new file id): refused.
#[test]
fn a_key_file_replaced_by_another_file_before_the_write_is_refused() {
    let mut m = broken_vm();
    m.security.insert(PLANTED.into(), USER_SDDL.into());
    let host = SimHost::new(m);
    host.tamper(&format!("acl set {PLANTED}"), |m| {
        m.file_ids.insert(PLANTED.into(), 42);
    });
    let r = executor::run(&host, &runnable("p1", &key_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::RollbackIncomplete, "{r:?}");
    assert!(r.error.unwrap().contains("replaced"));
    assert_eq!(host.machine().security[PLANTED], USER_SDDL);
}

/// A descriptor edited between the read and the write: the write is refused rather than
/// overwriting the new descriptor with one computed from the old.
#[test]
fn a_descriptor_changed_between_read_and_write_is_not_overwritten() {
    let host = SimHost::new(broken_vm());
    let edited = "O:S-1-5-21-1-2-3-1001D:PAI(A;;FA;;;WD)";
    host.tamper(&format!("acl set {KEY_FILE}"), move |m| {
        m.security.insert(KEY_FILE.into(), edited.into());
    });
    let r = executor::run(&host, &runnable("p1", &key_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::RolledBack, "{r:?}");
    assert!(r.error.unwrap().contains("changed since rdpfix read it"));
    assert_eq!(host.machine().security[KEY_FILE], edited);
}

/// Files in a subfolder (`MachineKeys\u\f686…`), junctions and hard links named like the key
/// are never touched, and the dry-run says which were left alone and why.
#[test]
fn nested_junctioned_and_hard_linked_key_files_are_left_alone_and_listed() {
    let mut m = vm_with_sam();
    let nested = format!(r"{MACHINE_KEYS}\u\f686aace6942fb7f7ceb231212eef4a4_x");
    let junction = format!(r"{MACHINE_KEYS}\f686aace6942fb7f7ceb231212eef4a4_j");
    let linked = format!(r"{MACHINE_KEYS}\f686aace6942fb7f7ceb231212eef4a4_h");
    m.security
        .insert(format!(r"{MACHINE_KEYS}\u"), USER_SDDL.into());
    m.security.insert(nested.clone(), USER_SDDL.into());
    m.reparse_points.insert(junction.clone(), SAM.into());
    m.security.insert(linked.clone(), SAM_SDDL.into());
    m.links.insert(linked.clone(), 2);
    let host = SimHost::new(m.clone());
    let dry = executor::run(&host, &runnable("p1", &key_steps()), Mode::DryRun).unwrap();
    let owner = &dry.steps[1];
    assert_eq!(owner.objects, vec![KEY_FILE.to_owned()], "{owner:?}");
    let left: String = owner.left_alone.join("\n");
    assert!(
        left.contains(&junction) && left.contains("junction"),
        "{left}"
    );
    assert!(
        left.contains(&linked) && left.contains("hard links"),
        "{left}"
    );
    assert!(!left.contains(&nested), "{left}");
    let r = executor::run(&host, &runnable("p1", &key_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
    let after = host.machine();
    assert_eq!(after.security[&nested], USER_SDDL);
    assert_eq!(after.security[&linked], SAM_SDDL);
    assert_eq!(after.security[SAM], SAM_SDDL);
}

/// MachineKeys itself reached through a junction (or being one): nothing is read through it.
#[test]
fn a_junction_above_machinekeys_refuses_the_step() {
    let mut m = vm_with_sam();
    m.reparse_points.insert(
        r"C:\ProgramData\Microsoft\Crypto".into(),
        r"C:\Windows".into(),
    );
    let host = SimHost::new(m.clone());
    let r = executor::run(&host, &runnable("p1", &key_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Refused, "{r:?}");
    assert!(r.error.unwrap().contains("junction"));
    assert_eq!(restorable(&host.machine()), restorable(&m));
}

/// A descriptor without a DACL (everyone: full access) is an error, never edited and never
/// written back as a NULL DACL.
#[test]
fn a_key_file_without_a_dacl_is_refused_before_any_change() {
    let mut m = broken_vm();
    m.security.insert(KEY_FILE.into(), "O:SYG:SY".into());
    let host = SimHost::new(m.clone());
    let grant_only = vec![s1_s2_steps()[2].clone()];
    let r = executor::run(&host, &runnable("p1", &grant_only), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Refused, "{r:?}");
    assert!(r.error.unwrap().contains("NULL DACL"));
    assert_eq!(restorable(&host.machine()), restorable(&m));
}

/// The owner step writes the owner only; the grant step the DACL only.
#[test]
fn each_acl_step_writes_only_the_part_it_changes() {
    let host = SimHost::new(broken_vm());
    executor::run(&host, &runnable("p1", &key_steps()), APPLY).unwrap();
    let writes: Vec<String> = host
        .change_log()
        .into_iter()
        .filter(|c| c.starts_with("acl set"))
        .collect();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(
        writes[0].contains("owner=S-1-5-32-544 dacl=-"),
        "{writes:?}"
    );
    assert!(writes[1].contains("owner=- dacl=D:PAI("), "{writes:?}");
}

// --- squatted folders -------------------------------------------------------------

fn refused_state_dir(m: Machine, says: &str) {
    let host = trusted_or_raw(m);
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let before = host.machine();
    let err = apply::run(&host, &args(&t, true), &Nobody).unwrap_err();
    assert_eq!(err.exit, Exit::UnsafeStateDir, "{:#}", err.error);
    let text = format!("{:#}", err.error);
    assert!(text.contains(says), "{text}");
    assert!(text.contains("icacls"), "{text}");
    assert_eq!(host.machine(), before);
}

/// A trust store made by the fixer, then the directory edited as the test wants.
fn trusted_or_raw(m: Machine) -> SimHost {
    let host = trusted(broken_vm());
    let mut with_state = host.machine();
    with_state.state_dir_sddl = m.state_dir_sddl.clone().or(with_state.state_dir_sddl);
    with_state.security.extend(m.security);
    with_state.reparse_points.extend(m.reparse_points);
    with_state.links.extend(m.links);
    SimHost::new(with_state)
}

#[test]
fn a_state_dir_a_user_made_first_is_refused() {
    let mut m = Machine::new("WEB01", "web01", now());
    m.state_dir_sddl = Some("O:S-1-5-21-1-2-3-1001D:(A;OICI;FA;;;S-1-5-21-1-2-3-1001)".into());
    refused_state_dir(m, "S-1-5-21-1-2-3-1001 (owner)");
}

#[test]
fn a_state_dir_that_is_a_junction_is_refused_not_judged_by_its_target() {
    let mut m = Machine::new("WEB01", "web01", now());
    m.reparse_points
        .insert(STATE_DIR.into(), r"C:\Users\Public\rdpfix".into());
    refused_state_dir(m, "junction");
}

#[test]
fn a_user_writable_journal_folder_inside_the_state_dir_is_refused() {
    let mut m = Machine::new("WEB01", "web01", now());
    m.security.insert(
        format!(r"{STATE_DIR}\journal"),
        "O:BAD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;BU)".into(),
    );
    m.dirs.insert(format!(r"{STATE_DIR}\journal"));
    refused_state_dir(m, "journal is writable by Users");
}

#[test]
fn a_conditional_allow_entry_on_the_trust_store_counts_as_a_writer() {
    let mut m = Machine::new("WEB01", "web01", now());
    m.security.insert(
        format!(r"{STATE_DIR}\trust.json"),
        "O:BAD:P(A;;FA;;;SY)(XA;;FA;;;AU;(WIN://SYSAPPID Contains \"x\"))".into(),
    );
    refused_state_dir(m, "trust.json is writable by Authenticated Users");
}

#[test]
fn a_junction_planted_in_the_state_dir_is_refused() {
    let mut m = Machine::new("WEB01", "web01", now());
    m.reparse_points
        .insert(format!(r"{STATE_DIR}\bin"), r"C:\Users\Public".into());
    refused_state_dir(m, "bin: it is a junction");
}

/// Commit-confirm runs fixer.exe as SYSTEM from the task folder: one a user made first is
/// refused before anything changes.
#[test]
fn a_task_folder_a_user_made_first_refuses_commit_confirm_before_any_change() {
    let mut m = broken_vm();
    m.security.insert(TASK_DIR.into(), USER_SDDL.into());
    let host = SimHost::new(m.clone());
    let mode = Mode::Apply {
        confirm_within: Some(jiff::SignedDuration::from_mins(10)),
    };
    let r = executor::run(&host, &runnable("p1", &s1_s2_steps()), mode).unwrap();
    assert_eq!(r.outcome, RunOutcome::Refused, "{r:?}");
    assert!(r.error.unwrap().contains("confirm timeout"));
    let after = host.machine();
    assert!(after.scheduled.is_empty());
    assert_eq!(after.security[TASK_DIR], USER_SDDL);
    assert_eq!(restorable(&after), restorable(&m));
}

fn collect_args(out: &str) -> CollectArgs {
    CollectArgs {
        out: PathBuf::from(out),
        hours: 24,
        text_only: false,
        compact: false,
        offline: None,
        from: Vec::new(),
    }
}

/// `collect` exports as SYSTEM with overwrite: into a folder it makes admin-only, never into
/// a junction or a folder a user made first.
#[test]
fn collect_refuses_a_pre_made_folder_or_junction_and_makes_its_own() {
    for (what, plant) in [
        (
            "junction",
            (|m: &mut Machine| {
                m.reparse_points.insert(
                    r"C:\rdpfix-logs".into(),
                    r"C:\Windows\System32\config".into(),
                );
            }) as fn(&mut Machine),
        ),
        ("writable by", |m: &mut Machine| {
            m.security
                .insert(r"C:\rdpfix-logs".into(), USER_SDDL.into());
        }),
    ] {
        let mut m = broken_vm();
        m.logs.insert("System".into(), "x".into());
        plant(&mut m);
        let host = SimHost::new(m);
        let err = collect::run(&host, &collect_args(r"C:\rdpfix-logs")).unwrap_err();
        assert_eq!(err.exit, Exit::UnsafeStateDir, "{what}");
        assert!(format!("{:#}", err.error).contains(what), "{:#}", err.error);
        assert!(host.machine().exported.is_empty(), "{what}");
    }
    let mut m = broken_vm();
    m.logs.insert("System".into(), "x".into());
    let host = SimHost::new(m);
    collect::run(&host, &collect_args(r"C:\rdpfix-logs")).unwrap();
    let after = host.machine();
    assert_eq!(
        after.security[r"C:\rdpfix-logs"],
        fixer::host::sim::SAFE_STATE_SDDL
    );
    assert!(after.exported.contains_key(r"C:\rdpfix-logs\System.evtx"));
    // Its own folder, made once, is used again.
    collect::run(&host, &collect_args(r"C:\rdpfix-logs")).unwrap();
}

/// A backup in the journal that names something no plan may touch is left alone by a
/// rollback, which still restores every other step.
#[test]
fn a_backup_naming_what_no_plan_may_touch_is_not_restored() {
    let initial = broken_vm();
    let host = SimHost::new(initial.clone());
    executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
    host.edit(|m| {
        let file = m.state_files.get_mut("journal/p1/step-04.json").unwrap();
        let text = String::from_utf8(file.clone())
            .unwrap()
            .replace(r"Terminal Server\\WinStations\\RDP-Tcp", r"Services\\Evil");
        *file = text.into_bytes();
    });
    let r = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::Incomplete, "{r:?}");
    let step4 = r.steps.iter().find(|s| s.step == 4).unwrap();
    assert!(step4.result.contains("no plan may touch"), "{step4:?}");
    assert!(
        r.steps.iter().filter(|s| s.step != 4).all(|s| s.ok),
        "{r:?}"
    );
    let m = host.machine();
    assert!(
        m.reg(
            r"SYSTEM\CurrentControlSet\Services\Evil",
            "SSLCertificateSHA1Hash"
        )
        .is_none()
    );
}

/// The same for the configuration kinds: a journal edited so that the rollback would
/// grant Everyone "Allow log on through Remote Desktop Services" and enable the SMB rule.
/// Both backups are left alone and named; every other step is restored.
#[test]
fn a_backup_widening_logon_or_the_firewall_is_not_restored() {
    let mut initial = support::config_broken_vm();
    initial.firewall.insert("FPS-SMB-In-TCP".into(), false);
    let host = SimHost::new(initial.clone());
    let r = executor::run(&host, &runnable("p1", &support::config_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
    host.edit(|m| {
        let mut edit = |file: &str, from: &[(&str, &str)]| {
            let bytes = m.state_files.get_mut(file).unwrap();
            let mut text = String::from_utf8(bytes.clone()).unwrap();
            for (a, b) in from {
                assert!(text.contains(a), "{file}: {text}");
                text = text.replace(a, b);
            }
            *bytes = text.into_bytes();
        };
        edit(
            "journal/p1/step-08.json",
            &[
                ("S-1-5-32-555", "S-1-1-0"),
                ("\"held\": false", "\"held\": true"),
            ],
        );
        edit(
            "journal/p1/step-10.json",
            &[
                ("RemoteDesktop-UserMode-In-TCP", "FPS-SMB-In-TCP"),
                ("\"enabled\": false", "\"enabled\": true"),
            ],
        );
    });
    // Forced, so the drift check (the edited backup names a right nobody holds) does not
    // stop it first: the allowlist does.
    let r = executor::rollback(&host, "p1", false, true).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::Incomplete, "{r:?}");
    for n in [8, 10] {
        let step = r.steps.iter().find(|s| s.step == n).unwrap();
        assert!(
            !step.ok && step.result.contains("no plan may touch"),
            "{step:?}"
        );
    }
    assert!(
        r.steps
            .iter()
            .filter(|s| ![8, 10].contains(&s.step))
            .all(|s| s.ok),
        "{r:?}"
    );
    let m = host.machine();
    assert!(!m.rights.contains_key("S-1-1-0"), "{:?}", m.rights);
    assert!(!m.firewall["FPS-SMB-In-TCP"]);
}

/// A backup edited to name another target of the allowlist than its own step's: each
/// would pass the allowlist alone. A rollback of the first ten configuration steps would
/// then stop the firewall service (the step set Dhcp's start type), remove another
/// account from Remote Desktop Users (the step added USER_SID), deny RDP to
/// Administrators (the step revoked it from Local account) and disable the UDP RDP rule
/// (the step enabled the TCP one). Each backup is compared with the signed step at its
/// index and left alone; every other step is restored.
#[test]
fn a_backup_naming_another_allowed_target_than_its_step_is_not_restored() {
    const OTHER: &str = "S-1-5-21-1-2-3-1002";
    const UDP: &str = "RemoteDesktop-UserMode-In-UDP";
    let mut initial = support::config_broken_vm();
    initial.services.get_mut("mpssvc").unwrap().status.state = fixer::host::ServiceState::Running;
    initial.accounts.insert(OTHER.into());
    initial
        .groups
        .entry("S-1-5-32-555".into())
        .or_default()
        .insert(OTHER.into());
    initial.firewall.insert(UDP.into(), true);
    let steps: Vec<AllowedStep> = support::config_steps().into_iter().take(10).collect();
    let attacks: [(usize, &str); 4] = [
        (
            6,
            r#"{"kind":"started","service":"MpsSvc","was_running":false}"#,
        ),
        (
            7,
            &format!(r#"{{"kind":"member","group":"S-1-5-32-555","member":"{OTHER}"}}"#),
        ),
        (
            9,
            r#"{"kind":"right","sid":"S-1-5-32-544","right":"SeDenyRemoteInteractiveLogonRight","held":true}"#,
        ),
        (
            10,
            &format!(r#"{{"kind":"firewall","rule":"{UDP}","enabled":false}}"#),
        ),
    ];
    for (n, backup) in attacks {
        let host = SimHost::new(initial.clone());
        let r = executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
        assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
        host.edit(|m| {
            let file = m
                .state_files
                .get_mut(&format!("journal/p1/step-{n:02}.json"))
                .unwrap();
            *file = backup.as_bytes().to_vec();
        });
        // Forced, so the drift check does not stop it first.
        let r = executor::rollback(&host, "p1", false, true).unwrap();
        assert_eq!(r.outcome, RollbackOutcome::Incomplete, "step {n}: {r:?}");
        let step = r.steps.iter().find(|s| s.step == n).unwrap();
        assert!(!step.ok && step.result.contains("did not save"), "{step:?}");
        assert!(
            r.steps.iter().filter(|s| s.step != n).all(|s| s.ok),
            "{r:?}"
        );
        let m = host.machine();
        assert_eq!(
            m.services["mpssvc"].status.state,
            fixer::host::ServiceState::Running
        );
        assert!(m.groups["S-1-5-32-555"].contains(OTHER), "{:?}", m.groups);
        assert!(
            !m.rights
                .get("S-1-5-32-544")
                .is_some_and(|r| r.contains("SeDenyRemoteInteractiveLogonRight"))
        );
        assert!(m.firewall[UDP]);
    }
}

// --- concurrency ----------------------------------------------------------------------

/// An operator who, while the first apply waits for consent, runs a second apply on the
/// same machine (another console, another Run Command), then says yes.
struct Racing<'h> {
    host: &'h SimHost,
    other: String,
    other_exit: RefCell<Option<Exit>>,
}

impl Operator for Racing<'_> {
    fn interactive(&self) -> bool {
        true
    }

    fn show(&self, _text: &str) {}

    fn read_line(&self, _timeout: Duration) -> Option<String> {
        let report = apply::run(self.host, &args(&self.other, true), &Nobody).unwrap();
        *self.other_exit.borrow_mut() = Some(report.exit());
        Some("yes".into())
    }
}

/// The same plan applied twice at once: the replay check, run again under the lock after
/// consent, refuses the second; the machine is changed once, by one journal.
#[test]
fn the_same_plan_applied_twice_at_once_runs_once() {
    let host = trusted(broken_vm());
    let t = token(&plan(&s1_s2_steps(), &spec(1, 10)), &key(1));
    let racing = Racing {
        host: &host,
        other: t.clone(),
        other_exit: RefCell::new(None),
    };
    let report = apply::run(&host, &args(&t, false), &racing).unwrap();
    assert_eq!(*racing.other_exit.borrow(), Some(Exit::Success));
    assert_eq!(report.exit(), Exit::Rejected, "{}", report.text());
    let text = report
        .text()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("check 8 (replay)"), "{text}");
    let begins = host
        .machine()
        .state_files
        .keys()
        .filter(|k| k.ends_with("journal.jsonl"))
        .count();
    assert_eq!(begins, 1);
}

/// A newer plan from the same key applied meanwhile: the older one is refused (seq), under
/// the lock, after its consent.
#[test]
fn an_older_plan_whose_consent_raced_a_newer_one_is_refused() {
    let host = trusted(broken_vm());
    let older = token(&plan(&s1_s2_steps(), &spec(1, 10)), &key(1));
    let newer = token(&plan(&s1_s2_steps(), &spec(2, 11)), &key(1));
    let racing = Racing {
        host: &host,
        other: newer,
        other_exit: RefCell::new(None),
    };
    let report = apply::run(&host, &args(&older, false), &racing).unwrap();
    assert_eq!(*racing.other_exit.borrow(), Some(Exit::Success));
    assert_eq!(report.exit(), Exit::Rejected, "{}", report.text());
}

/// Another fixer holds the lock: apply, rollback and confirm say so (exit 11) and change
/// nothing.
#[test]
fn while_another_fixer_holds_the_lock_nothing_runs() {
    let host = trusted(broken_vm());
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    host.edit(|m| m.lock_held = true);
    let before = host.machine();
    let err = apply::run(&host, &args(&t, true), &Nobody).unwrap_err();
    assert_eq!(err.exit, Exit::Busy, "{:#}", err.error);
    assert!(format!("{:#}", err.error).contains("another fixer"));
    let id = support::plan_id(1);
    let err = journal_cmd::rollback(&host, &id, false, false, None).unwrap_err();
    assert_eq!(err.exit, Exit::Busy);
    let err = journal_cmd::confirm(&host, &id).unwrap_err();
    assert_eq!(err.exit, Exit::Busy);
    assert_eq!(host.machine(), before);
    // The lock is released when the holder ends; then it runs.
    host.edit(|m| m.lock_held = false);
    let report = apply::run(&host, &args(&t, true), &Nobody).unwrap();
    assert_eq!(report.exit(), Exit::Success, "{}", report.text());
    assert!(!host.machine().lock_held, "the lock outlived the apply");
}

/// Two runs racing to create one plan's journal folder: only one gets it.
#[test]
fn a_plans_journal_folder_is_created_once() {
    let host = SimHost::new(broken_vm());
    host.create_admin_dir(std::path::Path::new(STATE_DIR))
        .unwrap();
    host.state_create_dir("journal/p1").unwrap();
    assert!(matches!(
        host.state_create_dir("journal/p1"),
        Err(HostError::Exists { .. })
    ));
    let r = executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY);
    assert!(r.is_err(), "{r:?}");
    assert_eq!(restorable(&host.machine()), restorable(&broken_vm()));
}

// --- rollback that never stops early ---------------------------------------------------

/// After an apply, someone deletes the key file and TermService: every other step is still
/// restored, and the report names the ones that could not be (with --force too).
#[test]
fn one_missing_object_does_not_keep_the_other_steps_from_being_restored() {
    for force in [false, true] {
        let initial = broken_vm();
        let host = SimHost::new(initial.clone());
        executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
        host.edit(|m| {
            m.security.remove(KEY_FILE);
        });
        let r = executor::rollback(&host, "p1", false, force).unwrap();
        assert_eq!(
            r.outcome,
            RollbackOutcome::Incomplete,
            "force {force}: {r:?}"
        );
        let failed: Vec<usize> = r.steps.iter().filter(|s| !s.ok).map(|s| s.step).collect();
        assert_eq!(failed, vec![3, 2], "force {force}: {r:?}");
        let m = host.machine();
        let mut expected = restorable(&initial);
        expected.security.remove(KEY_FILE);
        assert_eq!(restorable(&m), expected, "force {force}");
    }
}

// --- reports that are true ---------------------------------------------------------------

/// The certificate comes back with its key link when nothing else changed; when Windows
/// made a new key meanwhile, the report says it could not, and never "as before".
#[test]
fn the_certificate_step_is_undone_only_when_its_key_still_matches() {
    let steps = vec![
        AllowedStep::ExportDeleteCertificates {
            store: PlanCertStore::RemoteDesktop,
            expect: CertificateExpect::Any,
        },
        AllowedStep::RestartService {
            service: RdpService::SessionEnv,
        },
    ];
    let initial = broken_vm();
    let host = SimHost::new(initial.clone());
    executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
    let r = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::RolledBack, "{r:?}");
    assert_eq!(host.machine().certs, initial.certs);

    let host = SimHost::new(initial.clone());
    executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
    host.edit(|m| {
        m.replaced_keys.insert("TSSecKeySet1".into());
    });
    let r = executor::rollback(&host, "p1", false, true).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::Incomplete, "{r:?}");
    let cert = r.steps.iter().find(|s| s.step == 1).unwrap();
    assert!(cert.result.contains("new certificate"), "{cert:?}");
    let text = fixer::report::Report::text(&r);
    assert!(!text.contains("as before"), "{text}");
    assert!(host.machine().certs.is_empty());
}

/// A failed apply whose undo cannot be verified reports "ROLLBACK INCOMPLETE", never "the
/// machine is as before".
#[test]
fn as_before_is_said_only_when_every_step_read_back_as_it_was() {
    let host = trusted(broken_vm());
    host.edit(|m| {
        m.services.get_mut("sessionenv").unwrap().fails_to_start = true;
        m.replaced_keys.insert("TSSecKeySet1".into());
    });
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let report = apply::run(&host, &args(&t, true), &Nobody).unwrap();
    let text = report.text();
    assert_eq!(report.exit(), Exit::RollbackIncomplete, "{text}");
    assert!(text.contains("ROLLBACK INCOMPLETE"), "{text}");
    assert!(!text.contains("as before"), "{text}");
}

/// A service that runs under an account with a password is never switched: its password
/// is unknown, so the change could not be undone.
#[test]
fn an_account_step_is_refused_when_the_account_has_a_password() {
    let mut m = broken_vm();
    m.services.get_mut("termservice").unwrap().account = r"CONTOSO\svc-rdp".into();
    let host = SimHost::new(m.clone());
    let steps = vec![AllowedStep::SetServiceAccount {
        service: RdpService::TermService,
        desired: ServiceAccount::NetworkService,
        expect: Expect::Any,
    }];
    let r = executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Refused, "{r:?}");
    assert!(r.error.unwrap().contains("password"));
    assert_eq!(restorable(&host.machine()), restorable(&m));
}

/// Delayed auto-start is backed up beside the start type and restored with it.
#[test]
fn delayed_auto_start_comes_back_with_the_start_type() {
    let mut m = broken_vm();
    let status = &mut m.services.get_mut("termservice").unwrap().status;
    status.start_type = StartType::Auto;
    status.delayed_auto_start = true;
    let host = SimHost::new(m.clone());
    let steps = vec![AllowedStep::SetServiceStart {
        service: RdpService::TermService,
        desired: PlanStart::Manual,
        expect: Expect::Any,
    }];
    executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
    host.edit(|m| {
        m.services
            .get_mut("termservice")
            .unwrap()
            .status
            .delayed_auto_start = false;
    });
    let r = executor::rollback(&host, "p1", false, true).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::RolledBack, "{r:?}");
    assert_eq!(restorable(&host.machine()), restorable(&m));
}

/// A service that stops right after starting (exit code 0) fails the step at once.
#[test]
fn a_service_that_exits_after_starting_fails_the_step_at_once() {
    let mut m = broken_vm();
    m.services.get_mut("sessionenv").unwrap().exits_after_start = Some(0);
    let host = SimHost::new(m);
    let r = executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
    // The step fails (and its undo, which starts it again, too): never reported as done.
    assert!(
        matches!(r.steps[8].status, StepStatus::UndoFailed { .. }),
        "{r:?}"
    );
    assert_eq!(r.outcome, RunOutcome::RollbackIncomplete, "{r:?}");
    assert!(r.error.unwrap().contains("it stopped"));
}

/// Commit-confirm is armed before the first change: a fixer killed at its first change
/// still leaves the timer that rolls the plan back.
#[test]
fn commit_confirm_is_armed_before_the_first_change() {
    use fixer::host::sim::{Fault, FaultAt, FaultKind};
    let initial = broken_vm();
    let host = SimHost::new(initial.clone());
    host.inject(Fault {
        at: FaultAt::Target("acl set".into()),
        kind: FaultKind::Crash,
    });
    let mode = Mode::Apply {
        confirm_within: Some(jiff::SignedDuration::from_mins(10)),
    };
    let _ = executor::run(&host, &runnable("p1", &s1_s2_steps()), mode);
    host.restart();
    assert!(host.machine().scheduled.contains_key("p1"));
    // What the task runs at the deadline.
    let r = executor::rollback(&host, "p1", true, false).unwrap();
    assert!(
        matches!(
            r.outcome,
            RollbackOutcome::RolledBack | RollbackOutcome::NothingToDo
        ),
        "{r:?}"
    );
    assert_eq!(restorable(&host.machine()), restorable(&initial));
}

/// The state directory is still refused after all this when a user can write it.
#[test]
fn the_state_dir_check_runs_before_any_command_reads_it() {
    let host = trusted(broken_vm());
    host.edit(|m| {
        m.state_dir_sddl = Some("O:BAD:(A;OICI;FA;;;BU)".into());
    });
    assert!(state_dir::check(&host).is_err());
}
