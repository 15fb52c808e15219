//! The plan's typed step as the host's operation: [`Op::from_step`], one exhaustive
//! `match` over [`AllowedStep`] (a new step kind does not compile until it is handled
//! here), and the plan's values in the host's terms.

use super::{Op, rights_mask};
use crate::host::{RegValue, StartType};
use analyzer::plan::{
    AllowedStep, CertificateExpect, Expect, RegistryData, RegistryExpect, ServiceAccount,
};

fn start_type(s: analyzer::plan::StartType) -> StartType {
    match s {
        analyzer::plan::StartType::Automatic => StartType::Auto,
        analyzer::plan::StartType::Manual => StartType::Demand,
        analyzer::plan::StartType::Disabled => StartType::Disabled,
    }
}

fn reg_value(d: &RegistryData) -> RegValue {
    match d {
        RegistryData::Dword(n) => RegValue::dword(*n),
        RegistryData::Binary(b) => RegValue::binary(b.as_bytes().to_vec()),
    }
}

fn account_text(a: ServiceAccount) -> String {
    a.as_sc().to_owned()
}

fn registry_expect(name: &str, e: &RegistryExpect) -> Option<(String, Option<RegValue>)> {
    match e {
        RegistryExpect::Any => None,
        RegistryExpect::Absent => Some((name.to_owned(), None)),
        RegistryExpect::Equals(d) => Some((name.to_owned(), Some(reg_value(d)))),
    }
}

fn subkey(key: &str) -> String {
    key.trim_start_matches(r"HKLM\").to_owned()
}

impl Op {
    /// The host operation for an allowlisted step.
    pub fn from_step(step: &AllowedStep) -> Op {
        match step {
            AllowedStep::SaveAcl { target } => Op::SaveAcl { target: *target },
            AllowedStep::TakeOwnership { target, owner } => Op::Owner {
                target: *target,
                sid: owner.as_sid().to_owned(),
            },
            AllowedStep::GrantAccess { target, grants } => Op::Grant {
                target: *target,
                grants: grants
                    .iter()
                    .map(|g| (g.sid.as_sid().to_owned(), rights_mask(g.rights)))
                    .collect(),
            },
            AllowedStep::ExportDeleteCertificates { store: _, expect } => Op::DeleteCerts {
                expect: match expect {
                    CertificateExpect::Any => None,
                    CertificateExpect::Thumbprint(t) => {
                        Some(t.0.iter().map(|b| format!("{b:02X}")).collect())
                    }
                },
            },
            AllowedStep::RestartService { service } => Op::Restart {
                service: service.name().to_owned(),
            },
            AllowedStep::SetServiceStart {
                service,
                desired,
                expect,
            } => Op::StartType {
                service: service.name().to_owned(),
                desired: start_type(*desired),
                expect: match expect {
                    Expect::Any => None,
                    Expect::Equals(s) => Some(start_type(*s)),
                },
            },
            AllowedStep::SetServiceAccount {
                service,
                desired,
                expect,
            } => Op::Account {
                service: service.name().to_owned(),
                desired: account_text(*desired),
                expect: match expect {
                    Expect::Any => None,
                    Expect::Equals(a) => Some(account_text(*a)),
                },
            },
            AllowedStep::QueryRegistryValue { value } => Op::QueryRegistry {
                key: value.subkey().to_owned(),
                name: value.name().to_owned(),
            },
            AllowedStep::SetRegistryValue {
                value,
                desired,
                expect,
            } => Op::Registry {
                key: value.subkey().to_owned(),
                values: vec![(value.name().to_owned(), Some(reg_value(desired)))],
                expect: registry_expect(value.name(), expect),
            },
            AllowedStep::DeleteRegistryValue { value, expect } => Op::Registry {
                key: value.subkey().to_owned(),
                values: vec![(value.name().to_owned(), None)],
                expect: registry_expect(value.name(), expect),
            },
            AllowedStep::EnableTlsServerProtocol { protocol } => Op::Registry {
                key: subkey(protocol.server_key()),
                values: vec![
                    ("Enabled".to_owned(), Some(RegValue::dword(1))),
                    ("DisabledByDefault".to_owned(), Some(RegValue::dword(0))),
                ],
                expect: None,
            },
            AllowedStep::StartService { service } => Op::Start {
                service: service.name().to_owned(),
            },
            AllowedStep::AddGroupMember { group, member } => Op::Member {
                group: group.sid().to_owned(),
                member: member.as_str().to_owned(),
            },
            AllowedStep::GrantLogonRight { sid, right } => Op::Right {
                sid: sid.as_str().to_owned(),
                right: right.as_str().to_owned(),
                grant: true,
            },
            AllowedStep::RevokeLogonRight { sid, right } => Op::Right {
                sid: sid.as_str().to_owned(),
                right: right.as_str().to_owned(),
                grant: false,
            },
            AllowedStep::EnableFirewallRule { rule } => Op::Firewall {
                rule: rule.id().to_owned(),
            },
            AllowedStep::Manual { action } => Op::Manual {
                text: action.as_str().replace('_', " "),
            },
        }
    }
}
