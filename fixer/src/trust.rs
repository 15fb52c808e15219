//! The trust store: the public keys allowed to sign plans for this machine.
//!
//! No trust on first use — an attacker's first plan would pin the attacker's key. A key gets
//! here only through `fixer trust add`, which prints its fingerprint for the operator to
//! compare with the page. Keys may carry an expiry; `trust remove` revokes a key and keeps
//! the record, so a revoked key cannot be quietly enrolled again.
//!
//! Keys and fingerprints are `analyzer::envelope`'s: the public key in its text form
//! (`rdpfix-ed25519:…`, with a checksum that refuses a key damaged in copying) and the
//! grouped base32 SHA-256 fingerprint the page shows. The store plugs into the envelope's
//! check 3 through [`envelope::TrustStore`].

use crate::host::{Host, HostError};
use crate::state_dir::{self, StateDirError, TRUST_FILE};
use analyzer::envelope::{self, KeyError, PublicKey, TrustEntry};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// The store's file format version.
pub const STORE_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustStore {
    pub version: u32,
    pub keys: Vec<TrustedKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedKey {
    /// The Ed25519 public key in analyzer's text form (`rdpfix-ed25519:…`).
    pub public_key: String,
    /// Its fingerprint as the page shows it: SHA-256, base32, groups of four.
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
    #[error("not an rdpfix public key: {0}")]
    BadKey(#[from] KeyError),
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

/// Reads a public key in analyzer's text form (whitespace and line breaks of a wrapped
/// console line are ignored; the checksum catches a damaged copy).
pub fn parse_public_key(text: &str) -> Result<PublicKey, TrustError> {
    Ok(PublicKey::from_str(text)?)
}

/// A fingerprint reduced to what identifies it: letters and digits, upper case. People
/// type fingerprints with or without spaces, dashes or colons, in either case.
fn normalise_fingerprint(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_uppercase()
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

    pub fn key(&self) -> Option<PublicKey> {
        PublicKey::from_str(&self.public_key).ok()
    }
}

impl TrustStore {
    /// Reads the store after checking the state directory is safe; empty when missing.
    /// Every key must read back and match its recorded fingerprint.
    pub fn load(host: &dyn Host) -> Result<Self, TrustError> {
        state_dir::check(host)?;
        let Some(bytes) = host.state_read(TRUST_FILE)? else {
            return Ok(TrustStore {
                version: STORE_VERSION,
                keys: Vec::new(),
            });
        };
        let path = host.state_dir().join(TRUST_FILE).display().to_string();
        let damaged = |detail: String| TrustError::Damaged {
            path: path.clone(),
            detail,
        };
        let store: TrustStore =
            serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
        if store.version != STORE_VERSION {
            return Err(damaged(format!("version {}", store.version)));
        }
        for k in &store.keys {
            let key = PublicKey::from_str(&k.public_key)
                .map_err(|e| damaged(format!("key \"{}\": {e}", k.label)))?;
            if key.fingerprint().to_string() != k.fingerprint {
                return Err(damaged(format!(
                    "key \"{}\" does not match its fingerprint",
                    k.label
                )));
            }
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
        let fp = key.fingerprint().to_string();
        if label.is_empty() || label.chars().count() > 64 || label.chars().any(char::is_control) {
            return Err(TrustError::BadLabel);
        }
        if let Some(expected) = expect
            && normalise_fingerprint(expected) != normalise_fingerprint(&fp)
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
        if let Some(existing) = self.keys.iter().find(|k| k.fingerprint == fp) {
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
            public_key: key.to_string(),
            fingerprint: fp,
            label: label.to_owned(),
            added_at: now,
            expires_at,
            revoked_at: None,
        };
        self.keys.push(entry.clone());
        Ok(entry)
    }

    /// Revokes the key whose label is `which`, or whose fingerprint starts with `which`
    /// (at least 8 characters of it).
    pub fn revoke(&mut self, which: &str, now: Timestamp) -> Result<TrustedKey, TrustError> {
        let norm = normalise_fingerprint(which);
        let matches: Vec<usize> = self
            .keys
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                k.label == which
                    || (norm.len() >= 8 && normalise_fingerprint(&k.fingerprint).starts_with(&norm))
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
}

/// Check 3 reads the store through this: every key, revoked and expired ones included, so
/// a refusal can say why.
impl envelope::TrustStore for TrustStore {
    fn entries(&self) -> Vec<TrustEntry> {
        self.keys
            .iter()
            .filter_map(|k| {
                Some(TrustEntry {
                    public_key: k.key()?,
                    label: k.label.clone(),
                    expires_at: k.expires_at,
                    revoked: k.revoked_at.is_some(),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::sim::{Machine, SimHost};
    use analyzer::envelope::SecretKey;
    use analyzer::envelope::TrustStore as _;

    fn key(seed: u8) -> PublicKey {
        SecretKey::from_seed([seed; 32]).public_key()
    }

    fn now() -> Timestamp {
        "2026-11-25T10:00:00Z".parse().unwrap()
    }

    fn empty() -> TrustStore {
        TrustStore {
            version: STORE_VERSION,
            keys: vec![],
        }
    }

    #[test]
    fn reads_the_pages_key_format_even_wrapped_and_refuses_a_damaged_copy() {
        let text = key(1).to_string();
        let (a, b) = text.split_at(30);
        assert_eq!(parse_public_key(&format!(" {a}\r\n{b} ")).unwrap(), key(1));
        // One character changed in transit: the checksum refuses it.
        let mut damaged = text.clone().into_bytes();
        let last = damaged.len() - 5;
        damaged[last] = if damaged[last] == b'A' { b'B' } else { b'A' };
        let damaged = String::from_utf8(damaged).unwrap();
        assert!(matches!(
            parse_public_key(&damaged),
            Err(TrustError::BadKey(KeyError::Checksum | KeyError::Base64(_)))
        ));
        // Raw base64 of the 32 bytes (the old format) is not a key the page shows.
        assert!(matches!(
            parse_public_key("11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="),
            Err(TrustError::BadKey(KeyError::PublicPrefix))
        ));
    }

    #[test]
    fn enrolled_key_carries_analyzers_fingerprint() {
        let mut store = empty();
        let k = store
            .add(&key(1).to_string(), "ops", None, None, now())
            .unwrap();
        assert_eq!(k.fingerprint, key(1).fingerprint().to_string());
        assert_eq!(k.public_key, key(1).to_string());
        let entries = store.entries();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].public_key, key(1));
        assert!(!entries[0].revoked);
    }

    #[test]
    fn refuses_a_key_whose_fingerprint_differs_from_the_page() {
        let mut store = empty();
        let other = key(2).fingerprint().to_string();
        let err = store
            .add(&key(1).to_string(), "ops", None, Some(&other), now())
            .unwrap_err();
        assert!(matches!(err, TrustError::FingerprintMismatch { .. }));
        // The right one, typed without spaces and in lower case, is accepted.
        let fp = key(1)
            .fingerprint()
            .to_string()
            .replace(' ', "")
            .to_lowercase();
        store
            .add(&key(1).to_string(), "ops", None, Some(&fp), now())
            .unwrap();
        assert_eq!(store.keys.len(), 1);
    }

    #[test]
    fn a_revoked_key_stays_revoked_and_cannot_be_enrolled_again() {
        let mut store = empty();
        store
            .add(&key(1).to_string(), "ops", None, None, now())
            .unwrap();
        store
            .add(&key(2).to_string(), "backup", None, None, now())
            .unwrap();
        // By a fingerprint prefix, spaces and case as people type them.
        let prefix = key(1).fingerprint().to_string()[..14].to_lowercase();
        let revoked = store.revoke(&prefix, now()).unwrap();
        assert_eq!(revoked.label, "ops");
        assert_eq!(revoked.standing(now()), KeyStanding::Revoked { at: now() });
        assert!(
            store
                .entries()
                .iter()
                .any(|e| e.revoked && e.label == "ops")
        );
        let err = store
            .add(&key(1).to_string(), "again", None, None, now())
            .unwrap_err();
        assert!(matches!(err, TrustError::WasRevoked { .. }));
        assert!(matches!(
            store.revoke("nobody", now()),
            Err(TrustError::NoSuchKey(_))
        ));
    }

    #[test]
    fn an_expired_key_is_not_trusted() {
        let mut store = empty();
        let at: Timestamp = "2026-12-01T00:00:00Z".parse().unwrap();
        let k = store
            .add(&key(1).to_string(), "ops", Some(at), None, now())
            .unwrap();
        assert_eq!(k.standing(now()), KeyStanding::Trusted);
        assert_eq!(k.standing(at), KeyStanding::Expired { at });
        assert_eq!(store.entries()[0].expires_at, Some(at));
        assert!(matches!(
            store.add(&key(2).to_string(), "x", Some(now()), None, now()),
            Err(TrustError::ExpiryInPast(_))
        ));
    }

    #[test]
    fn store_round_trips_through_the_state_dir() {
        let host = SimHost::new(Machine::new("VM1", "vm1", now()));
        let mut store = TrustStore::load(&host).unwrap();
        store
            .add(&key(1).to_string(), "ops", None, None, now())
            .unwrap();
        store.save(&host).unwrap();
        assert_eq!(TrustStore::load(&host).unwrap(), store);
    }

    #[test]
    fn a_store_whose_key_does_not_match_its_fingerprint_is_damaged() {
        let mut store = empty();
        store
            .add(&key(1).to_string(), "ops", None, None, now())
            .unwrap();
        store.keys[0].fingerprint = key(2).fingerprint().to_string();
        let mut machine = Machine::new("VM1", "vm1", now());
        machine
            .state_files
            .insert(TRUST_FILE.into(), serde_json::to_vec(&store).unwrap());
        let err = TrustStore::load(&SimHost::new(machine)).unwrap_err();
        assert!(matches!(err, TrustError::Damaged { .. }), "{err}");
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
