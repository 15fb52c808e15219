//! The only things a plan may touch, as types. Each knows its canonical Windows spelling;
//! the [allowlist](super::allowlist) matches a step's text against these and nothing else.

use super::step::{LogonRight, RegistryData, Rights, ServiceAccount, Sid, StartType};
use std::fmt;

const TERMINAL_SERVER: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
const RDP_TCP: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
const RCM: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM";
/// Where Group Policy (domain or local) writes the Remote Desktop settings; a value here
/// wins over the same value under `Terminal Server` or `RDP-Tcp`.
pub const TS_POLICY: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";

/// A file-system object whose permissions a plan may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AclTarget {
    /// `%ProgramData%\Microsoft\Crypto\RSA\MachineKeys` itself ("this folder only", except
    /// for `save_acl`, which saves everything beneath it too).
    MachineKeysFolder,
    /// The RDP listener's key files, `MachineKeys\f686aace6942fb7f7ceb231212eef4a4_*`: the
    /// only wildcard a plan may use.
    RdpKeyFiles,
}

impl AclTarget {
    pub const ALL: [AclTarget; 2] = [AclTarget::MachineKeysFolder, AclTarget::RdpKeyFiles];

    /// The canonical spelling in a plan. `%ProgramData%` is resolved on the VM (it is
    /// `C:\ProgramData` on every Azure image, but need not be).
    pub fn path(self) -> &'static str {
        match self {
            AclTarget::MachineKeysFolder => r"%ProgramData%\Microsoft\Crypto\RSA\MachineKeys",
            AclTarget::RdpKeyFiles => {
                r"%ProgramData%\Microsoft\Crypto\RSA\MachineKeys\f686aace6942fb7f7ceb231212eef4a4_*"
            }
        }
    }

    /// The path below `%ProgramData%`.
    pub fn relative_to_program_data(self) -> &'static str {
        self.path().trim_start_matches(r"%ProgramData%\")
    }

    /// Which grants this target may receive: the defaults of both sources (the Azure
    /// article's SYSTEM / NETWORK SERVICE / Administrators on the key files; KB 278381's
    /// Administrators Full and Everyone's special read/write on the folder), and nothing
    /// wider.
    pub fn allows_grant(self, sid: Sid, rights: Rights) -> bool {
        matches!(
            (self, sid, rights),
            (
                AclTarget::MachineKeysFolder,
                Sid::Administrators,
                Rights::Full
            ) | (AclTarget::MachineKeysFolder, Sid::LocalSystem, Rights::Full)
                | (
                    AclTarget::MachineKeysFolder,
                    Sid::Everyone,
                    Rights::ReadWrite
                )
                | (AclTarget::RdpKeyFiles, Sid::LocalSystem, Rights::Full)
                | (AclTarget::RdpKeyFiles, Sid::NetworkService, Rights::Read)
                | (AclTarget::RdpKeyFiles, Sid::Administrators, Rights::Full)
        )
    }
}

impl fmt::Display for AclTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// The services a plan may start, restart or reconfigure: Remote Desktop's own, and the
/// network services RDP needs (RDP-CAUSES.md 13 and 14).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RdpService {
    /// Remote Desktop Services. Restarting it drops every RDP session.
    TermService,
    /// Remote Desktop Configuration: recreates the self-signed certificate when it starts.
    SessionEnv,
    /// Remote Desktop Services UserMode Port Redirector (depends on TermService).
    UmRdpService,
    /// DHCP Client: without it the VM loses its address when the lease ends.
    Dhcp,
    /// Network Store Interface Service: DHCP and most networking depend on it.
    Nsi,
    /// Netlogon: domain logons (and NLA for domain accounts) need it on a domain member.
    Netlogon,
    /// Base Filtering Engine: the firewall and IPsec depend on it.
    Bfe,
    /// Windows Defender Firewall.
    MpsSvc,
}

impl RdpService {
    pub const ALL: [RdpService; 8] = [
        RdpService::TermService,
        RdpService::SessionEnv,
        RdpService::UmRdpService,
        RdpService::Dhcp,
        RdpService::Nsi,
        RdpService::Netlogon,
        RdpService::Bfe,
        RdpService::MpsSvc,
    ];

    /// The service's key name.
    pub fn name(self) -> &'static str {
        match self {
            RdpService::TermService => "TermService",
            RdpService::SessionEnv => "SessionEnv",
            RdpService::UmRdpService => "UmRdpService",
            RdpService::Dhcp => "Dhcp",
            RdpService::Nsi => "nsi",
            RdpService::Netlogon => "Netlogon",
            RdpService::Bfe => "BFE",
            RdpService::MpsSvc => "MpsSvc",
        }
    }

    /// The English display name, for people.
    pub fn display_name(self) -> &'static str {
        match self {
            RdpService::TermService => "Remote Desktop Services",
            RdpService::SessionEnv => "Remote Desktop Configuration",
            RdpService::UmRdpService => "Remote Desktop Services UserMode Port Redirector",
            RdpService::Dhcp => "DHCP Client",
            RdpService::Nsi => "Network Store Interface Service",
            RdpService::Netlogon => "Netlogon",
            RdpService::Bfe => "Base Filtering Engine",
            RdpService::MpsSvc => "Windows Defender Firewall",
        }
    }

    /// The account Windows installs the service with: the only one a plan may set.
    pub fn default_account(self) -> ServiceAccount {
        match self {
            RdpService::TermService => ServiceAccount::NetworkService,
            RdpService::SessionEnv | RdpService::UmRdpService | RdpService::Netlogon => {
                ServiceAccount::LocalSystem
            }
            RdpService::Dhcp | RdpService::Nsi | RdpService::Bfe | RdpService::MpsSvc => {
                ServiceAccount::LocalService
            }
        }
    }

    /// Start types a plan may set: never `disabled`, a plan repairs RDP. The network
    /// services start automatically on every Windows version rdpfix knows; only Netlogon
    /// is manual on a machine outside a domain, so it may be either.
    pub fn allows_start(self, start: StartType) -> bool {
        match self {
            RdpService::TermService
            | RdpService::SessionEnv
            | RdpService::UmRdpService
            | RdpService::Netlogon => matches!(start, StartType::Manual | StartType::Automatic),
            RdpService::Dhcp | RdpService::Nsi | RdpService::Bfe | RdpService::MpsSvc => {
                start == StartType::Automatic
            }
        }
    }

    /// Whether a plan may restart it (stop and start when it runs). Only Remote Desktop's
    /// own services: restarting a network service (DHCP, the firewall) may cut the VM off;
    /// a plan only starts those when they are stopped (`start_service`).
    pub fn allows_restart(self) -> bool {
        matches!(
            self,
            RdpService::TermService | RdpService::SessionEnv | RdpService::UmRdpService
        )
    }

    /// Where the service starts among the others when a plan starts several: what it
    /// depends on first (NSI before DHCP, BFE before the firewall, TermService before the
    /// port redirector).
    pub fn start_order(self) -> u8 {
        match self {
            RdpService::Nsi => 0,
            RdpService::Dhcp => 1,
            RdpService::Netlogon => 2,
            RdpService::Bfe => 3,
            RdpService::MpsSvc => 4,
            RdpService::TermService => 5,
            RdpService::UmRdpService => 6,
            RdpService::SessionEnv => 7,
        }
    }
}

impl fmt::Display for RdpService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The one certificate store a plan may delete from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertStore {
    /// `Cert:\LocalMachine\Remote Desktop`: the RDP listener's self-signed certificate.
    RemoteDesktop,
}

impl CertStore {
    pub fn path(self) -> &'static str {
        match self {
            CertStore::RemoteDesktop => r"Cert:\LocalMachine\Remote Desktop",
        }
    }

    /// The store's system name (`CertOpenStore` with `CERT_SYSTEM_STORE_LOCAL_MACHINE`).
    pub fn store_name(self) -> &'static str {
        match self {
            CertStore::RemoteDesktop => "Remote Desktop",
        }
    }
}

impl fmt::Display for CertStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.path())
    }
}

/// The registry values a plan may read, set or delete, each with the one change it may make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RegistryValue {
    /// `RDP-Tcp\SSLCertificateSHA1Hash`: the thumbprint of a custom RDP certificate.
    /// Deleting it makes RDP use its self-signed certificate.
    SslCertificateSha1Hash,
    /// `RDP-Tcp\fEnableWinStation`: 0 disables the RDP listener.
    EnableWinStation,
    /// `RDP-Tcp\fLogonDisabled`: 1 refuses logons on the listener.
    LogonDisabled,
    /// `Terminal Server\fDenyTSConnections`: 1 refuses remote connections.
    DenyTsConnections,
    /// `Terminal Server\TSEnabled`: 0 disables the terminal server.
    TsEnabled,
    /// `Terminal Server\TSServerDrainMode`: 1 puts the server in drain mode.
    TsServerDrainMode,
    /// `Terminal Server\TSUserEnabled`: 1 refuses user connections.
    TsUserEnabled,
    /// `RCM\Certificate`: part of the licensing certificate (Scenario 10).
    RcmCertificate,
    /// `RCM\X509 Certificate`
    RcmX509Certificate,
    /// `RCM\X509 Certificate ID`
    RcmX509CertificateId,
    /// `RCM\X509 Certificate2`
    RcmX509Certificate2,
    /// `Terminal Services\fDenyTSConnections` under the policy key: 1 refuses remote
    /// connections whatever the local value says.
    PolicyDenyTsConnections,
    /// `RDP-Tcp\PortNumber`: the listener's TCP port; a plan may only set it back to 3389.
    PortNumber,
    /// `RDP-Tcp\LanAdapter`: the network adapter the listener is bound to; 0 is every one.
    LanAdapter,
    /// `RDP-Tcp\MaxInstanceCount`: how many connections the listener takes; 4294967295 is
    /// no limit.
    MaxInstanceCount,
    /// `RDP-Tcp\UserAuthentication`: 1 requires Network Level Authentication. A plan may
    /// only lower it to 0, as an optional step labelled "lowers security, temporary".
    UserAuthentication,
    /// `RDP-Tcp\SecurityLayer`: 0 RDP security, 1 negotiate, 2 TLS. A plan may only lower
    /// it to 0, as an optional step labelled "lowers security, temporary".
    SecurityLayer,
}

/// The registry data types the allowlisted values have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistryType {
    Dword,
    Binary,
}

impl RegistryType {
    pub fn as_reg(self) -> &'static str {
        match self {
            RegistryType::Dword => "REG_DWORD",
            RegistryType::Binary => "REG_BINARY",
        }
    }
}

impl RegistryValue {
    pub const ALL: [RegistryValue; 17] = [
        RegistryValue::SslCertificateSha1Hash,
        RegistryValue::EnableWinStation,
        RegistryValue::LogonDisabled,
        RegistryValue::DenyTsConnections,
        RegistryValue::TsEnabled,
        RegistryValue::TsServerDrainMode,
        RegistryValue::TsUserEnabled,
        RegistryValue::RcmCertificate,
        RegistryValue::RcmX509Certificate,
        RegistryValue::RcmX509CertificateId,
        RegistryValue::RcmX509Certificate2,
        RegistryValue::PolicyDenyTsConnections,
        RegistryValue::PortNumber,
        RegistryValue::LanAdapter,
        RegistryValue::MaxInstanceCount,
        RegistryValue::UserAuthentication,
        RegistryValue::SecurityLayer,
    ];

    /// The key, `HKLM\…`.
    pub fn key(self) -> &'static str {
        match self {
            RegistryValue::SslCertificateSha1Hash
            | RegistryValue::EnableWinStation
            | RegistryValue::LogonDisabled
            | RegistryValue::PortNumber
            | RegistryValue::LanAdapter
            | RegistryValue::MaxInstanceCount
            | RegistryValue::UserAuthentication
            | RegistryValue::SecurityLayer => RDP_TCP,
            RegistryValue::PolicyDenyTsConnections => TS_POLICY,
            RegistryValue::DenyTsConnections
            | RegistryValue::TsEnabled
            | RegistryValue::TsServerDrainMode
            | RegistryValue::TsUserEnabled => TERMINAL_SERVER,
            RegistryValue::RcmCertificate
            | RegistryValue::RcmX509Certificate
            | RegistryValue::RcmX509CertificateId
            | RegistryValue::RcmX509Certificate2 => RCM,
        }
    }

    /// The key below `HKLM\`.
    pub fn subkey(self) -> &'static str {
        self.key().trim_start_matches(r"HKLM\")
    }

    /// The value's name.
    pub fn name(self) -> &'static str {
        match self {
            RegistryValue::SslCertificateSha1Hash => "SSLCertificateSHA1Hash",
            RegistryValue::EnableWinStation => "fEnableWinStation",
            RegistryValue::LogonDisabled => "fLogonDisabled",
            RegistryValue::DenyTsConnections | RegistryValue::PolicyDenyTsConnections => {
                "fDenyTSConnections"
            }
            RegistryValue::TsEnabled => "TSEnabled",
            RegistryValue::TsServerDrainMode => "TSServerDrainMode",
            RegistryValue::TsUserEnabled => "TSUserEnabled",
            RegistryValue::RcmCertificate => "Certificate",
            RegistryValue::RcmX509Certificate => "X509 Certificate",
            RegistryValue::RcmX509CertificateId => "X509 Certificate ID",
            RegistryValue::RcmX509Certificate2 => "X509 Certificate2",
            RegistryValue::PortNumber => "PortNumber",
            RegistryValue::LanAdapter => "LanAdapter",
            RegistryValue::MaxInstanceCount => "MaxInstanceCount",
            RegistryValue::UserAuthentication => "UserAuthentication",
            RegistryValue::SecurityLayer => "SecurityLayer",
        }
    }

    pub fn value_type(self) -> RegistryType {
        match self {
            RegistryValue::SslCertificateSha1Hash
            | RegistryValue::RcmCertificate
            | RegistryValue::RcmX509Certificate
            | RegistryValue::RcmX509CertificateId
            | RegistryValue::RcmX509Certificate2 => RegistryType::Binary,
            RegistryValue::EnableWinStation
            | RegistryValue::LogonDisabled
            | RegistryValue::DenyTsConnections
            | RegistryValue::TsEnabled
            | RegistryValue::TsServerDrainMode
            | RegistryValue::TsUserEnabled
            | RegistryValue::PolicyDenyTsConnections
            | RegistryValue::PortNumber
            | RegistryValue::LanAdapter
            | RegistryValue::MaxInstanceCount
            | RegistryValue::UserAuthentication
            | RegistryValue::SecurityLayer => RegistryType::Dword,
        }
    }

    /// Whether `data` is a value a plan may write here: the documented working value of a
    /// switch or the listener's default ([`RegistryValue::working_value`]), a 20-byte
    /// thumbprint for the certificate hash, or 0 for the two values a plan may only lower
    /// ([`RegistryValue::lowers_security`]).
    pub fn allows_set(self, data: &RegistryData) -> bool {
        match (self, data) {
            (RegistryValue::SslCertificateSha1Hash, RegistryData::Binary(bytes)) => {
                bytes.as_bytes().len() == 20
            }
            (RegistryValue::UserAuthentication | RegistryValue::SecurityLayer, data) => {
                self.lowers_security(data)
            }
            (_, data) => self.working_value().as_ref() == Some(data),
        }
    }

    /// The working value of a switch, as the articles set it, or the listener's default
    /// (RDP-CAUSES.md: PortNumber 3389, LanAdapter 0, MaxInstanceCount 4294967295). None
    /// for the security values, whose defaults Microsoft documents differently per source
    /// (the unattend reference says UserAuthentication 0 and SecurityLayer 1; images ship
    /// 1 and 2): a plan never "resets" them.
    pub fn working_value(self) -> Option<RegistryData> {
        match self {
            RegistryValue::EnableWinStation | RegistryValue::TsEnabled => {
                Some(RegistryData::Dword(1))
            }
            RegistryValue::LogonDisabled
            | RegistryValue::DenyTsConnections
            | RegistryValue::PolicyDenyTsConnections
            | RegistryValue::TsServerDrainMode
            | RegistryValue::TsUserEnabled
            | RegistryValue::LanAdapter => Some(RegistryData::Dword(0)),
            RegistryValue::PortNumber => Some(RegistryData::Dword(3389)),
            RegistryValue::MaxInstanceCount => Some(RegistryData::Dword(u32::MAX)),
            _ => None,
        }
    }

    /// Whether writing `data` here lowers the listener's security: NLA off
    /// (`UserAuthentication` 0) or RDP's own security layer (`SecurityLayer` 0). The
    /// documented way in when NLA or TLS is what fails; a plan carries it only as an
    /// optional step, labelled "lowers security, temporary".
    pub fn lowers_security(self, data: &RegistryData) -> bool {
        matches!(
            (self, data),
            (
                RegistryValue::UserAuthentication | RegistryValue::SecurityLayer,
                RegistryData::Dword(0)
            )
        )
    }

    /// The name of the value under the policy key ([`TS_POLICY`]) that overrides this
    /// one, when Group Policy has one: while the policy key holds it, changing the local
    /// value changes nothing, and a change to the policy key itself is reverted at the next
    /// refresh when a domain GPO wrote it.
    pub fn policy_name(self) -> Option<&'static str> {
        match self {
            RegistryValue::DenyTsConnections | RegistryValue::PolicyDenyTsConnections => {
                Some("fDenyTSConnections")
            }
            RegistryValue::UserAuthentication => Some("UserAuthentication"),
            RegistryValue::SecurityLayer => Some("SecurityLayer"),
            RegistryValue::MaxInstanceCount => Some("MaxInstanceCount"),
            _ => None,
        }
    }

    /// Whether a plan may delete the value: the custom certificate's thumbprint, and the
    /// licensing certificate's values (Windows recreates them at the next start).
    pub fn allows_delete(self) -> bool {
        matches!(
            self,
            RegistryValue::SslCertificateSha1Hash
                | RegistryValue::RcmCertificate
                | RegistryValue::RcmX509Certificate
                | RegistryValue::RcmX509CertificateId
                | RegistryValue::RcmX509Certificate2
        )
    }
}

impl fmt::Display for RegistryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}\\{}", self.key(), self.name())
    }
}

/// The TLS versions whose server side a plan may enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TlsProtocol {
    Tls10,
    Tls11,
    Tls12,
}

impl TlsProtocol {
    pub const ALL: [TlsProtocol; 3] = [TlsProtocol::Tls10, TlsProtocol::Tls11, TlsProtocol::Tls12];

    /// `TLS 1.2`, as the SCHANNEL key names it.
    pub fn name(self) -> &'static str {
        match self {
            TlsProtocol::Tls10 => "TLS 1.0",
            TlsProtocol::Tls11 => "TLS 1.1",
            TlsProtocol::Tls12 => "TLS 1.2",
        }
    }

    /// The `Server` key, `HKLM\…\SCHANNEL\Protocols\TLS 1.2\Server`.
    pub fn server_key(self) -> &'static str {
        match self {
            TlsProtocol::Tls10 => {
                r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.0\Server"
            }
            TlsProtocol::Tls11 => {
                r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.1\Server"
            }
            TlsProtocol::Tls12 => {
                r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server"
            }
        }
    }

    /// The key below `HKLM\`.
    pub fn server_subkey(self) -> &'static str {
        self.server_key().trim_start_matches(r"HKLM\")
    }
}

impl fmt::Display for TlsProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The local groups a plan may add a member to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LocalGroup {
    /// `BUILTIN\Remote Desktop Users`: its members may log on over RDP.
    RemoteDesktopUsers,
}

impl LocalGroup {
    pub const ALL: [LocalGroup; 1] = [LocalGroup::RemoteDesktopUsers];

    /// The group's well-known SID: how a plan names it (the name is localised).
    pub fn sid(self) -> &'static str {
        match self {
            LocalGroup::RemoteDesktopUsers => "S-1-5-32-555",
        }
    }

    /// The English name, for people.
    pub fn english_name(self) -> &'static str {
        match self {
            LocalGroup::RemoteDesktopUsers => "Remote Desktop Users",
        }
    }
}

impl fmt::Display for LocalGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.english_name(), self.sid())
    }
}

/// Windows' built-in firewall rules a plan may enable, by rule id: the registry value name
/// under `FirewallPolicy\FirewallRules` and `Get-NetFirewallRule -Name`, the same on every
/// language (display names are localised).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FirewallRule {
    /// "Remote Desktop - User Mode (TCP-In)", TCP 3389.
    UserModeInTcp,
    /// "Remote Desktop - User Mode (UDP-In)", UDP 3389.
    UserModeInUdp,
    /// "Remote Desktop - Shadow (TCP-In)": session shadowing (`RdpSa.exe`).
    ShadowInTcp,
}

impl FirewallRule {
    pub const ALL: [FirewallRule; 3] = [
        FirewallRule::UserModeInTcp,
        FirewallRule::UserModeInUdp,
        FirewallRule::ShadowInTcp,
    ];

    pub fn id(self) -> &'static str {
        match self {
            FirewallRule::UserModeInTcp => "RemoteDesktop-UserMode-In-TCP",
            FirewallRule::UserModeInUdp => "RemoteDesktop-UserMode-In-UDP",
            FirewallRule::ShadowInTcp => "RemoteDesktop-Shadow-In-TCP",
        }
    }

    /// The English display name, for people.
    pub fn display_name(self) -> &'static str {
        match self {
            FirewallRule::UserModeInTcp => "Remote Desktop - User Mode (TCP-In)",
            FirewallRule::UserModeInUdp => "Remote Desktop - User Mode (UDP-In)",
            FirewallRule::ShadowInTcp => "Remote Desktop - Shadow (TCP-In)",
        }
    }
}

impl fmt::Display for FirewallRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// A security identifier from a plan, in its one canonical text form (`S-1-5-21-…`:
/// upper-case `S`, decimal numbers without leading zeros, 1 to 15 sub-authorities). The
/// plan names accounts by SID only: names are localised and can be ambiguous.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountSid {
    text: String,
    authority: u64,
    subs: Vec<u32>,
}

/// Why a text is not a SID in canonical form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidError {
    /// Not `S-1-<authority>-<sub>…`.
    Syntax,
    /// A number with a leading zero, a lower-case `s`, or out of range.
    NotCanonical,
}

/// Well-known SIDs a plan never names to widen access: Everyone, Anonymous, Guests,
/// Users, Authenticated Users, Interactive, Network, and the accounts and groups every
/// domain has for guests.
const NEVER_WIDENED: [&str; 7] = [
    "S-1-1-0",
    "S-1-5-7",
    "S-1-5-32-546",
    "S-1-5-32-545",
    "S-1-5-11",
    "S-1-5-4",
    "S-1-5-2",
];

impl AccountSid {
    /// The largest identifier authority (48 bits).
    const MAX_AUTHORITY: u64 = (1 << 48) - 1;

    /// Parses a SID, accepting only its canonical text.
    pub fn parse(text: &str) -> Result<AccountSid, SidError> {
        let mut parts = text.split('-');
        match (parts.next(), parts.next()) {
            (Some("S"), Some("1")) => {}
            (Some("s"), _) => return Err(SidError::NotCanonical),
            _ => return Err(SidError::Syntax),
        }
        let authority = parts.next().ok_or(SidError::Syntax)?;
        let authority = number(authority)?;
        if authority > Self::MAX_AUTHORITY {
            return Err(SidError::NotCanonical);
        }
        let subs = parts
            .map(|p| number(p).and_then(|n| u32::try_from(n).map_err(|_| SidError::NotCanonical)))
            .collect::<Result<Vec<u32>, SidError>>()?;
        if subs.is_empty() || subs.len() > 15 {
            return Err(SidError::Syntax);
        }
        Ok(AccountSid {
            text: text.to_owned(),
            authority,
            subs,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The sub-authorities, last one the relative id.
    pub fn sub_authorities(&self) -> &[u32] {
        &self.subs
    }

    /// A user or group of this machine or of a domain (`S-1-5-21-a-b-c-<rid>`) with a
    /// relative id of 1000 or more (accounts and groups people made), or 500 (the built-in
    /// Administrator); or a Microsoft Entra ID account (`S-1-12-1-a-b-c-d`). Never the
    /// built-in Guest (501), krbtgt (502), Domain Users (513) or Domain Guests (514).
    pub fn is_named_account(&self) -> bool {
        match (self.authority, self.subs.as_slice()) {
            (5, [21, _, _, _, rid]) => *rid == 500 || *rid >= 1000,
            (12, [1, _, _, _, _]) => true,
            _ => false,
        }
    }

    /// One of the SIDs that stand for everyone, anonymous or guest access.
    pub fn is_never_widened(&self) -> bool {
        NEVER_WIDENED.contains(&self.text.as_str())
            || matches!(
                (self.authority, self.subs.as_slice()),
                (5, [21, _, _, _, 501 | 513 | 514])
            )
    }
}

fn number(text: &str) -> Result<u64, SidError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SidError::Syntax);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(SidError::NotCanonical);
    }
    text.parse::<u64>().map_err(|_| SidError::NotCanonical)
}

impl fmt::Display for AccountSid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Administrators, Remote Desktop Users: the groups that hold "Allow log on through Remote
/// Desktop Services" by default, and the only ones a plan grants it to.
pub const REMOTE_LOGON_GRANTEES: [&str; 2] = ["S-1-5-32-544", "S-1-5-32-555"];

/// "Local account" and "Local account and member of Administrators" (the CIS baseline
/// denies them RDP), Administrators and Remote Desktop Users: the groups a plan may take
/// "Deny log on through Remote Desktop Services" away from, besides named accounts.
pub const REMOTE_DENY_REVOCABLE: [&str; 4] =
    ["S-1-5-113", "S-1-5-114", "S-1-5-32-544", "S-1-5-32-555"];

impl LogonRight {
    /// Whether a plan may grant this right to `sid`: only "Allow log on through Remote
    /// Desktop Services", and only to Administrators or Remote Desktop Users (accounts get
    /// it by joining Remote Desktop Users).
    pub fn may_grant_to(self, sid: &AccountSid) -> bool {
        self == LogonRight::RemoteInteractive && REMOTE_LOGON_GRANTEES.contains(&sid.as_str())
    }

    /// Whether a plan may revoke this right from `sid`: only the deny right, only from
    /// the groups in [`REMOTE_DENY_REVOCABLE`] or a named account, never from Everyone,
    /// Anonymous or a guest.
    pub fn may_revoke_from(self, sid: &AccountSid) -> bool {
        self == LogonRight::DenyRemoteInteractive
            && !sid.is_never_widened()
            && (REMOTE_DENY_REVOCABLE.contains(&sid.as_str()) || sid.is_named_account())
    }
}

impl LocalGroup {
    /// Whether a plan may add `member`: a named account only, never a group that stands
    /// for everyone or for guests.
    pub fn may_add(self, member: &AccountSid) -> bool {
        member.is_named_account() && !member.is_never_widened()
    }
}
