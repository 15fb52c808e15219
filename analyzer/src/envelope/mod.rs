//! Signed plans: the DSSE envelope with Ed25519, the fix token, and verification.
//!
//! - [`pae`](mod@pae): DSSE's pre-authentication encoding.
//! - [`keys`]: public key / secret key text formats, fingerprint, keyid, [`Signer`].
//! - [`dsse`]: the [`Envelope`] and its JSON form (the plan file).
//! - [`token`]: the fix token (`rdpfix1.<N>.<DATA>`) and the fix command.
//! - [`sign`]: two-phase signing ([`PreparedPlan`] → bytes to sign → [`SignedPlan`]), used
//!   by the page's asynchronous WebCrypto key and by synchronous [`Signer`]s alike.
//! - [`verify`](mod@verify): checks 1–9 of SIGNED-PLANS.md as typed stages ending in an
//!   [`ExecutablePlan`].
//! - [`reject`]: [`Rejection`], one variant per reason.

pub mod dsse;
pub mod keys;
pub mod pae;
pub mod reject;
pub mod sign;
pub mod token;
pub mod verify;

pub use dsse::Envelope;
pub use keys::{Fingerprint, KeyError, KeyId, PublicKey, SecretKey, SignError, Signer};
pub use pae::pae;
pub use reject::Rejection;
pub use sign::{FixCommand, PreparedPlan, SignedPlan, SigningError};
pub use token::{
    MAX_COMMAND_CHARS, Shell, TOKEN_PREFIX, TokenError, TokenProgress, TokenReader, fix_command,
    token_lines,
};
pub use verify::{
    DEFAULT_CLOCK_SKEW, ExecutablePlan, ForThisComputer, Fresh, KeyChecked, NotReplayed, Received,
    ReplayJournal, SignatureVerified, TrustEntry, TrustStore, TypeChecked, VerifiedPlan,
    check_freshness, receive, verify,
};

/// The DSSE payload type of an rdpfix plan: checked exactly, and covered by the signature.
pub const PAYLOAD_TYPE: &str = "application/vnd.rdpfix.plan+json; v=1";
/// The most bytes a plan file or token may have; larger input is refused unread.
pub const MAX_ENVELOPE_BYTES: usize = 256 * 1024;
/// The most bytes a signed payload may have.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// The most bytes a payload type may have.
pub const MAX_PAYLOAD_TYPE_BYTES: usize = 128;
