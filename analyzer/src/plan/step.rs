//! The closed set of remediation step kinds, as written in the rule catalog (TOML) and
//! in a signed plan's payload (JSON).
//!
//! A [`Step`] is what a plan *says*: its target is the literal Windows path or name, so a
//! person reading the payload sees what will be touched. Nothing here is trusted: the
//! [allowlist](super::allowlist) turns a `Step` into an [`AllowedStep`](super::AllowedStep)
//! with typed targets, and only that form is labelled, rendered as PowerShell or executed.
//!
//! Every struct and variant denies unknown fields, so a payload carrying a field this
//! version does not know is rejected instead of silently half-understood.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// One remediation step: a kind, its target, the desired state and the state it expects
/// to find (its precondition). Labels (reversible, drops sessions, needs a reboot) are not
/// part of a step: code derives them from the typed, allowlisted form.
///
/// JSON: `{"kind": "set_registry_value", "target": {...}, "desired": {...}, "expect": ...}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// Save the owner and DACL of a folder and of everything beneath it (`icacls /save /t`),
    /// so any later permission change can be compared and restored. Changes nothing.
    SaveAcl { target: String },
    /// Make `desired` the owner of the target (`takeown /a`): needed when the
    /// Administrators can no longer change a key file's permissions.
    TakeOwnership { target: String, desired: Sid },
    /// Add access control entries, granted by SID (never by a localised account name).
    /// Existing entries are kept.
    GrantAccess { target: String, desired: Vec<Grant> },
    /// Export every certificate of a store to a `.cer` file, then delete it. Windows
    /// creates a new self-signed RDP certificate when SessionEnv restarts; the old private
    /// key may not be exportable, so this is regenerable, not restorable.
    ExportDeleteCertificates {
        target: String,
        #[serde(default)]
        expect: CertificateExpect,
    },
    /// Start the service, or stop and start it when it runs (with its dependents).
    RestartService { target: String },
    /// Set a service's start type.
    SetServiceStart {
        target: String,
        desired: StartType,
        #[serde(default)]
        expect: Expect<StartType>,
    },
    /// Set the account a service logs on as (a built-in account: no password involved).
    SetServiceAccount {
        target: String,
        desired: ServiceAccount,
        #[serde(default)]
        expect: Expect<ServiceAccount>,
    },
    /// Read a registry value and show it. Changes nothing.
    QueryRegistryValue { target: RegistryTarget },
    /// Create or overwrite a registry value.
    SetRegistryValue {
        target: RegistryTarget,
        desired: RegistryData,
        #[serde(default)]
        expect: RegistryExpect,
    },
    /// Delete a registry value (its type and data are backed up first).
    DeleteRegistryValue {
        target: RegistryTarget,
        #[serde(default)]
        expect: RegistryExpect,
    },
    /// Enable a TLS protocol version for servers: under
    /// `SCHANNEL\Protocols\<version>\Server`, `Enabled = 1` and `DisabledByDefault = 0`.
    /// The target is that `Server` key.
    EnableTlsServerProtocol { target: String },
    /// Start a service that is not running; a running one is left alone (never
    /// restarted). The undo stops it again.
    StartService { target: String },
    /// Add an account, by SID, to a local group (the target, by SID: `S-1-5-32-555`,
    /// Remote Desktop Users). The undo removes it again.
    AddGroupMember { target: String, desired: String },
    /// Grant a logon right to an account or group, by SID (the target).
    GrantLogonRight { target: String, desired: LogonRight },
    /// Take a logon right away from an account or group, by SID (the target).
    RevokeLogonRight { target: String, desired: LogonRight },
    /// Enable one of Windows' built-in firewall rules, by its rule id (not its display
    /// name, which is localised): `RemoteDesktop-UserMode-In-TCP`.
    EnableFirewallRule { target: String },
    /// A fix that must stay manual. The fixer shows it and never executes it.
    Manual { target: ManualAction },
}

impl Step {
    /// The `kind` tag as it appears in JSON and TOML.
    pub fn kind(&self) -> StepKind {
        match self {
            Step::SaveAcl { .. } => StepKind::SaveAcl,
            Step::TakeOwnership { .. } => StepKind::TakeOwnership,
            Step::GrantAccess { .. } => StepKind::GrantAccess,
            Step::ExportDeleteCertificates { .. } => StepKind::ExportDeleteCertificates,
            Step::RestartService { .. } => StepKind::RestartService,
            Step::SetServiceStart { .. } => StepKind::SetServiceStart,
            Step::SetServiceAccount { .. } => StepKind::SetServiceAccount,
            Step::QueryRegistryValue { .. } => StepKind::QueryRegistryValue,
            Step::SetRegistryValue { .. } => StepKind::SetRegistryValue,
            Step::DeleteRegistryValue { .. } => StepKind::DeleteRegistryValue,
            Step::EnableTlsServerProtocol { .. } => StepKind::EnableTlsServerProtocol,
            Step::StartService { .. } => StepKind::StartService,
            Step::AddGroupMember { .. } => StepKind::AddGroupMember,
            Step::GrantLogonRight { .. } => StepKind::GrantLogonRight,
            Step::RevokeLogonRight { .. } => StepKind::RevokeLogonRight,
            Step::EnableFirewallRule { .. } => StepKind::EnableFirewallRule,
            Step::Manual { .. } => StepKind::Manual,
        }
    }

    /// The target as text, for messages (`HKLM\…\RDP-Tcp\SSLCertificateSHA1Hash`).
    pub fn target_text(&self) -> String {
        match self {
            Step::SaveAcl { target }
            | Step::TakeOwnership { target, .. }
            | Step::GrantAccess { target, .. }
            | Step::ExportDeleteCertificates { target, .. }
            | Step::RestartService { target }
            | Step::SetServiceStart { target, .. }
            | Step::SetServiceAccount { target, .. }
            | Step::EnableTlsServerProtocol { target }
            | Step::StartService { target }
            | Step::GrantLogonRight { target, .. }
            | Step::RevokeLogonRight { target, .. }
            | Step::EnableFirewallRule { target } => target.clone(),
            Step::AddGroupMember { target, desired } => format!("{target} += {desired}"),
            Step::QueryRegistryValue { target }
            | Step::SetRegistryValue { target, .. }
            | Step::DeleteRegistryValue { target, .. } => target.to_string(),
            Step::Manual { target } => target.as_str().to_owned(),
        }
    }
}

/// The step kinds, without their data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    SaveAcl,
    TakeOwnership,
    GrantAccess,
    ExportDeleteCertificates,
    RestartService,
    SetServiceStart,
    SetServiceAccount,
    QueryRegistryValue,
    SetRegistryValue,
    DeleteRegistryValue,
    EnableTlsServerProtocol,
    StartService,
    AddGroupMember,
    GrantLogonRight,
    RevokeLogonRight,
    EnableFirewallRule,
    Manual,
}

impl StepKind {
    pub const ALL: [StepKind; 17] = [
        StepKind::SaveAcl,
        StepKind::TakeOwnership,
        StepKind::GrantAccess,
        StepKind::ExportDeleteCertificates,
        StepKind::RestartService,
        StepKind::SetServiceStart,
        StepKind::SetServiceAccount,
        StepKind::QueryRegistryValue,
        StepKind::SetRegistryValue,
        StepKind::DeleteRegistryValue,
        StepKind::EnableTlsServerProtocol,
        StepKind::StartService,
        StepKind::AddGroupMember,
        StepKind::GrantLogonRight,
        StepKind::RevokeLogonRight,
        StepKind::EnableFirewallRule,
        StepKind::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StepKind::SaveAcl => "save_acl",
            StepKind::TakeOwnership => "take_ownership",
            StepKind::GrantAccess => "grant_access",
            StepKind::ExportDeleteCertificates => "export_delete_certificates",
            StepKind::RestartService => "restart_service",
            StepKind::SetServiceStart => "set_service_start",
            StepKind::SetServiceAccount => "set_service_account",
            StepKind::QueryRegistryValue => "query_registry_value",
            StepKind::SetRegistryValue => "set_registry_value",
            StepKind::DeleteRegistryValue => "delete_registry_value",
            StepKind::EnableTlsServerProtocol => "enable_tls_server_protocol",
            StepKind::StartService => "start_service",
            StepKind::AddGroupMember => "add_group_member",
            StepKind::GrantLogonRight => "grant_logon_right",
            StepKind::RevokeLogonRight => "revoke_logon_right",
            StepKind::EnableFirewallRule => "enable_firewall_rule",
            StepKind::Manual => "manual",
        }
    }
}

impl fmt::Display for StepKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registry value: its key (`HKLM\SYSTEM\…`) and the value's name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryTarget {
    pub key: String,
    pub value: String,
}

impl fmt::Display for RegistryTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\\{}", self.key, self.value)
    }
}

/// Typed registry data. JSON: `{"type": "dword", "data": 0}`,
/// `{"type": "binary", "data": "0A1B…"}` (hex).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(
    tag = "type",
    content = "data",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum RegistryData {
    Dword(u32),
    Binary(HexBytes),
}

impl fmt::Display for RegistryData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryData::Dword(n) => write!(f, "REG_DWORD {n}"),
            RegistryData::Binary(bytes) => write!(f, "REG_BINARY {bytes}"),
        }
    }
}

/// What a registry step expects to find before it changes anything.
/// JSON: `"any"`, `"absent"`, `{"equals": {"type": "dword", "data": 1}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RegistryExpect {
    /// No precondition.
    #[default]
    Any,
    /// The value must not exist.
    Absent,
    /// The value must exist with exactly this type and data.
    Equals(RegistryData),
}

/// A precondition on a setting that always exists. JSON: `"any"` or `{"equals": …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Expect<T> {
    #[default]
    Any,
    Equals(T),
}

/// Which certificates a deletion expects to find. JSON: `"any"` or
/// `{"thumbprint": "<40 hex digits>"}` (the step then refuses to run unless that
/// certificate is in the store).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CertificateExpect {
    #[default]
    Any,
    Thumbprint(Thumbprint),
}

/// The well-known SIDs a plan may grant to or make owner. Serialised in icacls' `*SID`
/// form, which works on every Windows language (account names are localised:
/// "SERVICE RÉSEAU").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Sid {
    #[serde(rename = "*S-1-5-18")]
    LocalSystem,
    #[serde(rename = "*S-1-5-20")]
    NetworkService,
    #[serde(rename = "*S-1-5-32-544")]
    Administrators,
    #[serde(rename = "*S-1-1-0")]
    Everyone,
}

impl Sid {
    /// The icacls form, `*S-1-5-18`.
    pub fn as_icacls(self) -> &'static str {
        match self {
            Sid::LocalSystem => "*S-1-5-18",
            Sid::NetworkService => "*S-1-5-20",
            Sid::Administrators => "*S-1-5-32-544",
            Sid::Everyone => "*S-1-1-0",
        }
    }

    /// The SID string, `S-1-5-18`.
    pub fn as_sid(self) -> &'static str {
        self.as_icacls().trim_start_matches('*')
    }

    /// The English account name, for people (never used to grant).
    pub fn english_name(self) -> &'static str {
        match self {
            Sid::LocalSystem => "SYSTEM",
            Sid::NetworkService => "NETWORK SERVICE",
            Sid::Administrators => "Administrators",
            Sid::Everyone => "Everyone",
        }
    }
}

/// One access control entry to add.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    pub sid: Sid,
    pub rights: Rights,
}

/// Access rights, as icacls names them. Grants apply to the target only (no inheritance
/// flags): on a folder, "this folder only".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rights {
    /// Full control, `(F)`.
    Full,
    /// Read, `(R)`.
    Read,
    /// The special set the MachineKeys folder gives Everyone by default (KB 278381): list
    /// folder/read data, read attributes, read extended attributes, create files/write data,
    /// create folders/append data, write attributes, write extended attributes, read
    /// permissions. Without it services cannot create new machine keys.
    ReadWrite,
}

impl Rights {
    /// icacls' permission text.
    pub fn as_icacls(self) -> &'static str {
        match self {
            Rights::Full => "(F)",
            Rights::Read => "(R)",
            Rights::ReadWrite => "(RD,WD,AD,RA,WA,REA,WEA,RC)",
        }
    }
}

/// A service start type. `sc config start=` names in brackets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartType {
    /// `auto`
    Automatic,
    /// `demand`
    Manual,
    /// `disabled`
    Disabled,
}

impl StartType {
    pub fn as_sc(self) -> &'static str {
        match self {
            StartType::Automatic => "auto",
            StartType::Manual => "demand",
            StartType::Disabled => "disabled",
        }
    }

    /// `Get-Service`'s `StartType` name.
    pub fn as_powershell(self) -> &'static str {
        match self {
            StartType::Automatic => "Automatic",
            StartType::Manual => "Manual",
            StartType::Disabled => "Disabled",
        }
    }
}

/// The built-in accounts a service can log on as without a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceAccount {
    LocalSystem,
    NetworkService,
    LocalService,
}

impl ServiceAccount {
    /// The name the Service Control Manager takes (`sc config obj=`). These names are
    /// not localised.
    pub fn as_sc(self) -> &'static str {
        match self {
            ServiceAccount::LocalSystem => "LocalSystem",
            ServiceAccount::NetworkService => "NT AUTHORITY\\NetworkService",
            ServiceAccount::LocalService => "NT AUTHORITY\\LocalService",
        }
    }
}

/// The logon rights a plan may grant or revoke, by their constant names (not localised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum LogonRight {
    /// "Allow log on through Remote Desktop Services".
    #[serde(rename = "SeRemoteInteractiveLogonRight")]
    RemoteInteractive,
    /// "Deny log on through Remote Desktop Services".
    #[serde(rename = "SeDenyRemoteInteractiveLogonRight")]
    DenyRemoteInteractive,
}

impl LogonRight {
    /// The constant name `LsaAddAccountRights` and `secedit` take.
    pub fn as_str(self) -> &'static str {
        match self {
            LogonRight::RemoteInteractive => "SeRemoteInteractiveLogonRight",
            LogonRight::DenyRemoteInteractive => "SeDenyRemoteInteractiveLogonRight",
        }
    }

    /// The English name the policy editor shows, for people.
    pub fn english_name(self) -> &'static str {
        match self {
            LogonRight::RemoteInteractive => "Allow log on through Remote Desktop Services",
            LogonRight::DenyRemoteInteractive => "Deny log on through Remote Desktop Services",
        }
    }
}

impl fmt::Display for LogonRight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Fixes that must stay manual: rdpfix explains them and never executes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ManualAction {
    /// Scenario 3: remove and reinstall the RD Connection Broker role and the Windows
    /// Internal Database. Destructive (the broker's farm configuration is lost) and needs
    /// reboots.
    ReinstallConnectionBroker,
    /// Scenario 2: a domain Group Policy that disables the TLS versions reverts a local fix
    /// at the next refresh; the GPO must be changed.
    ReviewTlsGroupPolicy,
    /// Scenario 5: `fDenyTSConnections` under the policy key wins over the local value;
    /// "Allow users to connect remotely by using Remote Desktop Services" must be changed in
    /// the GPO.
    ReviewRemoteDesktopGroupPolicy,
    /// Scenario 6: repair the domain secure channel (`Test-ComputerSecureChannel -Repair`
    /// with domain credentials).
    RepairSecureChannel,
    /// Scenario 9: point the RD Session Host at a working license server, or remove the role.
    ConfigureRdLicensing,
    /// Scenario 11: restrict who can reach TCP 3389 (NSG, Just-In-Time access, Bastion).
    RestrictRdpExposure,
    /// Restart the VM so a change takes effect.
    RestartComputer,
    /// Account state (expired, must change, disabled, locked): reset the password through
    /// the VM access extension from Azure (`az vm user update`).
    ResetPasswordVmAccess,
    /// The user may not log on through Remote Desktop: group membership and user rights.
    GrantRemoteDesktopLogon,
    /// Kerberos clock skew: resynchronise the clock.
    ResyncClock,
    /// The guest firewall blocks RDP: enable the built-in Remote Desktop rules.
    EnableRdpFirewallRules,
    /// The RDP port is taken or was changed.
    FreeRdpPort,
    /// The SSL Cipher Suite Order policy leaves no suite the client offers.
    ReviewCipherSuitePolicy,
    /// The system drive is full.
    FreeSystemDriveSpace,
    /// A network service RDP needs (DHCP Client, NSI, Netlogon, BFE, firewall) is down.
    RestoreNetworkServices,
    /// Windows boots (or will boot) in safe mode, where Remote Desktop does not run: remove
    /// the BCD `safeboot` element and restart.
    LeaveSafeMode,
    /// Windows marks its setup or OOBE as unfinished: look at what the VM shows.
    ReviewWindowsSetupState,
    /// CredSSP's Encryption Oracle Remediation is "Force updated clients": clients without
    /// the CredSSP update are refused.
    ReviewCredsspPolicy,
    /// Remote Desktop accepts only FIPS-compliant connections.
    ReviewFipsPolicy,
    /// The LSA may not keep domain credentials for network authentication
    /// (`disabledomaincreds` 1): domain accounts are refused over NLA.
    ReviewDomainCredsPolicy,
}

impl ManualAction {
    pub const ALL: [ManualAction; 20] = [
        ManualAction::ReinstallConnectionBroker,
        ManualAction::ReviewTlsGroupPolicy,
        ManualAction::ReviewRemoteDesktopGroupPolicy,
        ManualAction::RepairSecureChannel,
        ManualAction::ConfigureRdLicensing,
        ManualAction::RestrictRdpExposure,
        ManualAction::RestartComputer,
        ManualAction::ResetPasswordVmAccess,
        ManualAction::GrantRemoteDesktopLogon,
        ManualAction::ResyncClock,
        ManualAction::EnableRdpFirewallRules,
        ManualAction::FreeRdpPort,
        ManualAction::ReviewCipherSuitePolicy,
        ManualAction::FreeSystemDriveSpace,
        ManualAction::RestoreNetworkServices,
        ManualAction::LeaveSafeMode,
        ManualAction::ReviewWindowsSetupState,
        ManualAction::ReviewCredsspPolicy,
        ManualAction::ReviewFipsPolicy,
        ManualAction::ReviewDomainCredsPolicy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ManualAction::ReinstallConnectionBroker => "reinstall_connection_broker",
            ManualAction::ReviewTlsGroupPolicy => "review_tls_group_policy",
            ManualAction::ReviewRemoteDesktopGroupPolicy => "review_remote_desktop_group_policy",
            ManualAction::RepairSecureChannel => "repair_secure_channel",
            ManualAction::ConfigureRdLicensing => "configure_rd_licensing",
            ManualAction::RestrictRdpExposure => "restrict_rdp_exposure",
            ManualAction::RestartComputer => "restart_computer",
            ManualAction::ResetPasswordVmAccess => "reset_password_vm_access",
            ManualAction::GrantRemoteDesktopLogon => "grant_remote_desktop_logon",
            ManualAction::ResyncClock => "resync_clock",
            ManualAction::EnableRdpFirewallRules => "enable_rdp_firewall_rules",
            ManualAction::FreeRdpPort => "free_rdp_port",
            ManualAction::ReviewCipherSuitePolicy => "review_cipher_suite_policy",
            ManualAction::FreeSystemDriveSpace => "free_system_drive_space",
            ManualAction::RestoreNetworkServices => "restore_network_services",
            ManualAction::LeaveSafeMode => "leave_safe_mode",
            ManualAction::ReviewWindowsSetupState => "review_windows_setup_state",
            ManualAction::ReviewCredsspPolicy => "review_credssp_policy",
            ManualAction::ReviewFipsPolicy => "review_fips_policy",
            ManualAction::ReviewDomainCredsPolicy => "review_domain_creds_policy",
        }
    }

    /// What the admin should do, in a few sentences (shown by the page, the fixer and the
    /// PowerShell preview). Written here, never taken from a payload.
    pub fn instructions(self) -> &'static [&'static str] {
        match self {
            ManualAction::ReinstallConnectionBroker => &[
                "Remove and reinstall the RD Connection Broker role service and the Windows Internal Database (WID).",
                "This destroys the broker's farm configuration and needs reboots: plan a maintenance window and document the deployment first.",
                "Before that, check the other cause of these events: TLS 1.0 disabled on the broker breaks the broker and RD Management on WID too, with a different fix.",
            ],
            ManualAction::ReviewTlsGroupPolicy => &[
                "If a domain Group Policy disables these TLS versions, a local change is reverted at the next policy refresh.",
                "Run gpresult /h %TEMP%\\gp.html and look for SCHANNEL protocol settings; change the GPO on a domain controller.",
            ],
            ManualAction::ReviewRemoteDesktopGroupPolicy => &[
                "fDenyTSConnections under HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows NT\\Terminal Services wins over the local value and is set by Group Policy.",
                "If it is 1, enable \"Allow users to connect remotely by using Remote Desktop Services\" in the GPO (Computer Configuration > Administrative Templates > Windows Components > Remote Desktop Services > Remote Desktop Session Host > Connections).",
                "UserAuthentication, SecurityLayer and MaxInstanceCount under the same key come from \"Require user authentication for remote connections by using Network Level Authentication\", \"Require use of specific security layer for remote (RDP) connections\" (Security) and \"Limit number of connections\" (Connections): change them in the GPO too. gpresult /h %TEMP%\\gp.html names the GPO.",
            ],
            ManualAction::RepairSecureChannel => &[
                "Log on with a local administrator account and run Test-ComputerSecureChannel -Repair -Credential <domain admin>.",
                "If that fails, Reset-ComputerMachinePassword -Credential <domain admin>, or rejoin the domain.",
            ],
            ManualAction::ConfigureRdLicensing => &[
                "Connect with an administrative session (mstsc /admin) and configure the licensing mode and a reachable license server (TCP 135).",
                "If no more than two administrators need the VM, remove the RD Session Host role instead.",
            ],
            ManualAction::RestrictRdpExposure => &[
                "Restrict the network security group's inbound RDP rule to your own addresses, or close it.",
                "Use Just-In-Time VM access, Azure Bastion or a VPN gateway instead of an open RDP port.",
            ],
            ManualAction::RestartComputer => &[
                "Restart the VM (shutdown /r /t 0, or Restart from the Azure portal) so the changes above take effect.",
            ],
            ManualAction::ResetPasswordVmAccess => &[
                "Reset the account's password from Azure through the VM access extension: az vm user update --resource-group <group> --name <vm> --username <user> --password <new password> (or Reset password in the portal). It works while nobody can log on, and it also enables a disabled local account.",
                "With Network Level Authentication Windows cannot show the \"change your password\" dialog, so an expired password, or one that must be changed, is reset this way.",
                "A locked-out account unlocks when the lockout duration ends. A domain account is reset in Active Directory, not on the VM.",
            ],
            ManualAction::GrantRemoteDesktopLogon => &[
                "Add the user to Remote Desktop Users (SID S-1-5-32-555; the group's name is localised): net localgroup \"Remote Desktop Users\" <user> /add on English Windows.",
                "\"Allow log on through Remote Desktop Services\" (SeRemoteInteractiveLogonRight) must include Administrators and Remote Desktop Users; \"Deny log on through Remote Desktop Services\" (SeDenyRemoteInteractiveLogonRight) must not name the user or a group of it, such as Local account (S-1-5-113), which security baselines add. secedit /export /cfg %TEMP%\\rights.inf /areas USER_RIGHTS shows both.",
                "If a domain Group Policy sets these rights, a local change is reverted at the next refresh: change the GPO.",
            ],
            ManualAction::ResyncClock => &[
                "Resynchronise the clock: w32tm /resync /force, then check w32tm /query /status.",
                "Kerberos refuses tickets when the clocks differ by more than 5 minutes. A domain member takes its time from the domain hierarchy (NT5DS); check that the VM reaches a domain controller.",
            ],
            ManualAction::EnableRdpFirewallRules => &[
                "Enable the built-in Remote Desktop rules: Enable-NetFirewallRule -Name RemoteDesktop-UserMode-In-TCP,RemoteDesktop-UserMode-In-UDP (rule names are not localised).",
                "Look for a rule that blocks the RDP port: Get-NetFirewallRule -Direction Inbound -Action Block -Enabled True | Get-NetFirewallPortFilter.",
                "If Group Policy manages the firewall, change the GPO: a local change is reverted.",
            ],
            ManualAction::FreeRdpPort => &[
                "Find the port RDP uses (PortNumber under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Terminal Server\\WinStations\\RDP-Tcp, 3389 by default) and what listens on it: netstat -anob.",
                "Stop or reconfigure the other program, or set PortNumber back to 3389 and restart TermService. Another port needs matching guest firewall and network security group rules.",
            ],
            ManualAction::ReviewCipherSuitePolicy => &[
                "Read the SSL Cipher Suite Order policy: reg query HKLM\\SOFTWARE\\Policies\\Microsoft\\Cryptography\\Configuration\\SSL\\00010002 /v Functions.",
                "If it leaves no suite the RDP client offers, set the policy to Not Configured (Computer Configuration > Administrative Templates > Network > SSL Configuration Settings) or add suites the client supports, then restart the VM. A domain GPO must be changed on the domain.",
            ],
            ManualAction::FreeSystemDriveSpace => &[
                "Free space on the system drive: delete what you know is not needed (old crash dumps, C:\\Windows\\Temp, logs), or expand the OS disk in Azure and extend C: (Resize-Partition). A disk can grow, not shrink.",
                "Windows needs free space on the system drive to load profiles and start sessions.",
            ],
            ManualAction::RestoreNetworkServices => &[
                "Query each service RDP needs: sc query and sc qc for Dhcp, nsi, Netlogon, BFE and MpsSvc.",
                "Defaults: DHCP Client automatic as NT Authority\\LocalService; Network Store Interface Service, Base Filtering Engine and Windows Defender Firewall automatic; Netlogon automatic on a domain member. Set one back with sc config <name> start= auto and start it with sc start <name>.",
            ],
            ManualAction::LeaveSafeMode => &[
                "Remote Desktop Services does not run in safe mode (minimal or with networking).",
                "Through Serial Console or Run Command: bcdedit /enum {current} shows the safeboot element; bcdedit /deletevalue {current} safeboot removes it; then restart the VM.",
                "On a rescue VM with the OS disk attached: bcdedit /store <drive>:\\boot\\bcd /deletevalue {default} safeboot.",
            ],
            ManualAction::ReviewWindowsSetupState => &[
                "HKLM\\SYSTEM\\Setup holds SystemSetupInProgress and OOBEInProgress; both are 0 once Windows has finished setup.",
                "Look at the VM's boot diagnostics screenshot: a VM still in setup or OOBE has not finished provisioning, and its image may not have been generalized correctly.",
            ],
            ManualAction::ReviewCredsspPolicy => &[
                "AllowEncryptionOracle 0 under HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Policies\\System\\CredSSP\\Parameters (Encryption Oracle Remediation: Force updated clients) makes the VM refuse clients that lack the CredSSP update for CVE-2018-0886 (May 2018).",
                "The lasting fix is to update the client. Mitigated (1) lets clients without the update connect to an updated VM; Vulnerable (2) exposes the VM to CVE-2018-0886 and is a last resort. A domain Group Policy (Credentials Delegation > Encryption Oracle Remediation) reverts a local change.",
            ],
            ManualAction::ReviewFipsPolicy => &[
                "FIPSAlgorithmPolicy\\Enabled 1 under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa, with MinEncryptionLevel 4 (FIPS) for RDP-Tcp, accepts only FIPS-compliant connections; Microsoft calls it rare and usually set by Active Directory policy.",
                "If the VM does not need FIPS mode, set FIPSAlgorithmPolicy\\Enabled to 0 and MinEncryptionLevel to 2, then restart the VM; in a domain, change the GPO that sets them.",
            ],
            ManualAction::ReviewDomainCredsPolicy => &[
                "disabledomaincreds 1 under HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa (\"Network access: Do not allow storage of passwords and credentials for network authentication\") is, by Microsoft's RDP authentication-errors article, a reason domain accounts cannot log on through NLA (it names domain credentials, not local accounts).",
                "If domain accounts must log on over RDP, run reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa /v disabledomaincreds /t REG_DWORD /d 0 /f and restart the VM. Security baselines (CIS) set it to 1 on purpose, and a domain Group Policy that sets it reverts a local change: change the GPO instead.",
            ],
        }
    }
}

/// A certificate thumbprint: the SHA-1 of the certificate, 20 bytes, written as 40 hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprint(pub [u8; 20]);

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl Serialize for Thumbprint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Thumbprint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = parse_hex(&text).map_err(serde::de::Error::custom)?;
        let array: [u8; 20] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            serde::de::Error::custom(format_args!(
                "a thumbprint has 20 bytes (40 hex digits), this one has {}",
                bytes.len()
            ))
        })?;
        Ok(Thumbprint(array))
    }
}

/// Bytes written as upper-case hex, at most [`HexBytes::MAX`] of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HexBytes(Vec<u8>);

impl HexBytes {
    /// Registry binary data in a plan is a thumbprint or similar: small.
    pub const MAX: usize = 256;

    pub fn new(bytes: Vec<u8>) -> Option<HexBytes> {
        (bytes.len() <= HexBytes::MAX).then_some(HexBytes(bytes))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl Serialize for HexBytes {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let bytes = parse_hex(&text).map_err(serde::de::Error::custom)?;
        let len = bytes.len();
        HexBytes::new(bytes).ok_or_else(|| {
            serde::de::Error::custom(format_args!(
                "binary data is limited to {} bytes, this has {len}",
                HexBytes::MAX
            ))
        })
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for byte in bytes {
        write!(f, "{byte:02X}")?;
    }
    Ok(())
}

/// Parses hex digits (either case, no separators).
pub(crate) fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    if !text.len().is_multiple_of(2) {
        return Err(format!(
            "hex data needs an even number of digits, found {}",
            text.len()
        ));
    }
    text.as_bytes()
        .chunks_exact(2)
        .enumerate()
        .map(|(i, pair)| match pair {
            [hi, lo] => match (hex_digit(*hi), hex_digit(*lo)) {
                (Some(h), Some(l)) => Ok(h << 4 | l),
                _ => Err(format!("not a hex digit at position {}", i * 2)),
            },
            _ => Err("odd hex digit count".to_owned()),
        })
        .collect()
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
