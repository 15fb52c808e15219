//! The trust store: the public keys allowed to sign plans for this machine.
//!
//! No trust on first use — an attacker's first plan would pin the attacker's key. A key gets
//! here only through `fixer trust add`, which prints its fingerprint for the operator to
//! compare with the page. Keys may carry an expiry; `trust remove` revokes a key and keeps
//! the record, so a revoked key cannot be quietly enrolled again.

use crate::host::{Host, HostError};
use crate::state_dir::{self, StateDirError, TRUST_FILE};
use base64::Engine as _;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustStore {
    pub version: u32,
    pub keys: Vec<TrustedKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// The Ed25519 public key, base64 of its 32 bytes.
    pub public_key: String,
    pub fingerprint: String,
    pub label: String,
    pub added_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// Why a key cannot be used right now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStanding {
    Trusted,
    Expired { at: Timestamp },
    Revoked { at: Timestamp },
}

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("not an Ed25519 public key: {0}; paste the public key the page shows under Keys")]
    BadKey(String),
    #[error("key {fingerprint} is already enrolled as \"{label}\"")]
    AlreadyEnrolled { fingerprint: String, label: String },
    #[error(
        "key {fingerprint} was revoked at {at}: a revoked key cannot be enrolled again; make a new key on the page"
    )]
    WasRevoked { fingerprint: String, at: Timestamp },
    #[error(
        "the key's fingerprint is {actual}, not {expected}: do not enrol it; copy the key again from the page"
    )]
    FingerprintMismatch { expected: String, actual: String },
    #[error("no enrolled key matches \"{0}\"; `fixer trust list` shows them")]
    NoSuchKey(String),
    #[error("\"{0}\" matches more than one key; give the fingerprint instead")]
    Ambiguous(String),
    #[error("label must be 1 to 64 printable characters")]
    BadLabel,
    #[error("the expiry {0} is not in the future")]
    ExpiryInPast(Timestamp),
    #[error(
        "{path} is damaged ({detail}); restore it from backup or remove it and enrol keys again"
    )]
    Damaged { path: String, detail: String },
    #[error(transparent)]
    StateDir(#[from] StateDirError),
    #[error(transparent)]
    Host(#[from] HostError),
}

/// Parses a public key given as base64 (standard or URL-safe, padded or not) or hex of its
/// 32 bytes, optionally prefixed `ed25519:`; checks it is a valid curve point.
pub fn parse_public_key(text: &str) -> Result<[u8; 32], TrustError> {
    let t = text.trim();
    let t = t.strip_prefix("ed25519:").unwrap_or(t);
    let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        crate::host::from_hex(&t.to_ascii_lowercase())
    } else {
        let engines = [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        engines.iter().find_map(|e| e.decode(t).ok())
    };
    let bytes = bytes.ok_or_else(|| TrustError::BadKey("neither base64 nor hex".into()))?;
    let key: [u8; 32] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| TrustError::BadKey(format!("{} bytes, expected 32", bytes.len())))?;
    ed25519_dalek::VerifyingKey::from_bytes(&key)
        .map_err(|_| TrustError::BadKey("not a point on Ed25519".into()))?;
    Ok(key)
}

/// SHA-256 of the public key in upper-case hex, grouped by four: what the page shows.
pub fn fingerprint(key: &[u8; 32]) -> String {
    let hex: Vec<String> = Sha256::digest(key)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    hex.chunks(2)
        .map(|c| c.concat())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Compares fingerprints ignoring spaces, dashes, colons and case.
fn same_fingerprint(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_uppercase()
    };
    norm(a) == norm(b)
}

impl TrustedKey {
    pub fn standing(&self, now: Timestamp) -> KeyStanding {
        if let Some(at) = self.revoked_at {
            return KeyStanding::Revoked { at };
        }
        match self.expires_at {
            Some(at) if now >= at => KeyStanding::Expired { at },
            _ => KeyStanding::Trusted,
        }
    }

    pub fn key_bytes(&self) -> Option<[u8; 32]> {
        parse_public_key(&self.public_key).ok()
    }
}

impl TrustStore {
    /// Reads the store after checking the state directory is safe; empty when missing.
    pub fn load(host: &dyn Host) -> Result<Self, TrustError> {
        state_dir::check(host)?;
        let Some(bytes) = host.state_read(TRUST_FILE)? else {
            return Ok(TrustStore {
                version: 1,
                keys: Vec::new(),
            });
        };
        let path = host.state_dir().join(TRUST_FILE).display().to_string();
        let store: TrustStore =
            serde_json::from_slice(&bytes).map_err(|e| TrustError::Damaged {
                path: path.clone(),
                detail: e.to_string(),
            })?;
        if store.version != 1 {
            return Err(TrustError::Damaged {
                path,
                detail: format!("version {}", store.version),
            });
        }
        Ok(store)
    }

    pub fn save(&self, host: &dyn Host) -> Result<(), TrustError> {
        state_dir::prepare(host)?;
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| TrustError::Damaged {
            path: TRUST_FILE.into(),
            detail: e.to_string(),
        })?;
        bytes.push(b'\n');
        host.state_write(TRUST_FILE, &bytes)?;
        Ok(())
    }

    /// Enrols a key. `expect` is the fingerprint the operator read on the page, if given.
    pub fn add(
        &mut self,
        key_text: &str,
        label: &str,
        expires_at: Option<Timestamp>,
        expect: Option<&str>,
        now: Timestamp,
    ) -> Result<TrustedKey, TrustError> {
        let key = parse_public_key(key_text)?;
        let fp = fingerprint(&key);
        if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
            return Err(TrustError::BadLabel);
        }
        if let Some(expected) = expect
            && !same_fingerprint(expected, &fp)
        {
            return Err(TrustError::FingerprintMismatch {
                expected: expected.into(),
                actual: fp,
            });
        }
        if let Some(at) = expires_at
            && at <= now
        {
            return Err(TrustError::ExpiryInPast(at));
        }
        if let Some(existing) = self
            .keys
            .iter()
            .find(|k| same_fingerprint(&k.fingerprint, &fp))
        {
            return Err(match existing.revoked_at {
                Some(at) => TrustError::WasRevoked {
                    fingerprint: fp,
                    at,
                },
                None => TrustError::AlreadyEnrolled {
                    fingerprint: fp,
                    label: existing.label.clone(),
                },
            });
        }
        let entry = TrustedKey {
            public_key: base64::engine::general_purpose::STANDARD.encode(key),
            fingerprint: fp,
            label: label.to_owned(),
            added_at: now,
            expires_at,
            revoked_at: None,
        };
        self.keys.push(entry.clone());
        Ok(entry)
    }

    /// Revokes the key whose fingerprint (or a unique prefix of it) or label is `which`.
    pub fn revoke(&mut self, which: &str, now: Timestamp) -> Result<TrustedKey, TrustError> {
        let norm: String = which.chars().filter(char::is_ascii_alphanumeric).collect();
        let matches: Vec<usize> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                k.label == which
                    || (norm.len() >= 8
                        && k.fingerprint
                            .replace(' ', "")
                            .to_ascii_uppercase()
                            .starts_with(&norm.to_ascii_uppercase()))
            })
            .map(|(i, _)| i)
            .collect();
        let index = match matches.as_slice() {
            [] => return Err(TrustError::NoSuchKey(which.into())),
            [one] => *one,
            _ => return Err(TrustError::Ambiguous(which.into())),
        };
        let key = self
            .keys
            .get_mut(index)
            .ok_or_else(|| TrustError::NoSuchKey(which.into()))?;
        if key.revoked_at.is_none() {
            key.revoked_at = Some(now);
        }
        Ok(key.clone())
    }

    /// The enrolled key with these bytes, whatever its standing.
    pub fn find(&self, key: &[u8; 32]) -> Option<&TrustedKey> {
        self.keys
            .iter()
            .find(|k| k.key_bytes().as_ref() == Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::sim::{Machine, SimHost};

    const KEY_B64: &str = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";
    const KEY_HEX: &str = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    fn now() -> Timestamp {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn accepts_base64_and_hex_of_the_same_key_and_rejects_garbage() {
        assert_eq!(
            parse_public_key(KEY_B64).unwrap(),
            parse_public_key(KEY_HEX).unwrap()
        );
        assert!(parse_public_key(&format!("ed25519:{KEY_B64}")).is_ok());
        assert!(matches!(
            parse_public_key("AAAA"),
            Err(TrustError::BadKey(_))
        ));
        assert!(matches!(
            parse_public_key("not a key!"),
            Err(TrustError::BadKey(_))
        ));
    }

    #[test]
    fn fingerprint_is_grouped_sha256_of_the_key() {
        let fp = fingerprint(&parse_public_key(KEY_HEX).unwrap());
        let expected: String = Sha256::digest(crate::host::from_hex(KEY_HEX).unwrap())
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect();
        assert_eq!(fp.replace(' ', ""), expected);
        assert_eq!(fp.len(), 64 + 15);
    }

    #[test]
    fn refuses_a_key_whose_fingerprint_differs_from_the_page() {
        let mut store = TrustStore {
            version: 1,
            keys: vec![],
        };
        let err = store
            .add(KEY_B64, "ops", None, Some("AAAA BBBB"), now())
            .unwrap_err();
        assert!(matches!(err, TrustError::FingerprintMismatch { .. }));
        let fp = fingerprint(&parse_public_key(KEY_B64).unwrap()).to_lowercase();
        store
            .add(KEY_B64, "ops", None, Some(&fp.replace(' ', ":")), now())
            .unwrap();
        assert_eq!(store.keys.len(), 1);
    }

    #[test]
    fn a_revoked_key_stays_revoked_and_cannot_be_enrolled_again() {
        let mut store = TrustStore {
            version: 1,
            keys: vec![],
        };
        store.add(KEY_B64, "ops", None, None, now()).unwrap();
        let revoked = store.revoke("ops", now()).unwrap();
        assert_eq!(revoked.standing(now()), KeyStanding::Revoked { at: now() });
        let err = store.add(KEY_HEX, "again", None, None, now()).unwrap_err();
        assert!(matches!(err, TrustError::WasRevoked { .. }));
    }

    #[test]
    fn an_expired_key_is_not_trusted() {
        let mut store = TrustStore {
            version: 1,
            keys: vec![],
        };
        let at: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let key = store.add(KEY_B64, "ops", Some(at), None, now()).unwrap();
        assert_eq!(key.standing(now()), KeyStanding::Trusted);
        assert_eq!(key.standing(at), KeyStanding::Expired { at });
        assert!(matches!(
            store.add(KEY_B64, "x", Some(now()), None, now()),
            Err(TrustError::ExpiryInPast(_))
        ));
    }

    #[test]
    fn store_round_trips_through_the_state_dir() {
        let host = SimHost::new(Machine::new("VM1", "vm1", now()));
        let mut store = TrustStore::load(&host).unwrap();
        store.add(KEY_B64, "ops", None, None, now()).unwrap();
        store.save(&host).unwrap();
        assert_eq!(TrustStore::load(&host).unwrap(), store);
    }

    #[test]
    fn refuses_a_trust_store_others_can_write() {
        let mut machine = Machine::new("VM1", "vm1", now());
        machine.state_dir_sddl =
            Some("O:BAG:SYD:(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;CI;DCLC;;;BU)".into());
        machine
            .state_files
            .insert(TRUST_FILE.into(), b"{\"version\":1,\"keys\":[]}".to_vec());
        let host = SimHost::new(machine);
        let err = TrustStore::load(&host).unwrap_err();
        assert!(err.to_string().contains("writable by Users"), "{err}");
    }
}
