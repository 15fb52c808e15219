//! The configuration findings' plans: a pasted collection output becomes findings and a
//! proposal of typed steps, and a value the Remote Desktop policy key holds turns the local
//! step on it into the manual Group Policy step (`Proposal::for_diagnosis` →
//! `defer_to_policy`). Inputs are the fixtures of `tests/fixtures/config/`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use analyzer::diagnose::plan::policy_held;
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::no_progress;
use analyzer::plan::{
    AllowedStep, ManualAction, PlanId, PlanParams, Proposal, RdpService, RegistryData,
    RegistryValue, StepKind,
};
use analyzer::rules::Catalog;
use std::path::PathBuf;

fn fixture(path: &str) -> Vec<u8> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config");
    std::fs::read(dir.join(path)).unwrap()
}

fn diagnose(name: &str, bytes: &[u8]) -> Diagnosis {
    let mut session = Session::new();
    session.add_bytes(name, bytes, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

fn proposal(d: &Diagnosis) -> Proposal {
    Proposal::for_diagnosis(&Catalog::builtin().unwrap(), d).unwrap()
}

fn has(p: &Proposal, step: &AllowedStep) -> bool {
    p.steps().iter().any(|s| &s.step == step)
}

fn set(value: RegistryValue, data: u32) -> AllowedStep {
    AllowedStep::SetRegistryValue {
        value,
        desired: RegistryData::Dword(data),
        expect: Default::default(),
    }
}

const GROUP_POLICY: AllowedStep = AllowedStep::Manual {
    action: ManualAction::ReviewRemoteDesktopGroupPolicy,
};

/// The whole collection script's output, as `az vm run-command invoke` and as
/// `Invoke-AzVMRunCommand` print it: configuration findings, and a plan whose steps are
/// typed (the policy value set back to 0, TermService restarted) besides the manual one.
#[test]
fn a_pasted_collection_output_gives_config_findings_and_typed_steps() {
    for file in [
        "collection-script/az-run-command.json",
        "collection-script/invoke-azvmruncommand.txt",
    ] {
        let d = diagnose("pasted text", &fixture(file));
        let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
        assert!(
            ids.contains(&"rdp-config-disabled-by-policy"),
            "{file}: {ids:?}"
        );
        assert_eq!(policy_held(&d), ["fDenyTSConnections"], "{file}");
        let p = proposal(&d);
        // The policy value itself is set back (the Azure article's fix), and the manual
        // step says Group Policy may write it again.
        assert!(
            has(&p, &set(RegistryValue::PolicyDenyTsConnections, 0)),
            "{file}"
        );
        assert!(has(&p, &GROUP_POLICY), "{file}");
        assert!(has(
            &p,
            &AllowedStep::RestartService {
                service: RdpService::TermService
            }
        ));
        let plan = p
            .to_plan(
                &PlanParams::for_diagnosis(&d, d.now.unwrap(), PlanId::from_random([1; 16]))
                    .unwrap(),
            )
            .unwrap();
        assert_eq!(plan.target.computer.as_str(), "vm-app-01", "{file}");
        assert!(
            plan.steps
                .iter()
                .any(|s| s.kind() == StepKind::SetRegistryValue),
            "{file}: {:?}",
            plan.steps
        );
    }
}

/// NLA required over the RDP security layer: without a policy value the plan offers the
/// optional "lowers security" step on the listener; when the policy key holds the two
/// values, that local step would be overridden, so the manual Group Policy step replaces it.
#[test]
fn a_value_the_policy_key_holds_becomes_the_group_policy_step() {
    let local = fixture("rdp-nla-mismatch/snapshot.txt");
    let d = diagnose("snapshot.txt", &local);
    assert_eq!(d.findings[0].id, "rdp-config-nla-without-tls");
    assert!(policy_held(&d).is_empty());
    let p = proposal(&d);
    let lowering = set(RegistryValue::UserAuthentication, 0);
    let step = p.steps().iter().find(|s| s.step == lowering).unwrap();
    assert!(step.optional && step.step.labels().lowers_security);
    assert!(step.why.iter().any(|w| w.contains("lowers security")));

    // The same machine, its listener at the defaults and the policy key holding them.
    let text = String::from_utf8(local).unwrap();
    let by_policy = text
        .replace(
            "tsp deny=- sec=- nla=- enc=-",
            "tsp deny=- sec=0 nla=1 enc=-",
        )
        .replace("rdp port=3389 sec=0 nla=1", "rdp port=3389 sec=2 nla=1");
    assert_ne!(by_policy, text);
    let d = diagnose("snapshot.txt", by_policy.as_bytes());
    assert_eq!(d.findings[0].id, "rdp-config-nla-without-tls");
    assert_eq!(policy_held(&d), ["SecurityLayer", "UserAuthentication"]);
    let p = proposal(&d);
    assert!(!has(&p, &lowering), "{:?}", p.steps());
    let manual = p.steps().iter().find(|s| s.step == GROUP_POLICY).unwrap();
    assert!(
        manual
            .why
            .iter()
            .any(|w| w.contains("UserAuthentication is set under")),
        "{:?}",
        manual.why
    );
}

/// RDP disabled locally: the local value is set back to 0 while no policy value exists;
/// a policy value that is present, even one that allows RDP, holds the setting, so the
/// local step would be overridden and the Group Policy step replaces it.
#[test]
fn the_local_deny_step_stays_only_without_a_policy_value() {
    let text = String::from_utf8(fixture("rdp-disabled-local/snapshot.txt")).unwrap();
    let d = diagnose("snapshot.txt", text.as_bytes());
    assert_eq!(d.findings[0].id, "rdp-config-disabled");
    let p = proposal(&d);
    assert!(has(&p, &set(RegistryValue::DenyTsConnections, 0)));
    assert!(!has(&p, &GROUP_POLICY));

    let mut d = d;
    let unreadable = text.replace("tsp deny=-", "tsp deny=?");
    assert_ne!(unreadable, text);
    // The finding needs "no policy value"; the plan is asked of the same findings with a
    // snapshot whose policy key holds the value (present, unreadable).
    d.inputs = diagnose("snapshot.txt", unreadable.as_bytes()).inputs;
    assert_eq!(policy_held(&d), ["fDenyTSConnections"]);
    let p = proposal(&d);
    assert!(!has(&p, &set(RegistryValue::DenyTsConnections, 0)));
    assert!(has(&p, &GROUP_POLICY));
}

/// Every configuration case with findings gives a proposal whose every step passed the
/// allowlist, and a plan for the computer the snapshot names (it has no events).
#[test]
fn every_config_case_gives_a_plan() {
    let mut planned = 0;
    for entry in std::fs::read_dir(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/config"),
    )
    .unwrap()
    {
        let path = entry.unwrap().path().join("snapshot.txt");
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let d = diagnose("snapshot.txt", &bytes);
        if d.findings.is_empty() {
            continue;
        }
        let p = proposal(&d);
        let params = PlanParams::for_diagnosis(
            &d,
            "2026-12-01T00:00:00Z".parse().unwrap(),
            PlanId::from_random([2; 16]),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let plan = p
            .to_plan(&params)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        // No event names a computer: the snapshot's `host=` does.
        assert_eq!(d.computers, []);
        let host = String::from_utf8_lossy(&bytes)
            .split_whitespace()
            .find_map(|w| w.strip_prefix("host=").map(str::to_owned))
            .unwrap();
        assert_eq!(plan.target.computer.as_str(), host);
        planned += 1;
    }
    assert!(planned >= 15, "{planned}");
}
