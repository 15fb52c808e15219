//! Ed25519 keys in rdpfix's text formats, their fingerprint and keyid, and the signer
//! abstraction.
//!
//! - Public key: `rdpfix-ed25519:` + base64url (no padding) of the 32 key bytes followed by
//!   the first 4 bytes of their SHA-256, so a key mangled in transit (a dropped character
//!   in Serial Console) is refused instead of enrolled. What the page displays and
//!   `fixer trust add` takes.
//! - Fingerprint: SHA-256 of the 32 key bytes in RFC 4648 base32, 13 groups of 4
//!   (`K7QX 2M4P …`), what people compare between the page and the fixer.
//! - keyid (DSSE hint, never a security decision): the first 8 bytes of that SHA-256, hex.
//! - Secret key file: comment lines (`#`), then `rdpfix-ed25519-secret:` + base64url of the
//!   32-byte seed and the first 4 bytes of its SHA-256.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;
use thiserror::Error;

const PUBLIC_PREFIX: &str = "rdpfix-ed25519:";
const SECRET_PREFIX: &str = "rdpfix-ed25519-secret:";

/// Why a key could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("a public key starts with `{PUBLIC_PREFIX}`: copy the whole key the page shows")]
    PublicPrefix,
    #[error("the key file has no `{SECRET_PREFIX}` line: is this an rdpfix key file?")]
    SecretPrefix,
    #[error("the key is not valid base64url at character {0}: it was damaged in copying")]
    Base64(usize),
    #[error(
        "the key has {0} characters after its prefix instead of 48: part of it is missing or extra"
    )]
    Length(usize),
    #[error("the key's checksum does not match: it was damaged in copying, copy it again")]
    Checksum,
    #[error("this is not a usable Ed25519 public key (invalid or weak point)")]
    InvalidPoint,
}

/// An Ed25519 public key that is a valid, non-weak curve point.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// From the 32 raw bytes (WebCrypto's `exportKey("raw")`). Rejects invalid and
    /// small-order ("weak") keys, for which signatures prove nothing.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<PublicKey, KeyError> {
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| KeyError::InvalidPoint)?;
        if key.is_weak() {
            return Err(KeyError::InvalidPoint);
        }
        Ok(PublicKey(key))
    }

    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    pub(crate) fn verifying_key(&self) -> &VerifyingKey {
        &self.0
    }

    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint(Sha256::digest(self.0.as_bytes()).into())
    }

    pub fn keyid(&self) -> KeyId {
        self.fingerprint().keyid()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.to_bytes();
        write!(
            f,
            "{PUBLIC_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(with_check(&bytes))
        )
    }
}

impl FromStr for PublicKey {
    type Err = KeyError;

    /// Reads the text form; surrounding whitespace and line breaks inside (a wrapped
    /// console line) are ignored.
    fn from_str(s: &str) -> Result<PublicKey, KeyError> {
        let compact: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        let body = compact
            .strip_prefix(PUBLIC_PREFIX)
            .ok_or(KeyError::PublicPrefix)?;
        let bytes = checked_32(body)?;
        PublicKey::from_bytes(&bytes)
    }
}

/// SHA-256 of a public key: what people compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(pub [u8; 32]);

impl Fingerprint {
    /// The DSSE keyid hint: the first 8 bytes.
    pub fn keyid(&self) -> KeyId {
        let mut id = [0u8; 8];
        id.copy_from_slice(self.0.get(..8).unwrap_or(&[0; 8]));
        KeyId(id)
    }
}

impl fmt::Display for Fingerprint {
    /// 13 groups of 4 base32 characters separated by spaces.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = base32(&self.0);
        for (i, chunk) in text.as_bytes().chunks(4).enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            f.write_str(std::str::from_utf8(chunk).map_err(|_| fmt::Error)?)?;
        }
        Ok(())
    }
}

/// The DSSE keyid: 8 bytes, written as 16 lower-case hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyId(pub [u8; 8]);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A signing key held in memory (the CLI's key file, tests). The page's WebCrypto key
/// never leaves the browser: it signs through the two-phase API instead.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// From 32 random bytes: the caller provides the randomness (the fixer the OS's,
    /// tests a fixed seed).
    pub fn from_seed(seed: [u8; 32]) -> SecretKey {
        SecretKey(SigningKey::from_bytes(&seed))
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The key file's text.
    pub fn to_file_text(&self) -> String {
        let public = self.public_key();
        let seed = self.0.to_bytes();
        format!(
            "# rdpfix signing key (Ed25519). Keep it secret: whoever holds this file can sign\n\
             # plans for every VM that trusts its public key.\n\
             # public key:  {public}\n\
             # fingerprint: {}\n\
             {SECRET_PREFIX}{}\n",
            public.fingerprint(),
            URL_SAFE_NO_PAD.encode(with_check(&seed))
        )
    }

    /// Reads a key file: `#` lines and blank lines are skipped.
    pub fn from_file_text(text: &str) -> Result<SecretKey, KeyError> {
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| l.starts_with(SECRET_PREFIX))
            .ok_or(KeyError::SecretPrefix)?;
        let body = line.trim_start_matches(SECRET_PREFIX);
        Ok(SecretKey::from_seed(checked_32(body)?))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(public: {})", self.public_key())
    }
}

/// Why a signer could not sign.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("the signing key could not sign: {0}")]
pub struct SignError(pub String);

/// Something that signs synchronously: a key in memory (CLI, tests). The page's WebCrypto
/// key is asynchronous and uses [`PreparedPlan`](super::PreparedPlan)'s two phases
/// directly; both paths assemble the same envelope.
pub trait Signer {
    fn public_key(&self) -> PublicKey;
    /// An Ed25519 signature over `message` (the PAE bytes).
    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError>;
}

impl Signer for SecretKey {
    fn public_key(&self) -> PublicKey {
        SecretKey::public_key(self)
    }

    fn sign(&self, message: &[u8]) -> Result<[u8; 64], SignError> {
        Ok(ed25519_dalek::Signer::sign(&self.0, message).to_bytes())
    }
}

fn with_check(bytes: &[u8; 32]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    out.extend_from_slice(Sha256::digest(bytes).get(..4).unwrap_or_default());
    out
}

fn checked_32(body: &str) -> Result<[u8; 32], KeyError> {
    // 32 key bytes + 4 check bytes = 36 bytes = 48 base64 characters.
    if body.len() != 48 {
        return Err(KeyError::Length(body.len()));
    }
    if let Some(bad) = body
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_'))
    {
        return Err(KeyError::Base64(bad + 1));
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(body)
        .map_err(|_| KeyError::Base64(body.len()))?;
    let (key, check) = bytes
        .split_first_chunk::<32>()
        .ok_or(KeyError::Length(body.len()))?;
    if Sha256::digest(key).get(..4) != Some(check) {
        return Err(KeyError::Checksum);
    }
    Ok(*key)
}

/// RFC 4648 base32, upper case, no padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let mut buffer: u32 = 0;
    let mut bits = 0;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            let index = (buffer >> bits) & 31;
            out.push(char::from(
                ALPHABET.get(index as usize).copied().unwrap_or(b'A'),
            ));
        }
    }
    if bits > 0 {
        let index = (buffer << (5 - bits)) & 31;
        out.push(char::from(
            ALPHABET.get(index as usize).copied().unwrap_or(b'A'),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_matches_rfc4648_vectors() {
        assert_eq!(base32(b""), "");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(base32(b"fo"), "MZXQ");
        assert_eq!(base32(b"foo"), "MZXW6");
        assert_eq!(base32(b"foob"), "MZXW6YQ");
        assert_eq!(base32(b"fooba"), "MZXW6YTB");
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
    }
}
