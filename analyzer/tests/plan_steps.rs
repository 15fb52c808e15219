//! The step model: what the catalog (TOML) and a payload (JSON) may say, and what the
//! allowlist lets through.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use analyzer::plan::{
    AclTarget, AllowedStep, AllowlistReason, CertStore, CertificateExpect, Expect, Grant, HexBytes,
    ManualAction, RdpService, RegistryData, RegistryExpect, RegistryTarget, RegistryValue,
    Reversibility, Rights, ServiceAccount, Sid, StartType, Step, StepKind, Thumbprint, TlsProtocol,
    check_step,
};

/// One allowed step of every kind and every target, the way rdpfix writes them.
fn every_allowed_step() -> Vec<AllowedStep> {
    let mut steps = vec![AllowedStep::SaveAcl {
        target: AclTarget::MachineKeysFolder,
    }];
    for target in AclTarget::ALL {
        steps.push(AllowedStep::TakeOwnership {
            target,
            owner: Sid::Administrators,
        });
    }
    steps.push(AllowedStep::GrantAccess {
        target: AclTarget::RdpKeyFiles,
        grants: vec![
            Grant {
                sid: Sid::LocalSystem,
                rights: Rights::Full,
            },
            Grant {
                sid: Sid::NetworkService,
                rights: Rights::Read,
            },
            Grant {
                sid: Sid::Administrators,
                rights: Rights::Full,
            },
        ],
    });
    steps.push(AllowedStep::GrantAccess {
        target: AclTarget::MachineKeysFolder,
        grants: vec![
            Grant {
                sid: Sid::Administrators,
                rights: Rights::Full,
            },
            Grant {
                sid: Sid::Everyone,
                rights: Rights::ReadWrite,
            },
        ],
    });
    steps.push(AllowedStep::ExportDeleteCertificates {
        store: CertStore::RemoteDesktop,
        expect: CertificateExpect::Any,
    });
    steps.push(AllowedStep::ExportDeleteCertificates {
        store: CertStore::RemoteDesktop,
        expect: CertificateExpect::Thumbprint(Thumbprint([0xAB; 20])),
    });
    for service in RdpService::ALL {
        steps.push(AllowedStep::RestartService { service });
        steps.push(AllowedStep::SetServiceStart {
            service,
            desired: StartType::Manual,
            expect: Expect::Equals(StartType::Disabled),
        });
        steps.push(AllowedStep::SetServiceAccount {
            service,
            desired: service.default_account(),
            expect: Expect::Any,
        });
    }
    for value in RegistryValue::ALL {
        steps.push(AllowedStep::QueryRegistryValue { value });
        if let Some(working) = value.working_value() {
            steps.push(AllowedStep::SetRegistryValue {
                value,
                desired: working.clone(),
                expect: RegistryExpect::Any,
            });
        }
        if value.allows_delete() {
            steps.push(AllowedStep::DeleteRegistryValue {
                value,
                expect: RegistryExpect::Any,
            });
        }
    }
    steps.push(AllowedStep::SetRegistryValue {
        value: RegistryValue::SslCertificateSha1Hash,
        desired: RegistryData::Binary(HexBytes::new(vec![0x5A; 20]).unwrap()),
        expect: RegistryExpect::Absent,
    });
    steps.push(AllowedStep::SetRegistryValue {
        value: RegistryValue::DenyTsConnections,
        desired: RegistryData::Dword(0),
        expect: RegistryExpect::Equals(RegistryData::Dword(1)),
    });
    for protocol in TlsProtocol::ALL {
        steps.push(AllowedStep::EnableTlsServerProtocol { protocol });
    }
    for action in ManualAction::ALL {
        steps.push(AllowedStep::Manual { action });
    }
    steps
}

#[test]
fn every_step_kind_is_reachable() {
    let kinds: std::collections::BTreeSet<StepKind> =
        every_allowed_step().iter().map(AllowedStep::kind).collect();
    assert_eq!(kinds.len(), StepKind::ALL.len());
}

#[test]
fn canonical_steps_pass_the_allowlist_unchanged() {
    for (i, allowed) in every_allowed_step().into_iter().enumerate() {
        let step = allowed.to_step();
        assert_eq!(check_step(i, &step), Ok(allowed), "{step:?}");
    }
}

#[test]
fn steps_round_trip_through_json_and_toml() {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Wrapper {
        step: Step,
    }
    for allowed in every_allowed_step() {
        let step = allowed.to_step();
        let json = serde_json::to_string(&step).unwrap();
        let back: Step = serde_json::from_str(&json).unwrap();
        assert_eq!(back, step, "{json}");
        assert!(
            json.starts_with(&format!("{{\"kind\":\"{}\"", step.kind())),
            "{json}"
        );

        let toml_text = toml::to_string(&Wrapper { step: step.clone() }).unwrap();
        let back: Wrapper = toml::from_str(&toml_text).unwrap();
        assert_eq!(back.step, step, "{toml_text}");
    }
}

#[test]
fn reads_a_catalog_step_written_by_hand_in_toml() {
    let text = r#"
        [[remediation]]
        why = "NETWORK SERVICE must read the RDP key"
        step = { kind = "grant_access", target = '%ProgramData%\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_*', desired = [{ sid = "*S-1-5-18", rights = "full" }, { sid = "*S-1-5-20", rights = "read" }] }

        [[remediation]]
        why = "a custom certificate that is gone makes RDP fail"
        optional = true
        step = { kind = "delete_registry_value", target = { key = 'HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp', value = "SSLCertificateSHA1Hash" } }

        [[remediation]]
        why = "the listener must be on"
        step = { kind = "set_registry_value", target = { key = 'HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp', value = "fEnableWinStation" }, desired = { type = "dword", data = 1 }, expect = { equals = { type = "dword", data = 0 } } }

        [[remediation]]
        why = "the broker must be rebuilt"
        step = { kind = "manual", target = "reinstall_connection_broker" }
    "#;
    #[derive(serde::Deserialize)]
    struct Catalog {
        remediation: Vec<analyzer::plan::RemediationStep>,
    }
    let catalog: Catalog = toml::from_str(text).unwrap();
    let allowed: Vec<AllowedStep> = catalog
        .remediation
        .iter()
        .enumerate()
        .map(|(i, r)| r.check(i).unwrap())
        .collect();
    assert_eq!(
        allowed[1],
        AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Any
        }
    );
    assert!(catalog.remediation[1].optional);
    assert!(!catalog.remediation[0].optional);
    assert_eq!(
        allowed[2],
        AllowedStep::SetRegistryValue {
            value: RegistryValue::EnableWinStation,
            desired: RegistryData::Dword(1),
            expect: RegistryExpect::Equals(RegistryData::Dword(0)),
        }
    );
}

#[test]
fn rejects_unknown_fields_in_a_step() {
    let cases = [
        r#"{"kind":"restart_service","target":"TermService","force":true}"#,
        r#"{"kind":"manual","target":"restart_computer","script":"format c:"}"#,
        r#"{"kind":"set_registry_value","target":{"key":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server","value":"TSEnabled","hive":"HKCU"},"desired":{"type":"dword","data":1}}"#,
        r#"{"kind":"set_registry_value","target":{"key":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server","value":"TSEnabled"},"desired":{"type":"dword","data":1,"extra":2}}"#,
        r#"{"kind":"grant_access","target":"x","desired":[{"sid":"*S-1-5-18","rights":"full","inherit":true}]}"#,
        r#"{"kind":"run_powershell","target":"Remove-Item C:\\ -Recurse"}"#,
    ];
    for json in cases {
        let result: Result<Step, _> = serde_json::from_str(json);
        assert!(result.is_err(), "accepted {json}");
    }
}

#[test]
fn rejects_duplicate_fields_in_a_step() {
    let cases = [
        r#"{"kind":"restart_service","target":"TermService","target":"TermService"}"#,
        r#"{"kind":"restart_service","kind":"restart_service","target":"TermService"}"#,
        r#"{"kind":"set_registry_value","target":{"key":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server","value":"TSEnabled","value":"TSEnabled"},"desired":{"type":"dword","data":1}}"#,
        r#"{"kind":"set_registry_value","target":{"key":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server","value":"TSEnabled"},"desired":{"type":"dword","data":1},"desired":{"type":"dword","data":1}}"#,
    ];
    for json in cases {
        let error = serde_json::from_str::<Step>(json).unwrap_err().to_string();
        assert!(error.contains("duplicate field"), "{json}: {error}");
    }
}

#[test]
fn grants_by_sid_never_by_name() {
    let ok: Grant = serde_json::from_str(r#"{"sid":"*S-1-5-20","rights":"read"}"#).unwrap();
    assert_eq!(ok.sid, Sid::NetworkService);
    for name in [
        r#""NT AUTHORITY\\NETWORK SERVICE""#,
        r#""SERVICE RÉSEAU""#,
        r#""S-1-5-20""#,
        r#""*S-1-5-21-1-2-3-500""#,
    ] {
        let json = format!(r#"{{"sid":{name},"rights":"read"}}"#);
        assert!(serde_json::from_str::<Grant>(&json).is_err(), "{json}");
    }
}

fn reason(step_json: &str) -> AllowlistReason {
    let step: Step = serde_json::from_str(step_json).unwrap();
    check_step(0, &step).unwrap_err().reason
}

#[test]
fn rejects_allowlist_escapes() {
    use AllowlistReason::*;
    let rdp_tcp =
        r"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp";
    type Check = fn(&AllowlistReason) -> bool;
    let cases: Vec<(String, Check)> = vec![
        (
            r#"{"kind":"grant_access","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys\\..\\..\\..\\..\\Windows\\System32","desired":[{"sid":"*S-1-5-18","rights":"full"}]}"#.into(),
            |r| *r == PathTraversal,
        ),
        (
            r#"{"kind":"save_acl","target":"C:/ProgramData/Microsoft/Crypto/RSA/MachineKeys"}"#.into(),
            |r| *r == NonCanonicalPath,
        ),
        (
            r#"{"kind":"take_ownership","target":"\\\\?\\C:\\Windows","desired":"*S-1-5-32-544"}"#.into(),
            |r| *r == NonCanonicalPath,
        ),
        (
            r#"{"kind":"take_ownership","target":"C:\\Windows\\System32\\config","desired":"*S-1-5-32-544"}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"set_registry_value","target":{"key":"HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run","value":"x"},"desired":{"type":"dword","data":0}}"#.into(),
            |r| *r == OtherHive,
        ),
        (
            r#"{"kind":"delete_registry_value","target":{"key":"HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp","value":"SSLCertificateSHA1Hash"}}"#.into(),
            |r| *r == NonCanonicalPath,
        ),
        (
            format!(r#"{{"kind":"delete_registry_value","target":{{"key":"{rdp_tcp}\\..\\..\\..\\Services\\TermService","value":"ImagePath"}}}}"#),
            |r| *r == PathTraversal,
        ),
        (
            format!(r#"{{"kind":"delete_registry_value","target":{{"key":"{rdp_tcp}","value":"..\\..\\PortNumber"}}}}"#),
            |r| *r == PathTraversal,
        ),
        (
            format!(r#"{{"kind":"set_registry_value","target":{{"key":"{rdp_tcp}","value":"PortNumber"}},"desired":{{"type":"dword","data":3389}}}}"#),
            |r| *r == TargetNotAllowed,
        ),
        (
            format!(r#"{{"kind":"set_registry_value","target":{{"key":"{rdp_tcp}","value":"SSLCertificateSHA1Hash "}},"desired":{{"type":"dword","data":0}}}}"#),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"set_registry_value","target":{"key":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server","value":"fDenyTSConnections"},"desired":{"type":"dword","data":1}}"#.into(),
            |r| matches!(r, DataNotAllowed(_)),
        ),
        (
            format!(r#"{{"kind":"set_registry_value","target":{{"key":"{rdp_tcp}","value":"SSLCertificateSHA1Hash"}},"desired":{{"type":"binary","data":"00"}}}}"#),
            |r| matches!(r, DataNotAllowed(_)),
        ),
        (
            format!(r#"{{"kind":"set_registry_value","target":{{"key":"{rdp_tcp}","value":"fEnableWinStation"}},"desired":{{"type":"dword","data":1}},"expect":{{"equals":{{"type":"binary","data":"00"}}}}}}"#),
            |r| *r == ExpectWrongType,
        ),
        (
            format!(r#"{{"kind":"delete_registry_value","target":{{"key":"{rdp_tcp}","value":"fEnableWinStation"}}}}"#),
            |r| *r == DeleteNotAllowed,
        ),
        (
            r#"{"kind":"restart_service","target":"gpsvc"}"#.into(),
            |r| matches!(r, ServiceNotAllowed(_)),
        ),
        (
            r#"{"kind":"restart_service","target":"TermService "}"#.into(),
            |r| matches!(r, ServiceNotAllowed(_)),
        ),
        (
            // Cyrillic "е" in TermService.
            "{\"kind\":\"restart_service\",\"target\":\"T\u{0435}rmService\"}".into(),
            |r| matches!(r, ServiceNotAllowed(_)),
        ),
        (
            r#"{"kind":"set_service_start","target":"TermService","desired":"disabled"}"#.into(),
            |r| *r == StartTypeNotAllowed,
        ),
        (
            r#"{"kind":"set_service_account","target":"TermService","desired":"local_system"}"#.into(),
            |r| matches!(r, AccountNotAllowed(_)),
        ),
        (
            r#"{"kind":"export_delete_certificates","target":"Cert:\\LocalMachine\\My"}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"export_delete_certificates","target":"Cert:\\LocalMachine\\Root"}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"enable_tls_server_protocol","target":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\SSL 3.0\\Server"}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"enable_tls_server_protocol","target":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\SecurityProviders\\SCHANNEL\\Protocols\\TLS 1.2\\Client"}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"grant_access","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys\\f686aace6942fb7f7ceb231212eef4a4_*","desired":[{"sid":"*S-1-1-0","rights":"full"}]}"#.into(),
            |r| matches!(r, GrantNotAllowed { .. }),
        ),
        (
            r#"{"kind":"grant_access","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys\\*","desired":[{"sid":"*S-1-5-20","rights":"read"}]}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
        (
            r#"{"kind":"grant_access","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys","desired":[]}"#.into(),
            |r| matches!(r, GrantCount { .. }),
        ),
        (
            r#"{"kind":"grant_access","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys","desired":[{"sid":"*S-1-5-32-544","rights":"full"},{"sid":"*S-1-5-32-544","rights":"full"}]}"#.into(),
            |r| matches!(r, GrantCount { .. }),
        ),
        (
            r#"{"kind":"take_ownership","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys","desired":"*S-1-1-0"}"#.into(),
            |r| *r == OwnerNotAllowed,
        ),
        (
            r#"{"kind":"save_acl","target":"%ProgramData%\\Microsoft\\Crypto\\RSA\\MachineKeys\\f686aace6942fb7f7ceb231212eef4a4_*"}"#.into(),
            |r| *r == TargetNotAllowed,
        ),
    ];
    for (json, expected) in cases {
        let got = reason(&json);
        assert!(expected(&got), "{json}\n  gave {got:?}");
    }
}

#[test]
fn allowlist_ignores_ascii_case_like_windows() {
    let step: Step = serde_json::from_str(
        r#"{"kind":"delete_registry_value","target":{"key":"hklm\\system\\currentcontrolset\\control\\terminal server\\winstations\\rdp-tcp","value":"sslcertificatesha1hash"}}"#,
    )
    .unwrap();
    assert_eq!(
        check_step(0, &step).unwrap(),
        AllowedStep::DeleteRegistryValue {
            value: RegistryValue::SslCertificateSha1Hash,
            expect: RegistryExpect::Any
        }
    );
}

#[test]
fn allowlist_error_names_the_step_and_escapes_the_target() {
    let step = Step::RestartService {
        target: "gpsvc\r\n<script>".into(),
    };
    let message = check_step(4, &step).unwrap_err().to_string();
    assert!(
        message.starts_with("step 5 (restart_service) is not allowed"),
        "{message}"
    );
    assert!(
        !message.contains('\r') && !message.contains('\n'),
        "{message}"
    );
    assert!(message.contains(r"\u{d}\u{a}"), "{message}");
}

#[test]
fn labels_follow_the_scenarios_facts() {
    let restart_term = AllowedStep::RestartService {
        service: RdpService::TermService,
    }
    .labels();
    assert!(restart_term.drops_rdp_sessions);
    assert_eq!(restart_term.reversibility, Reversibility::Transient);

    let restart_env = AllowedStep::RestartService {
        service: RdpService::SessionEnv,
    }
    .labels();
    assert!(!restart_env.drops_rdp_sessions);

    let cert = AllowedStep::ExportDeleteCertificates {
        store: CertStore::RemoteDesktop,
        expect: CertificateExpect::Any,
    }
    .labels();
    assert_eq!(cert.reversibility, Reversibility::Regenerable);

    let broker = AllowedStep::Manual {
        action: ManualAction::ReinstallConnectionBroker,
    }
    .labels();
    assert!(broker.manual && broker.destructive && broker.needs_reboot);
    assert_eq!(broker.reversibility, Reversibility::Irreversible);

    let tls = AllowedStep::EnableTlsServerProtocol {
        protocol: TlsProtocol::Tls12,
    }
    .labels();
    assert!(tls.needs_reboot);
    assert!(
        tls.caveats
            .contains(&analyzer::plan::Caveat::GroupPolicyMayRevert)
    );

    let grant = AllowedStep::GrantAccess {
        target: AclTarget::RdpKeyFiles,
        grants: vec![Grant {
            sid: Sid::NetworkService,
            rights: Rights::Read,
        }],
    }
    .labels();
    assert_eq!(grant.reversibility, Reversibility::Reversible);
    assert!(
        grant
            .caveats
            .contains(&analyzer::plan::Caveat::MachineKeysGuidanceConflicts)
    );

    let query = AllowedStep::QueryRegistryValue {
        value: RegistryValue::SslCertificateSha1Hash,
    }
    .labels();
    assert_eq!(query.reversibility, Reversibility::ReadOnly);
    assert!(!query.drops_rdp_sessions && !query.needs_reboot);

    // Only manual steps are ever labelled irreversible or destructive: the fixer executes
    // nothing it cannot undo or regenerate.
    for step in every_allowed_step() {
        let labels = step.labels();
        if !labels.manual {
            assert!(
                labels.reversibility < Reversibility::Irreversible,
                "{step:?}"
            );
            assert!(!labels.destructive, "{step:?}");
        }
    }
}

#[test]
fn service_accounts_are_the_scm_names() {
    assert_eq!(
        ServiceAccount::NetworkService.as_sc(),
        r"NT AUTHORITY\NetworkService"
    );
    assert_eq!(
        RdpService::TermService.default_account(),
        ServiceAccount::NetworkService
    );
}

#[test]
fn binary_data_is_bounded_and_hex() {
    assert!(serde_json::from_str::<RegistryData>(r#"{"type":"binary","data":"0g"}"#).is_err());
    assert!(serde_json::from_str::<RegistryData>(r#"{"type":"binary","data":"abc"}"#).is_err());
    let long = format!(
        r#"{{"type":"binary","data":"{}"}}"#,
        "00".repeat(HexBytes::MAX + 1)
    );
    assert!(serde_json::from_str::<RegistryData>(&long).is_err());
    let ok: RegistryData = serde_json::from_str(r#"{"type":"binary","data":"0aFF"}"#).unwrap();
    assert_eq!(
        serde_json::to_string(&ok).unwrap(),
        r#"{"type":"binary","data":"0AFF"}"#
    );
    assert!(serde_json::from_str::<RegistryTarget>(r#"{"key":"a"}"#).is_err());
}
