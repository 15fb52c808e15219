//! The allowlist: the only targets and changes a plan may carry, and the check that turns a
//! [`Step`] (text, as signed) into an [`AllowedStep`] (typed, executable).
//!
//! The page runs the same check before it signs, so it never signs a plan the fixer would
//! refuse. Targets match their canonical spelling exactly, ignoring ASCII case only (as
//! Windows does for these ASCII names); anything else — `..\`, another hive, another
//! service, a Unicode look-alike, a trailing space — is rejected with the reason.

use super::step::{
    CertificateExpect, Expect, Grant, LogonRight, ManualAction, RegistryData, RegistryExpect,
    RegistryTarget, ServiceAccount, Sid, StartType, Step, StepKind,
};
use super::target::{
    AccountSid, AclTarget, CertStore, FirewallRule, LocalGroup, RdpService, RegistryValue,
    SidError, TlsProtocol,
};
use serde::Serialize;
use std::fmt;
use thiserror::Error;

/// A step whose kind, target and desired state are on the allowlist, with typed targets.
/// The fixer executes only this form; labels and the PowerShell preview derive from it.
/// In JSON it is its [`Step`], checked again whenever it is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(into = "Step", try_from = "Step")]
pub enum AllowedStep {
    SaveAcl {
        target: AclTarget,
    },
    TakeOwnership {
        target: AclTarget,
        owner: Sid,
    },
    GrantAccess {
        target: AclTarget,
        grants: Vec<Grant>,
    },
    ExportDeleteCertificates {
        store: CertStore,
        expect: CertificateExpect,
    },
    RestartService {
        service: RdpService,
    },
    SetServiceStart {
        service: RdpService,
        desired: StartType,
        expect: Expect<StartType>,
    },
    SetServiceAccount {
        service: RdpService,
        desired: ServiceAccount,
        expect: Expect<ServiceAccount>,
    },
    QueryRegistryValue {
        value: RegistryValue,
    },
    SetRegistryValue {
        value: RegistryValue,
        desired: RegistryData,
        expect: RegistryExpect,
    },
    DeleteRegistryValue {
        value: RegistryValue,
        expect: RegistryExpect,
    },
    EnableTlsServerProtocol {
        protocol: TlsProtocol,
    },
    StartService {
        service: RdpService,
    },
    AddGroupMember {
        group: LocalGroup,
        member: AccountSid,
    },
    GrantLogonRight {
        sid: AccountSid,
        right: LogonRight,
    },
    RevokeLogonRight {
        sid: AccountSid,
        right: LogonRight,
    },
    EnableFirewallRule {
        rule: FirewallRule,
    },
    Manual {
        action: ManualAction,
    },
}

impl From<AllowedStep> for Step {
    fn from(step: AllowedStep) -> Step {
        step.to_step()
    }
}

impl TryFrom<Step> for AllowedStep {
    type Error = AllowlistError;

    fn try_from(step: Step) -> Result<AllowedStep, AllowlistError> {
        check_step(0, &step)
    }
}

impl AllowedStep {
    pub fn kind(&self) -> StepKind {
        match self {
            AllowedStep::SaveAcl { .. } => StepKind::SaveAcl,
            AllowedStep::TakeOwnership { .. } => StepKind::TakeOwnership,
            AllowedStep::GrantAccess { .. } => StepKind::GrantAccess,
            AllowedStep::ExportDeleteCertificates { .. } => StepKind::ExportDeleteCertificates,
            AllowedStep::RestartService { .. } => StepKind::RestartService,
            AllowedStep::SetServiceStart { .. } => StepKind::SetServiceStart,
            AllowedStep::SetServiceAccount { .. } => StepKind::SetServiceAccount,
            AllowedStep::QueryRegistryValue { .. } => StepKind::QueryRegistryValue,
            AllowedStep::SetRegistryValue { .. } => StepKind::SetRegistryValue,
            AllowedStep::DeleteRegistryValue { .. } => StepKind::DeleteRegistryValue,
            AllowedStep::EnableTlsServerProtocol { .. } => StepKind::EnableTlsServerProtocol,
            AllowedStep::StartService { .. } => StepKind::StartService,
            AllowedStep::AddGroupMember { .. } => StepKind::AddGroupMember,
            AllowedStep::GrantLogonRight { .. } => StepKind::GrantLogonRight,
            AllowedStep::RevokeLogonRight { .. } => StepKind::RevokeLogonRight,
            AllowedStep::EnableFirewallRule { .. } => StepKind::EnableFirewallRule,
            AllowedStep::Manual { .. } => StepKind::Manual,
        }
    }

    /// The step in its canonical text form (what a plan built by rdpfix carries).
    pub fn to_step(&self) -> Step {
        match self {
            AllowedStep::SaveAcl { target } => Step::SaveAcl {
                target: target.path().to_owned(),
            },
            AllowedStep::TakeOwnership { target, owner } => Step::TakeOwnership {
                target: target.path().to_owned(),
                desired: *owner,
            },
            AllowedStep::GrantAccess { target, grants } => Step::GrantAccess {
                target: target.path().to_owned(),
                desired: grants.clone(),
            },
            AllowedStep::ExportDeleteCertificates { store, expect } => {
                Step::ExportDeleteCertificates {
                    target: store.path().to_owned(),
                    expect: expect.clone(),
                }
            }
            AllowedStep::RestartService { service } => Step::RestartService {
                target: service.name().to_owned(),
            },
            AllowedStep::SetServiceStart {
                service,
                desired,
                expect,
            } => Step::SetServiceStart {
                target: service.name().to_owned(),
                desired: *desired,
                expect: expect.clone(),
            },
            AllowedStep::SetServiceAccount {
                service,
                desired,
                expect,
            } => Step::SetServiceAccount {
                target: service.name().to_owned(),
                desired: *desired,
                expect: expect.clone(),
            },
            AllowedStep::QueryRegistryValue { value } => Step::QueryRegistryValue {
                target: registry_target(*value),
            },
            AllowedStep::SetRegistryValue {
                value,
                desired,
                expect,
            } => Step::SetRegistryValue {
                target: registry_target(*value),
                desired: desired.clone(),
                expect: expect.clone(),
            },
            AllowedStep::DeleteRegistryValue { value, expect } => Step::DeleteRegistryValue {
                target: registry_target(*value),
                expect: expect.clone(),
            },
            AllowedStep::EnableTlsServerProtocol { protocol } => Step::EnableTlsServerProtocol {
                target: protocol.server_key().to_owned(),
            },
            AllowedStep::StartService { service } => Step::StartService {
                target: service.name().to_owned(),
            },
            AllowedStep::AddGroupMember { group, member } => Step::AddGroupMember {
                target: group.sid().to_owned(),
                desired: member.as_str().to_owned(),
            },
            AllowedStep::GrantLogonRight { sid, right } => Step::GrantLogonRight {
                target: sid.as_str().to_owned(),
                desired: *right,
            },
            AllowedStep::RevokeLogonRight { sid, right } => Step::RevokeLogonRight {
                target: sid.as_str().to_owned(),
                desired: *right,
            },
            AllowedStep::EnableFirewallRule { rule } => Step::EnableFirewallRule {
                target: rule.id().to_owned(),
            },
            AllowedStep::Manual { action } => Step::Manual { target: *action },
        }
    }
}

fn registry_target(value: RegistryValue) -> RegistryTarget {
    RegistryTarget {
        key: value.key().to_owned(),
        value: value.name().to_owned(),
    }
}

/// Why a step is not on the allowlist. `index` is 0-based; messages show it 1-based.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("step {} ({kind}) is not allowed: {reason} (target `{target}`)", .index + 1)]
pub struct AllowlistError {
    pub index: usize,
    pub kind: StepKind,
    /// The target as the plan wrote it (escaped for display: control characters shown as
    /// `\u{…}`).
    pub target: EscapedText,
    pub reason: AllowlistReason,
}

/// The specific allowlist violation.
#[derive(Debug, Clone, PartialEq, Eq, Error, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AllowlistReason {
    #[error("the path climbs out of its folder (`..`)")]
    PathTraversal,
    #[error("the path uses `/` or a device prefix; plans use canonical Windows paths only")]
    NonCanonicalPath,
    #[error("it is in another registry hive; plans touch HKLM only")]
    OtherHive,
    #[error("the target is not one a plan may touch with this kind of step")]
    TargetNotAllowed,
    #[error(
        "{0} is not a service a plan may touch (TermService, SessionEnv, UmRdpService, Dhcp, nsi, Netlogon, BFE, MpsSvc)"
    )]
    ServiceNotAllowed(EscapedText),
    #[error("the ownership may only go to Administrators (*S-1-5-32-544)")]
    OwnerNotAllowed,
    #[error("granting {sid} {rights} here is not allowed")]
    GrantNotAllowed { sid: String, rights: String },
    #[error("a grant step needs between 1 and {max} grants, each SID once")]
    GrantCount { max: usize },
    #[error("a plan never disables a Remote Desktop service")]
    StartTypeNotAllowed,
    #[error("the service may only be set to its default account, {0}")]
    AccountNotAllowed(&'static str),
    #[error("{0} is not the value a plan may write here")]
    DataNotAllowed(String),
    #[error("the expected value has the wrong type for this registry value")]
    ExpectWrongType,
    #[error("this registry value may not be deleted")]
    DeleteNotAllowed,
    #[error("a step that lowers security must be optional: the admin chooses it")]
    LowersSecurityNotOptional,
    #[error("a plan may restart only Remote Desktop's own services; it only starts the others")]
    RestartNotAllowed,
    #[error("`{0}` is not a SID in canonical form (S-1-5-21-…; accounts are named by SID only)")]
    NotASid(EscapedText),
    #[error(
        "{0} may not be added to this group: only a named account (S-1-5-21-…-<500 or ≥1000>, or a Microsoft Entra ID account), never everyone, anonymous or a guest"
    )]
    MemberNotAllowed(String),
    #[error(
        "{right} may not be granted to {sid}: only Allow log on through Remote Desktop Services, to Administrators or Remote Desktop Users"
    )]
    RightGrantNotAllowed { sid: String, right: &'static str },
    #[error(
        "{right} may not be revoked from {sid}: only the deny right, from Local account, Administrators, Remote Desktop Users or a named account"
    )]
    RightRevokeNotAllowed { sid: String, right: &'static str },
}

/// Text from a plan, made safe to print: control and non-ASCII characters escaped, cut at
/// 200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscapedText(pub String);

impl EscapedText {
    pub fn new(text: &str) -> EscapedText {
        let mut out = String::new();
        for (n, c) in text.chars().enumerate() {
            if n >= 200 {
                out.push('…');
                break;
            }
            if c.is_ascii_graphic() || c == ' ' {
                out.push(c);
            } else {
                out.push_str(&c.escape_unicode().to_string());
            }
        }
        EscapedText(out)
    }
}

impl fmt::Display for EscapedText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The most grants one step may carry.
pub const MAX_GRANTS: usize = 4;

/// Checks one step against the allowlist. `index` is its position in the plan, for the error.
pub fn check_step(index: usize, step: &Step) -> Result<AllowedStep, AllowlistError> {
    let fail = |reason: AllowlistReason| AllowlistError {
        index,
        kind: step.kind(),
        target: EscapedText::new(&step.target_text()),
        reason,
    };
    match step {
        Step::SaveAcl { target } => match acl_target(target).map_err(fail)? {
            AclTarget::MachineKeysFolder => Ok(AllowedStep::SaveAcl {
                target: AclTarget::MachineKeysFolder,
            }),
            AclTarget::RdpKeyFiles => Err(fail(AllowlistReason::TargetNotAllowed)),
        },
        Step::TakeOwnership { target, desired } => {
            let target = acl_target(target).map_err(fail)?;
            if *desired != Sid::Administrators {
                return Err(fail(AllowlistReason::OwnerNotAllowed));
            }
            Ok(AllowedStep::TakeOwnership {
                target,
                owner: *desired,
            })
        }
        Step::GrantAccess { target, desired } => {
            let target = acl_target(target).map_err(fail)?;
            let mut sids: Vec<Sid> = desired.iter().map(|g| g.sid).collect();
            sids.sort();
            sids.dedup();
            if desired.is_empty() || desired.len() > MAX_GRANTS || sids.len() != desired.len() {
                return Err(fail(AllowlistReason::GrantCount { max: MAX_GRANTS }));
            }
            if let Some(bad) = desired
                .iter()
                .find(|g| !target.allows_grant(g.sid, g.rights))
            {
                return Err(fail(AllowlistReason::GrantNotAllowed {
                    sid: bad.sid.as_icacls().to_owned(),
                    rights: bad.rights.as_icacls().to_owned(),
                }));
            }
            Ok(AllowedStep::GrantAccess {
                target,
                grants: desired.clone(),
            })
        }
        Step::ExportDeleteCertificates { target, expect } => {
            let store = CertStore::RemoteDesktop;
            canonical(target, store.path()).map_err(fail)?;
            Ok(AllowedStep::ExportDeleteCertificates {
                store,
                expect: expect.clone(),
            })
        }
        Step::RestartService { target } => {
            let service = service(target).map_err(fail)?;
            if !service.allows_restart() {
                return Err(fail(AllowlistReason::RestartNotAllowed));
            }
            Ok(AllowedStep::RestartService { service })
        }
        Step::StartService { target } => Ok(AllowedStep::StartService {
            service: service(target).map_err(fail)?,
        }),
        Step::AddGroupMember { target, desired } => {
            let group = LocalGroup::ALL
                .into_iter()
                .find(|g| g.sid() == target)
                .ok_or_else(|| fail(AllowlistReason::TargetNotAllowed))?;
            let member = sid(desired).map_err(fail)?;
            if !group.may_add(&member) {
                return Err(fail(AllowlistReason::MemberNotAllowed(member.to_string())));
            }
            Ok(AllowedStep::AddGroupMember { group, member })
        }
        Step::GrantLogonRight { target, desired } => {
            let sid = sid(target).map_err(fail)?;
            if !desired.may_grant_to(&sid) {
                return Err(fail(AllowlistReason::RightGrantNotAllowed {
                    sid: sid.to_string(),
                    right: desired.as_str(),
                }));
            }
            Ok(AllowedStep::GrantLogonRight {
                sid,
                right: *desired,
            })
        }
        Step::RevokeLogonRight { target, desired } => {
            let sid = sid(target).map_err(fail)?;
            if !desired.may_revoke_from(&sid) {
                return Err(fail(AllowlistReason::RightRevokeNotAllowed {
                    sid: sid.to_string(),
                    right: desired.as_str(),
                }));
            }
            Ok(AllowedStep::RevokeLogonRight {
                sid,
                right: *desired,
            })
        }
        Step::EnableFirewallRule { target } => Ok(AllowedStep::EnableFirewallRule {
            rule: FirewallRule::ALL
                .into_iter()
                .find(|r| matches_canonical(target, r.id()))
                .ok_or_else(|| fail(AllowlistReason::TargetNotAllowed))?,
        }),
        Step::SetServiceStart {
            target,
            desired,
            expect,
        } => {
            let service = service(target).map_err(fail)?;
            if !service.allows_start(*desired) {
                return Err(fail(AllowlistReason::StartTypeNotAllowed));
            }
            Ok(AllowedStep::SetServiceStart {
                service,
                desired: *desired,
                expect: expect.clone(),
            })
        }
        Step::SetServiceAccount {
            target,
            desired,
            expect,
        } => {
            let service = service(target).map_err(fail)?;
            if *desired != service.default_account() {
                return Err(fail(AllowlistReason::AccountNotAllowed(
                    service.default_account().as_sc(),
                )));
            }
            Ok(AllowedStep::SetServiceAccount {
                service,
                desired: *desired,
                expect: expect.clone(),
            })
        }
        Step::QueryRegistryValue { target } => Ok(AllowedStep::QueryRegistryValue {
            value: registry_value(target).map_err(fail)?,
        }),
        Step::SetRegistryValue {
            target,
            desired,
            expect,
        } => {
            let value = registry_value(target).map_err(fail)?;
            if !value.allows_set(desired) {
                return Err(fail(AllowlistReason::DataNotAllowed(desired.to_string())));
            }
            check_expect_type(value, expect).map_err(fail)?;
            Ok(AllowedStep::SetRegistryValue {
                value,
                desired: desired.clone(),
                expect: expect.clone(),
            })
        }
        Step::DeleteRegistryValue { target, expect } => {
            let value = registry_value(target).map_err(fail)?;
            if !value.allows_delete() {
                return Err(fail(AllowlistReason::DeleteNotAllowed));
            }
            check_expect_type(value, expect).map_err(fail)?;
            Ok(AllowedStep::DeleteRegistryValue {
                value,
                expect: expect.clone(),
            })
        }
        Step::EnableTlsServerProtocol { target } => {
            let protocol = TlsProtocol::ALL
                .into_iter()
                .find(|p| matches_canonical(target, p.server_key()))
                .ok_or_else(|| fail(classify_registry_escape(target)))?;
            Ok(AllowedStep::EnableTlsServerProtocol { protocol })
        }
        Step::Manual { target } => Ok(AllowedStep::Manual { action: *target }),
    }
}

/// Checks every step; the first violation stops the check.
pub fn check_steps(steps: &[Step]) -> Result<Vec<AllowedStep>, AllowlistError> {
    steps
        .iter()
        .enumerate()
        .map(|(i, step)| check_step(i, step))
        .collect()
}

fn check_expect_type(value: RegistryValue, expect: &RegistryExpect) -> Result<(), AllowlistReason> {
    use super::target::RegistryType;
    match (expect, value.value_type()) {
        (RegistryExpect::Any | RegistryExpect::Absent, _)
        | (RegistryExpect::Equals(RegistryData::Dword(_)), RegistryType::Dword)
        | (RegistryExpect::Equals(RegistryData::Binary(_)), RegistryType::Binary) => Ok(()),
        _ => Err(AllowlistReason::ExpectWrongType),
    }
}

fn acl_target(text: &str) -> Result<AclTarget, AllowlistReason> {
    AclTarget::ALL
        .into_iter()
        .find(|t| matches_canonical(text, t.path()))
        .ok_or_else(|| classify_path_escape(text))
}

fn service(text: &str) -> Result<RdpService, AllowlistReason> {
    RdpService::ALL
        .into_iter()
        .find(|s| matches_canonical(text, s.name()))
        .ok_or_else(|| AllowlistReason::ServiceNotAllowed(EscapedText::new(text)))
}

/// A SID in canonical form; SIDs are compared exactly (no case to ignore but the `S`,
/// which must be upper-case).
fn sid(text: &str) -> Result<AccountSid, AllowlistReason> {
    AccountSid::parse(text).map_err(|_: SidError| AllowlistReason::NotASid(EscapedText::new(text)))
}

fn registry_value(target: &RegistryTarget) -> Result<RegistryValue, AllowlistReason> {
    RegistryValue::ALL
        .into_iter()
        .find(|v| {
            matches_canonical(&target.key, v.key()) && matches_canonical(&target.value, v.name())
        })
        .ok_or_else(|| {
            // The value name is a single component: a backslash in it is an escape attempt.
            if target.value.contains('\\') || target.value.contains("..") {
                AllowlistReason::PathTraversal
            } else {
                classify_registry_escape(&target.key)
            }
        })
}

fn canonical(text: &str, canonical: &str) -> Result<(), AllowlistReason> {
    if matches_canonical(text, canonical) {
        Ok(())
    } else {
        Err(classify_path_escape(text))
    }
}

/// Exact match ignoring ASCII case. Nothing is normalised: `a\\b`, `a\.\b`, trailing spaces
/// or dots do not match.
fn matches_canonical(text: &str, canonical: &str) -> bool {
    text.eq_ignore_ascii_case(canonical)
}

fn has_traversal(text: &str) -> bool {
    text.split(['\\', '/']).any(|part| part.trim() == "..")
}

fn classify_path_escape(text: &str) -> AllowlistReason {
    if has_traversal(text) {
        AllowlistReason::PathTraversal
    } else if text.contains('/') || text.starts_with(r"\\") || text.contains(r"\??\") {
        AllowlistReason::NonCanonicalPath
    } else {
        AllowlistReason::TargetNotAllowed
    }
}

fn classify_registry_escape(key: &str) -> AllowlistReason {
    let upper = key.to_ascii_uppercase();
    let hive = upper.split('\\').next().unwrap_or_default();
    if has_traversal(key) {
        AllowlistReason::PathTraversal
    } else if hive == "HKEY_LOCAL_MACHINE" || key.contains('/') {
        AllowlistReason::NonCanonicalPath
    } else if hive != "HKLM" {
        AllowlistReason::OtherHive
    } else {
        AllowlistReason::TargetNotAllowed
    }
}
