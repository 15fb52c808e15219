//! The step model: what the catalog (TOML) and a payload (JSON) may say, and what the
//! allowlist lets through.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use analyzer::plan::{
    AccountSid, AclTarget, AllowedStep, AllowlistReason, CertStore, CertificateExpect, Expect,
    FirewallRule, Grant, HexBytes, LocalGroup, LogonRight, ManualAction, RdpService, RegistryData,
    RegistryExpect, RegistryTarget, RegistryValue, RemediationStep, Reversibility, Rights,
    ServiceAccount, Sid, SidError, StartType, Step, StepKind, Thumbprint, TlsProtocol, check_step,
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
        grants: testkit::plans::key_file_grants(),
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
        if service.allows_restart() {
            steps.push(AllowedStep::RestartService { service });
        }
        steps.push(AllowedStep::StartService { service });
        steps.push(AllowedStep::SetServiceStart {
            service,
            desired: StartType::Automatic,
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
    for value in [
        RegistryValue::UserAuthentication,
        RegistryValue::SecurityLayer,
    ] {
        steps.push(AllowedStep::SetRegistryValue {
            value,
            desired: RegistryData::Dword(0),
            expect: RegistryExpect::Any,
        });
    }
    for protocol in TlsProtocol::ALL {
        steps.push(AllowedStep::EnableTlsServerProtocol { protocol });
    }
    for member in [
        "S-1-5-21-1-2-3-1001",
        "S-1-5-21-1-2-3-500",
        "S-1-12-1-1-2-3-4",
    ] {
        steps.push(AllowedStep::AddGroupMember {
            group: LocalGroup::RemoteDesktopUsers,
            member: AccountSid::parse(member).unwrap(),
        });
    }
    for sid in ["S-1-5-32-544", "S-1-5-32-555"] {
        steps.push(AllowedStep::GrantLogonRight {
            sid: AccountSid::parse(sid).unwrap(),
            right: LogonRight::RemoteInteractive,
        });
    }
    for sid in [
        "S-1-5-113",
        "S-1-5-114",
        "S-1-5-32-544",
        "S-1-5-32-555",
        "S-1-5-21-1-2-3-1001",
    ] {
        steps.push(AllowedStep::RevokeLogonRight {
            sid: AccountSid::parse(sid).unwrap(),
            right: LogonRight::DenyRemoteInteractive,
        });
    }
    for rule in FirewallRule::ALL {
        steps.push(AllowedStep::EnableFirewallRule { rule });
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
            format!(r#"{{"kind":"set_registry_value","target":{{"key":"{rdp_tcp}","value":"fAllowSecProtocolNegotiation"}},"desired":{{"type":"dword","data":1}}}}"#),
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

/// Every SID a step of the new kinds may name, and what it may not: the allowlist is the
/// list in SECURITY.md ("Who may be named").
#[test]
fn accounts_are_named_by_canonical_sid_and_never_widen_to_everyone_or_guests() {
    use AllowlistReason::*;
    let member = |sid: &str| {
        format!(r#"{{"kind":"add_group_member","target":"S-1-5-32-555","desired":"{sid}"}}"#)
    };
    let grant = |sid: &str| {
        format!(
            r#"{{"kind":"grant_logon_right","target":"{sid}","desired":"SeRemoteInteractiveLogonRight"}}"#
        )
    };
    let revoke = |sid: &str| {
        format!(
            r#"{{"kind":"revoke_logon_right","target":"{sid}","desired":"SeDenyRemoteInteractiveLogonRight"}}"#
        )
    };
    // Everyone, Anonymous, Guests, Users, Authenticated Users, the built-in Guest, Domain
    // Users and Domain Guests: never a member, never granted, never freed of a deny.
    for wide in [
        "S-1-1-0",
        "S-1-5-7",
        "S-1-5-32-546",
        "S-1-5-32-545",
        "S-1-5-11",
        "S-1-5-21-1-2-3-501",
        "S-1-5-21-1-2-3-513",
        "S-1-5-21-1-2-3-514",
    ] {
        assert!(
            matches!(reason(&member(wide)), MemberNotAllowed(_)),
            "{wide}"
        );
        assert!(
            matches!(reason(&grant(wide)), RightGrantNotAllowed { .. }),
            "{wide}"
        );
        assert!(
            matches!(reason(&revoke(wide)), RightRevokeNotAllowed { .. }),
            "{wide}"
        );
    }
    // A grant goes to the two groups only; an account joins Remote Desktop Users instead.
    assert!(matches!(
        reason(&grant("S-1-5-21-1-2-3-1001")),
        RightGrantNotAllowed { .. }
    ));
    // Groups are not members; the right kinds are not swapped.
    assert!(matches!(
        reason(&member("S-1-5-32-544")),
        MemberNotAllowed(_)
    ));
    assert!(matches!(
        reason(
            r#"{"kind":"grant_logon_right","target":"S-1-5-32-555","desired":"SeDenyRemoteInteractiveLogonRight"}"#
        ),
        RightGrantNotAllowed { .. }
    ));
    assert!(matches!(
        reason(
            r#"{"kind":"revoke_logon_right","target":"S-1-5-32-555","desired":"SeRemoteInteractiveLogonRight"}"#
        ),
        RightRevokeNotAllowed { .. }
    ));
    // Another group than Remote Desktop Users: Administrators.
    assert_eq!(
        reason(
            r#"{"kind":"add_group_member","target":"S-1-5-32-544","desired":"S-1-5-21-1-2-3-1001"}"#
        ),
        TargetNotAllowed
    );
    // Not canonical: lower-case s, leading zeros, names, spaces, too many parts.
    for text in [
        "s-1-5-21-1-2-3-1001",
        "S-1-5-21-1-2-3-01001",
        "S-1-05-21-1-2-3-1001",
        "CONTOSO\\\\alice",
        " S-1-5-21-1-2-3-1001",
        "S-1-5-21-1-2-3-1001 ",
        "S-1-5",
        "S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16",
        "S-1-5-21-1-2-3-4294967296",
        "*S-1-5-21-1-2-3-1001",
    ] {
        assert!(matches!(reason(&member(text)), NotASid(_)), "{text}");
    }
}

#[test]
fn a_sid_parses_only_in_its_canonical_form() {
    assert_eq!(
        AccountSid::parse("S-1-5-32-555").unwrap().sub_authorities(),
        [32, 555]
    );
    assert_eq!(
        AccountSid::parse("s-1-5-32-555"),
        Err(SidError::NotCanonical)
    );
    assert_eq!(AccountSid::parse("S-1-5-032"), Err(SidError::NotCanonical));
    assert_eq!(AccountSid::parse("S-2-5-32"), Err(SidError::Syntax));
    assert_eq!(
        AccountSid::parse("S-1-281474976710656-1"),
        Err(SidError::NotCanonical)
    );
    assert!(AccountSid::parse("S-1-281474976710655-1").is_ok());
    assert_eq!(AccountSid::parse("S-1--5"), Err(SidError::Syntax));
    assert_eq!(AccountSid::parse("S-1-+5-1"), Err(SidError::Syntax));
}

proptest::proptest! {
    /// Any text: no panic, and accepted only if it is exactly the canonical rendering of
    /// the numbers it holds.
    #[test]
    fn sid_parsing_accepts_exactly_canonical_text(text in "\\PC{0,60}|S-1-[0-9]{1,16}(-[0-9]{1,11}){0,17}") {
        if let Ok(sid) = AccountSid::parse(&text) {
            let mut canonical = format!("S-1-{}", text.split('-').nth(2).unwrap().parse::<u64>().unwrap());
            for sub in sid.sub_authorities() {
                canonical.push_str(&format!("-{sub}"));
            }
            proptest::prop_assert_eq!(canonical, text);
        }
    }

    /// Canonical SIDs built from numbers always parse back to those numbers.
    #[test]
    fn canonical_sids_round_trip(authority in 0u64..(1 << 48), subs in proptest::collection::vec(proptest::num::u32::ANY, 1..=15)) {
        let text = format!("S-1-{authority}{}", subs.iter().map(|s| format!("-{s}")).collect::<String>());
        let sid = AccountSid::parse(&text).unwrap();
        proptest::prop_assert_eq!(sid.sub_authorities(), subs.as_slice());
        proptest::prop_assert_eq!(sid.as_str(), text.as_str());
    }
}

#[test]
fn listener_values_go_back_to_their_defaults_only_and_security_only_down_to_zero() {
    use AllowlistReason::*;
    let set = |name: &str, data: u32| {
        format!(
            r#"{{"kind":"set_registry_value","target":{{"key":"HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp","value":"{name}"}},"desired":{{"type":"dword","data":{data}}}}}"#
        )
    };
    let ok = |json: &str| check_step(0, &serde_json::from_str::<Step>(json).unwrap()).is_ok();
    assert!(ok(&set("PortNumber", 3389)));
    assert!(matches!(
        reason(&set("PortNumber", 3390)),
        DataNotAllowed(_)
    ));
    assert!(ok(&set("LanAdapter", 0)));
    assert!(matches!(reason(&set("LanAdapter", 1)), DataNotAllowed(_)));
    assert!(ok(&set("MaxInstanceCount", u32::MAX)));
    assert!(matches!(
        reason(&set("MaxInstanceCount", 2)),
        DataNotAllowed(_)
    ));
    // NLA and the security layer: only lowered to 0, never "reset" to a disputed default,
    // never raised by a plan (that would lock out the client the admin is using).
    assert!(ok(&set("UserAuthentication", 0)));
    assert!(matches!(
        reason(&set("UserAuthentication", 1)),
        DataNotAllowed(_)
    ));
    assert!(ok(&set("SecurityLayer", 0)));
    for layer in [1, 2] {
        assert!(matches!(
            reason(&set("SecurityLayer", layer)),
            DataNotAllowed(_)
        ));
    }
    // The policy key's fDenyTSConnections, to 0 only; no other policy value.
    let policy = |name: &str, data: u32| {
        format!(
            r#"{{"kind":"set_registry_value","target":{{"key":"HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services","value":"{name}"}},"desired":{{"type":"dword","data":{data}}}}}"#
        )
    };
    assert!(ok(&policy("fDenyTSConnections", 0)));
    assert!(matches!(
        reason(&policy("fDenyTSConnections", 1)),
        DataNotAllowed(_)
    ));
    assert_eq!(reason(&policy("UserAuthentication", 0)), TargetNotAllowed);
}

#[test]
fn network_services_are_started_never_restarted_nor_set_to_manual() {
    use AllowlistReason::*;
    for name in ["Dhcp", "nsi", "BFE", "MpsSvc", "Netlogon"] {
        assert_eq!(
            reason(&format!(
                r#"{{"kind":"restart_service","target":"{name}"}}"#
            )),
            RestartNotAllowed,
            "{name}"
        );
        let start: Step =
            serde_json::from_str(&format!(r#"{{"kind":"start_service","target":"{name}"}}"#))
                .unwrap();
        assert!(check_step(0, &start).is_ok(), "{name}");
        assert_eq!(
            reason(&format!(
                r#"{{"kind":"set_service_start","target":"{name}","desired":"disabled"}}"#
            )),
            StartTypeNotAllowed
        );
    }
    for name in ["Dhcp", "nsi", "BFE", "MpsSvc"] {
        assert_eq!(
            reason(&format!(
                r#"{{"kind":"set_service_start","target":"{name}","desired":"manual"}}"#
            )),
            StartTypeNotAllowed,
            "{name}"
        );
    }
    assert!(matches!(
        reason(r#"{"kind":"start_service","target":"Dnscache"}"#),
        ServiceNotAllowed(_)
    ));
    assert_eq!(
        reason(r#"{"kind":"set_service_account","target":"Dhcp","desired":"local_system"}"#),
        AccountNotAllowed(r"NT AUTHORITY\LocalService")
    );
}

#[test]
fn firewall_rules_are_named_by_rule_id_only() {
    use AllowlistReason::*;
    assert!(
        check_step(
            0,
            &serde_json::from_str(
                r#"{"kind":"enable_firewall_rule","target":"remotedesktop-usermode-in-tcp"}"#
            )
            .unwrap()
        )
        .is_ok()
    );
    for target in [
        "Remote Desktop - User Mode (TCP-In)",
        "RemoteDesktop-UserMode-In-TCP ",
        "FPS-SMB-In-TCP",
        "RemoteDesktop-*",
    ] {
        assert_eq!(
            reason(&format!(
                r#"{{"kind":"enable_firewall_rule","target":"{target}"}}"#
            )),
            TargetNotAllowed,
            "{target}"
        );
    }
}

/// Lowering NLA or the security layer is labelled "lowers security, temporary", and the
/// catalog may offer it only as an optional step.
#[test]
fn lowering_security_is_labelled_and_only_ever_optional() {
    let lower = AllowedStep::SetRegistryValue {
        value: RegistryValue::UserAuthentication,
        desired: RegistryData::Dword(0),
        expect: RegistryExpect::Any,
    };
    let labels = lower.labels();
    assert!(labels.lowers_security);
    assert!(labels.tags().contains(&"lowers security, temporary"));
    assert_eq!(labels.reversibility, Reversibility::Reversible);
    let entry = |optional| RemediationStep {
        step: lower.to_step(),
        optional,
        why: "NLA fails".into(),
    };
    assert!(entry(true).check(0).is_ok());
    assert_eq!(
        entry(false).check(0).unwrap_err().reason,
        AllowlistReason::LowersSecurityNotOptional
    );
    // Nothing else lowers security.
    for step in every_allowed_step() {
        let is_lowering = matches!(
            &step,
            AllowedStep::SetRegistryValue {
                value: RegistryValue::UserAuthentication | RegistryValue::SecurityLayer,
                ..
            }
        );
        assert_eq!(step.labels().lowers_security, is_lowering, "{step:?}");
    }
}

/// With a configuration snapshot that shows a value under the policy key, the plan offers
/// the Group Policy step instead of a local change that would be reverted or overridden.
#[test]
fn a_value_held_by_policy_becomes_the_manual_group_policy_step() {
    use analyzer::plan::Proposal;
    let steps = [
        RemediationStep {
            step: AllowedStep::SetRegistryValue {
                value: RegistryValue::DenyTsConnections,
                desired: RegistryData::Dword(0),
                expect: RegistryExpect::Any,
            }
            .to_step(),
            optional: false,
            why: "RDP is disabled".into(),
        },
        RemediationStep {
            step: AllowedStep::SetRegistryValue {
                value: RegistryValue::PolicyDenyTsConnections,
                desired: RegistryData::Dword(0),
                expect: RegistryExpect::Any,
            }
            .to_step(),
            optional: false,
            why: "RDP is disabled by policy".into(),
        },
        RemediationStep {
            step: AllowedStep::SetRegistryValue {
                value: RegistryValue::PortNumber,
                desired: RegistryData::Dword(3389),
                expect: RegistryExpect::Any,
            }
            .to_step(),
            optional: false,
            why: "port moved".into(),
        },
    ];
    let fresh = || Proposal::from_findings([("rdp-logons-disabled", &steps[..])]).unwrap();
    // No snapshot, or one whose policy key holds nothing: the steps stay.
    let mut none = fresh();
    assert_eq!(none.defer_to_policy(&[]), 0);
    assert_eq!(none, fresh());
    let mut held = fresh();
    // The local value is replaced; the step on the policy key itself stays.
    assert_eq!(held.defer_to_policy(&["fdenytsconnections"]), 1);
    let kinds: Vec<AllowedStep> = held.steps().iter().map(|s| s.step.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            steps[1].check(0).unwrap(),
            steps[2].check(0).unwrap(),
            AllowedStep::Manual {
                action: ManualAction::ReviewRemoteDesktopGroupPolicy
            }
        ]
    );
    let manual = &held.steps()[2];
    assert!(!manual.optional);
    assert!(
        manual
            .why
            .iter()
            .all(|w| w.contains("Group Policy holds it")),
        "{:?}",
        manual.why
    );
}

proptest::proptest! {
    /// Any text in the new kinds' targets: the allowlist never panics, and what it lets
    /// through is written back exactly as it came (one spelling per account and rule).
    #[test]
    fn the_new_kinds_admit_only_their_canonical_text(
        target in "\\PC{0,40}|S-1-5-(21|32|113|114|11|7)(-[0-9]{1,10}){0,5}",
        desired in "\\PC{0,40}|S-1-5-21(-[0-9]{1,10}){3,4}|S-1-12-1(-[0-9]{1,10}){4}",
        rule in "\\PC{0,30}|RemoteDesktop-(UserMode|Shadow)-In-(TCP|UDP|tcp)",
    ) {
        let steps = [
            Step::AddGroupMember { target: "S-1-5-32-555".into(), desired: desired.clone() },
            Step::AddGroupMember { target: target.clone(), desired: desired.clone() },
            Step::GrantLogonRight { target: target.clone(), desired: LogonRight::RemoteInteractive },
            Step::RevokeLogonRight { target: target.clone(), desired: LogonRight::DenyRemoteInteractive },
            Step::EnableFirewallRule { target: rule.clone() },
        ];
        for step in &steps {
            if let Ok(allowed) = check_step(0, step) {
                let back = allowed.to_step();
                match (step, &back) {
                    (Step::EnableFirewallRule { target: a }, Step::EnableFirewallRule { target: b }) => {
                        proptest::prop_assert!(a.eq_ignore_ascii_case(b));
                    }
                    _ => proptest::prop_assert_eq!(step, &back),
                }
            }
        }
    }
}
