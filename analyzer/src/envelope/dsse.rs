//! The DSSE envelope (secure-systems-lab/dsse, `envelope.md`) and its JSON form: what a
//! plan file holds.
//!
//! ```json
//! {"payloadType": "application/vnd.rdpfix.plan+json; v=1",
//!  "payload": "<base64 of the exact payload bytes>",
//!  "signatures": [{"keyid": "<16 hex digits>", "sig": "<base64 of 64 bytes>"}]}
//! ```
//!
//! Decoding checks sizes and shapes only; nothing in an envelope is trusted until the
//! [verification stages](mod@super::verify) say so.

use super::reject::Rejection;
use super::{MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES, MAX_PAYLOAD_TYPE_BYTES};
use base64::Engine;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, STANDARD};
use serde::{Deserialize, Serialize};

/// A decoded, unverified envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    pub(crate) payload_type: String,
    pub(crate) payload: Vec<u8>,
    pub(crate) signature: EnvelopeSignature,
}

/// The envelope's one signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSignature {
    /// A lookup hint, never a security decision.
    pub(crate) keyid: Option<String>,
    pub(crate) sig: Vec<u8>,
}

/// The most characters a keyid may have (ours have 16).
pub const MAX_KEYID_CHARS: usize = 64;

impl Envelope {
    pub(crate) fn new(payload_type: String, payload: Vec<u8>, keyid: String, sig: Vec<u8>) -> Self {
        Envelope {
            payload_type,
            payload,
            signature: EnvelopeSignature {
                keyid: Some(keyid),
                sig,
            },
        }
    }

    pub fn payload_type(&self) -> &str {
        &self.payload_type
    }

    /// The exact payload bytes (unverified until the signature stage passes).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    pub fn keyid(&self) -> Option<&str> {
        self.signature.keyid.as_deref()
    }

    pub fn signature_bytes(&self) -> &[u8] {
        &self.signature.sig
    }

    /// The JSON form, with standard base64 (DSSE lets verifiers accept either alphabet).
    pub fn to_json(&self) -> String {
        let json = JsonEnvelope {
            payload_type: self.payload_type.clone(),
            payload: STANDARD.encode(&self.payload),
            signatures: vec![JsonSignature {
                keyid: self.signature.keyid.clone(),
                sig: STANDARD.encode(&self.signature.sig),
            }],
        };
        // Serialising plain strings cannot fail.
        serde_json::to_string_pretty(&json).unwrap_or_default()
    }

    /// Reads the JSON form. Unknown and duplicate fields are rejected; standard and
    /// URL-safe base64, padded or not, are accepted (DSSE requires both).
    pub fn from_json(text: &str) -> Result<Envelope, Rejection> {
        if text.len() > MAX_ENVELOPE_BYTES {
            return Err(Rejection::TooLarge {
                size: text.len(),
                max: MAX_ENVELOPE_BYTES,
            });
        }
        let json: JsonEnvelope =
            serde_json::from_str(text).map_err(|e| Rejection::MalformedEnvelope(e.to_string()))?;
        let [signature] = <[JsonSignature; 1]>::try_from(json.signatures)
            .map_err(|sigs| Rejection::SignatureCount(sigs.len()))?;
        let payload = decode_base64(&json.payload)
            .ok_or_else(|| Rejection::MalformedEnvelope("`payload` is not base64".to_owned()))?;
        let sig = decode_base64(&signature.sig)
            .ok_or_else(|| Rejection::MalformedEnvelope("`sig` is not base64".to_owned()))?;
        Envelope::checked(json.payload_type, payload, signature.keyid, sig)
    }

    /// Applies the size and shape limits shared by both encodings.
    pub(crate) fn checked(
        payload_type: String,
        payload: Vec<u8>,
        keyid: Option<String>,
        sig: Vec<u8>,
    ) -> Result<Envelope, Rejection> {
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(Rejection::PayloadTooLarge {
                size: payload.len(),
                max: MAX_PAYLOAD_BYTES,
            });
        }
        if payload_type.len() > MAX_PAYLOAD_TYPE_BYTES {
            return Err(Rejection::MalformedEnvelope(format!(
                "`payloadType` is longer than {MAX_PAYLOAD_TYPE_BYTES} bytes"
            )));
        }
        if keyid.as_ref().is_some_and(|k| k.len() > MAX_KEYID_CHARS) {
            return Err(Rejection::MalformedEnvelope(format!(
                "`keyid` is longer than {MAX_KEYID_CHARS} characters"
            )));
        }
        if sig.len() != 64 {
            return Err(Rejection::MalformedEnvelope(format!(
                "an Ed25519 signature has 64 bytes, this one {}",
                sig.len()
            )));
        }
        Ok(Envelope {
            payload_type,
            payload,
            signature: EnvelopeSignature { keyid, sig },
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonEnvelope {
    #[serde(rename = "payloadType")]
    payload_type: String,
    payload: String,
    signatures: Vec<JsonSignature>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonSignature {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keyid: Option<String>,
    sig: String,
}

const LENIENT: GeneralPurposeConfig =
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT
        .decode(text)
        .or_else(|_| URL_SAFE_LENIENT.decode(text))
        .ok()
}
