//! `fixer verify` and `fixer apply` end to end through the binary, on a simulated machine:
//! the legitimate run, consent, the journal, output fit for Run Command and Serial Console.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use fixer::host::RegValue;
use support::{
    PlanSpec, RDP_TCP, Sim, TLS10, TLS12, broken_vm, key, plan, plan_id, restorable, s1_s2_steps,
    token,
};

#[test]
fn verify_passes_a_good_plan_and_changes_nothing() {
    let sim = Sim::new("verify-ok", broken_vm());
    sim.trust(&key(1));
    let before = sim.machine();
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["verify", &t]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .trim_end()
            .ends_with("NEXT: fixer apply --dry-run <plan>"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("checks 1-9 passed"), "{}", r.stdout);
    assert!(r.stdout.contains(&plan_id(1)));
    assert!(
        r.stdout
            .contains("restart Remote Desktop Services (TermService) [transient, drops"),
        "{}",
        r.stdout
    );
    assert_eq!(sim.machine(), before);
    let j = sim.run(&["--json", "verify", &t]).json();
    assert_eq!(j["outcome"], "verified");
    assert_eq!(j["plan"]["steps"].as_array().unwrap().len(), 9);
    assert_eq!(
        j["plan"]["key_fingerprint"],
        key(1).public_key().fingerprint().to_string()
    );
}

#[test]
fn dry_run_shows_current_and_desired_and_writes_nothing() {
    let sim = Sim::new("dry-run", broken_vm());
    sim.trust(&key(1));
    let before = sim.machine();
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["apply", "--dry-run", &t]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("DRY RUN (nothing is changed)\n"));
    for needle in [
        "now:  SSLCertificateSHA1Hash=REG_BINARY",
        "want: SSLCertificateSHA1Hash=(absent)",
        "now:  Enabled=(absent), DisabledByDefault=(absent)",
        "want: Enabled=REG_DWORD 0x1, DisabledByDefault=REG_DWORD 0x0",
        "-> WOULD CHANGE",
        "DRY RUN: 8 step(s) would change, 0 already as wanted.",
    ] {
        assert!(r.stdout.contains(needle), "{needle}:\n{}", r.stdout);
    }
    assert_eq!(sim.machine(), before, "a dry-run changed the machine");
    // A dry-run does not use up the plan.
    assert_eq!(sim.run(&["apply", "--dry-run", &t]).code, 0);
}

#[test]
fn without_a_terminal_or_yes_apply_shows_the_dry_run_and_needs_consent() {
    let sim = Sim::new("consent", broken_vm());
    sim.trust(&key(1));
    let before = sim.machine();
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["apply", &t]);
    assert_eq!(r.code, 9, "{r:?}");
    assert!(r.stdout.contains("-> WOULD CHANGE"), "{}", r.stdout);
    assert!(
        r.stdout.contains("CONSENT NEEDED: nothing was changed."),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("\n  fixer apply --yes <plan>\n"));
    assert_eq!(sim.machine(), before);
    let j = sim.run(&["--json", "apply", &t]).json();
    assert_eq!(j["consent"], "needed");
    assert_eq!(j["exit"], 9);
}

#[test]
fn apply_with_yes_fixes_the_machine_then_the_same_plan_is_a_replay() {
    let sim = Sim::new("apply", broken_vm());
    sim.trust(&key(1));
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["apply", "--yes", &t]);
    assert_eq!(r.code, 0, "{r:?}");
    let id = plan_id(1);
    assert!(
        r.stdout
            .trim_end()
            .ends_with(&format!("To undo:\n  fixer rollback {id}")),
        "{}",
        r.stdout
    );
    let m = sim.machine();
    assert_eq!(m.reg(RDP_TCP, "SSLCertificateSHA1Hash"), None);
    assert_eq!(m.reg(TLS12, "Enabled"), Some(&RegValue::dword(1)));
    assert_eq!(
        m.reg(&format!(r"{TLS10}\Server"), "DisabledByDefault"),
        Some(&RegValue::dword(0))
    );

    let again = sim.run(&["apply", "--yes", &t]);
    assert_eq!(again.code, 3, "{again:?}");
    assert!(again.stdout.contains("REJECTED by check 8 (replay)"));
    assert_eq!(restorable(&sim.machine()), restorable(&m));

    let journal = sim.run(&["journal"]);
    assert!(
        journal.stdout.contains(&format!("{id}  applied")),
        "{journal:?}"
    );
}

#[test]
fn rollback_through_the_binary_restores_the_exact_values() {
    let initial = broken_vm();
    let sim = Sim::new("rollback", initial.clone());
    sim.trust(&key(1));
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    assert_eq!(sim.run(&["apply", "--yes", &t]).code, 0);
    let r = sim.run(&["rollback", &plan_id(1)]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("ROLLED BACK"), "{}", r.stdout);
    assert_eq!(restorable(&sim.machine()), restorable(&initial));
}

#[test]
fn rollback_refuses_a_plan_id_that_is_not_one() {
    let sim = Sim::new("rollback-id", broken_vm());
    let r = sim.run(&["rollback", r"..\..\Windows"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("32 lower-case hex"), "{}", r.stderr);
}

#[test]
fn a_failing_step_rolls_back_with_exit_4() {
    let initial = broken_vm();
    let sim = Sim::new("fail", initial.clone());
    sim.trust(&key(1));
    // TermService fails to start once, when step 8 restarts it.
    sim.inject(serde_json::json!({"at": {"target": "service start TermService"}, "kind": "fail"}));
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["apply", "--yes", &t]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stdout.contains("-> changed, then UNDONE"), "{}", r.stdout);
    assert!(
        r.stdout.contains("-> FAILED: service start TermService"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("ROLLED BACK plan"), "{}", r.stdout);
    // The certificate deleted at step 7 is regenerated by Windows, not restored.
    assert_eq!(restorable(&sim.machine()), restorable(&initial));
}

#[test]
fn a_step_whose_undo_fails_too_reports_rollback_incomplete_with_exit_5() {
    let sim = Sim::new("undo-fails", broken_vm());
    sim.trust(&key(1));
    // TermService never starts again: the restart fails, and so does putting it back.
    sim.edit(|m| {
        m.services.get_mut("termservice").unwrap().fails_to_start = true;
    });
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["apply", "--yes", &t]);
    assert_eq!(r.code, 5, "{r:?}");
    assert!(
        r.stdout
            .contains("-> UNDO FAILED: start service TermService"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains(&format!("fixer rollback {}", plan_id(1))),
        "{}",
        r.stdout
    );
    assert_eq!(
        sim.machine().reg(TLS12, "Enabled"),
        Some(&RegValue::dword(0))
    );
}

#[test]
fn an_unfinished_plan_blocks_the_next_apply_with_exit_7() {
    let sim = Sim::new("unfinished", broken_vm());
    sim.trust(&key(1));
    let first = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    // The process dies at the registry change of step 5.
    sim.inject(serde_json::json!({"at": {"target": "TLS 1.2\\Server\\Enabled"}, "kind": "crash"}));
    let crashed = sim.run(&["apply", "--yes", &first]);
    assert_ne!(crashed.code, 0, "{crashed:?}");

    let second = token(
        &plan(
            &s1_s2_steps(),
            &PlanSpec {
                id: 2,
                seq: 2000,
                ..PlanSpec::default()
            },
        ),
        &key(1),
    );
    let r = sim.run(&["apply", "--yes", &second]);
    assert_eq!(r.code, 7, "{r:?}");
    assert!(
        r.stderr.contains(&format!("fixer rollback {}", plan_id(1))),
        "{}",
        r.stderr
    );
    // verify still works, and says why apply would refuse.
    let v = sim.run(&["verify", &second]);
    assert_eq!(v.code, 0, "{v:?}");
    assert!(v.stdout.contains("NOTE: plan"), "{}", v.stdout);
    assert_eq!(sim.run(&["rollback", &plan_id(1)]).code, 0);
    assert_eq!(sim.run(&["apply", "--yes", &second]).code, 0);
}

#[test]
fn reads_the_plan_from_a_file_or_stdin() {
    let sim = Sim::new("sources", broken_vm());
    sim.trust(&key(1));
    let p = plan(&s1_s2_steps(), &PlanSpec::default());
    let t = token(&p, &key(1));
    // A saved fix command with a BOM and CRLF, as Notepad writes it.
    let file = sim.file("fix.txt", &format!("\u{feff}fixer.exe apply {t}\r\n"));
    assert_eq!(sim.run(&["verify", &file]).code, 0);
    // The plan file (DSSE JSON).
    let json = analyzer::envelope::PreparedPlan::new(&p)
        .unwrap()
        .sign_with(&key(1))
        .unwrap()
        .to_json();
    let file = sim.file("plan.json", &json);
    assert_eq!(sim.run(&["verify", &file]).code, 0);
    // stdin, wrapped as Serial Console wraps it.
    let wrapped: String = t
        .as_bytes()
        .chunks(60)
        .map(|c| format!("{}\r\n", std::str::from_utf8(c).unwrap()))
        .collect();
    let r = sim.run_with_stdin(&["verify", "-"], Some(&wrapped));
    assert_eq!(r.code, 0, "{r:?}");
}

#[test]
fn every_seed_plans_apply_output_fits_run_command() {
    // Run Command returns only the last 4,096 bytes: the whole apply report must fit, with
    // the verdict last.
    let sim = Sim::new("size", broken_vm());
    sim.trust(&key(1));
    let t = token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1));
    let r = sim.run(&["apply", "--yes", &t]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.len() < 4096,
        "{} bytes:\n{}",
        r.stdout.len(),
        r.stdout
    );
    assert!(
        r.stdout.lines().all(|l| l.len() <= 80 && l.is_ascii()),
        "{}",
        r.stdout
    );
}
