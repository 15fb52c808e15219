//! The `fixer` binary end to end on a simulated machine (`--simulate <machine.json>`): exit
//! codes, the refusal of an unsafe state directory, and output fit for Run Command.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use std::path::Path;

use fixer::host::sim::Machine;
use support::{PlanSpec, Sim, key, plan, s1_s2_steps, token};

fn vm() -> Machine {
    Machine::new(
        "WEB01",
        "web01.contoso.local",
        "2026-11-25T10:00:00Z".parse().unwrap(),
    )
}

fn fixer(sim: &Sim, args: &[&str]) -> (i32, String, String) {
    let r = sim.run(args);
    (r.code, r.stdout, r.stderr)
}

#[test]
fn trust_add_then_list_through_the_binary() {
    let sim = Sim::new("cli-trust", vm());
    let public = key(1).public_key().to_string();
    let (code, out, err) = fixer(
        &sim,
        &[
            "trust",
            "add",
            &public,
            "--label",
            "ops laptop",
            "--expires",
            "90d",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ENROLLED key \"ops laptop\""), "{out}");
    // The fingerprint comes last, on its own line: what the admin compares with the page's
    // (and what the Run Command enrolment script's output ends with).
    let fingerprint = key(1).public_key().fingerprint().to_string();
    assert_eq!(out.lines().last(), Some(fingerprint.as_str()), "{out}");
    assert!(out.lines().all(|l| l.len() <= 80), "{out}");
    let (code, out, _) = fixer(&sim, &["trust", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("expires 2027-02-23T10:00:00Z"), "{out}");
    assert!(out.trim_end().ends_with("1 key(s), 1 trusted."), "{out}");
    let (code, out, _) = fixer(&sim, &["--json", "trust", "remove", "ops laptop"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["keys"][0]["standing"]["revoked"]["at"],
        "2026-11-25T10:00:00Z"
    );
}

#[test]
fn refuses_a_state_dir_users_can_write_with_its_own_exit_code() {
    let mut m = vm();
    m.state_dir_sddl = Some("O:BAG:SYD:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;CI;DCLC;;;BU)".into());
    let sim = Sim::new("cli-unsafe", m);
    let public = key(1).public_key().to_string();
    let (code, out, err) = fixer(&sim, &["trust", "add", &public, "--label", "x"]);
    assert_eq!(code, 6, "{out}{err}");
    assert!(
        err.contains("writable by Users") && err.contains("icacls"),
        "{err}"
    );
    let (code, _, _) = fixer(&sim, &["journal"]);
    assert_eq!(code, 6);
}

#[test]
fn usage_errors_exit_2_and_help_documents_exit_codes() {
    let sim = Sim::new("cli-usage", vm());
    assert_eq!(fixer(&sim, &["trust", "add"]).0, 2);
    let (code, out, _) = fixer(&sim, &["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "Exit codes:",
        "3  plan rejected",
        "4  a step failed",
        "fixer.exe rollback <plan_id>",
    ] {
        assert!(out.contains(needle), "{needle} missing from --help:\n{out}");
    }
    assert!(
        out.lines().all(|l| l.len() <= 80 && l.is_ascii()),
        "help must fit a serial console"
    );
}

#[test]
fn rollback_of_an_unknown_plan_fails_and_journal_starts_empty() {
    let sim = Sim::new("cli-journal", vm());
    let (code, out, _) = fixer(&sim, &["journal"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), "0 plan(s) in the journal.");
    let (code, _, err) = fixer(&sim, &["rollback", "0123456789abcdef0123456789abcdef"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no plan 0123456789abcdef0123456789abcdef in the journal"),
        "{err}"
    );
}

#[test]
fn collect_off_windows_says_it_reads_the_logs_and_what_to_do_instead() {
    let state = std::env::temp_dir();
    let out = support::fixer(&["collect", "--state-dir", state.to_str().unwrap()], None);
    assert_eq!(out.code, 8, "{out:?}");
    let err = out.stderr.trim();
    // The first thing collect does is make its admin-only folder for the exports.
    assert!(
        err.contains(&format!(
            r"folder C:\rdpfix-logs: changing it needs fixer.exe on Windows, and this fixer runs on {}",
            std::env::consts::OS
        )),
        "{err}"
    );
    assert!(
        !Path::new(r"C:\rdpfix-logs").exists(),
        "made a folder off Windows"
    );
    assert!(!err.contains("changes Windows settings"), "{err}");
    // What works here, and what to do instead.
    assert!(
        err.contains("Off Windows, fixer diagnoses logs (diagnose)"),
        "{err}"
    );
    assert!(
        err.contains(
            "run fixer.exe collect on the VM (the page's Run Command collection script does)"
        ),
        "{err}"
    );
}

/// A plan for this very machine, trusted, valid: off Windows, apply cannot read the settings
/// its dry-run starts from. That is said as such (exit 8), not as a plan rejected by check 10.
#[test]
fn apply_off_windows_says_so_instead_of_rejecting_the_plan() {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let state = std::env::temp_dir().join(format!("fixer-cli-offwin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&state);
    let dir = state.to_str().unwrap();
    let signer = key(3);
    let spec = PlanSpec {
        computer: hostname.trim().to_owned(),
        issued_at: jiff::Timestamp::now() - jiff::SignedDuration::from_mins(1),
        ..PlanSpec::default()
    };
    let token = token(&plan(&s1_s2_steps(), &spec), &signer);
    let public = signer.public_key().to_string();
    let enrol = [
        "--state-dir",
        dir,
        "trust",
        "add",
        &public,
        "--label",
        "ops",
    ];
    assert_eq!(support::fixer(&enrol, None).code, 0);
    // Checks 1-9 work here.
    let verified = support::fixer(&["--state-dir", dir, "verify", &token], None);
    assert_eq!(verified.code, 0, "{verified:?}");
    for args in [
        ["--state-dir", dir, "apply", "--dry-run", &token],
        ["--state-dir", dir, "apply", "--yes", &token],
    ] {
        let out = support::fixer(&args, None);
        assert_eq!(out.code, 8, "{out:?}");
        let err = out.stderr.trim();
        assert!(!out.stdout.contains("REJECTED"), "{out:?}");
        assert!(
            err.starts_with(
                "error: registry key SYSTEM\\CurrentControlSet\\Control\\Terminal Server: \
                 reading it needs fixer.exe on Windows"
            ),
            "{err}"
        );
        assert!(
            err.contains(
                "To apply or undo a plan, run fixer.exe on the VM the plan is for, as administrator"
            ),
            "{err}"
        );
        assert!(
            err.contains("fixer verify <plan> checks a plan without changing anything"),
            "{err}"
        );
    }
    let _ = std::fs::remove_dir_all(&state);
}
