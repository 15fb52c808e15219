//! Verification as a chain of typed stages, in the order of SIGNED-PLANS.md: each stage
//! consumes the previous one's type and only the last yields an [`ExecutablePlan`], so no
//! check can be skipped or reordered. The host-specific parts (the trust store, this
//! machine's names, the journal) come in through parameters and traits the fixer
//! implements; every decision is made here.
//!
//! ```text
//! receive (1 caps, decode) → Received
//!   .check_payload_type()          (2) → TypeChecked
//!   .check_key(&store, now)        (3) → KeyChecked
//!   .verify_signature()            (4) → SignatureVerified
//!   .parse()                       (5) → VerifiedPlan
//!   .check_computer(names)         (6) → ForThisComputer
//!   .check_freshness(now, skew)    (7) → Fresh
//!   .check_replay(&journal)        (8) → NotReplayed
//!   .check_allowlist()             (9) → ExecutablePlan
//! ```

use super::dsse::Envelope;
use super::keys::{Fingerprint, KeyId, PublicKey};
use super::pae::pae;
use super::reject::Rejection;
use super::token::{self, TOKEN_PREFIX};
use super::{MAX_ENVELOPE_BYTES, PAYLOAD_TYPE};
use crate::plan::allowlist::EscapedText;
use crate::plan::payload::TOO_MANY;
use crate::plan::{AllowedStep, ComputerName, PLAN_VERSION, Plan, PlanId, check_steps};
use ed25519_dalek::Signature;
use jiff::{SignedDuration, Timestamp};

/// How far ahead of this machine's clock a plan's issue time may be.
pub const DEFAULT_CLOCK_SKEW: SignedDuration = SignedDuration::from_mins(5);

/// A key the fixer trusts, as its store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustEntry {
    pub public_key: PublicKey,
    pub label: String,
    /// The key is refused from this instant on.
    pub expires_at: Option<Timestamp>,
    pub revoked: bool,
}

/// The fixer's trust store.
pub trait TrustStore {
    /// Every enrolled key, revoked and expired ones included (so the refusal can say why).
    fn entries(&self) -> Vec<TrustEntry>;
}

impl TrustStore for [TrustEntry] {
    fn entries(&self) -> Vec<TrustEntry> {
        self.to_vec()
    }
}

impl TrustStore for Vec<TrustEntry> {
    fn entries(&self) -> Vec<TrustEntry> {
        self.clone()
    }
}

/// What the fixer's journal knows, read before verification starts.
pub trait ReplayJournal {
    /// Whether this plan was ever started or applied on this machine.
    fn has_plan(&self, plan_id: &PlanId) -> bool;
    /// The highest `seq` applied for plans signed by `key` for `computer`.
    fn last_seq(&self, key: &Fingerprint, computer: &ComputerName) -> Option<u64>;
}

/// Check 1: size caps, then decoding of a fix token or a plan file (DSSE JSON). A whole
/// fix command pasted into a file (`fixer.exe apply [options] rdpfix1.…`) is accepted too.
pub fn receive(input: &[u8]) -> Result<Received, Rejection> {
    if input.len() > MAX_ENVELOPE_BYTES {
        return Err(Rejection::TooLarge {
            size: input.len(),
            max: MAX_ENVELOPE_BYTES,
        });
    }
    let text = std::str::from_utf8(input)
        .map_err(|e| Rejection::MalformedEnvelope(format!("not UTF-8 text ({e})")))?;
    let text = text.trim_start_matches('\u{feff}').trim();
    let envelope = if text.starts_with('{') {
        Envelope::from_json(text)?
    } else if let Some(start) = text.find(TOKEN_PREFIX) {
        let before = text.get(..start).unwrap_or_default().trim();
        let is_command = before.is_empty()
            || before
                .split_whitespace()
                .any(|w| w.eq_ignore_ascii_case("apply") || w.eq_ignore_ascii_case("verify"));
        if !is_command {
            return Err(Rejection::NotAPlan);
        }
        token::decode(text.get(start..).unwrap_or_default())?
    } else {
        return Err(Rejection::NotAPlan);
    };
    Ok(Received { envelope })
}

/// Check 1 passed: an envelope within the caps.
#[derive(Debug, Clone)]
pub struct Received {
    envelope: Envelope,
}

impl Received {
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Check 2: the payload type is exactly rdpfix's.
    pub fn check_payload_type(self) -> Result<TypeChecked, Rejection> {
        if self.envelope.payload_type != PAYLOAD_TYPE {
            return Err(Rejection::WrongPayloadType {
                found: EscapedText::new(&self.envelope.payload_type),
            });
        }
        Ok(TypeChecked {
            envelope: self.envelope,
        })
    }
}

/// Check 2 passed.
#[derive(Debug, Clone)]
pub struct TypeChecked {
    envelope: Envelope,
}

impl TypeChecked {
    /// Check 3: the keyid names a trusted key that is neither revoked nor expired at `now`.
    /// The keyid only narrows the search (DSSE: never a security decision); the signature
    /// check that follows is what binds the plan to the key.
    pub fn check_key(
        self,
        store: &(impl TrustStore + ?Sized),
        now: Timestamp,
    ) -> Result<KeyChecked, Rejection> {
        let keyid = self.envelope.keyid().map(str::to_owned);
        let candidates: Vec<TrustEntry> = store
            .entries()
            .into_iter()
            .filter(|e| {
                keyid
                    .as_deref()
                    .is_none_or(|k| k.eq_ignore_ascii_case(&e.public_key.keyid().to_string()))
            })
            .collect();
        let usable: Vec<TrustEntry> = candidates
            .iter()
            .filter(|e| !e.revoked && e.expires_at.is_none_or(|at| now < at))
            .cloned()
            .collect();
        if usable.is_empty() {
            return Err(match candidates.first() {
                None => Rejection::UnknownKey {
                    keyid: EscapedText::new(keyid.as_deref().unwrap_or("none")),
                },
                Some(e) if e.revoked => Rejection::KeyRevoked {
                    label: EscapedText::new(&e.label).0,
                    fingerprint: e.public_key.fingerprint().to_string(),
                },
                Some(e) => Rejection::KeyExpired {
                    label: EscapedText::new(&e.label).0,
                    fingerprint: e.public_key.fingerprint().to_string(),
                    expired_at: e.expires_at.unwrap_or(now),
                },
            });
        }
        Ok(KeyChecked {
            envelope: self.envelope,
            candidates: usable,
        })
    }
}

/// Check 3 passed: the keys the signature may be from.
#[derive(Debug, Clone)]
pub struct KeyChecked {
    envelope: Envelope,
    candidates: Vec<TrustEntry>,
}

impl KeyChecked {
    /// Check 4: `verify_strict` over the PAE of the exact payload bytes (rejects
    /// non-canonical `s`, small-order keys and `R`).
    pub fn verify_signature(self) -> Result<SignatureVerified, Rejection> {
        let bytes: [u8; 64] = self
            .envelope
            .signature_bytes()
            .try_into()
            .map_err(|_| Rejection::BadSignature)?;
        let signature = Signature::from_bytes(&bytes);
        let message = pae(
            self.envelope.payload_type.as_bytes(),
            &self.envelope.payload,
        );
        let signer = self
            .candidates
            .into_iter()
            .find(|e| {
                e.public_key
                    .verifying_key()
                    .verify_strict(&message, &signature)
                    .is_ok()
            })
            .ok_or(Rejection::BadSignature)?;
        Ok(SignatureVerified {
            envelope: self.envelope,
            signer,
        })
    }
}

/// Check 4 passed: the payload bytes are exactly what a trusted key signed.
#[derive(Debug, Clone)]
pub struct SignatureVerified {
    envelope: Envelope,
    signer: TrustEntry,
}

impl SignatureVerified {
    /// Check 5: the signed bytes parse as a plan, unknown and duplicate fields denied, at
    /// most `MAX_STEPS` steps, and `v == 1`.
    pub fn parse(self) -> Result<VerifiedPlan, Rejection> {
        let payload = &self.envelope.payload;
        let plan: Plan = serde_json::from_slice(payload).map_err(|e| {
            // Report a newer format as such rather than as an unknown field.
            match serde_json::from_slice::<VersionProbe>(payload) {
                Ok(probe) if probe.v != PLAN_VERSION => Rejection::UnsupportedVersion(probe.v),
                _ if e.to_string().contains(TOO_MANY) => Rejection::TooManyItems(e.to_string()),
                _ => Rejection::MalformedPayload(e.to_string()),
            }
        })?;
        if plan.v != PLAN_VERSION {
            return Err(Rejection::UnsupportedVersion(plan.v));
        }
        Ok(VerifiedPlan {
            plan,
            signer: self.signer,
            envelope: self.envelope,
        })
    }
}

/// Reads only `v`, ignoring everything else, to tell a newer format from a broken one.
#[derive(serde::Deserialize)]
struct VersionProbe {
    v: u32,
}

/// Checks 1–5 passed: a plan a trusted key signed, parsed from the exact signed bytes.
/// Showable; not yet executable.
#[derive(Debug, Clone)]
pub struct VerifiedPlan {
    plan: Plan,
    signer: TrustEntry,
    envelope: Envelope,
}

impl VerifiedPlan {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The trusted key that signed it.
    pub fn signer(&self) -> &TrustEntry {
        &self.signer
    }

    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// Check 6: the plan's computer is this machine. `names`: this machine's NetBIOS name,
    /// DNS host name and FQDN, as the OS reports them; compared case-insensitively.
    pub fn check_computer<'a>(
        self,
        names: impl IntoIterator<Item = &'a str> + Clone,
    ) -> Result<ForThisComputer, Rejection> {
        if !self.plan.target.computer.matches_any(names.clone()) {
            let this: Vec<String> = names.into_iter().map(|n| EscapedText::new(n).0).collect();
            return Err(Rejection::WrongComputer {
                plan: self.plan.target.computer.to_string(),
                this: this.join(" / "),
            });
        }
        Ok(ForThisComputer { inner: self })
    }
}

/// Check 6 passed.
#[derive(Debug, Clone)]
pub struct ForThisComputer {
    inner: VerifiedPlan,
}

impl ForThisComputer {
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// Check 7: `issued_at <= now + skew` and `now < expires_at`.
    pub fn check_freshness(self, now: Timestamp, skew: SignedDuration) -> Result<Fresh, Rejection> {
        check_freshness(&self.inner.plan, now, skew)?;
        Ok(Fresh { inner: self.inner })
    }
}

/// Check 7 as a pure function, for showing a plan's state without the rest of the chain.
pub fn check_freshness(plan: &Plan, now: Timestamp, skew: SignedDuration) -> Result<(), Rejection> {
    let latest_issue = now.checked_add(skew).unwrap_or(now);
    if plan.issued_at > latest_issue {
        return Err(Rejection::NotYetValid {
            issued_at: plan.issued_at,
            now,
        });
    }
    if now >= plan.expires_at {
        return Err(Rejection::Expired {
            expires_at: plan.expires_at,
            now,
        });
    }
    Ok(())
}

/// Check 7 passed.
#[derive(Debug, Clone)]
pub struct Fresh {
    inner: VerifiedPlan,
}

impl Fresh {
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// Check 8: never applied before, and `seq` newer than the last for this key and
    /// computer.
    pub fn check_replay(
        self,
        journal: &(impl ReplayJournal + ?Sized),
    ) -> Result<NotReplayed, Rejection> {
        let plan = &self.inner.plan;
        if journal.has_plan(&plan.plan_id) {
            return Err(Rejection::Replayed {
                plan_id: plan.plan_id.to_string(),
            });
        }
        let key = self.inner.signer.public_key.fingerprint();
        if let Some(last) = journal.last_seq(&key, &plan.target.computer)
            && plan.seq <= last
        {
            return Err(Rejection::StaleSeq {
                seq: plan.seq,
                last,
            });
        }
        Ok(NotReplayed { inner: self.inner })
    }
}

/// Check 8 passed.
#[derive(Debug, Clone)]
pub struct NotReplayed {
    inner: VerifiedPlan,
}

impl NotReplayed {
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// Check 9: every step's kind, target and desired state is on the allowlist.
    pub fn check_allowlist(self) -> Result<ExecutablePlan, Rejection> {
        let steps = check_steps(&self.inner.plan.steps)?;
        Ok(ExecutablePlan {
            steps,
            inner: self.inner,
        })
    }
}

/// Checks 1–9 passed: the only form whose steps the fixer may execute (check 10 — probe,
/// dry-run, consent — is the fixer's).
#[derive(Debug, Clone)]
pub struct ExecutablePlan {
    steps: Vec<AllowedStep>,
    inner: VerifiedPlan,
}

impl ExecutablePlan {
    pub fn plan(&self) -> &Plan {
        &self.inner.plan
    }

    /// The typed steps, in order.
    pub fn steps(&self) -> &[AllowedStep] {
        &self.steps
    }

    pub fn signer(&self) -> &TrustEntry {
        &self.inner.signer
    }

    /// The key's fingerprint, for the journal's `seq` record.
    pub fn signer_fingerprint(&self) -> Fingerprint {
        self.inner.signer.public_key.fingerprint()
    }

    pub fn signer_keyid(&self) -> KeyId {
        self.inner.signer.public_key.keyid()
    }
}

/// Checks 1–9 in order. The fixer can call this, or the stages one by one to interleave
/// its own output.
pub fn verify(
    input: &[u8],
    store: &(impl TrustStore + ?Sized),
    this_machine: &[&str],
    now: Timestamp,
    journal: &(impl ReplayJournal + ?Sized),
) -> Result<ExecutablePlan, Rejection> {
    receive(input)?
        .check_payload_type()?
        .check_key(store, now)?
        .verify_signature()?
        .parse()?
        .check_computer(this_machine.iter().copied())?
        .check_freshness(now, DEFAULT_CLOCK_SKEW)?
        .check_replay(journal)?
        .check_allowlist()
}
