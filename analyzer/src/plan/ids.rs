//! The small validated values a plan carries: its id, the computer it is for, finding ids,
//! the evidence hash. Each refuses anything outside a narrow character set, so none of them
//! can smuggle markup, quotes or control characters into a page, a console or a script.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// Why a plan value was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum IdError {
    #[error("a plan id is 32 lower-case hex digits (128 random bits)")]
    PlanId,
    #[error(
        "computer name `{0}` cannot go into a plan: use 1 to 255 letters, digits, `-`, `_` and `.` (a NetBIOS name or an FQDN)"
    )]
    ComputerName(String),
    #[error(
        "finding id `{0}` is not of the form `rdp-cert-keys` (lower-case letters, digits, `-`)"
    )]
    FindingId(String),
    #[error("a SHA-256 digest is 64 lower-case hex digits")]
    Sha256,
    #[error("analyzer version `{0}` is not a version (digits, letters, `.`, `-`, `+`; at most 32)")]
    Version(String),
    #[error(
        "machine GUID `{0}` is not of the form `8-4-4-4-12` lower-case hex digits (as `SOFTWARE\\Microsoft\\Cryptography\\MachineGuid` holds it)"
    )]
    MachineGuid(String),
}

macro_rules! string_serde {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A plan's unique id: 128 random bits, written as 32 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PlanId([u8; 16]);

impl PlanId {
    /// From 16 random bytes (the fixer passes the OS's randomness, the page
    /// `crypto.getRandomValues`).
    pub fn from_random(bytes: [u8; 16]) -> PlanId {
        PlanId(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for PlanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for PlanId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<PlanId, IdError> {
        Ok(PlanId(lower_hex_array(s).ok_or(IdError::PlanId)?))
    }
}

string_serde!(PlanId);

/// A SHA-256 digest, written as 64 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha256Digest(pub [u8; 32]);

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Sha256Digest {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Sha256Digest, IdError> {
        Ok(Sha256Digest(lower_hex_array(s).ok_or(IdError::Sha256)?))
    }
}

string_serde!(Sha256Digest);

fn lower_hex_array<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 || !s.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let bytes = super::step::parse_hex(s).ok()?;
    bytes.try_into().ok()
}

/// The computer a plan is for: the `<Computer>` of the analysed logs, a NetBIOS name or an
/// FQDN. Compared case-insensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ComputerName(String);

impl ComputerName {
    pub const MAX: usize = 255;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first label: `vm1` for `vm1.contoso.com`.
    pub fn host(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// Whether this machine, known by `names` (its NetBIOS name, its DNS host name, its
    /// FQDN), is the one the plan is for. An FQDN in the plan must equal the machine's FQDN;
    /// a bare name in the plan matches the machine's NetBIOS or host name.
    pub fn matches_any<'a>(&self, names: impl IntoIterator<Item = &'a str>) -> bool {
        names.into_iter().any(|name| {
            let name = name.trim().trim_end_matches('.');
            if self.0.contains('.') {
                name.eq_ignore_ascii_case(&self.0)
            } else {
                name.eq_ignore_ascii_case(&self.0)
                    || name
                        .split('.')
                        .next()
                        .is_some_and(|host| host.eq_ignore_ascii_case(&self.0))
            }
        })
    }
}

impl fmt::Display for ComputerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for ComputerName {
    type Err = IdError;

    fn from_str(s: &str) -> Result<ComputerName, IdError> {
        let ok = !s.is_empty()
            && s.len() <= ComputerName::MAX
            && !s.starts_with(['.', '-'])
            && !s.ends_with('.')
            && !s.contains("..")
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'));
        if ok {
            Ok(ComputerName(s.to_owned()))
        } else {
            Err(IdError::ComputerName(
                super::allowlist::EscapedText::new(s).0,
            ))
        }
    }
}

string_serde!(ComputerName);

/// A finding (rule) id, `rdp-cert-keys`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FindingId(String);

impl FindingId {
    pub const MAX: usize = 64;

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FindingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for FindingId {
    type Err = IdError;

    fn from_str(s: &str) -> Result<FindingId, IdError> {
        let ok = !s.is_empty()
            && s.len() <= FindingId::MAX
            && s.starts_with(|c: char| c.is_ascii_lowercase())
            && s.bytes()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-');
        if ok {
            Ok(FindingId(s.to_owned()))
        } else {
            Err(IdError::FindingId(super::allowlist::EscapedText::new(s).0))
        }
    }
}

string_serde!(FindingId);

/// The analyzer version that built a plan (`0.1.0`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnalyzerVersion(String);

impl AnalyzerVersion {
    /// This build's version.
    pub fn current() -> AnalyzerVersion {
        AnalyzerVersion(crate::VERSION.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AnalyzerVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for AnalyzerVersion {
    type Err = IdError;

    fn from_str(s: &str) -> Result<AnalyzerVersion, IdError> {
        let ok = !s.is_empty()
            && s.len() <= 32
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'+'));
        if ok {
            Ok(AnalyzerVersion(s.to_owned()))
        } else {
            Err(IdError::Version(super::allowlist::EscapedText::new(s).0))
        }
    }
}

string_serde!(AnalyzerVersion);

/// A Windows installation's identity: `HKLM\SOFTWARE\Microsoft\Cryptography\MachineGuid`,
/// written when Windows is set up and kept by a copy of its disk. An offline plan names it
/// so that the fixer on a rescue VM acts only on that Windows' disk. Its text form is the
/// registry's: 32 lower-case hex digits grouped 8-4-4-4-12, no braces; the signed payload
/// accepts only that form ([`MachineGuid::from_registry`] normalises what a hive holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MachineGuid([u8; 16]);

impl MachineGuid {
    /// Where the dashes go, as indices into the 36-character text.
    const DASHES: [usize; 4] = [8, 13, 18, 23];

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// From the value a registry read gives: surrounding space and braces dropped,
    /// upper-case digits lowered (Windows writes lower case; a hand-edited value may not).
    pub fn from_registry(text: &str) -> Result<MachineGuid, IdError> {
        let trimmed = text.trim();
        let inner = trimmed
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .unwrap_or(trimmed);
        inner
            .to_ascii_lowercase()
            .parse()
            .map_err(|_| IdError::MachineGuid(super::allowlist::EscapedText::new(text).0))
    }
}

impl fmt::Display for MachineGuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for MachineGuid {
    type Err = IdError;

    fn from_str(s: &str) -> Result<MachineGuid, IdError> {
        let refuse = || IdError::MachineGuid(super::allowlist::EscapedText::new(s).0);
        let dashes_ok = s.len() == 36
            && s.char_indices()
                .all(|(i, c)| (c == '-') == MachineGuid::DASHES.contains(&i));
        if !dashes_ok {
            return Err(refuse());
        }
        let digits: String = s.chars().filter(|c| *c != '-').collect();
        Ok(MachineGuid(lower_hex_array(&digits).ok_or_else(refuse)?))
    }
}

string_serde!(MachineGuid);
