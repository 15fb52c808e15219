//! What an `RDPFIX-CONFIG v1` snapshot may hold: its sections, each section's keys, what
//! each key is on Windows (a registry value and its key, or what a command reports), how its
//! value is written, and the default Windows applies when a registry value is absent. One
//! table: the reader validates against it, the checks and the page name settings from it,
//! and `docs/config-snapshot.md` describes the same rows.

use serde::{Deserialize, Serialize};

/// A snapshot's sections. Sections marked "one per subject" carry a name after the
/// section word (`svc TermService …`) and may appear once per subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Section {
    /// `HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server`.
    Ts,
    /// `HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services` (Group Policy).
    Tsp,
    /// The `RDP-Tcp` listener: `…\Terminal Server\WinStations\RDP-Tcp`.
    Rdp,
    /// Schannel server protocols, one per subject (`TLS1.0` … `TLS1.3`).
    Tls,
    /// The SSL cipher suite order policy.
    Ciphers,
    /// CredSSP and LSA values that break NLA.
    Lsa,
    /// A service, one per subject (its service name).
    Svc,
    /// A firewall profile, one per subject (`Domain`, `Private`, `Public`).
    Fw,
    /// A built-in Remote Desktop firewall rule, one per subject (its rule id).
    Fwrule,
    /// An enabled inbound rule that blocks the RDP port, one per subject (its rule id).
    Fwblock,
    /// Who listens on the RDP port.
    Listen,
    /// The certificate the RDP listener uses.
    Cert,
    /// The Remote Desktop logon rights.
    Rights,
    /// The members of Remote Desktop Users (S-1-5-32-555).
    Rdu,
    /// The system drive's space.
    Disk,
    /// The time service.
    Time,
    /// Setup, OOBE and safe-mode state, the control set booted, and the installation's
    /// identity (MachineGuid): what a plan for the OS disk attached to a rescue VM names.
    Boot,
}

/// Every section, in the order a snapshot writes them.
pub const SECTIONS: [Section; 17] = [
    Section::Ts,
    Section::Tsp,
    Section::Rdp,
    Section::Tls,
    Section::Ciphers,
    Section::Lsa,
    Section::Svc,
    Section::Fw,
    Section::Fwrule,
    Section::Fwblock,
    Section::Listen,
    Section::Cert,
    Section::Rights,
    Section::Rdu,
    Section::Disk,
    Section::Time,
    Section::Boot,
];

impl Section {
    /// The word that starts the section's lines.
    pub fn word(self) -> &'static str {
        match self {
            Section::Ts => "ts",
            Section::Tsp => "tsp",
            Section::Rdp => "rdp",
            Section::Tls => "tls",
            Section::Ciphers => "ciphers",
            Section::Lsa => "lsa",
            Section::Svc => "svc",
            Section::Fw => "fw",
            Section::Fwrule => "fwrule",
            Section::Fwblock => "fwblock",
            Section::Listen => "listen",
            Section::Cert => "cert",
            Section::Rights => "rights",
            Section::Rdu => "rdu",
            Section::Disk => "disk",
            Section::Time => "time",
            Section::Boot => "boot",
        }
    }

    /// The section a line's first word names.
    pub fn from_word(word: &str) -> Option<Section> {
        SECTIONS.iter().copied().find(|s| s.word() == word)
    }

    /// Whether its lines may name a subject after the section word (a line without one
    /// speaks of the whole section: `fw !`, `fwblock more=0`).
    pub fn has_subject(self) -> bool {
        matches!(
            self,
            Section::Tls | Section::Svc | Section::Fw | Section::Fwrule | Section::Fwblock
        )
    }

    /// Where Windows keeps what the section reports, for people.
    pub fn source(self) -> &'static str {
        match self {
            Section::Ts => r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server",
            Section::Tsp => r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services",
            Section::Rdp => {
                r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp"
            }
            Section::Tls => {
                r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\<protocol>\Server"
            }
            Section::Ciphers => {
                r"HKLM\SOFTWARE\Policies\Microsoft\Cryptography\Configuration\SSL\00010002"
            }
            Section::Lsa => r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa and the CredSSP policy",
            Section::Svc => {
                r"HKLM\SYSTEM\CurrentControlSet\Services\<name> and the service manager"
            }
            Section::Fw => "the firewall's active policy (Get-NetFirewallProfile)",
            Section::Fwrule => "the firewall's active policy (Get-NetFirewallRule)",
            Section::Fwblock => "the firewall's active policy (Get-NetFirewallRule)",
            Section::Listen => "the TCP listeners (Get-NetTCPConnection)",
            Section::Cert => r"Win32_TSGeneralSetting and Cert:\LocalMachine",
            Section::Rights => "the local security policy (secedit /export)",
            Section::Rdu => "the local group S-1-5-32-555",
            Section::Disk => "the system drive",
            Section::Time => "w32tm /query",
            Section::Boot => {
                r"HKLM\SYSTEM\Setup, …\Control\SafeBoot\Option, bcdedit, HKLM\SYSTEM\Select and MachineGuid"
            }
        }
    }
}

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A REG_DWORD (or a count): decimal, 0–4294967295.
    Dword,
    /// A signed whole number.
    Int,
    /// A decimal number (`-0.25`).
    Decimal,
    /// Hex digits (a thumbprint).
    Hex,
    /// An RFC 3339 UTC time.
    Time,
    /// Text, percent-encoded.
    Text,
    /// Comma-separated items, each percent-encoded.
    List,
    /// One of a few words.
    Word(&'static [&'static str]),
}

/// The OS releases whose defaults a snapshot is judged against, by build number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Release {
    /// Windows Server 2012 R2 (6.3.9600) and anything older.
    Server2012R2,
    /// Windows Server 2016 (10.0.14393).
    Server2016,
    /// Windows Server 2019 (10.0.17763).
    Server2019,
    /// Windows Server 2022 (10.0.20348).
    Server2022,
    /// Windows Server 2025 (10.0.26100) and later.
    Server2025,
}

impl Release {
    /// The release a build number belongs to (client builds map to the server of their
    /// generation).
    pub fn of_build(build: u32) -> Release {
        match build {
            0..14393 => Release::Server2012R2,
            14393..17763 => Release::Server2016,
            17763..20348 => Release::Server2019,
            20348..26100 => Release::Server2022,
            _ => Release::Server2025,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Release::Server2012R2 => "Windows Server 2012 R2",
            Release::Server2016 => "Windows Server 2016",
            Release::Server2019 => "Windows Server 2019",
            Release::Server2022 => "Windows Server 2022",
            Release::Server2025 => "Windows Server 2025",
        }
    }
}

/// What Windows does when a registry value is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OsDefault {
    /// No registry default: the value is reported, not read from the registry, or its
    /// absence has no meaning of its own.
    None,
    /// The same on every release.
    Always(u32),
    /// Before `Release` one value, from it on another.
    From {
        before: u32,
        release: Release,
        then: u32,
    },
    /// The protocol is not offered on releases before this one; from it on, enabled.
    OfferedFrom(Release),
}

impl OsDefault {
    /// The default on `release` (`None` when there is none, or the release is unknown and
    /// the default differs between releases).
    pub fn on(self, release: Option<Release>) -> Option<u32> {
        match (self, release) {
            (OsDefault::None, _) => None,
            (OsDefault::Always(v), _) => Some(v),
            (
                OsDefault::From {
                    before,
                    release,
                    then,
                },
                Some(r),
            ) => Some(if r < release { before } else { then }),
            (OsDefault::OfferedFrom(from), Some(r)) => Some(u32::from(r >= from)),
            (OsDefault::From { .. } | OsDefault::OfferedFrom(_), None) => None,
        }
    }
}

/// One key of a section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    pub section: Section,
    /// As written in the snapshot.
    pub key: &'static str,
    /// The registry value, or what the key reports.
    pub name: &'static str,
    pub kind: Kind,
    pub default: OsDefault,
}

const fn key(
    section: Section,
    key: &'static str,
    name: &'static str,
    kind: Kind,
    default: OsDefault,
) -> Key {
    Key {
        section,
        key,
        name,
        kind,
        default,
    }
}

use Kind as K;
use OsDefault as D;
use Section as S;

/// Service states as the snapshot writes them.
pub const SERVICE_STATES: &[&str] = &[
    "running", "stopped", "starting", "stopping", "paused", "pausing", "resuming",
];
const ON_OFF: &[&str] = &["on", "off"];
const ACTIONS: &[&str] = &["allow", "block"];

/// Every key of every section.
pub const KEYS: &[Key] = &[
    key(S::Ts, "deny", "fDenyTSConnections", K::Dword, D::Always(1)),
    key(S::Ts, "drain", "TSServerDrainMode", K::Dword, D::Always(0)),
    key(S::Tsp, "deny", "fDenyTSConnections", K::Dword, D::None),
    key(S::Tsp, "sec", "SecurityLayer", K::Dword, D::None),
    key(S::Tsp, "nla", "UserAuthentication", K::Dword, D::None),
    key(S::Tsp, "enc", "MinEncryptionLevel", K::Dword, D::None),
    key(S::Rdp, "port", "PortNumber", K::Dword, D::Always(3389)),
    key(S::Rdp, "sec", "SecurityLayer", K::Dword, D::Always(2)),
    key(S::Rdp, "nla", "UserAuthentication", K::Dword, D::Always(1)),
    key(S::Rdp, "enc", "MinEncryptionLevel", K::Dword, D::Always(2)),
    key(S::Rdp, "on", "fEnableWinStation", K::Dword, D::Always(1)),
    key(S::Rdp, "nologon", "fLogonDisabled", K::Dword, D::Always(0)),
    key(S::Rdp, "lan", "LanAdapter", K::Dword, D::Always(0)),
    key(
        S::Rdp,
        "max",
        "MaxInstanceCount",
        K::Dword,
        D::Always(u32::MAX),
    ),
    key(
        S::Rdp,
        "neg",
        "fAllowSecProtocolNegotiation",
        K::Dword,
        D::Always(1),
    ),
    key(S::Rdp, "cert", "SSLCertificateSHA1Hash", K::Hex, D::None),
    key(S::Tls, "en", "Enabled", K::Dword, D::None),
    key(S::Tls, "dbd", "DisabledByDefault", K::Dword, D::Always(0)),
    key(
        S::Ciphers,
        "policy",
        "Functions (suites in the order policy)",
        K::Dword,
        D::None,
    ),
    key(
        S::Lsa,
        "oracle",
        "AllowEncryptionOracle",
        K::Dword,
        D::Always(1),
    ),
    key(
        S::Lsa,
        "nodomcreds",
        "disabledomaincreds",
        K::Dword,
        D::Always(0),
    ),
    key(
        S::Lsa,
        "fips",
        r"FIPSAlgorithmPolicy\Enabled",
        K::Dword,
        D::Always(0),
    ),
    key(S::Lsa, "lm", "LmCompatibilityLevel", K::Dword, D::Always(3)),
    key(S::Svc, "start", "Start", K::Dword, D::None),
    key(S::Svc, "type", "Type", K::Dword, D::None),
    key(S::Svc, "acct", "ObjectName", K::Text, D::None),
    key(S::Svc, "state", "state", K::Word(SERVICE_STATES), D::None),
    key(S::Fw, "on", "Enabled", K::Word(ON_OFF), D::None),
    key(
        S::Fw,
        "in",
        "DefaultInboundAction",
        K::Word(ACTIONS),
        D::None,
    ),
    key(S::Fwrule, "on", "Enabled", K::Word(ON_OFF), D::None),
    key(S::Fwrule, "act", "Action", K::Word(ACTIONS), D::None),
    key(S::Fwrule, "prof", "Profile", K::List, D::None),
    key(S::Fwblock, "name", "DisplayName", K::Text, D::None),
    key(S::Fwblock, "prof", "Profile", K::List, D::None),
    key(
        S::Fwblock,
        "more",
        "further blocking rules not listed",
        K::Dword,
        D::None,
    ),
    key(S::Listen, "port", "the RDP port", K::Dword, D::None),
    key(S::Listen, "pid", "listening process id", K::Dword, D::None),
    key(S::Listen, "proc", "listening process", K::Text, D::None),
    key(
        S::Listen,
        "svc",
        "services in that process",
        K::List,
        D::None,
    ),
    key(S::Cert, "thumb", "thumbprint in use", K::Hex, D::None),
    key(
        S::Cert,
        "store",
        "store holding it",
        K::Word(&["rd", "my", "none"]),
        D::None,
    ),
    key(S::Cert, "until", "NotAfter", K::Time, D::None),
    key(S::Cert, "key", "private key present", K::Dword, D::None),
    key(S::Cert, "keyok", "private key readable", K::Dword, D::None),
    key(
        S::Cert,
        "sa",
        "Server Authentication usage",
        K::Dword,
        D::None,
    ),
    key(
        S::Cert,
        "mk",
        "MachineKeys folder ACL",
        K::Word(&["default", "changed"]),
        D::None,
    ),
    key(
        S::Rights,
        "allow",
        "SeRemoteInteractiveLogonRight",
        K::List,
        D::None,
    ),
    key(
        S::Rights,
        "deny",
        "SeDenyRemoteInteractiveLogonRight",
        K::List,
        D::None,
    ),
    key(
        S::Rights,
        "amore",
        "holders of the allow right not listed",
        K::Dword,
        D::None,
    ),
    key(
        S::Rights,
        "dmore",
        "holders of the deny right not listed",
        K::Dword,
        D::None,
    ),
    key(S::Rdu, "m", "members (SIDs)", K::List, D::None),
    key(
        S::Rdu,
        "more",
        "further members not listed",
        K::Dword,
        D::None,
    ),
    key(S::Disk, "drive", "system drive", K::Text, D::None),
    key(S::Disk, "free", "free space (MiB)", K::Dword, D::None),
    key(S::Disk, "size", "size (MiB)", K::Dword, D::None),
    key(S::Time, "src", "time source", K::Text, D::None),
    key(
        S::Time,
        "off",
        "phase offset (seconds)",
        K::Decimal,
        D::None,
    ),
    key(
        S::Boot,
        "setup",
        "SystemSetupInProgress",
        K::Dword,
        D::Always(0),
    ),
    key(S::Boot, "oobe", "OOBEInProgress", K::Dword, D::Always(0)),
    key(
        S::Boot,
        "safe",
        r"SafeBoot\Option\OptionValue",
        K::Dword,
        D::Always(0),
    ),
    key(S::Boot, "bcdsafe", "bcdedit safeboot", K::Text, D::None),
    key(S::Boot, "cs", r"Select\Current", K::Dword, D::None),
    key(S::Boot, "csnext", r"Select\Default", K::Dword, D::None),
    key(
        S::Boot,
        "guid",
        r"Cryptography\MachineGuid",
        K::Text,
        D::None,
    ),
];

/// The key `key` of `section`.
pub fn lookup(section: Section, key: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.section == section && k.key == key)
}

/// The default of a Schannel protocol's `Enabled` value on a release: TLS 1.3 is offered
/// from Windows Server 2022; TLS 1.0 and 1.1 are enabled through 2022 and disabled by
/// default in the releases after September 2023 (Windows Server 2025; Microsoft, "TLS 1.0
/// and TLS 1.1 soon to be disabled in Windows"); TLS 1.2 is enabled on every release.
pub fn tls_enabled_default(protocol: &str, release: Option<Release>) -> Option<u32> {
    match protocol {
        "TLS1.3" => D::OfferedFrom(Release::Server2022).on(release),
        "TLS1.0" | "TLS1.1" => D::From {
            before: 1,
            release: Release::Server2025,
            then: 0,
        }
        .on(release),
        "TLS1.2" => Some(1),
        _ => None,
    }
}
