//! Offline plans: the signed target of a plan for a Windows OS disk attached to a rescue VM
//! (`PlanTarget::offline`), its machine GUID and control set, and a plan for the running
//! machine unchanged byte for byte.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use analyzer::plan::{
    AllowedStep, BuildError, MachineGuid, OfflineTarget, Plan, PlanId, PlanParams, Proposal,
    RdpService, RegistryValue, RemediationStep, Sha256Digest,
};
use jiff::Timestamp;
use proptest::prelude::*;

const GUID: &str = "5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41";

fn issued() -> Timestamp {
    "2026-03-01T12:00:00Z".parse().unwrap()
}

fn params(offline: Option<OfflineTarget>) -> PlanParams {
    PlanParams {
        computer: "rdp-vm01".into(),
        evidence_sha256: Sha256Digest([0xab; 32]),
        plan_id: PlanId::from_random([0x5c; 16]),
        issued_at: issued(),
        lifetime: analyzer::plan::DEFAULT_LIFETIME,
        seq: 7,
        offline,
    }
}

/// One finding's proposal of one required step.
fn proposal_of(step: AllowedStep) -> Proposal {
    let remediation = vec![RemediationStep {
        step: step.to_step(),
        optional: false,
        why: "test".into(),
    }];
    Proposal::from_findings([("rdp-cert-keys", remediation.as_slice())]).unwrap()
}

fn proposal() -> Proposal {
    proposal_of(AllowedStep::RestartService {
        service: RdpService::TermService,
    })
}

/// A proposal with a step that has an offline form, for the attached disk.
fn offline_proposal() -> Proposal {
    proposal_of(AllowedStep::QueryRegistryValue {
        value: RegistryValue::PortNumber,
    })
    .for_offline()
}

fn offline(control_set: u32) -> OfflineTarget {
    OfflineTarget::new(GUID.parse().unwrap(), control_set).unwrap()
}

fn json(plan: &Plan) -> String {
    String::from_utf8(serde_json::to_vec(plan).unwrap()).unwrap()
}

#[test]
fn a_plan_for_the_running_machine_is_byte_for_byte_as_before() {
    let plan = proposal().to_plan(&params(None)).unwrap();
    let expected = format!(
        concat!(
            r#"{{"v":1,"plan_id":"{id}","issued_at":"2026-03-01T12:00:00Z","#,
            r#""expires_at":"2026-03-02T12:00:00Z","seq":7,"target":{{"computer":"rdp-vm01"}},"#,
            r#""evidence_sha256":"{ev}","analyzer_version":"{ver}","findings":["rdp-cert-keys"],"#,
            r#""steps":[{{"kind":"restart_service","target":"TermService"}}]}}"#
        ),
        id = "5c".repeat(16),
        ev = "ab".repeat(32),
        ver = analyzer::VERSION,
    );
    assert_eq!(json(&plan), expected);
}

#[test]
fn an_offline_plan_signs_the_disk_identity_and_reads_back() {
    let plan = offline_proposal()
        .to_plan(&params(Some(offline(2))))
        .unwrap();
    let text = json(&plan);
    assert!(
        text.contains(&format!(
            r#""target":{{"computer":"rdp-vm01","offline":{{"machine_guid":"{GUID}","control_set":2}}}}"#
        )),
        "{text}"
    );
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, plan);
    assert_eq!(
        back.target.offline.unwrap().control_set_key(),
        "ControlSet002"
    );
}

#[test]
fn an_unknown_field_in_the_offline_target_is_refused() {
    let text = json(
        &offline_proposal()
            .to_plan(&params(Some(offline(1))))
            .unwrap(),
    );
    let changed = text.replacen(
        r#""control_set":1}"#,
        r#""control_set":1,"mount":"HKLM\\X"}"#,
        1,
    );
    assert_ne!(changed, text);
    let error = serde_json::from_str::<Plan>(&changed).unwrap_err();
    assert!(error.to_string().contains("unknown field"), "{error}");
    // And a missing one.
    let missing = text.replacen(r#","control_set":1"#, "", 1);
    assert_ne!(missing, text);
    let error = serde_json::from_str::<Plan>(&missing).unwrap_err();
    assert!(error.to_string().contains("control_set"), "{error}");
}

#[test]
fn a_control_set_outside_1_to_999_is_refused_everywhere() {
    let guid: MachineGuid = GUID.parse().unwrap();
    for n in [0, 1000, u32::MAX] {
        assert!(OfflineTarget::new(guid, n).is_err(), "{n}");
        // A target built around the constructor is refused by the builder.
        let target = OfflineTarget {
            machine_guid: guid,
            control_set: n,
        };
        assert!(matches!(
            offline_proposal().to_plan(&params(Some(target))),
            Err(BuildError::ControlSet(_))
        ));
        // And by the payload's reader.
        let text = json(
            &offline_proposal()
                .to_plan(&params(Some(offline(1))))
                .unwrap(),
        )
        .replacen(r#""control_set":1"#, &format!(r#""control_set":{n}"#), 1);
        let error = serde_json::from_str::<Plan>(&text).unwrap_err();
        assert!(error.to_string().contains("control set"), "{n}: {error}");
    }
    for n in [1, 999] {
        assert_eq!(offline(n).control_set, n);
    }
    assert_eq!(offline(999).control_set_key(), "ControlSet999");
}

#[test]
fn a_machine_guid_is_lower_case_8_4_4_4_12_hex() {
    let guid: MachineGuid = GUID.parse().unwrap();
    assert_eq!(guid.to_string(), GUID);
    for bad in [
        "",
        "5C7E1F0A-93B2-4D6E-8A10-0F3C2B9D7E41",
        "{5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41}",
        "5c7e1f0a93b24d6e8a100f3c2b9d7e41",
        "5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e4",
        "5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e411",
        "5c7e1f0a-93b24-d6e-8a10-0f3c2b9d7e41",
        "5c7e1f0g-93b2-4d6e-8a10-0f3c2b9d7e41",
        "5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e4\u{e9}",
        "+c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41",
    ] {
        assert!(bad.parse::<MachineGuid>().is_err(), "{bad:?}");
        let text = json(
            &offline_proposal()
                .to_plan(&params(Some(offline(1))))
                .unwrap(),
        )
        .replacen(GUID, bad, 1);
        assert!(serde_json::from_str::<Plan>(&text).is_err(), "{bad:?}");
    }
    // What a hive or `reg query` may hold, normalised.
    for registry in [
        "5C7E1F0A-93B2-4D6E-8A10-0F3C2B9D7E41",
        "{5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41}",
        " 5c7e1f0a-93b2-4d6e-8a10-0f3c2b9d7e41\r\n",
    ] {
        assert_eq!(MachineGuid::from_registry(registry).unwrap(), guid);
    }
    let error = MachineGuid::from_registry("not <a> guid").unwrap_err();
    assert!(error.to_string().contains("machine GUID"), "{error}");
}

proptest! {
    #[test]
    fn any_machine_guid_reads_back_from_its_text(bytes in any::<[u8; 16]>()) {
        let text = format!(
            "{}-{}-{}-{}-{}",
            hex(&bytes[..4]), hex(&bytes[4..6]), hex(&bytes[6..8]), hex(&bytes[8..10]),
            hex(&bytes[10..])
        );
        let guid: MachineGuid = text.parse().unwrap();
        prop_assert_eq!(guid.as_bytes(), &bytes);
        prop_assert_eq!(guid.to_string(), text.clone());
        prop_assert_eq!(MachineGuid::from_registry(&text.to_ascii_uppercase()).unwrap(), guid);
    }

    #[test]
    fn no_text_panics_the_guid_reader(text in "\\PC{0,40}") {
        if let Ok(guid) = text.parse::<MachineGuid>() {
            prop_assert_eq!(guid.to_string(), text.clone());
        }
        let _ = MachineGuid::from_registry(&text);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
