//! From findings to a plan, its PowerShell rendering, and the size of the fix command.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use analyzer::envelope::{
    FixCommand, MAX_COMMAND_CHARS, PreparedPlan, SecretKey, Shell, TrustEntry, verify,
};
use analyzer::plan::{
    AllowedStep, BuildError, ComputerName, ManualAction, Plan, PlanId, PlanParams, Proposal,
    RdpService, Sha256Digest, StepKind, powershell,
};
use analyzer::rules::Catalog;
use jiff::{SignedDuration, Timestamp};

fn catalog() -> Catalog {
    Catalog::builtin().unwrap()
}

fn issued() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn params(computer: &str) -> PlanParams {
    PlanParams {
        computer: computer.into(),
        evidence_sha256: Sha256Digest([0xab; 32]),
        plan_id: PlanId::from_random([0x5c; 16]),
        issued_at: issued(),
        lifetime: analyzer::plan::DEFAULT_LIFETIME,
        seq: PlanParams::seq_for(issued()),
        offline: None,
    }
}

fn proposal(catalog: &Catalog, ids: &[&str]) -> Proposal {
    catalog.proposal(ids.iter().copied()).unwrap()
}

#[test]
fn every_rule_of_the_catalog_yields_a_signable_plan() {
    let catalog = catalog();
    for rule in &catalog.rules {
        let plan = proposal(&catalog, &[rule.id.as_str()])
            .to_plan(&params("rdp-vm01"))
            .unwrap();
        PreparedPlan::new(&plan).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
    }
    assert!(matches!(
        catalog.proposal(["rdp-no-such-rule"]),
        Err(BuildError::UnknownFinding(_))
    ));
}

#[test]
fn the_seed_scenarios_get_their_documented_fixes() {
    let all = catalog();
    let kinds = |id: &str| -> Vec<StepKind> {
        proposal(&all, &[id])
            .steps()
            .iter()
            .map(|s| s.step.kind())
            .collect()
    };
    let s1 = kinds("rdp-cert-keys");
    for kind in [
        StepKind::SaveAcl,
        StepKind::TakeOwnership,
        StepKind::GrantAccess,
        StepKind::ExportDeleteCertificates,
        StepKind::RestartService,
        StepKind::DeleteRegistryValue,
    ] {
        assert!(s1.contains(&kind), "S1 lacks {kind}");
    }
    assert!(kinds("rdp-tls-disabled").contains(&StepKind::EnableTlsServerProtocol));
    let s3 = proposal(&all, &["rdp-broker-renamed"]);
    assert_eq!(
        s3.steps()[0].step,
        AllowedStep::Manual {
            action: ManualAction::ReinstallConnectionBroker
        }
    );
    assert!(s3.steps()[0].step.labels().destructive);
}

#[test]
fn steps_run_in_phases_backups_first_restarts_after_changes() {
    let all = catalog();
    let p = proposal(&all, &["rdp-custom-certificate-unusable", "rdp-cert-keys"]);
    let steps: Vec<&AllowedStep> = p.steps().iter().map(|s| &s.step).collect();
    assert!(matches!(
        steps[0].kind(),
        StepKind::SaveAcl | StepKind::QueryRegistryValue
    ));
    assert!(matches!(
        steps[1].kind(),
        StepKind::SaveAcl | StepKind::QueryRegistryValue
    ));
    let term = steps
        .iter()
        .position(|s| {
            **s == AllowedStep::RestartService {
                service: RdpService::TermService,
            }
        })
        .unwrap();
    let env = steps
        .iter()
        .position(|s| {
            **s == AllowedStep::RestartService {
                service: RdpService::SessionEnv,
            }
        })
        .unwrap();
    let last_change = steps
        .iter()
        .rposition(|s| {
            matches!(
                s.kind(),
                StepKind::GrantAccess
                    | StepKind::DeleteRegistryValue
                    | StepKind::ExportDeleteCertificates
            )
        })
        .unwrap();
    assert!(last_change < term && term < env, "{steps:#?}");
}

#[test]
fn a_step_two_findings_share_appears_once_and_required_wins() {
    let all = catalog();
    let p = proposal(&all, &["rdp-cert-keys", "rdp-custom-certificate-unusable"]);
    let deletes: Vec<_> = p
        .steps()
        .iter()
        .filter(|s| s.step.kind() == StepKind::DeleteRegistryValue)
        .collect();
    assert_eq!(deletes.len(), 1);
    // Optional for S1, required for S12.
    assert!(!deletes[0].optional);
    assert_eq!(deletes[0].findings.len(), 2);
    assert_eq!(deletes[0].why.len(), 2);
    let restarts = p
        .steps()
        .iter()
        .filter(|s| {
            s.step
                == AllowedStep::RestartService {
                    service: RdpService::TermService,
                }
        })
        .count();
    assert_eq!(restarts, 1);
}

#[test]
fn the_admin_leaves_out_optional_steps_and_the_choice_is_signed() {
    let all = catalog();
    let mut p = proposal(&all, &["rdp-cert-keys"]);
    let optional: Vec<usize> = (0..p.steps().len())
        .filter(|&i| p.steps()[i].optional)
        .collect();
    let required = (0..p.steps().len())
        .find(|&i| !p.steps()[i].optional)
        .unwrap();
    assert!(!optional.is_empty());
    assert_eq!(
        p.set_included(required, false).unwrap_err(),
        BuildError::Required(required + 1)
    );
    for &i in &optional {
        p.set_included(i, false).unwrap();
    }
    let plan = p.to_plan(&params("rdp-vm01")).unwrap();
    assert_eq!(plan.steps.len(), p.steps().len() - optional.len());
    assert!(
        !plan
            .steps
            .iter()
            .any(|s| s.kind() == StepKind::ExportDeleteCertificates)
    );

    // What the fixer executes is exactly the chosen steps.
    let key = SecretKey::from_seed([1; 32]);
    let token = PreparedPlan::new(&plan)
        .unwrap()
        .sign_with(&key)
        .unwrap()
        .token();
    let store = vec![TrustEntry {
        public_key: key.public_key(),
        label: "k".into(),
        expires_at: None,
        revoked: false,
    }];
    let executable = verify(
        token.as_bytes(),
        &store,
        &["RDP-VM01"],
        issued(),
        &NoJournal,
    )
    .unwrap();
    assert_eq!(executable.steps().len(), plan.steps.len());
}

struct NoJournal;

impl analyzer::envelope::ReplayJournal for NoJournal {
    fn has_plan(&self, _: &PlanId) -> bool {
        false
    }
    fn last_seq(&self, _: &analyzer::envelope::Fingerprint, _: &ComputerName) -> Option<u64> {
        None
    }
}

#[test]
fn refuses_to_build_a_plan_for_an_unusable_computer_name() {
    let all = catalog();
    let p = proposal(&all, &["rdp-tls-disabled"]);
    for bad in [
        "",
        "vm'; Remove-Item C:\\ -Recurse; '",
        "<script>alert(1)</script>",
        "vm 01",
        "vm\r\n01",
        ".vm",
        "vm..contoso",
    ] {
        assert!(
            matches!(p.to_plan(&params(bad)), Err(BuildError::Id(_))),
            "{bad:?}"
        );
    }
    assert!(p.to_plan(&params("VM-01.contoso.local")).is_ok());
}

#[test]
fn plan_lifetime_must_be_positive() {
    let all = catalog();
    let p = proposal(&all, &["rdp-tls-disabled"]);
    let mut bad = params("vm");
    bad.lifetime = SignedDuration::ZERO;
    assert_eq!(p.to_plan(&bad).unwrap_err(), BuildError::Lifetime);
}

/// Every rule's remediation with every optional step: the largest plan the catalog can
/// produce.
fn largest_plan() -> Plan {
    let all = catalog();
    let ids: Vec<&str> = all.rules.iter().map(|r| r.id.as_str()).collect();
    proposal(&all, &ids)
        // The longest computer name a plan accepts.
        .to_plan(&params(&"v".repeat(ComputerName::MAX)))
        .unwrap()
}

#[test]
fn the_largest_plan_the_catalog_can_produce_fits_one_command_line() {
    let plan = largest_plan();
    let signed = PreparedPlan::new(&plan)
        .unwrap()
        .sign_with(&SecretKey::from_seed([9; 32]))
        .unwrap();
    let payload_bytes = signed.envelope().payload().len();
    for shell in [Shell::Cmd, Shell::PowerShell] {
        match signed.fix_command(shell) {
            FixCommand::Line(line) => {
                eprintln!(
                    "largest fix command ({shell:?}): {} characters for {} steps, {} findings, {payload_bytes}-byte payload (limit {MAX_COMMAND_CHARS})",
                    line.len(),
                    plan.steps.len(),
                    plan.findings.len(),
                );
                assert!(line.len() < MAX_COMMAND_CHARS);
                // Leave room for growth: a catalog change that doubles it should be seen.
                assert!(line.len() < MAX_COMMAND_CHARS / 2, "{}", line.len());
            }
            FixCommand::TooLong { chars } => panic!("{shell:?}: {chars} characters"),
        }
    }
}

#[test]
fn powershell_of_the_seed_scenarios() {
    let all = catalog();
    for id in ["rdp-cert-keys", "rdp-tls-disabled", "rdp-broker-renamed"] {
        let plan = proposal(&all, &[id]).to_plan(&params("rdp-vm01")).unwrap();
        let prepared = PreparedPlan::new(&plan).unwrap();
        let script = powershell::render(&plan, prepared.steps());
        insta::assert_snapshot!(format!("powershell_{id}"), script);
    }
}

#[test]
fn powershell_of_every_step_kind() {
    let plan = largest_plan();
    let prepared = PreparedPlan::new(&plan).unwrap();
    let script = powershell::render(&plan, prepared.steps());
    insta::assert_snapshot!("powershell_whole_catalog", script);
    // One section per step, in order.
    for (i, step) in prepared.steps().iter().enumerate() {
        let heading = format!(
            "# --- Step {} of {}: {}",
            i + 1,
            plan.steps.len(),
            step.summary()
        );
        assert!(script.contains(&heading), "{heading}");
    }
    // Grants are by SID only; no localised account name is ever passed to a tool.
    for line in script
        .lines()
        .filter(|l| l.starts_with("icacls") && l.contains("/grant"))
    {
        assert!(line.contains("'*S-1-"), "{line}");
        assert!(
            !line.contains("NETWORK SERVICE") && !line.contains("NT AUTHORITY"),
            "{line}"
        );
    }
    // Manual steps stay comments.
    assert!(!script.contains("Uninstall-WindowsFeature"));
    assert!(!script.contains("shutdown /r\n"));
}
