//! The values the [`Host`](super::Host) trait reads and writes, exact enough to restore.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A registry value exactly as stored: the raw type number and the raw data bytes.
///
/// Backups keep this form so a restore writes back the very bytes that were there
/// (`reg import` would not do: it merges, and never deletes a value the fix created).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegValue {
    /// `REG_SZ` = 1, `REG_EXPAND_SZ` = 2, `REG_BINARY` = 3, `REG_DWORD` = 4,
    /// `REG_MULTI_SZ` = 7, `REG_QWORD` = 11; anything else is kept as its number.
    pub kind: u32,
    #[serde(with = "hex_bytes")]
    pub data: Vec<u8>,
}

pub const REG_SZ: u32 = 1;
pub const REG_EXPAND_SZ: u32 = 2;
pub const REG_BINARY: u32 = 3;
pub const REG_DWORD: u32 = 4;
pub const REG_MULTI_SZ: u32 = 7;
pub const REG_QWORD: u32 = 11;

impl RegValue {
    pub fn dword(v: u32) -> Self {
        Self {
            kind: REG_DWORD,
            data: v.to_le_bytes().to_vec(),
        }
    }

    pub fn binary(data: Vec<u8>) -> Self {
        Self {
            kind: REG_BINARY,
            data,
        }
    }

    /// A `REG_SZ` in the registry's own form: UTF-16LE with a terminating NUL.
    pub fn string(s: &str) -> Self {
        let mut data: Vec<u8> = s.encode_utf16().flat_map(u16::to_le_bytes).collect();
        data.extend([0, 0]);
        Self { kind: REG_SZ, data }
    }

    /// The text of a `REG_SZ` or `REG_EXPAND_SZ`, up to its first NUL (unpaired
    /// surrogates replaced).
    pub fn as_text(&self) -> Option<String> {
        (self.kind == REG_SZ || self.kind == REG_EXPAND_SZ).then(|| {
            let units: Vec<u16> = self
                .data
                .chunks_exact(2)
                .filter_map(|c| c.try_into().ok().map(u16::from_le_bytes))
                .take_while(|&u| u != 0)
                .collect();
            String::from_utf16_lossy(&units)
        })
    }

    /// The DWORD, when this is a well-formed `REG_DWORD`.
    pub fn as_dword(&self) -> Option<u32> {
        let bytes: [u8; 4] = self.data.as_slice().try_into().ok()?;
        (self.kind == REG_DWORD).then(|| u32::from_le_bytes(bytes))
    }

    pub fn type_name(&self) -> String {
        match self.kind {
            0 => "REG_NONE".into(),
            REG_SZ => "REG_SZ".into(),
            REG_EXPAND_SZ => "REG_EXPAND_SZ".into(),
            REG_BINARY => "REG_BINARY".into(),
            REG_DWORD => "REG_DWORD".into(),
            REG_MULTI_SZ => "REG_MULTI_SZ".into(),
            REG_QWORD => "REG_QWORD".into(),
            n => format!("REG_TYPE_{n}"),
        }
    }
}

/// How `reg query` would show it, shortened: `REG_DWORD 0x1`, `REG_BINARY 3FA1…`.
impl fmt::Display for RegValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ty = self.type_name();
        if let Some(v) = self.as_dword() {
            return write!(f, "{ty} 0x{v:x}");
        }
        match self.kind {
            REG_SZ | REG_EXPAND_SZ => write!(
                f,
                "{ty} \"{}\"",
                self.as_text().unwrap_or_default().escape_default()
            ),
            _ => {
                let hex: String = self.data.iter().map(|b| format!("{b:02X}")).collect();
                if hex.len() > 48 {
                    write!(
                        f,
                        "{ty} {}... ({} bytes)",
                        hex.get(..48).unwrap_or(&hex),
                        self.data.len()
                    )
                } else {
                    write!(f, "{ty} {hex}")
                }
            }
        }
    }
}

/// A service's current state as the service control manager reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceState {
    Stopped,
    StartPending,
    StopPending,
    Running,
    ContinuePending,
    PausePending,
    Paused,
}

/// A service's start type (`sc config <name> start= …`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StartType {
    Boot,
    System,
    Auto,
    Demand,
    Disabled,
}

impl fmt::Display for StartType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StartType::Boot => "boot",
            StartType::System => "system",
            StartType::Auto => "auto",
            StartType::Demand => "demand",
            StartType::Disabled => "disabled",
        })
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ServiceState::Stopped => "stopped",
            ServiceState::StartPending => "start-pending",
            ServiceState::StopPending => "stop-pending",
            ServiceState::Running => "running",
            ServiceState::ContinuePending => "continue-pending",
            ServiceState::PausePending => "pause-pending",
            ServiceState::Paused => "paused",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub state: ServiceState,
    pub start_type: StartType,
    /// "Automatic (Delayed Start)": kept beside the start type, which Windows stores apart
    /// (`SERVICE_CONFIG_DELAYED_AUTO_START_INFO`), so a restore puts both back.
    #[serde(default)]
    pub delayed_auto_start: bool,
}

/// The accounts a service may be switched from and back to by rdpfix: the built-in ones
/// that have no password. Any other account's password is unknown to the fixer, so a change
/// away from it could never be undone.
pub fn is_passwordless_account(account: &str) -> bool {
    const BUILT_IN: [&str; 7] = [
        "LocalSystem",
        r".\LocalSystem",
        r"NT AUTHORITY\SYSTEM",
        r"NT AUTHORITY\NetworkService",
        r"NT AUTHORITY\NETWORK SERVICE",
        r"NT AUTHORITY\LocalService",
        r"NT AUTHORITY\LOCAL SERVICE",
    ];
    BUILT_IN.iter().any(|b| b.eq_ignore_ascii_case(account))
}

/// The machine's names: a plan's target must equal one of them (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputerNames {
    /// `ComputerNameNetBIOS`, e.g. `WEB01`.
    pub netbios: String,
    /// `ComputerNameDnsFullyQualified`, e.g. `web01.contoso.local`; may equal the host name
    /// alone on a machine outside a domain.
    pub dns_fqdn: String,
}

/// The certificate stores the fixer may touch: only LocalMachine "Remote Desktop".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CertStore {
    /// `Cert:\LocalMachine\Remote Desktop`, where RDP keeps its self-signed certificate.
    #[serde(rename = "Remote Desktop")]
    RemoteDesktop,
}

impl CertStore {
    /// The store's name for `CertOpenStore(CERT_STORE_PROV_SYSTEM_W, …)` and `certutil -store`.
    pub fn name(self) -> &'static str {
        match self {
            CertStore::RemoteDesktop => "Remote Desktop",
        }
    }
}

/// One certificate in a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertInfo {
    /// SHA-1 of the DER encoding in upper-case hex: what `SSLCertificateSHA1Hash` holds.
    pub thumbprint: String,
    pub subject: String,
    pub not_after: Option<Timestamp>,
    /// The certificate itself (DER), exported as `.cer` before a deletion.
    #[serde(with = "hex_bytes")]
    pub der: Vec<u8>,
    /// Where its private key is (`CERT_KEY_PROV_INFO_PROP_ID`): what re-adding the
    /// certificate needs so it is usable again. `None`: no key linked, and a restore cannot
    /// give it one.
    #[serde(default)]
    pub key: Option<KeyLink>,
    /// Offline (a store in a loaded `SOFTWARE` hive): the registry's `Blob` value of the
    /// certificate's key — the certificate with its properties, key link included — which
    /// a restore writes back byte for byte. `None` on a running machine.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "opt_hex_bytes"
    )]
    pub blob: Option<Vec<u8>>,
}

/// A certificate's link to its private key (`CRYPT_KEY_PROV_INFO`); the key itself stays
/// in MachineKeys when the certificate is deleted from the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyLink {
    /// The key container, `TSSecKeySet1` for RDP's self-signed certificate.
    pub container: String,
    pub provider: String,
    pub provider_type: u32,
    pub flags: u32,
    pub key_spec: u32,
}

/// A file or folder as the fixer found it, identified by more than its path: the volume's
/// serial number and the file index (`GetFileInformationByHandle`), so a file swapped for
/// another (or for a junction) between two calls is noticed before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FsObject {
    pub path: String,
    /// `<volume serial>-<file index>`, hex.
    pub id: String,
    pub dir: bool,
}

/// A child of a folder that the fixer will not touch, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsSkipped {
    pub path: String,
    pub reason: String,
}

/// The direct children of a folder: plain files and folders, and what was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FsListing {
    pub objects: Vec<FsObject>,
    pub skipped: Vec<FsSkipped>,
}

/// What one security write changes, and nothing else: the owner (a SID), the DACL (SDDL
/// `D:…`, never absent — a missing DACL would grant everyone everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdWrite {
    pub owner: Option<String>,
    pub dacl: Option<String>,
}

/// Whether a folder was made just now or was already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    Created,
    Existed,
}

/// The exported logs zipped into one file (`fixer collect`): where, how large, what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogBundle {
    pub path: String,
    pub bytes: u64,
    /// The files zipped, as named in the archive.
    pub members: Vec<String>,
}

/// What [`super::Host::collect_file`] writes into the collection folder: bytes made here
/// (the configuration snapshot), or a copy of a file (an offline disk's log or hive).
#[derive(Debug, Clone, Copy)]
pub enum FileSource<'a> {
    Bytes(&'a [u8]),
    CopyOf(&'a std::path::Path),
}

/// One firewall profile's state (`Get-NetFirewallProfile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirewallProfile {
    /// `Domain`, `Private` or `Public`.
    pub name: String,
    pub enabled: bool,
    /// The default inbound action is block (also when it is not configured: Windows blocks).
    pub inbound_block: bool,
}

/// The process listening on a TCP port, and the services it hosts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortListener {
    pub pid: u32,
    /// The process's name (`svchost`).
    pub process: String,
    /// The services running in that process (`TermService`).
    #[serde(default)]
    pub services: Vec<String>,
}

/// Free and total space of the system drive, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskSpace {
    /// `C:`.
    pub drive: String,
    pub free: u64,
    pub size: u64,
}

/// One event log channel to export, with the XPath query that selects what to keep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogExport {
    pub channel: String,
    pub query: String,
}

/// Hex in JSON for byte strings: exact, diffable, and readable in a journal.
pub mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        super::from_hex(&s).ok_or_else(|| D::Error::custom("invalid hex"))
    }
}

/// [`hex_bytes`] for an optional byte string.
pub mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(b) => s.serialize_some(&super::to_hex(b)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(d)? {
            Some(s) => super::from_hex(&s)
                .map(Some)
                .ok_or_else(|| D::Error::custom("invalid hex")),
            None => Ok(None),
        }
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_values_the_way_reg_query_names_them() {
        assert_eq!(RegValue::dword(1).to_string(), "REG_DWORD 0x1");
        assert_eq!(
            RegValue::binary(vec![0x3f, 0xa1]).to_string(),
            "REG_BINARY 3FA1"
        );
        assert_eq!(RegValue::string("a\"b").to_string(), "REG_SZ \"a\\\"b\"");
        let odd = RegValue {
            kind: REG_DWORD,
            data: vec![1, 2],
        };
        assert_eq!(odd.as_dword(), None);
        assert_eq!(odd.to_string(), "REG_DWORD 0102");
    }

    #[test]
    fn hex_round_trips_and_rejects_odd_lengths() {
        let bytes = vec![0, 1, 0xfe, 0xff];
        assert_eq!(from_hex(&to_hex(&bytes)), Some(bytes));
        assert_eq!(from_hex("abc"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
