//! Where on Windows the snapshot's values are read: the registry values of the sections
//! read from one key each, the services, firewall rules and Schannel protocols it covers.
//! The producers (`remote::config`, `fixer collect`) read them; the reader of `reg query`
//! output (`input::config`) maps what it prints back to the snapshot's keys.

use super::schema::Section;

const TS: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server";
const TSP: &str = r"HKLM\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
const RDP: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Terminal Server\WinStations\RDP-Tcp";
const LSA: &str = r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa";
const CREDSSP: &str =
    r"HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System\CredSSP\Parameters";

/// The registry values of the sections read from one key each: (section, snapshot key,
/// registry key, value name).
pub const REGISTRY: &[(Section, &str, &str, &str)] = &[
    (Section::Ts, "deny", TS, "fDenyTSConnections"),
    (Section::Ts, "drain", TS, "TSServerDrainMode"),
    (Section::Tsp, "deny", TSP, "fDenyTSConnections"),
    (Section::Tsp, "sec", TSP, "SecurityLayer"),
    (Section::Tsp, "nla", TSP, "UserAuthentication"),
    (Section::Tsp, "enc", TSP, "MinEncryptionLevel"),
    (Section::Rdp, "port", RDP, "PortNumber"),
    (Section::Rdp, "sec", RDP, "SecurityLayer"),
    (Section::Rdp, "nla", RDP, "UserAuthentication"),
    (Section::Rdp, "enc", RDP, "MinEncryptionLevel"),
    (Section::Rdp, "on", RDP, "fEnableWinStation"),
    (Section::Rdp, "nologon", RDP, "fLogonDisabled"),
    (Section::Rdp, "lan", RDP, "LanAdapter"),
    (Section::Rdp, "max", RDP, "MaxInstanceCount"),
    (Section::Rdp, "neg", RDP, "fAllowSecProtocolNegotiation"),
    (Section::Rdp, "cert", RDP, "SSLCertificateSHA1Hash"),
    (Section::Lsa, "oracle", CREDSSP, "AllowEncryptionOracle"),
    (Section::Lsa, "nodomcreds", LSA, "disabledomaincreds"),
    (
        Section::Lsa,
        "fips",
        r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa\FIPSAlgorithmPolicy",
        "Enabled",
    ),
    (Section::Lsa, "lm", LSA, "LmCompatibilityLevel"),
    // The installation's identity, which a plan for its OS disk attached to a rescue VM
    // names (`plan::OfflineTarget`). The Run Command fragment writes it only while the block
    // stays within its bound (`remote::config::MAX_SNAPSHOT_BYTES`).
    (
        Section::Boot,
        "guid",
        r"HKLM\SOFTWARE\Microsoft\Cryptography",
        "MachineGuid",
    ),
];

/// The services whose start type, state, account and type the snapshot holds.
pub const SERVICES: &[&str] = &[
    "TermService",
    "UmRdpService",
    "SessionEnv",
    "Dhcp",
    "NSI",
    "Netlogon",
    "BFE",
    "MpsSvc",
];

/// The built-in Remote Desktop firewall rules whose state the snapshot holds.
pub const FIREWALL_RULES: &[&str] = &[
    "RemoteDesktop-UserMode-In-TCP",
    "RemoteDesktop-UserMode-In-UDP",
];

/// Schannel protocols (registry key names) whose server side the snapshot holds.
pub const PROTOCOLS: &[&str] = &["TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3"];

/// The MachineKeys folder's expected SDDL (Microsoft's vmassist).
pub const MACHINE_KEYS_SDDL: &str = "O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)";
