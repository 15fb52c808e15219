//! The only things a plan may touch, as types. Each knows its canonical Windows spelling;
//! the [allowlist](super::allowlist) matches a step's text against these and nothing else.

use super::step::{RegistryData, Rights, ServiceAccount, Sid, StartType};
use std::fmt;

const TERMINAL_SERVER: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
const RDP_TCP: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
const RCM: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\RCM";

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

/// The services a plan may restart or reconfigure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RdpService {
    /// Remote Desktop Services. Restarting it drops every RDP session.
    TermService,
    /// Remote Desktop Configuration: recreates the self-signed certificate when it starts.
    SessionEnv,
    /// Remote Desktop Services UserMode Port Redirector (depends on TermService).
    UmRdpService,
}

impl RdpService {
    pub const ALL: [RdpService; 3] = [
        RdpService::TermService,
        RdpService::SessionEnv,
        RdpService::UmRdpService,
    ];

    /// The service's key name.
    pub fn name(self) -> &'static str {
        match self {
            RdpService::TermService => "TermService",
            RdpService::SessionEnv => "SessionEnv",
            RdpService::UmRdpService => "UmRdpService",
        }
    }

    /// The English display name, for people.
    pub fn display_name(self) -> &'static str {
        match self {
            RdpService::TermService => "Remote Desktop Services",
            RdpService::SessionEnv => "Remote Desktop Configuration",
            RdpService::UmRdpService => "Remote Desktop Services UserMode Port Redirector",
        }
    }

    /// The account Windows installs the service with: the only one a plan may set.
    pub fn default_account(self) -> ServiceAccount {
        match self {
            RdpService::TermService => ServiceAccount::NetworkService,
            RdpService::SessionEnv | RdpService::UmRdpService => ServiceAccount::LocalSystem,
        }
    }

    /// Start types a plan may set: never `disabled`, a plan repairs RDP.
    pub fn allows_start(self, start: StartType) -> bool {
        matches!(start, StartType::Manual | StartType::Automatic)
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
    pub const ALL: [RegistryValue; 11] = [
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
    ];

    /// The key, `HKLM\…`.
    pub fn key(self) -> &'static str {
        match self {
            RegistryValue::SslCertificateSha1Hash
            | RegistryValue::EnableWinStation
            | RegistryValue::LogonDisabled => RDP_TCP,
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
            RegistryValue::DenyTsConnections => "fDenyTSConnections",
            RegistryValue::TsEnabled => "TSEnabled",
            RegistryValue::TsServerDrainMode => "TSServerDrainMode",
            RegistryValue::TsUserEnabled => "TSUserEnabled",
            RegistryValue::RcmCertificate => "Certificate",
            RegistryValue::RcmX509Certificate => "X509 Certificate",
            RegistryValue::RcmX509CertificateId => "X509 Certificate ID",
            RegistryValue::RcmX509Certificate2 => "X509 Certificate2",
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
            | RegistryValue::TsUserEnabled => RegistryType::Dword,
        }
    }

    /// Whether `data` is a value a plan may write here: the documented working value of a
    /// switch, or a 20-byte thumbprint for the certificate hash.
    pub fn allows_set(self, data: &RegistryData) -> bool {
        match (self, data) {
            (RegistryValue::SslCertificateSha1Hash, RegistryData::Binary(bytes)) => {
                bytes.as_bytes().len() == 20
            }
            (
                RegistryValue::EnableWinStation | RegistryValue::TsEnabled,
                RegistryData::Dword(1),
            ) => true,
            (
                RegistryValue::LogonDisabled
                | RegistryValue::DenyTsConnections
                | RegistryValue::TsServerDrainMode
                | RegistryValue::TsUserEnabled,
                RegistryData::Dword(0),
            ) => true,
            _ => false,
        }
    }

    /// The working value of a switch, as the articles set it.
    pub fn working_value(self) -> Option<RegistryData> {
        match self {
            RegistryValue::EnableWinStation | RegistryValue::TsEnabled => {
                Some(RegistryData::Dword(1))
            }
            RegistryValue::LogonDisabled
            | RegistryValue::DenyTsConnections
            | RegistryValue::TsServerDrainMode
            | RegistryValue::TsUserEnabled => Some(RegistryData::Dword(0)),
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
