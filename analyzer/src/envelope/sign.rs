//! Signing in two phases, so the page's asynchronous WebCrypto key and a synchronous
//! [`Signer`] produce the same envelope:
//!
//! 1. [`PreparedPlan::new`] serialises the plan once and gives the exact bytes to sign
//!    ([`PreparedPlan::bytes_to_sign`], the DSSE PAE);
//! 2. the caller signs them (awaiting `crypto.subtle.sign` in the page);
//! 3. [`PreparedPlan::assemble`] checks the signature against the public key with
//!    `verify_strict` and builds the [`SignedPlan`].
//!
//! [`PreparedPlan::sign_with`] runs the three phases with a synchronous [`Signer`].

use super::dsse::Envelope;
use super::keys::{PublicKey, SignError, Signer};
use super::pae::pae;
use super::token::{self, MAX_COMMAND_CHARS, Shell};
use super::{MAX_PAYLOAD_BYTES, PAYLOAD_TYPE};
use crate::plan::{AllowedStep, AllowlistError, Plan, check_steps};
use ed25519_dalek::Signature;
use thiserror::Error;

/// Why a plan could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigningError {
    /// The page refuses to sign what the fixer would refuse to run.
    #[error("the plan cannot be signed: {0}")]
    NotAllowed(#[from] AllowlistError),
    #[error("the plan is {size} bytes, more than the {max} a plan may have")]
    TooLarge { size: usize, max: usize },
    #[error("the plan has no steps to sign")]
    Empty,
    #[error("the plan could not be serialised: {0}")]
    Serialise(String),
    #[error("a signature has 64 bytes, this one has {0}: the signing key is not an Ed25519 key")]
    SignatureLength(usize),
    #[error(
        "the signature does not verify with the public key: the key that signed is not the key given"
    )]
    SignatureMismatch,
    #[error(transparent)]
    Signer(#[from] SignError),
}

/// A plan serialised once, waiting for its signature.
#[derive(Debug, Clone)]
pub struct PreparedPlan {
    plan: Plan,
    steps: Vec<AllowedStep>,
    payload: Vec<u8>,
    to_sign: Vec<u8>,
}

impl PreparedPlan {
    /// Checks the plan against the allowlist and the size caps, then serialises it.
    pub fn new(plan: &Plan) -> Result<PreparedPlan, SigningError> {
        if plan.steps.is_empty() {
            return Err(SigningError::Empty);
        }
        let steps = check_steps(&plan.steps)?;
        let payload =
            serde_json::to_vec(plan).map_err(|e| SigningError::Serialise(e.to_string()))?;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(SigningError::TooLarge {
                size: payload.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        let to_sign = pae(PAYLOAD_TYPE.as_bytes(), &payload);
        Ok(PreparedPlan {
            plan: plan.clone(),
            steps,
            payload,
            to_sign,
        })
    }

    /// The exact bytes the key must sign.
    pub fn bytes_to_sign(&self) -> &[u8] {
        &self.to_sign
    }

    /// The payload bytes that will be shipped (and signed, inside the PAE).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The plan's steps in typed form, for showing labels and PowerShell before signing.
    pub fn steps(&self) -> &[AllowedStep] {
        &self.steps
    }

    /// Builds the signed plan from a signature made elsewhere, after checking it with
    /// `verify_strict` — a wrong key or a damaged signature is caught here, not on the VM.
    pub fn assemble(
        self,
        public_key: &PublicKey,
        signature: &[u8],
    ) -> Result<SignedPlan, SigningError> {
        let bytes: [u8; 64] = signature
            .try_into()
            .map_err(|_| SigningError::SignatureLength(signature.len()))?;
        public_key
            .verifying_key()
            .verify_strict(&self.to_sign, &Signature::from_bytes(&bytes))
            .map_err(|_| SigningError::SignatureMismatch)?;
        let envelope = Envelope::new(
            PAYLOAD_TYPE.to_owned(),
            self.payload,
            public_key.keyid().to_string(),
            bytes.to_vec(),
        );
        Ok(SignedPlan {
            plan: self.plan,
            steps: self.steps,
            signer: *public_key,
            envelope,
        })
    }

    /// The three phases with a synchronous signer.
    pub fn sign_with(self, signer: &impl Signer) -> Result<SignedPlan, SigningError> {
        let signature = signer.sign(&self.to_sign)?;
        let public_key = signer.public_key();
        self.assemble(&public_key, &signature)
    }
}

/// A signed plan: its envelope, and the forms it travels in.
#[derive(Debug, Clone)]
pub struct SignedPlan {
    plan: Plan,
    steps: Vec<AllowedStep>,
    signer: PublicKey,
    envelope: Envelope,
}

/// A fix command, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixCommand {
    /// One line, shorter than cmd.exe's 8,191 characters.
    Line(String),
    /// Too long for one line: save the plan file and run `fixer.exe apply <file>`.
    TooLong { chars: usize },
}

impl SignedPlan {
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn steps(&self) -> &[AllowedStep] {
        &self.steps
    }

    pub fn signer(&self) -> &PublicKey {
        &self.signer
    }

    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// The plan file: the DSSE envelope as JSON.
    pub fn to_json(&self) -> String {
        self.envelope.to_json()
    }

    /// The fix token, `rdpfix1.<N>.<DATA>`.
    pub fn token(&self) -> String {
        token::encode(&self.envelope)
    }

    /// The one-line fix command, when it fits cmd.exe's limit.
    pub fn fix_command(&self, shell: Shell) -> FixCommand {
        let line = token::fix_command(&self.token(), shell);
        let chars = line.chars().count();
        if chars < MAX_COMMAND_CHARS {
            FixCommand::Line(line)
        } else {
            FixCommand::TooLong { chars }
        }
    }
}
