//! Plans for an OS disk attached to a rescue VM, from a diagnosis of its hives: the
//! snapshot's MachineGuid and control set, the disk offered as a target (or why not), each
//! step kind's offline form, the proposal for the disk and the plan built from it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use analyzer::config::{Section, Value};
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, PlanTargets, Session};
use analyzer::input::no_progress;
use analyzer::plan::{
    AllowedStep, BuildError, LeftOutWhy, ManualAction, OfflineForm, OfflineHive, OfflineTarget,
    PlanId, Proposal, RdpService, RegistryValue, StepKind, TlsProtocol,
};
use jiff::Timestamp;
use testkit::hive_writer::{self, MACHINE_GUID};

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(testkit::fixture("hives").join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn diagnose(hives: &[(&str, Vec<u8>)]) -> Diagnosis {
    let mut session = Session::new();
    for (name, bytes) in hives {
        session.add_bytes(name, bytes, &mut no_progress);
    }
    session.finish(&DiagnoseOptions::default())
}

fn issued() -> Timestamp {
    "2026-11-25T10:00:00Z".parse().unwrap()
}

/// A disk whose Windows boots from ControlSet002, where TermService is disabled.
fn termservice_disabled_on_set_2() -> Vec<(&'static str, Vec<u8>)> {
    let system = hive_writer::system(2, |cs| {
        cs.key(r"Services\TermService").dword("Start", 4);
    });
    vec![
        ("SYSTEM", system.write().bytes),
        ("SOFTWARE", fixture("healthy/SOFTWARE")),
    ]
}

#[test]
fn the_hives_give_the_disk_identity_and_the_control_set_in_the_snapshot() {
    let d = diagnose(&termservice_disabled_on_set_2());
    let system = &d.inputs[0].configs[0];
    let software = &d.inputs[1].configs[0];
    let boot = |s: &analyzer::config::ConfigSnapshot, key: &str| {
        s.entry(Section::Boot, None, key).map(|e| e.value.clone())
    };
    assert_eq!(boot(system, "cs"), Some(Value::Set("2".into())));
    assert_eq!(boot(system, "guid"), None);
    assert_eq!(
        boot(software, "guid"),
        Some(Value::Set(MACHINE_GUID.into()))
    );
    // A SOFTWARE hive without the value: absent, not made up.
    let mut bare = hive_writer::software(|_| {});
    bare.root.key(r"Microsoft\Cryptography").values.clear();
    let d = diagnose(&[
        ("SYSTEM", fixture("healthy/SYSTEM")),
        ("SOFTWARE", bare.write().bytes),
    ]);
    assert_eq!(boot(&d.inputs[1].configs[0], "guid"), Some(Value::Absent));
    let why = PlanTargets::for_diagnosis(&d)
        .unwrap()
        .offline
        .unwrap()
        .unwrap_err();
    assert!(
        why.contains("holds no Microsoft\\Cryptography\\MachineGuid"),
        "{why}"
    );
}

#[test]
fn a_diagnosis_of_a_disk_offers_the_disk_and_builds_its_plan() {
    let d = diagnose(&termservice_disabled_on_set_2());
    let ids: Vec<&str> = d.findings.iter().map(|f| f.id.as_str()).collect();
    assert!(ids.contains(&"rdp-config-termservice-disabled"), "{ids:?}");
    let targets = PlanTargets::for_diagnosis(&d).unwrap();
    let choice = targets.offline.clone().unwrap().unwrap();
    assert_eq!(choice.computer, "VM-APP-01");
    assert_eq!(choice.target.machine_guid.to_string(), MACHINE_GUID);
    assert_eq!(choice.target.control_set, 2);
    assert_eq!(choice.hives, ["SYSTEM", "SOFTWARE"]);

    let online =
        Proposal::for_diagnosis(&analyzer::rules::Catalog::builtin().unwrap(), &d).unwrap();
    let offline = online.for_offline();
    assert!(offline.is_offline() && !online.is_offline());
    assert!(online.left_out().is_empty());
    // Every step kept has an offline form; every one left out is said, with why.
    assert!(offline.steps().iter().all(|s| s.step.has_offline_form()));
    assert_eq!(
        offline.steps().len() + offline.left_out().len(),
        online.steps().len()
    );
    assert!(
        offline
            .steps()
            .iter()
            .any(|s| s.step.kind() == StepKind::SetServiceStart),
        "{:?}",
        offline.steps()
    );
    assert!(
        offline
            .left_out()
            .iter()
            .any(|l| l.step.kind() == StepKind::StartService && l.why == LeftOutWhy::StartsAtBoot),
        "{:?}",
        offline.left_out()
    );
    assert!(offline.left_out()[0].to_string().contains("starts at boot"));
    // for_offline is idempotent.
    assert_eq!(offline.for_offline(), offline);

    let id = PlanId::from_random([7; 16]);
    let params = targets.offline_params(issued(), id).unwrap();
    let plan = offline.to_plan(&params).unwrap();
    assert_eq!(plan.target.computer.as_str(), "VM-APP-01");
    assert_eq!(plan.target.offline, Some(choice.target));
    analyzer::envelope::PreparedPlan::new(&plan).unwrap();
    // The target and the proposal go together.
    assert_eq!(
        online.to_plan(&params).unwrap_err(),
        BuildError::OfflineMismatch
    );
    let live = targets.params("VM-APP-01", issued(), id).unwrap();
    assert_eq!(live.offline, None);
    assert_eq!(
        offline.to_plan(&live).unwrap_err(),
        BuildError::OfflineMismatch
    );
    // The proposal travels to the page and back with what it left out.
    let json = serde_json::to_string(&offline).unwrap();
    assert_eq!(serde_json::from_str::<Proposal>(&json).unwrap(), offline);
    let json = serde_json::to_string(&targets).unwrap();
    assert_eq!(serde_json::from_str::<PlanTargets>(&json).unwrap(), targets);
}

#[test]
fn logs_alone_offer_no_disk_and_an_offline_plan_then_says_why() {
    // A SYSTEM hive's snapshot is not the only way to name a computer: a config block is
    // not a hive, so nothing is offered offline.
    let d = diagnose(&[("SYSTEM", fixture("healthy/SYSTEM"))]);
    let targets = PlanTargets::for_diagnosis(&d).unwrap();
    let why = targets.offline.clone().unwrap().unwrap_err();
    assert!(why.contains("no SOFTWARE hive"), "{why}");
    let err = targets
        .offline_params(issued(), PlanId::from_random([1; 16]))
        .unwrap_err();
    assert!(matches!(err, BuildError::NoOfflineTarget(_)), "{err}");
    let snapshot = std::fs::read(testkit::fixture("config/healthy/snapshot.txt")).unwrap();
    let d = diagnose(&[("snapshot.txt", snapshot)]);
    let targets = PlanTargets::for_diagnosis(&d).unwrap();
    assert_eq!(targets.offline, None);
    let err = targets
        .offline_params(issued(), PlanId::from_random([1; 16]))
        .unwrap_err();
    assert!(err.to_string().contains("no registry hive"), "{err}");
    assert!(!err.to_string().contains("  "), "{err}");
}

#[test]
fn a_dirty_or_damaged_hive_gives_no_disk_to_plan_for_and_says_why() {
    let software = ("SOFTWARE", fixture("healthy/SOFTWARE"));
    for (file, needle) in [
        ("dirty/SYSTEM", "is dirty"),
        ("damaged/bad-checksum-SYSTEM", "is dirty"),
        ("damaged/truncated-SYSTEM", "damaged or was not read whole"),
        (
            "damaged/cell-outside-bin-SYSTEM",
            "damaged or was not read whole",
        ),
    ] {
        let d = diagnose(&[(file, fixture(file)), software.clone()]);
        // A hive whose computer name was lost names no computer at all: then the
        // targets themselves fail, in the hive's words.
        let why = PlanTargets::for_diagnosis(&d)
            .map(|t| t.offline.unwrap().unwrap_err())
            .unwrap_or_else(|e| e.to_string());
        assert!(why.contains(needle), "{file}: {why}");
        assert!(!why.contains("  "), "{why}");
        assert!(why.contains(file), "{file}: {why}");
        if needle == "is dirty" {
            // The command that has Windows replay the hive's logs, with its file's name.
            let base = file.rsplit('/').next().unwrap();
            let command =
                format!(r"reg load HKLM\rdpfix-replay <drive>:\Windows\System32\config\{base}`");
            assert!(why.contains(&command), "{why}");
        }
    }
    // Two disks' SYSTEM hives: not one disk.
    let d = diagnose(&[
        ("a/SYSTEM", fixture("healthy/SYSTEM")),
        ("b/SYSTEM", fixture("port-changed/SYSTEM")),
        software,
    ]);
    let why = PlanTargets::for_diagnosis(&d)
        .unwrap()
        .offline
        .unwrap()
        .unwrap_err();
    assert!(why.contains("2 SYSTEM hives"), "{why}");
}

#[test]
fn every_step_kind_has_its_offline_form() {
    let id = PlanId::from_random([0xab; 16]);
    assert_eq!(OfflineHive::System.mount(&id), "rdpfix-abababab-SYSTEM");
    assert_eq!(OfflineHive::Software.mount(&id), "rdpfix-abababab-SOFTWARE");
    let target = OfflineTarget::new(MACHINE_GUID.parse().unwrap(), 3).unwrap();
    let registry = |step: AllowedStep| match step.offline() {
        OfflineForm::Registry { hive, key } => {
            let (in_hive, path) = target.hive_key(&key).unwrap();
            assert_eq!(in_hive, hive);
            (hive, path)
        }
        other => panic!("{step:?}: {other:?}"),
    };
    assert_eq!(
        registry(AllowedStep::QueryRegistryValue {
            value: RegistryValue::PortNumber
        }),
        (
            OfflineHive::System,
            r"ControlSet003\Control\Terminal Server\WinStations\RDP-Tcp".to_owned()
        )
    );
    assert_eq!(
        registry(AllowedStep::QueryRegistryValue {
            value: RegistryValue::PolicyDenyTsConnections
        }),
        (
            OfflineHive::Software,
            r"Policies\Microsoft\Windows NT\Terminal Services".to_owned()
        )
    );
    assert_eq!(
        registry(AllowedStep::EnableTlsServerProtocol {
            protocol: TlsProtocol::Tls12
        })
        .1,
        r"ControlSet003\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server"
    );
    assert_eq!(
        registry(AllowedStep::SetServiceStart {
            service: RdpService::TermService,
            desired: analyzer::plan::StartType::Manual,
            expect: analyzer::plan::Expect::Any,
        })
        .1,
        r"ControlSet003\Services\TermService"
    );
    assert_eq!(
        registry(AllowedStep::ExportDeleteCertificates {
            store: analyzer::plan::CertStore::RemoteDesktop,
            expect: analyzer::plan::CertificateExpect::default(),
        }),
        (
            OfflineHive::Software,
            r"Microsoft\SystemCertificates\Remote Desktop\Certificates".to_owned()
        )
    );
    // Keys a plan never touches offline have no place on the disk.
    assert_eq!(target.hive_key(r"HKLM\SAM\SAM"), None);
    assert_eq!(target.hive_key(r"HKLM\SYSTEM\Select"), None);
    assert_eq!(target.hive_key(r"HKLM\SOFTWARE\"), None);
    assert_eq!(
        target.hive_key(r"hklm\software\Policies"),
        Some((OfflineHive::Software, "Policies".to_owned()))
    );
    let left_out = |step: AllowedStep| match step.offline() {
        OfflineForm::LeftOut { why } => why,
        other => panic!("{step:?}: {other:?}"),
    };
    assert_eq!(
        left_out(AllowedStep::RestartService {
            service: RdpService::TermService
        }),
        LeftOutWhy::StartsAtBoot
    );
    assert_eq!(
        left_out(AllowedStep::Manual {
            action: ManualAction::RestartComputer
        }),
        LeftOutWhy::BootsAfterSwap
    );
    assert_eq!(
        AllowedStep::Manual {
            action: ManualAction::RestrictRdpExposure
        }
        .offline(),
        OfflineForm::Manual
    );
    // The whole catalog: every kind is decided, and the registry ones map onto a hive.
    let catalog = analyzer::rules::Catalog::builtin().unwrap();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let all = catalog.proposal(ids.iter().copied()).unwrap();
    for s in all.steps() {
        match s.step.offline() {
            OfflineForm::Registry { key, .. } => {
                assert!(target.hive_key(&key).is_some(), "{key}")
            }
            OfflineForm::DiskFiles => assert!(matches!(
                s.step.kind(),
                StepKind::SaveAcl | StepKind::TakeOwnership | StepKind::GrantAccess
            )),
            OfflineForm::Manual => assert_eq!(s.step.kind(), StepKind::Manual),
            OfflineForm::LeftOut { why } => assert!(!why.text().is_empty()),
        }
    }
    let offline = all.for_offline();
    assert!(!offline.steps().is_empty() && !offline.left_out().is_empty());
}

#[test]
fn a_reg_query_paste_of_the_cryptography_key_gives_the_machine_guid() {
    let paste = format!(
        "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\r\n    \
         fDenyTSConnections    REG_DWORD    0x0\r\n\r\n\
         HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    \
         MachineGuid    REG_SZ    {}\r\n\r\n",
        MACHINE_GUID.to_uppercase()
    );
    let report = analyzer::input::read_bytes(
        "pasted text",
        paste.as_bytes(),
        &mut Vec::new(),
        &mut no_progress,
    );
    let s = &report.configs[0];
    assert_eq!(
        s.entry(Section::Boot, None, "guid")
            .map(|e| e.value.clone()),
        Some(Value::Set(MACHINE_GUID.to_uppercase()))
    );
}

#[test]
fn the_preview_of_a_plan_for_a_disk_edits_its_loaded_hives_and_always_unloads_them() {
    let catalog = analyzer::rules::Catalog::builtin().unwrap();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    let proposal = catalog.proposal(ids.iter().copied()).unwrap().for_offline();
    let plan_id = PlanId::from_random([0x5c; 16]);
    let params = analyzer::plan::PlanParams {
        computer: "VM-APP-01".into(),
        evidence_sha256: analyzer::plan::Sha256Digest([0xab; 32]),
        plan_id,
        issued_at: issued(),
        lifetime: analyzer::plan::DEFAULT_LIFETIME,
        seq: 1,
        offline: Some(OfflineTarget::new(MACHINE_GUID.parse().unwrap(), 2).unwrap()),
    };
    let plan = proposal.to_plan(&params).unwrap();
    let prepared = analyzer::envelope::PreparedPlan::new(&plan).unwrap();
    let script = analyzer::plan::powershell::render(prepared.plan(), prepared.steps());
    let code: Vec<&str> = script
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    // The hives are loaded under the plan's mount names, the disk checked, then unloaded
    // in a finally.
    let at = |needle: &str| {
        code.iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle} not in:\n{script}"))
    };
    assert!(script.contains(r"$system = 'HKLM\rdpfix-5c5c5c5c-SYSTEM'"));
    assert!(script.contains(r"$software = 'HKLM\rdpfix-5c5c5c5c-SOFTWARE'"));
    let load = at("reg load $system");
    let open = at("try {");
    let guid = at(&format!("if ($guid -ne '{MACHINE_GUID}')"));
    let set = at("if ($selected -ne 2)");
    let first = at("icacls");
    let close = at("} finally {");
    let unload = at("reg unload $hive");
    let stuck = at("if ($stuck) { throw");
    assert!(load < open && open < guid && guid < set && set < first && first < close);
    assert!(close < unload && unload < stuck);
    // Both mounts, each with the path Test-Path checks; finalizers waited for first.
    assert!(script.contains(
        r"$mounts = @(@($software, 'HKLM:\rdpfix-5c5c5c5c-SOFTWARE'), @($system, 'HKLM:\rdpfix-5c5c5c5c-SYSTEM'))"
    ));
    assert!(at("[GC]::WaitForPendingFinalizers()") < unload);
    assert_eq!(code.iter().filter(|l| l.contains("} finally {")).count(), 1);
    // Every registry key the code touches is in a loaded hive, under ControlSet002; files
    // are the disk's; nothing of the rescue VM's own registry or services.
    for line in &code {
        for (i, _) in line.match_indices("HKLM") {
            let rest = &line[i..];
            assert!(
                rest.starts_with(r"HKLM\rdpfix-5c5c5c5c-")
                    || rest.starts_with(r"HKLM:\rdpfix-5c5c5c5c-"),
                "{line}"
            );
        }
        assert!(!line.contains("CurrentControlSet"), "{line}");
        assert!(!line.contains("$env:ProgramData\\Microsoft"), "{line}");
        for cmdlet in ["Restart-Service", "Start-Service", "sc.exe", "Cert:\\"] {
            assert!(!line.contains(cmdlet), "{line}");
        }
    }
    assert!(script.contains(r"ControlSet002\Services\TermService' 'Start'"));
    assert!(script.contains(r#"icacls "$disk\ProgramData\Microsoft\Crypto\RSA\MachineKeys""#));
    assert!(script.contains(
        r"rdpfix-5c5c5c5c-SOFTWARE\Microsoft\SystemCertificates\Remote Desktop\Certificates"
    ));
}
