//! Every reason a plan is refused, one variant each, with the check that found it.

use super::token::TokenError;
use crate::plan::AllowlistError;
use crate::plan::allowlist::EscapedText;
use jiff::Timestamp;
use thiserror::Error;

/// Why a plan was refused. [`Rejection::check`] is the number of the check in
/// SIGNED-PLANS.md ("What the fixer checks before it changes anything"); [`Rejection::code`]
/// is a stable name for scripts and exit-code mapping.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    // 1. size and shape, before anything is decoded further
    #[error("the plan is {size} bytes, more than the {max} a plan may have: refusing to read it")]
    TooLarge { size: usize, max: usize },
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error("the plan file is not a DSSE envelope: {0}")]
    MalformedEnvelope(String),
    #[error("the signed payload is {size} bytes, more than the {max} a plan may have")]
    PayloadTooLarge { size: usize, max: usize },
    #[error("the envelope must carry exactly one signature, this one has {0}")]
    SignatureCount(usize),
    #[error("this is neither a fix token (rdpfix1.…) nor a plan file (DSSE JSON)")]
    NotAPlan,

    // 2. payload type
    #[error("the payload type is `{found}`, not an rdpfix plan: refusing it")]
    WrongPayloadType { found: EscapedText },

    // 3. key
    #[error(
        "the plan is signed by a key this machine does not trust (keyid {keyid}): enrol the page's key with `fixer trust add <public key> --label <name>` after comparing its fingerprint"
    )]
    UnknownKey { keyid: EscapedText },
    #[error("the plan is signed by key `{label}` ({fingerprint}), which was revoked")]
    KeyRevoked { label: String, fingerprint: String },
    #[error(
        "the plan is signed by key `{label}` ({fingerprint}), which expired at {expired_at}: enrol a new key"
    )]
    KeyExpired {
        label: String,
        fingerprint: String,
        expired_at: Timestamp,
    },

    // 4. signature
    #[error(
        "the signature does not match the plan: it was changed after signing, or signed by another key"
    )]
    BadSignature,

    // 5. payload
    #[error("the signed plan is not a valid rdpfix plan: {0}")]
    MalformedPayload(String),
    #[error("the plan has more steps or findings than a plan may have ({0})")]
    TooManyItems(String),
    #[error("the plan has format version {0}; this fixer reads version 1: use a matching fixer")]
    UnsupportedVersion(u32),

    // 6. computer
    #[error("the plan is for computer `{plan}`, this machine is `{this}`: refusing it")]
    WrongComputer { plan: String, this: String },

    // 7. freshness
    #[error(
        "the plan was issued at {issued_at}, in the future of this machine's clock ({now}): check the clock, or make a new plan"
    )]
    NotYetValid {
        issued_at: Timestamp,
        now: Timestamp,
    },
    #[error("the plan expired at {expires_at} (now {now}): make a new plan on the page")]
    Expired {
        expires_at: Timestamp,
        now: Timestamp,
    },

    // 8. replay
    #[error("plan {plan_id} was already applied on this machine: a plan runs once")]
    Replayed { plan_id: String },
    #[error(
        "the plan's sequence number {seq} is not newer than {last}, the last applied for this key and computer: make a new plan"
    )]
    StaleSeq { seq: u64, last: u64 },

    // 9. allowlist
    #[error(transparent)]
    NotAllowed(#[from] AllowlistError),
}

impl Rejection {
    /// The check (1–9) that refused the plan.
    pub fn check(&self) -> u8 {
        match self {
            Rejection::TooLarge { .. }
            | Rejection::Token(_)
            | Rejection::MalformedEnvelope(_)
            | Rejection::PayloadTooLarge { .. }
            | Rejection::SignatureCount(_)
            | Rejection::NotAPlan => 1,
            Rejection::WrongPayloadType { .. } => 2,
            Rejection::UnknownKey { .. }
            | Rejection::KeyRevoked { .. }
            | Rejection::KeyExpired { .. } => 3,
            Rejection::BadSignature => 4,
            Rejection::MalformedPayload(_)
            | Rejection::TooManyItems(_)
            | Rejection::UnsupportedVersion(_) => 5,
            Rejection::WrongComputer { .. } => 6,
            Rejection::NotYetValid { .. } | Rejection::Expired { .. } => 7,
            Rejection::Replayed { .. } | Rejection::StaleSeq { .. } => 8,
            Rejection::NotAllowed(_) => 9,
        }
    }

    /// A stable snake_case name (`bad_signature`, `truncated_paste`).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::TooLarge { .. } => "too_large",
            Rejection::Token(e) => e.code(),
            Rejection::MalformedEnvelope(_) => "malformed_envelope",
            Rejection::PayloadTooLarge { .. } => "payload_too_large",
            Rejection::SignatureCount(_) => "signature_count",
            Rejection::NotAPlan => "not_a_plan",
            Rejection::WrongPayloadType { .. } => "wrong_payload_type",
            Rejection::UnknownKey { .. } => "unknown_key",
            Rejection::KeyRevoked { .. } => "key_revoked",
            Rejection::KeyExpired { .. } => "key_expired",
            Rejection::BadSignature => "bad_signature",
            Rejection::MalformedPayload(_) => "malformed_payload",
            Rejection::TooManyItems(_) => "too_many_items",
            Rejection::UnsupportedVersion(_) => "unsupported_version",
            Rejection::WrongComputer { .. } => "wrong_computer",
            Rejection::NotYetValid { .. } => "not_yet_valid",
            Rejection::Expired { .. } => "expired",
            Rejection::Replayed { .. } => "replayed",
            Rejection::StaleSeq { .. } => "stale_seq",
            Rejection::NotAllowed(_) => "not_allowed",
        }
    }
}
