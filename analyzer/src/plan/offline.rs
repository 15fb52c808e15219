//! Plans for an OS disk attached to a rescue VM: what each step kind becomes there (its
//! offline form), where a key of the running machine is in the disk's hives, and the
//! proposal for such a disk (the steps with an offline form; the others left out, each with
//! why).
//!
//! The hives are loaded under a mount name of their own ([`OfflineHive::mount`]), so a key
//! the running machine spells `HKLM\SYSTEM\CurrentControlSet\…` is
//! `HKLM\<mount>\ControlSet00N\…` on the disk, with N the control set the plan names
//! ([`OfflineTarget::hive_key`]); `HKLM\SOFTWARE\…` is `HKLM\<mount>\…`.

use super::allowlist::AllowedStep;
use super::build::{Proposal, ProposedStep};
use super::ids::{FindingId, PlanId};
use super::payload::OfflineTarget;
use super::step::ManualAction;
use super::target::{CertStore, RdpService};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A hive of the attached disk a plan may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfflineHive {
    System,
    Software,
}

impl OfflineHive {
    /// Its name, as the file's and the running machine's `HKLM\<name>`.
    pub fn name(self) -> &'static str {
        match self {
            OfflineHive::System => "SYSTEM",
            OfflineHive::Software => "SOFTWARE",
        }
    }

    /// The file below the disk's root: `Windows\System32\config\SYSTEM`.
    pub fn file(self) -> &'static str {
        match self {
            OfflineHive::System => r"Windows\System32\config\SYSTEM",
            OfflineHive::Software => r"Windows\System32\config\SOFTWARE",
        }
    }

    /// The key under `HKLM` the hive is loaded as for the plan `plan_id`:
    /// `rdpfix-<the plan id's first 8 hex digits>-SYSTEM`. Unique to the plan, so it never
    /// meets the rescue VM's own hives or a mount another tool left behind.
    pub fn mount(self, plan_id: &PlanId) -> String {
        let id = plan_id.to_string();
        format!("rdpfix-{}-{}", id.get(..8).unwrap_or(&id), self.name())
    }
}

impl fmt::Display for OfflineHive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

const SYSTEM_CURRENT: &str = r"HKLM\SYSTEM\CurrentControlSet\";
const SOFTWARE: &str = r"HKLM\SOFTWARE\";

impl OfflineTarget {
    /// Where `key`, as the running machine spells it (`HKLM\SYSTEM\CurrentControlSet\…` or
    /// `HKLM\SOFTWARE\…`), is on the disk: its hive and the path below the hive's root
    /// (`ControlSet002\Control\Terminal Server` for control set 2). `None` for any other
    /// key: a plan changes nothing else offline.
    pub fn hive_key(&self, key: &str) -> Option<(OfflineHive, String)> {
        self.place(key, false)
    }

    /// [`OfflineTarget::hive_key`], and also the keys above every key it places, which the
    /// fixer reads to learn which keys on the way a step creates: `HKLM\SYSTEM` and
    /// `HKLM\SOFTWARE` (the hives' roots, path `""`) and `HKLM\SYSTEM\CurrentControlSet`
    /// (`ControlSet00N`). The one rule both follow; any other key is `None`.
    pub fn hive_key_or_above(&self, key: &str) -> Option<(OfflineHive, String)> {
        self.place(key, true)
    }

    fn place(&self, key: &str, above: bool) -> Option<(OfflineHive, String)> {
        let strip = |prefix: &str| {
            key.get(..prefix.len())
                .filter(|head| head.eq_ignore_ascii_case(prefix))
                .and_then(|_| key.get(prefix.len()..))
                .filter(|rest| !rest.is_empty())
        };
        let is = |prefix: &str| above && prefix.trim_end_matches('\\').eq_ignore_ascii_case(key);
        if let Some(rest) = strip(SYSTEM_CURRENT) {
            Some((
                OfflineHive::System,
                format!(r"{}\{rest}", self.control_set_key()),
            ))
        } else if let Some(rest) = strip(SOFTWARE) {
            Some((OfflineHive::Software, rest.to_owned()))
        } else if is(SYSTEM_CURRENT) {
            Some((OfflineHive::System, self.control_set_key()))
        } else if is(r"HKLM\SYSTEM\") {
            Some((OfflineHive::System, String::new()))
        } else if is(SOFTWARE) {
            Some((OfflineHive::Software, String::new()))
        } else {
            None
        }
    }
}

/// What a step is on an attached disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "form", rename_all = "snake_case")]
pub enum OfflineForm {
    /// Values (or, for the certificate, subkeys) of `key` in a hive of the disk, loaded:
    /// `key` as the running machine spells it; [`OfflineTarget::hive_key`] says where it
    /// is in the hive.
    Registry { hive: OfflineHive, key: String },
    /// Files of the disk (`<drive>:\ProgramData\Microsoft\Crypto\RSA\MachineKeys`), their
    /// permissions by well-known SID (the same on the rescue VM as on the disk's Windows).
    DiskFiles,
    /// A manual step: shown as it is, done by the admin.
    Manual,
    /// None: the step is left out of a plan for the disk.
    LeftOut { why: LeftOutWhy },
}

/// Why a step has no offline form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeftOutWhy {
    /// Starting or restarting a service: nothing runs on a disk.
    StartsAtBoot,
    /// Remote Desktop Users and the logon rights live in the SAM and SECURITY hives.
    AccountDatabase,
    /// Firewall rules are not changed offline in this release.
    Firewall,
    /// A service's account is not changed offline in this release.
    ServiceAccount,
    /// Restarting the VM: it starts from the repaired disk when the disk is swapped back.
    BootsAfterSwap,
}

impl LeftOutWhy {
    pub fn text(self) -> &'static str {
        match self {
            LeftOutWhy::StartsAtBoot => {
                "starts at boot: nothing runs on an attached disk; the service starts (or not) \
                 by its start type when the VM boots from the repaired disk"
            }
            LeftOutWhy::AccountDatabase => {
                "group members and logon rights are kept in the disk's SAM and SECURITY hives, \
                 which rdpfix does not edit: do this on the running VM after the swap (Run \
                 Command, or `fixer apply` with a plan for the running VM)"
            }
            LeftOutWhy::Firewall => {
                "firewall rules are not changed on an attached disk in this release: enable \
                 them on the running VM after the swap (Run Command, or `fixer apply` with a \
                 plan for the running VM)"
            }
            LeftOutWhy::ServiceAccount => {
                "a service's account is not changed on an attached disk in this release: \
                 change it on the running VM after the swap"
            }
            LeftOutWhy::BootsAfterSwap => {
                "the VM starts from the repaired disk when `az vm repair restore` swaps it \
                 back: there is nothing to restart"
            }
        }
    }
}

impl fmt::Display for LeftOutWhy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// The key of a service, as the running machine spells it.
pub fn service_key(service: RdpService) -> String {
    format!(r"{SYSTEM_CURRENT}Services\{}", service.name())
}

/// Where the Remote Desktop store's certificates are: one subkey per certificate, named by
/// its thumbprint (`Cert:\LocalMachine\Remote Desktop` is a view over this key).
pub fn certificate_store_key(store: CertStore) -> &'static str {
    match store {
        CertStore::RemoteDesktop => {
            r"HKLM\SOFTWARE\Microsoft\SystemCertificates\Remote Desktop\Certificates"
        }
    }
}

impl AllowedStep {
    /// What the step is on an OS disk attached to a rescue VM (the contract of issue 16):
    /// registry values, TLS protocol keys and a service's start type on the loaded SYSTEM
    /// hive, the policy key and the certificate store on the loaded SOFTWARE hive,
    /// MachineKeys on the disk's files; service starts, group members, logon rights,
    /// firewall rules and service accounts have none.
    pub fn offline(&self) -> OfflineForm {
        let registry = |key: &str| {
            let hive = if key
                .get(..SOFTWARE.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(SOFTWARE))
            {
                OfflineHive::Software
            } else {
                OfflineHive::System
            };
            OfflineForm::Registry {
                hive,
                key: key.to_owned(),
            }
        };
        let left_out = |why| OfflineForm::LeftOut { why };
        match self {
            AllowedStep::SaveAcl { .. }
            | AllowedStep::TakeOwnership { .. }
            | AllowedStep::GrantAccess { .. } => OfflineForm::DiskFiles,
            AllowedStep::QueryRegistryValue { value }
            | AllowedStep::SetRegistryValue { value, .. }
            | AllowedStep::DeleteRegistryValue { value, .. } => registry(value.key()),
            AllowedStep::EnableTlsServerProtocol { protocol } => registry(protocol.server_key()),
            AllowedStep::SetServiceStart { service, .. } => registry(&service_key(*service)),
            AllowedStep::ExportDeleteCertificates { store, .. } => {
                registry(certificate_store_key(*store))
            }
            AllowedStep::StartService { .. } | AllowedStep::RestartService { .. } => {
                left_out(LeftOutWhy::StartsAtBoot)
            }
            AllowedStep::AddGroupMember { .. }
            | AllowedStep::GrantLogonRight { .. }
            | AllowedStep::RevokeLogonRight { .. } => left_out(LeftOutWhy::AccountDatabase),
            AllowedStep::EnableFirewallRule { .. } => left_out(LeftOutWhy::Firewall),
            AllowedStep::SetServiceAccount { .. } => left_out(LeftOutWhy::ServiceAccount),
            AllowedStep::Manual {
                action: ManualAction::RestartComputer,
            } => left_out(LeftOutWhy::BootsAfterSwap),
            AllowedStep::Manual { .. } => OfflineForm::Manual,
        }
    }

    /// Whether a plan for an attached disk may carry the step.
    pub fn has_offline_form(&self) -> bool {
        !matches!(self.offline(), OfflineForm::LeftOut { .. })
    }
}

/// A step of the proposal for the running machine that a plan for the attached disk leaves
/// out, and why: what the page and `fixer plan --offline` show beside the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOutStep {
    pub step: AllowedStep,
    pub why: LeftOutWhy,
    /// The findings that proposed it.
    pub findings: Vec<FindingId>,
}

impl fmt::Display for LeftOutStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.step.kind(),
            self.step.to_step().target_text(),
            self.why
        )
    }
}

impl Proposal {
    /// The proposal for the OS disk attached to a rescue VM: the steps with an offline form
    /// ([`AllowedStep::offline`]), in the same order and with the same choices; the others
    /// in [`Proposal::left_out`], each with why. A plan for an offline target is built only
    /// from such a proposal ([`Proposal::to_plan`] checks both ways).
    pub fn for_offline(&self) -> Proposal {
        let mut out = self.clone();
        if out.offline {
            return out;
        }
        out.offline = true;
        let mut kept: Vec<ProposedStep> = Vec::new();
        for s in std::mem::take(&mut out.steps) {
            match s.step.offline() {
                OfflineForm::LeftOut { why } => out.left_out.push(LeftOutStep {
                    step: s.step,
                    why,
                    findings: s.findings,
                }),
                _ => kept.push(s),
            }
        }
        out.steps = kept;
        out
    }

    /// Whether this is a proposal for an attached disk ([`Proposal::for_offline`]).
    pub fn is_offline(&self) -> bool {
        self.offline
    }

    /// The steps a plan for the attached disk leaves out, with why (empty for the running
    /// machine's proposal).
    pub fn left_out(&self) -> &[LeftOutStep] {
        &self.left_out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::MachineGuid;

    #[test]
    fn the_keys_above_a_place_are_the_hives_roots_and_the_control_set_and_nothing_else() {
        let guid: MachineGuid = "9b1f3c2a-4d5e-4f60-8a7b-0c1d2e3f4a5b"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let target = OfflineTarget::new(guid, 2).unwrap_or_else(|e| panic!("{e}"));
        let above = |k: &str| target.hive_key_or_above(k);
        let sys = |p: &str| Some((OfflineHive::System, p.to_owned()));
        assert_eq!(above(r"HKLM\SYSTEM"), sys(""));
        assert_eq!(
            above(r"hklm\system\currentcontrolset"),
            sys("ControlSet002")
        );
        assert_eq!(
            above(r"HKLM\SOFTWARE"),
            Some((OfflineHive::Software, String::new()))
        );
        // Below them, the one rule of `hive_key`.
        let key = r"HKLM\SYSTEM\CurrentControlSet\Services\Dhcp";
        assert_eq!(above(key), target.hive_key(key));
        assert_eq!(above(key), sys(r"ControlSet002\Services\Dhcp"));
        // Nothing else, and a write never reaches the roots.
        for k in [
            r"HKLM\SYSTEM\Select",
            r"HKLM\SAM",
            r"HKLM",
            r"HKLM\SYSTEMX",
            "",
        ] {
            assert_eq!(above(k), None, "{k}");
        }
        for k in [
            r"HKLM\SYSTEM",
            r"HKLM\SYSTEM\CurrentControlSet",
            r"HKLM\SOFTWARE",
        ] {
            assert_eq!(target.hive_key(k), None, "{k}");
        }
    }
}
