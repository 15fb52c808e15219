//! The executor's safety properties on the simulated machine (SIGNED-PLANS.md): a dry-run
//! writes nothing; apply then apply again changes nothing; a failure at any change restores
//! everything before it; a crash at any change is undone by `rollback` from the journal.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use analyzer::plan::{AllowedStep, RegistryExpect, RegistryValue};
use fixer::executor::{self, Mode, RollbackOutcome, RollbackReport, RunOutcome, StepStatus};
use fixer::host::RegValue;
use fixer::host::sim::{Fault, FaultAt, FaultKind, Machine, SimHost};
use fixer::journal::{self, PlanState};
use support::{
    KEY_FILE, OTHER_KEY, RDP_TCP, TERMINAL_SERVER, TLS10, TLS12, TS_POLICY, USER_SID, broken_vm,
    config_broken_vm, config_steps, restorable, runnable, s1_s2_steps,
};

const APPLY: Mode = Mode::Apply {
    confirm_within: None,
};

#[test]
fn dry_run_writes_nothing_and_shows_every_change() {
    let host = SimHost::new(broken_vm());
    let before = host.machine();
    let report = executor::run(&host, &runnable("p1", &s1_s2_steps()), Mode::DryRun).unwrap();
    assert_eq!(host.machine(), before, "a dry-run changed the machine");
    assert_eq!(host.change_count(), 0);
    assert_eq!(report.outcome, RunOutcome::WouldApply);
    let changed: Vec<usize> = report
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::Changed)
        .map(|s| s.index)
        .collect();
    assert_eq!(changed, vec![2, 3, 4, 5, 6, 7, 8, 9]);
    assert!(
        report
            .changes
            .iter()
            .any(|c| c.contains("TLS 1.0\\Server\\Enabled = REG_DWORD 0x1")),
        "{:?}",
        report.changes
    );
}

#[test]
fn apply_fixes_the_machine_and_apply_again_changes_nothing() {
    let host = SimHost::new(broken_vm());
    let first = executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
    assert_eq!(first.outcome, RunOutcome::Applied, "{first:?}");
    let m = host.machine();
    assert_eq!(m.reg(RDP_TCP, "SSLCertificateSHA1Hash"), None);
    assert_eq!(
        m.reg(&format!(r"{TLS10}\Server"), "Enabled"),
        Some(&RegValue::dword(1))
    );
    // icacls /grant adds; the user's own entry stays.
    assert_eq!(
        m.security[KEY_FILE],
        "O:BAD:PAI(A;;FA;;;S-1-5-21-1-2-3-1001)(A;;FA;;;SY)(A;;FR;;;NS)(A;;FA;;;BA)"
    );
    assert_eq!(
        m.security[OTHER_KEY], "O:SYD:PAI(A;;FA;;;SY)",
        "only the RDP key files are touched"
    );
    assert!(m.certs.is_empty());
    assert!(
        m.state_files
            .keys()
            .any(|k| k.ends_with("-3FA1C2D4E5F60718293A4B5C6D7E8F9012345678.cer"))
    );

    let log_len = host.change_log().len();
    let second = executor::run(&host, &runnable("p2", &s1_s2_steps()), APPLY).unwrap();
    assert_eq!(second.outcome, RunOutcome::Applied);
    assert!(
        second
            .steps
            .iter()
            .all(|s| matches!(s.status, StepStatus::Compliant | StepStatus::Info)),
        "{second:?}"
    );
    let machine_changes: Vec<String> = host.change_log()[log_len..]
        .iter()
        .filter(|c| !c.starts_with("state "))
        .cloned()
        .collect();
    assert_eq!(machine_changes, Vec::<String>::new());
    assert_eq!(restorable(&host.machine()), restorable(&m));
}

/// Every changing call of the apply of `steps` on `initial`, journal writes included.
fn apply_call_count(initial: &Machine, steps: &[AllowedStep]) -> u64 {
    let host = SimHost::new(initial.clone());
    let r = executor::run(&host, &runnable("p1", steps), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
    host.change_count()
}

#[test]
fn a_failure_at_any_call_restores_every_earlier_step_exactly() {
    fails_at_every_call(&broken_vm(), &s1_s2_steps(), 30);
}

/// The same for the configuration step kinds: registry values, services, group, rights,
/// firewall.
#[test]
fn a_failure_at_any_call_of_the_configuration_kinds_restores_everything() {
    fails_at_every_call(&config_broken_vm(), &config_steps(), 40);
}

fn fails_at_every_call(initial: &Machine, steps: &[AllowedStep], at_least: u64) {
    let initial = initial.clone();
    let calls = apply_call_count(&initial, steps);
    assert!(calls > at_least, "{calls}");
    for n in 1..=calls {
        let host = SimHost::new(initial.clone());
        host.inject(Fault {
            at: FaultAt::Call(n),
            kind: FaultKind::Fail,
        });
        let report = executor::run(&host, &runnable("p1", steps), APPLY);
        let m = host.machine();
        match report {
            Ok(r) if r.outcome == RunOutcome::Applied => {
                // The fault hit a write after the last change (the final journal record).
                assert_eq!(n, calls, "only the last call may fail without a rollback");
            }
            Ok(r) => {
                assert!(
                    matches!(r.outcome, RunOutcome::RolledBack | RunOutcome::Refused),
                    "call {n}: {r:?}"
                );
                assert_eq!(restorable(&m), restorable(&initial), "call {n}: {r:?}");
            }
            Err(e) => {
                // The journal itself could not start: nothing may have changed.
                assert_eq!(m.without_state(), initial.without_state(), "call {n}: {e}");
            }
        }
    }
}

#[test]
fn a_failure_at_step_k_reports_it_and_undoes_steps_before_it() {
    let initial = broken_vm();
    for (k, target) in [
        (4, "SSLCertificateSHA1Hash"),
        (5, r"TLS 1.2\Server\DisabledByDefault"),
        (6, r"TLS 1.0\Server\Enabled"),
        (8, "service start TermService"),
    ] {
        let host = SimHost::new(initial.clone());
        host.inject(Fault {
            at: FaultAt::Target(target.into()),
            kind: FaultKind::Fail,
        });
        let r = executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
        assert_eq!(r.outcome, RunOutcome::RolledBack, "step {k}: {r:?}");
        assert!(
            matches!(r.steps[k - 1].status, StepStatus::Failed { .. }),
            "step {k}: {:?}",
            r.steps[k - 1]
        );
        assert!(
            r.steps[..k - 1]
                .iter()
                .all(|s| matches!(s.status, StepStatus::Undone | StepStatus::Info)),
            "{r:?}"
        );
        assert!(
            r.steps[k..]
                .iter()
                .all(|s| s.status == StepStatus::NotReached)
        );
        // The deleted certificate comes back too, with its key link (step 7's undo).
        assert_eq!(
            restorable(&host.machine()),
            restorable(&initial),
            "step {k}"
        );
        assert_eq!(
            journal::load(&host, "p1").unwrap().unwrap().state,
            PlanState::RolledBack
        );
    }
}

/// Kill the process before any write of an apply — or half-way through a journal append —
/// then start again: `rollback` finishes from the journal alone, the machine is exactly as
/// before, and the journal stays usable (a torn line is cut, never glued onto).
#[test]
fn a_crash_at_any_call_is_undone_by_rollback_from_the_journal() {
    crashes_at_every_call(&broken_vm(), &s1_s2_steps());
}

/// The same for the configuration step kinds.
#[test]
fn a_crash_at_any_call_of_the_configuration_kinds_is_undone_by_rollback() {
    crashes_at_every_call(&config_broken_vm(), &config_steps());
}

fn crashes_at_every_call(initial: &Machine, steps: &[AllowedStep]) {
    let initial = initial.clone();
    let calls = apply_call_count(&initial, steps);
    for kind in [FaultKind::Crash, FaultKind::Torn] {
        for n in 1..=calls {
            let host = SimHost::new(initial.clone());
            host.inject(Fault {
                at: FaultAt::Call(n),
                kind,
            });
            let _ = executor::run(&host, &runnable("p1", steps), APPLY);
            assert!(host.crashed(), "{kind:?} at call {n}");
            host.restart();
            let Some(record) = journal::load(&host, "p1").unwrap() else {
                // It died before its first record was whole: nothing changed, nothing blocks.
                assert_eq!(
                    host.machine().without_state(),
                    initial.without_state(),
                    "{kind:?} at call {n}"
                );
                next_plan_applies(&host, steps, &format!("{kind:?} at call {n}"));
                continue;
            };
            assert_eq!(record.state, PlanState::Unfinished, "{kind:?} at call {n}");
            let r = rollback_restores(&host, &initial, &format!("{kind:?} at call {n}"));
            let after = journal::load(&host, "p1").unwrap().unwrap();
            assert_eq!(after.state, PlanState::RolledBack, "{kind:?} at call {n}");
            assert!(
                !after.torn_tail,
                "{kind:?} at call {n}: the torn line stayed"
            );
            if record.torn_tail {
                assert!(r.torn_tail_removed.is_some(), "{kind:?} at call {n}: {r:?}");
            }
            // Not locked out: the next plan applies.
            next_plan_applies(&host, steps, &format!("{kind:?} at call {n}"));
        }
    }
}

/// Rolls plan p1 back and checks the machine is exactly as `initial`; `at` names the case.
fn rollback_restores(host: &SimHost, initial: &Machine, at: &str) -> RollbackReport {
    let r = executor::rollback(host, "p1", false, false).unwrap();
    assert!(
        matches!(
            r.outcome,
            RollbackOutcome::RolledBack | RollbackOutcome::NothingToDo
        ),
        "{at}: {r:?}"
    );
    assert_eq!(
        restorable(&host.machine()),
        restorable(initial),
        "{at}: {r:?}"
    );
    r
}

/// Another plan applies on `host`: whatever happened before did not lock rdpfix out.
fn next_plan_applies(host: &SimHost, steps: &[AllowedStep], at: &str) {
    let next = executor::run(host, &runnable("p2", steps), APPLY).unwrap();
    assert_eq!(next.outcome, RunOutcome::Applied, "{at}");
}

/// Kill the rollback itself at any write, then run it again: it finishes.
#[test]
fn a_rollback_killed_at_any_call_finishes_when_run_again() {
    rollback_killed_at_every_call(&broken_vm(), &s1_s2_steps());
}

#[test]
fn a_rollback_of_the_configuration_kinds_killed_at_any_call_finishes() {
    rollback_killed_at_every_call(&config_broken_vm(), &config_steps());
}

fn rollback_killed_at_every_call(initial: &Machine, steps: &[AllowedStep]) {
    let initial = initial.clone();
    let applied = SimHost::new(initial.clone());
    executor::run(&applied, &runnable("p1", steps), APPLY).unwrap();
    let after_apply = applied.machine();
    let calls = {
        let host = SimHost::new(after_apply.clone());
        host.inject(Fault {
            at: FaultAt::Call(u64::MAX),
            kind: FaultKind::Fail,
        });
        executor::rollback(&host, "p1", false, false).unwrap();
        host.change_count()
    };
    assert!(calls > 10, "{calls}");
    for kind in [FaultKind::Crash, FaultKind::Torn] {
        for n in 1..=calls {
            let host = SimHost::new(after_apply.clone());
            host.inject(Fault {
                at: FaultAt::Call(n),
                kind,
            });
            let _ = executor::rollback(&host, "p1", false, false);
            host.restart();
            rollback_restores(&host, &initial, &format!("{kind:?} at call {n}"));
        }
    }
}

#[test]
fn rollback_of_an_applied_plan_restores_values_and_removes_created_keys() {
    let initial = broken_vm();
    let host = SimHost::new(initial.clone());
    executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
    let r = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::RolledBack, "{r:?}");
    let m = host.machine();
    assert_eq!(
        m.reg(RDP_TCP, "SSLCertificateSHA1Hash"),
        Some(&RegValue::binary(vec![0xAB; 20]))
    );
    assert!(
        !m.registry.contains_key(&TLS10.to_lowercase()),
        "the TLS 1.0 keys the plan created are gone"
    );
    assert_eq!(restorable(&m), restorable(&initial));
    let again = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(again.outcome, RollbackOutcome::NothingToDo);
}

#[test]
fn rollback_leaves_alone_a_setting_changed_since_unless_forced() {
    let host = SimHost::new(broken_vm());
    executor::run(&host, &runnable("p1", &s1_s2_steps()), APPLY).unwrap();
    {
        use fixer::host::Host;
        host.reg_set(TLS12, "Enabled", &RegValue::dword(7)).unwrap();
    }
    let r = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::Incomplete);
    assert!(
        r.steps
            .iter()
            .any(|s| s.step == 5 && !s.ok && s.result.contains("changed since")),
        "{r:?}"
    );
    assert_eq!(
        host.machine().reg(TLS12, "Enabled"),
        Some(&RegValue::dword(7))
    );
    let forced = executor::rollback(&host, "p1", false, true).unwrap();
    assert_eq!(forced.outcome, RollbackOutcome::RolledBack, "{forced:?}");
    assert_eq!(
        host.machine().reg(TLS12, "Enabled"),
        Some(&RegValue::dword(0))
    );
}

#[test]
fn a_precondition_that_does_not_hold_refuses_before_any_change() {
    let initial = broken_vm();
    let host = SimHost::new(initial.clone());
    let steps = vec![AllowedStep::DeleteRegistryValue {
        value: RegistryValue::SslCertificateSha1Hash,
        expect: RegistryExpect::Absent,
    }];
    let r = executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Refused, "{r:?}");
    assert!(r.error.unwrap().contains("precondition not met"));
    assert_eq!(host.machine().without_state(), initial.without_state());
}

#[test]
fn commit_confirm_schedules_a_rollback_that_confirm_cancels() {
    let host = SimHost::new(broken_vm());
    let mode = Mode::Apply {
        confirm_within: Some(jiff::SignedDuration::from_mins(15)),
    };
    let r = executor::run(&host, &runnable("p1", &s1_s2_steps()), mode).unwrap();
    assert_eq!(r.outcome, RunOutcome::AwaitingConfirm);
    let deadline: jiff::Timestamp = "2026-11-25T10:15:00Z".parse().unwrap();
    assert_eq!(host.machine().scheduled.get("p1"), Some(&deadline));
    // The scheduled task runs `rollback --unless-confirmed` at the deadline.
    executor::confirm(&host, "p1").unwrap();
    assert!(host.machine().scheduled.is_empty());
    let kept = executor::rollback(&host, "p1", true, false).unwrap();
    assert_eq!(kept.outcome, RollbackOutcome::KeptConfirmed);
    assert_eq!(
        journal::load(&host, "p1").unwrap().unwrap().state,
        PlanState::Applied
    );
}

#[test]
fn an_unconfirmed_plan_is_rolled_back_when_the_timer_fires() {
    let initial = broken_vm();
    let host = SimHost::new(initial.clone());
    let mode = Mode::Apply {
        confirm_within: Some(jiff::SignedDuration::from_mins(15)),
    };
    executor::run(&host, &runnable("p1", &s1_s2_steps()), mode).unwrap();
    let r = executor::rollback(&host, "p1", true, false).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::RolledBack, "{r:?}");
    assert_eq!(restorable(&host.machine()), restorable(&initial));
}

#[test]
fn the_configuration_kinds_apply_reapply_as_no_op_and_roll_back_exactly() {
    use fixer::host::{ServiceState, StartType};
    let initial = config_broken_vm();
    let host = SimHost::new(initial.clone());
    let dry = executor::run(&host, &runnable("p0", &config_steps()), Mode::DryRun).unwrap();
    assert_eq!(dry.outcome, RunOutcome::WouldApply, "{dry:?}");
    assert_eq!(host.change_count(), 0, "a dry-run changed the machine");
    assert!(
        dry.changes
            .iter()
            .any(|c| c == "group add S-1-5-32-555 S-1-5-21-1-2-3-1001"),
        "{:?}",
        dry.changes
    );

    let r = executor::run(&host, &runnable("p1", &config_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
    let m = host.machine();
    assert_eq!(
        m.reg(TERMINAL_SERVER, "fDenyTSConnections"),
        Some(&RegValue::dword(0))
    );
    assert_eq!(
        m.reg(TS_POLICY, "fDenyTSConnections"),
        Some(&RegValue::dword(0))
    );
    assert_eq!(m.reg(RDP_TCP, "PortNumber"), Some(&RegValue::dword(3389)));
    assert_eq!(m.reg(RDP_TCP, "LanAdapter"), Some(&RegValue::dword(0)));
    assert_eq!(
        m.reg(RDP_TCP, "UserAuthentication"),
        Some(&RegValue::dword(0))
    );
    assert!(m.groups["S-1-5-32-555"].contains(USER_SID));
    assert!(m.rights["S-1-5-32-555"].contains("SeRemoteInteractiveLogonRight"));
    assert!(!m.rights.contains_key("S-1-5-113"));
    assert!(m.firewall["RemoteDesktop-UserMode-In-TCP"]);
    for (name, start) in [
        ("dhcp", StartType::Auto),
        ("bfe", StartType::Auto),
        ("mpssvc", StartType::Auto),
    ] {
        assert_eq!(
            m.services[name].status.state,
            ServiceState::Running,
            "{name}"
        );
        assert_eq!(m.services[name].status.start_type, start, "{name}");
    }
    // NSI was running: compliant, never restarted.
    assert!(
        !host
            .change_log()
            .iter()
            .any(|c| c.contains("service stop nsi") || c.contains("service start nsi")),
        "{:?}",
        host.change_log()
    );

    let log_len = host.change_log().len();
    let again = executor::run(&host, &runnable("p2", &config_steps()), APPLY).unwrap();
    assert_eq!(again.outcome, RunOutcome::Applied);
    assert!(
        host.change_log()[log_len..]
            .iter()
            .all(|c| c.starts_with("state ")),
        "{:?}",
        &host.change_log()[log_len..]
    );

    let back = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(back.outcome, RollbackOutcome::RolledBack, "{back:?}");
    assert_eq!(restorable(&host.machine()), restorable(&initial));
}

/// A rule id Windows does not have (the rule deleted, or a Windows without it): its step
/// fails before changing anything, and the steps before it are undone.
#[test]
fn a_missing_firewall_rule_fails_its_step_and_the_plan_rolls_back() {
    let mut initial = config_broken_vm();
    initial.firewall.remove("RemoteDesktop-UserMode-In-TCP");
    let host = SimHost::new(initial.clone());
    let r = executor::run(&host, &runnable("p1", &config_steps()), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::RolledBack, "{r:?}");
    assert!(
        matches!(r.steps[9].status, StepStatus::Failed { .. }),
        "{r:?}"
    );
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("no firewall rule RemoteDesktop-UserMode-In-TCP"),
        "{r:?}"
    );
    assert_eq!(host.machine().without_state(), initial.without_state());
}

/// What Windows refuses half-way — access denied to LSA or the firewall, an account the
/// machine cannot resolve — fails that step, and every earlier one is undone exactly.
#[test]
fn what_windows_refuses_half_way_rolls_back_every_earlier_step() {
    for (case, edit) in [
        (
            "LSA access denied",
            Box::new(|m: &mut Machine| {
                m.access_denied.insert("lsa".into());
            }) as Box<dyn Fn(&mut Machine)>,
        ),
        (
            "firewall access denied",
            Box::new(|m: &mut Machine| {
                m.access_denied.insert("firewall".into());
            }),
        ),
        (
            "unknown account",
            Box::new(|m: &mut Machine| {
                m.accounts.clear();
            }),
        ),
    ] {
        let initial = config_broken_vm();
        let host = SimHost::new(initial.clone());
        // The machine refuses only once the plan has started (after its probes).
        host.tamper("reg set", edit);
        let r = executor::run(&host, &runnable("p1", &config_steps()), APPLY).unwrap();
        assert_eq!(r.outcome, RunOutcome::RolledBack, "{case}: {r:?}");
        let mut expected = initial.clone();
        edit_copy(case, &mut expected);
        assert_eq!(
            restorable(&host.machine()),
            restorable(&expected),
            "{case}: {r:?}"
        );
    }
}

fn edit_copy(case: &str, m: &mut Machine) {
    match case {
        "LSA access denied" => {
            m.access_denied.insert("lsa".into());
        }
        "firewall access denied" => {
            m.access_denied.insert("firewall".into());
        }
        _ => m.accounts.clear(),
    }
}

/// A machine without any Microsoft policy (a fresh Wine prefix is one): the step makes the
/// policy key and its parents below `SOFTWARE\Policies`, and a rollback (from the journal)
/// removes them again.
#[test]
fn the_policy_key_a_step_created_is_removed_by_the_rollback() {
    use analyzer::plan::RegistryData;
    let mut initial = Machine::new("WEB01", "web01.contoso.local", support::now());
    initial.add_key(r"SOFTWARE\Policies");
    let steps = [AllowedStep::SetRegistryValue {
        value: RegistryValue::PolicyDenyTsConnections,
        desired: RegistryData::Dword(0),
        expect: RegistryExpect::Absent,
    }];
    let host = SimHost::new(initial.clone());
    let r = executor::run(&host, &runnable("p1", &steps), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
    assert_eq!(
        host.machine().reg(TS_POLICY, "fDenyTSConnections"),
        Some(&RegValue::dword(0))
    );
    let back = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(back.outcome, RollbackOutcome::RolledBack, "{back:?}");
    assert_eq!(restorable(&host.machine()), restorable(&initial));
}

/// Starting a disabled service is refused at its precondition, before any change to it,
/// with what to do; the same plan with the start type set first applies.
#[test]
fn a_disabled_service_is_not_started_unless_the_plan_enables_it_first() {
    use analyzer::plan::{RdpService, StartType};
    let initial = config_broken_vm();
    let start = AllowedStep::StartService {
        service: RdpService::Dhcp,
    };
    let host = SimHost::new(initial.clone());
    let r = executor::run(&host, &runnable("p1", std::slice::from_ref(&start)), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Refused, "{r:?}");
    assert!(
        r.error
            .as_deref()
            .unwrap_or_default()
            .contains("Dhcp is disabled"),
        "{r:?}"
    );
    assert_eq!(restorable(&host.machine()), restorable(&initial));
    let enable = AllowedStep::SetServiceStart {
        service: RdpService::Dhcp,
        desired: StartType::Automatic,
        expect: analyzer::plan::Expect::Any,
    };
    let r = executor::run(&host, &runnable("p2", &[enable, start]), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
}

/// Undoing a start of BFE after MpsSvc (which depends on it) was started by someone else:
/// BFE is left running, MpsSvc untouched, and the rollback says so rather than
/// "restored"; the other steps are restored.
#[test]
fn the_undo_of_a_start_leaves_a_service_with_running_dependents_running() {
    use fixer::host::ServiceState;
    let initial = support::config_broken_vm();
    let steps: Vec<AllowedStep> = support::config_steps()
        .into_iter()
        .filter(|s| {
            !matches!(s, AllowedStep::StartService { service }
                if *service == analyzer::plan::RdpService::MpsSvc)
        })
        .collect();
    let host = SimHost::new(initial);
    let r = executor::run(&host, &support::runnable("p1", &steps), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::Applied, "{r:?}");
    host.edit(|m| {
        m.services.get_mut("mpssvc").unwrap().status.state = ServiceState::Running;
    });
    let r = executor::rollback(&host, "p1", false, false).unwrap();
    assert_eq!(r.outcome, RollbackOutcome::Incomplete, "{r:?}");
    let bfe = r.steps.iter().find(|s| s.step == steps.len()).unwrap();
    assert!(
        !bfe.ok && bfe.result.contains("left running: MpsSvc depend"),
        "{bfe:?}"
    );
    assert!(
        r.steps.iter().filter(|s| s.step != bfe.step).all(|s| s.ok),
        "{r:?}"
    );
    let m = host.machine();
    assert_eq!(m.services["bfe"].status.state, ServiceState::Running);
    assert_eq!(m.services["mpssvc"].status.state, ServiceState::Running);
}

/// A SID of a user's form that Windows resolves to a group (a domain or Entra ID group):
/// the allowlist cannot tell, the host refuses to add it, and the plan is rolled back.
#[test]
fn a_group_named_as_member_fails_its_step_and_the_plan_rolls_back() {
    let mut initial = support::config_broken_vm();
    initial.group_accounts.insert(support::USER_SID.into());
    let steps: Vec<AllowedStep> = support::config_steps().into_iter().take(7).collect();
    let host = SimHost::new(initial.clone());
    let r = executor::run(&host, &support::runnable("p1", &steps), APPLY).unwrap();
    assert_eq!(r.outcome, RunOutcome::RolledBack, "{r:?}");
    let member = r.steps.iter().find(|s| s.index == 7).unwrap();
    assert!(
        matches!(&member.status, StepStatus::Failed { error } if error.contains("not a user account")),
        "{member:?}"
    );
    let m = host.machine();
    assert!(
        !m.groups
            .get("S-1-5-32-555")
            .is_some_and(|g| g.contains(support::USER_SID))
    );
    assert_eq!(support::restorable(&m), support::restorable(&initial));
}
