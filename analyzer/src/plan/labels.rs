//! What each step does to the machine, derived by code from the typed step — never read
//! from a payload. The page shows these before signing; the fixer shows them in its
//! dry-run and asks for separate consent for destructive or session-dropping steps.

use super::allowlist::AllowedStep;
use super::step::{ManualAction, StartType};
use super::target::{AccountSid, AclTarget, RdpService, RegistryValue};
use serde::Serialize;
use std::fmt;

/// How far a step's change can be taken back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reversibility {
    /// Changes nothing (reads, or saves a backup).
    ReadOnly,
    /// Leaves no lasting change to undo (a service restart).
    Transient,
    /// The backup restores the previous state exactly.
    Reversible,
    /// Windows recreates an equivalent, not the same thing (the RDP self-signed certificate).
    Regenerable,
    /// Cannot be taken back.
    Irreversible,
}

impl Reversibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Reversibility::ReadOnly => "read-only",
            Reversibility::Transient => "transient",
            Reversibility::Reversible => "reversible",
            Reversibility::Regenerable => "regenerable",
            Reversibility::Irreversible => "irreversible",
        }
    }
}

impl fmt::Display for Reversibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something the admin must know about a step before consenting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Caveat {
    /// Restarting TermService (or the VM) disconnects RDP sessions.
    DropsSessionsOverRdp,
    /// TermService's dependents (UmRdpService) restart with it.
    RestartsDependents,
    /// The deleted certificate comes back as a new one, not the old one.
    CertificateNotRestorable,
    /// Microsoft's articles disagree about MachineKeys permissions.
    MachineKeysGuidanceConflicts,
    /// A domain Group Policy may set this and revert the local change.
    GroupPolicyMayRevert,
    /// Takes effect only after the VM restarts.
    TakesEffectAfterRestart,
    /// Removes configuration that cannot be recovered.
    Destructive,
    /// rdpfix never executes this step.
    NeverExecuted,
    /// Turns off Network Level Authentication or TLS for RDP: a way in, to be undone.
    LowersSecurity,
    /// Lets more accounts log on over RDP than before.
    WidensLogon,
    /// Opens the RDP port in the guest firewall.
    OpensFirewall,
}

impl Caveat {
    pub fn text(self) -> &'static str {
        match self {
            Caveat::DropsSessionsOverRdp => {
                "disconnects every RDP session, including yours if you run the fix over RDP; a fix run through Azure Run Command or Serial Console is not affected"
            }
            Caveat::RestartsDependents => {
                "services that depend on it (UmRdpService) are restarted with it"
            }
            Caveat::CertificateNotRestorable => {
                "Windows creates a new self-signed certificate when SessionEnv restarts; the old one is exported as .cer first, and a rollback puts it back only while its private key is still the one it was made with (Windows may have replaced it with the new one's)"
            }
            Caveat::MachineKeysGuidanceConflicts => {
                "Microsoft's articles disagree: the Azure article grants these rights recursively on every machine key; a Windows Server article gives the folder Administrators Full and Everyone read/write, and the RDP key file SYSTEM Full and NETWORK SERVICE Read only. rdpfix touches only the folder itself and the RDP key files, after saving every ACL"
            }
            Caveat::GroupPolicyMayRevert => {
                "if a domain Group Policy sets this, the local change is reverted at the next policy refresh: change the GPO too"
            }
            Caveat::TakesEffectAfterRestart => "takes effect only after the VM restarts",
            Caveat::Destructive => {
                "destroys configuration that cannot be recovered and needs reboots: needs its own explicit consent"
            }
            Caveat::NeverExecuted => "manual: rdpfix shows it and never executes it",
            Caveat::LowersSecurity => {
                "lowers security, temporary: RDP then accepts connections without Network Level Authentication or TLS; once you are in and the cause is fixed, undo it (fixer rollback <plan id>, or apply with --confirm-within and let the timer roll it back)"
            }
            Caveat::WidensLogon => {
                "lets these accounts log on over RDP; a security baseline (CIS, Microsoft's) may have refused them on purpose"
            }
            Caveat::OpensFirewall => {
                "opens the RDP port in the guest firewall for the profiles the rule covers; the network security group still decides who can reach it"
            }
        }
    }
}

impl fmt::Display for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text())
    }
}

/// The labels of one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Labels {
    pub reversibility: Reversibility,
    pub drops_rdp_sessions: bool,
    pub needs_reboot: bool,
    /// Shown, never executed by the fixer.
    pub manual: bool,
    /// Needs a separate, explicit consent.
    pub destructive: bool,
    /// Turns off a protection (NLA, TLS) to let the admin in: optional, to be undone.
    pub lowers_security: bool,
    pub caveats: Vec<Caveat>,
}

impl Labels {
    /// The labels as the words every view shows them in (the page's tags, the fixer's
    /// `[…]`, the PowerShell preview's comment), most important first. A manual step is
    /// never run by rdpfix, so what running it would do is not said.
    pub fn tags(&self) -> Vec<&'static str> {
        let mut tags = vec![self.reversibility.as_str()];
        if self.manual {
            tags.push("manual, not run");
        } else {
            if self.drops_rdp_sessions {
                tags.push("drops RDP sessions");
            }
            if self.needs_reboot {
                tags.push("needs a reboot");
            }
        }
        if self.destructive {
            tags.push("destructive");
        }
        if self.lowers_security {
            tags.push("lowers security, temporary");
        }
        tags
    }
}

impl AllowedStep {
    /// The step's labels, derived from its kind and typed target.
    pub fn labels(&self) -> Labels {
        let mut labels = Labels {
            reversibility: Reversibility::Reversible,
            drops_rdp_sessions: false,
            needs_reboot: false,
            manual: false,
            destructive: false,
            lowers_security: false,
            caveats: Vec::new(),
        };
        match self {
            AllowedStep::SaveAcl { .. } | AllowedStep::QueryRegistryValue { .. } => {
                labels.reversibility = Reversibility::ReadOnly;
            }
            AllowedStep::TakeOwnership { .. } | AllowedStep::GrantAccess { .. } => {
                labels.caveats.push(Caveat::MachineKeysGuidanceConflicts);
            }
            AllowedStep::ExportDeleteCertificates { .. } => {
                labels.reversibility = Reversibility::Regenerable;
                labels.caveats.push(Caveat::CertificateNotRestorable);
            }
            AllowedStep::RestartService { service } => {
                labels.reversibility = Reversibility::Transient;
                if *service == RdpService::TermService {
                    labels.drops_rdp_sessions = true;
                    labels.caveats.push(Caveat::DropsSessionsOverRdp);
                    labels.caveats.push(Caveat::RestartsDependents);
                }
            }
            AllowedStep::SetServiceStart {
                service, desired, ..
            } => {
                // The Azure article: a policy that disables TermService resets the start type.
                if *service == RdpService::TermService && *desired != StartType::Disabled {
                    labels.caveats.push(Caveat::GroupPolicyMayRevert);
                }
            }
            AllowedStep::SetServiceAccount { .. } | AllowedStep::StartService { .. } => {}
            AllowedStep::SetRegistryValue { value, desired, .. } => {
                registry_labels(&mut labels, *value);
                if value.lowers_security(desired) {
                    labels.lowers_security = true;
                    labels.caveats.push(Caveat::LowersSecurity);
                }
            }
            AllowedStep::DeleteRegistryValue { value, .. } => registry_labels(&mut labels, *value),
            AllowedStep::AddGroupMember { .. }
            | AllowedStep::GrantLogonRight { .. }
            | AllowedStep::RevokeLogonRight { .. } => {
                // Restricted Groups and User Rights Assignment are Group Policy settings.
                labels.caveats.push(Caveat::WidensLogon);
                labels.caveats.push(Caveat::GroupPolicyMayRevert);
            }
            AllowedStep::EnableFirewallRule { .. } => {
                labels.caveats.push(Caveat::OpensFirewall);
                labels.caveats.push(Caveat::GroupPolicyMayRevert);
            }
            AllowedStep::EnableTlsServerProtocol { .. } => {
                // SCHANNEL reads its protocol settings at boot.
                labels.needs_reboot = true;
                labels.caveats.push(Caveat::TakesEffectAfterRestart);
                labels.caveats.push(Caveat::GroupPolicyMayRevert);
            }
            AllowedStep::Manual { action } => {
                labels.manual = true;
                labels.caveats.push(Caveat::NeverExecuted);
                labels.reversibility =
                    match action {
                        ManualAction::ReinstallConnectionBroker
                        | ManualAction::RepairSecureChannel => Reversibility::Irreversible,
                        ManualAction::RestartComputer => Reversibility::Transient,
                        ManualAction::ReviewTlsGroupPolicy
                        | ManualAction::ReviewRemoteDesktopGroupPolicy
                        | ManualAction::ReviewWindowsSetupState
                        | ManualAction::ReviewCredsspPolicy
                        | ManualAction::ReviewFipsPolicy
                        | ManualAction::ReviewDomainCredsPolicy => Reversibility::ReadOnly,
                        ManualAction::ConfigureRdLicensing
                        | ManualAction::RestrictRdpExposure
                        | ManualAction::GrantRemoteDesktopLogon
                        | ManualAction::EnableRdpFirewallRules
                        | ManualAction::FreeRdpPort
                        | ManualAction::ReviewCipherSuitePolicy
                        | ManualAction::RestoreNetworkServices
                        | ManualAction::LeaveSafeMode => Reversibility::Reversible,
                        ManualAction::ResyncClock => Reversibility::Transient,
                        // The old password, and files deleted to free space, are gone.
                        ManualAction::ResetPasswordVmAccess
                        | ManualAction::FreeSystemDriveSpace => Reversibility::Irreversible,
                    };
                if matches!(
                    action,
                    ManualAction::ReinstallConnectionBroker
                        | ManualAction::RestartComputer
                        | ManualAction::LeaveSafeMode
                ) {
                    labels.drops_rdp_sessions = true;
                    labels.needs_reboot = true;
                    labels.caveats.push(Caveat::DropsSessionsOverRdp);
                }
                if *action == ManualAction::ReinstallConnectionBroker {
                    labels.destructive = true;
                    labels.caveats.push(Caveat::Destructive);
                }
            }
        }
        labels
    }

    /// One line saying what the step does, for people (the page, the dry-run, PowerShell
    /// comments). Built from typed data only.
    pub fn summary(&self) -> String {
        match self {
            AllowedStep::SaveAcl { target } => {
                format!("save the owner and permissions of {target} and everything in it")
            }
            AllowedStep::TakeOwnership { target, owner } => format!(
                "make {} ({}) the owner of {}",
                owner.english_name(),
                owner.as_sid(),
                acl_noun(*target)
            ),
            AllowedStep::GrantAccess { target, grants } => {
                let list: Vec<String> = grants
                    .iter()
                    .map(|g| {
                        format!(
                            "{} ({}) {}",
                            g.sid.english_name(),
                            g.sid.as_sid(),
                            rights_noun(g.rights)
                        )
                    })
                    .collect();
                format!("grant {} on {}", list.join(", "), acl_noun(*target))
            }
            AllowedStep::ExportDeleteCertificates { store, expect } => match expect {
                super::step::CertificateExpect::Any => {
                    format!("export then delete the certificates in {store}")
                }
                super::step::CertificateExpect::Thumbprint(t) => {
                    format!("export then delete certificate {t} in {store}")
                }
            },
            AllowedStep::RestartService { service } => {
                format!("restart {} ({service})", service.display_name())
            }
            AllowedStep::SetServiceStart {
                service, desired, ..
            } => format!(
                "set the start type of {service} to {}",
                desired.as_powershell().to_lowercase()
            ),
            AllowedStep::SetServiceAccount {
                service, desired, ..
            } => format!("make {service} log on as {}", desired.as_sc()),
            AllowedStep::QueryRegistryValue { value } => format!("show {value}"),
            AllowedStep::SetRegistryValue { value, desired, .. } => {
                format!("set {value} to {desired}")
            }
            AllowedStep::DeleteRegistryValue { value, .. } => format!("delete {value}"),
            AllowedStep::StartService { service } => format!(
                "start {} ({service}) if it is not running",
                service.display_name()
            ),
            AllowedStep::AddGroupMember { group, member } => {
                format!("add the account {member} to {group}")
            }
            AllowedStep::GrantLogonRight { sid, right } => format!(
                "grant \"{}\" ({right}) to {}",
                right.english_name(),
                sid_noun(sid)
            ),
            AllowedStep::RevokeLogonRight { sid, right } => format!(
                "revoke \"{}\" ({right}) from {}",
                right.english_name(),
                sid_noun(sid)
            ),
            AllowedStep::EnableFirewallRule { rule } => format!(
                "enable the firewall rule {rule} (\"{}\")",
                rule.display_name()
            ),
            AllowedStep::EnableTlsServerProtocol { protocol } => format!(
                "enable {protocol} for servers (Enabled = 1, DisabledByDefault = 0 under {})",
                protocol.server_key()
            ),
            AllowedStep::Manual { action } => match action {
                ManualAction::ReinstallConnectionBroker => {
                    "reinstall the RD Connection Broker role and the Windows Internal Database (manual)".to_owned()
                }
                ManualAction::ReviewTlsGroupPolicy => {
                    "check whether a domain Group Policy disables TLS (manual)".to_owned()
                }
                ManualAction::ReviewRemoteDesktopGroupPolicy => {
                    "check whether a domain Group Policy refuses Remote Desktop connections (manual)".to_owned()
                }
                ManualAction::RepairSecureChannel => {
                    "repair the domain secure channel (manual)".to_owned()
                }
                ManualAction::ConfigureRdLicensing => {
                    "configure Remote Desktop licensing (manual)".to_owned()
                }
                ManualAction::RestrictRdpExposure => {
                    "restrict who can reach RDP from the network (manual)".to_owned()
                }
                ManualAction::RestartComputer => "restart the VM (manual)".to_owned(),
                ManualAction::ResetPasswordVmAccess => {
                    "reset the password through the VM access extension (manual)".to_owned()
                }
                ManualAction::GrantRemoteDesktopLogon => {
                    "allow the user to log on through Remote Desktop (manual)".to_owned()
                }
                ManualAction::ResyncClock => "resynchronise the clock (manual)".to_owned(),
                ManualAction::EnableRdpFirewallRules => {
                    "enable the guest firewall's Remote Desktop rules (manual)".to_owned()
                }
                ManualAction::FreeRdpPort => {
                    "free the RDP port or set it back to 3389 (manual)".to_owned()
                }
                ManualAction::ReviewCipherSuitePolicy => {
                    "check the SSL Cipher Suite Order policy (manual)".to_owned()
                }
                ManualAction::FreeSystemDriveSpace => {
                    "free space on the system drive (manual)".to_owned()
                }
                ManualAction::RestoreNetworkServices => {
                    "start the network services RDP needs (manual)".to_owned()
                }
                ManualAction::LeaveSafeMode => {
                    "remove the safe-mode boot flag and restart the VM (manual)".to_owned()
                }
                ManualAction::ReviewWindowsSetupState => {
                    "check why Windows marks its setup as unfinished (manual)".to_owned()
                }
                ManualAction::ReviewCredsspPolicy => {
                    "check the clients' CredSSP update and the Encryption Oracle Remediation policy (manual)".to_owned()
                }
                ManualAction::ReviewFipsPolicy => {
                    "check whether the VM must accept only FIPS-compliant connections (manual)".to_owned()
                }
                ManualAction::ReviewDomainCredsPolicy => {
                    "check whether the VM must refuse stored domain credentials (disabledomaincreds) (manual)".to_owned()
                }
            },
        }
    }
}

/// A registry step's labels that come from its value alone.
fn registry_labels(labels: &mut Labels, value: RegistryValue) {
    if value_needs_restart(value) {
        labels.needs_reboot = true;
        labels.caveats.push(Caveat::TakesEffectAfterRestart);
    }
    if value.policy_name().is_some() {
        labels.caveats.push(Caveat::GroupPolicyMayRevert);
    }
}

/// A SID with the English name of the well-known groups a plan names.
fn sid_noun(sid: &AccountSid) -> String {
    let name = match sid.as_str() {
        "S-1-5-32-544" => "Administrators",
        "S-1-5-32-555" => "Remote Desktop Users",
        "S-1-5-113" => "Local account",
        "S-1-5-114" => "Local account and member of Administrators group",
        _ => return format!("the account {sid}"),
    };
    format!("{name} ({sid})")
}

/// The articles restart the VM after these changes (Scenario 5's switches, Scenario 10's
/// licensing certificate), and the listener restarts (port, adapter) with TermService or
/// the VM; fDenyTSConnections and the certificate hash apply at once.
fn value_needs_restart(value: RegistryValue) -> bool {
    matches!(
        value,
        RegistryValue::TsEnabled
            | RegistryValue::TsServerDrainMode
            | RegistryValue::TsUserEnabled
            | RegistryValue::EnableWinStation
            | RegistryValue::LogonDisabled
            | RegistryValue::RcmCertificate
            | RegistryValue::RcmX509Certificate
            | RegistryValue::RcmX509CertificateId
            | RegistryValue::RcmX509Certificate2
            | RegistryValue::PortNumber
            | RegistryValue::LanAdapter
    )
}

fn acl_noun(target: AclTarget) -> String {
    match target {
        AclTarget::MachineKeysFolder => format!("the folder {target} (this folder only)"),
        AclTarget::RdpKeyFiles => format!("the RDP key files {target}"),
    }
}

fn rights_noun(rights: super::step::Rights) -> &'static str {
    match rights {
        super::step::Rights::Full => "Full control",
        super::step::Rights::Read => "Read",
        super::step::Rights::ReadWrite => "read/write (the folder's default special rights)",
    }
}
