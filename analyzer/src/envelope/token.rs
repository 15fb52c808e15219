//! The fix token: a signed envelope as one pasteable word, and the fix command around it.
//!
//! ```text
//! rdpfix1.<N>.<DATA>
//! ```
//!
//! `DATA` is base64url (no padding) of the raw-DEFLATE-compressed envelope followed by the
//! first 4 bytes of the SHA-256 of those compressed bytes; `N` is the number of `DATA`
//! characters, in decimal without a leading zero (one spelling per token). The token holds only the fixed prefix, digits and the base64url alphabet —
//! nothing a shell interprets, no log text — and says precisely what went wrong with a
//! paste: cut off (`N` says how much is missing), doubled, or changed (checksum), before
//! anything is decompressed or parsed. Line breaks and spaces inside are ignored, so a
//! token wrapped by Serial Console or pasted in several lines reads the same.
//!
//! Inside the compression, the envelope is laid out as: payload type, keyid and signature,
//! each preceded by its length in one byte, then the payload bytes to the end.

use super::dsse::Envelope;
use super::reject::Rejection;
use super::{MAX_ENVELOPE_BYTES, MAX_PAYLOAD_BYTES};
use crate::plan::allowlist::EscapedText;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Every fix token starts with this.
pub const TOKEN_PREFIX: &str = "rdpfix1.";
/// cmd.exe's longest command line; every fix command must be shorter.
pub const MAX_COMMAND_CHARS: usize = 8191;
const CHECK_BYTES: usize = 4;
/// The most `DATA` characters a token may declare.
const MAX_DATA_CHARS: usize = MAX_ENVELOPE_BYTES;

/// What is wrong with a pasted token.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    #[error(
        "truncated paste: the fix token should have {expected} characters after its `rdpfix1.{expected}.` prefix and has {got}, so {missing} are missing. Copy the whole command again; if the console cuts long lines, save the token to a file and run `fixer apply <file>`, or run `fixer apply -` and paste it in several lines", missing = .expected - .got
    )]
    Truncated { expected: usize, got: usize },
    #[error(
        "the fix token has {got} characters where its prefix announces {expected}: something was pasted twice or appended, copy it again"
    )]
    TooLong { expected: usize, got: usize },
    #[error(
        "the fix token's prefix is damaged (expected `rdpfix1.<length>.`): copy the whole command again"
    )]
    BadPrefix,
    #[error(
        "character {position} of the fix token is `{found}`, which a token never contains: it was changed in copying, copy it again"
    )]
    BadCharacter { position: usize, found: EscapedText },
    #[error(
        "the fix token's checksum does not match: characters were changed in copying, copy it again"
    )]
    Checksum,
    #[error("the fix token's content is damaged: {0}")]
    Content(String),
}

impl TokenError {
    pub fn code(&self) -> &'static str {
        match self {
            TokenError::Truncated { .. } => "truncated_paste",
            TokenError::TooLong { .. } => "token_too_long",
            TokenError::BadPrefix => "token_prefix",
            TokenError::BadCharacter { .. } => "token_character",
            TokenError::Checksum => "token_checksum",
            TokenError::Content(_) => "token_content",
        }
    }
}

/// Encodes an envelope as a fix token.
pub fn encode(envelope: &Envelope) -> String {
    let mut raw = Vec::with_capacity(envelope.payload.len() + 128);
    push_short(&mut raw, envelope.payload_type.as_bytes());
    push_short(
        &mut raw,
        envelope
            .signature
            .keyid
            .as_deref()
            .unwrap_or_default()
            .as_bytes(),
    );
    push_short(&mut raw, &envelope.signature.sig);
    raw.extend_from_slice(&envelope.payload);
    let mut packed = miniz_oxide::deflate::compress_to_vec(&raw, 10);
    let check: [u8; 32] = Sha256::digest(&packed).into();
    packed.extend_from_slice(check.get(..CHECK_BYTES).unwrap_or_default());
    let data = URL_SAFE_NO_PAD.encode(&packed);
    format!("{TOKEN_PREFIX}{}.{data}", data.len())
}

fn push_short(out: &mut Vec<u8>, field: &[u8]) {
    // Fields are capped far below 255 by `Envelope::checked` before signing.
    let len = u8::try_from(field.len()).unwrap_or(u8::MAX);
    out.push(len);
    out.extend_from_slice(field.get(..usize::from(len)).unwrap_or(field));
}

/// Decodes a fix token (whitespace anywhere is ignored).
pub fn decode(text: &str) -> Result<Envelope, Rejection> {
    if text.len() > MAX_ENVELOPE_BYTES {
        return Err(Rejection::TooLarge {
            size: text.len(),
            max: MAX_ENVELOPE_BYTES,
        });
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let (expected, data) = split(&compact)?;
    if data.len() > expected {
        // Usually a second copy pasted after the first.
        return Err(TokenError::TooLong {
            expected,
            got: data.len(),
        }
        .into());
    }
    if let Some((position, found)) = data
        .char_indices()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(TokenError::BadCharacter {
            position: compact.len() - data.len() + position + 1,
            found: EscapedText::new(&found.to_string()),
        }
        .into());
    }
    if data.len() < expected {
        return Err(TokenError::Truncated {
            expected,
            got: data.len(),
        }
        .into());
    }
    let packed = URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| TokenError::Checksum)?;
    let split_at = packed
        .len()
        .checked_sub(CHECK_BYTES)
        .ok_or(TokenError::Checksum)?;
    let (body, check) = packed.split_at(split_at);
    if Sha256::digest(body).get(..CHECK_BYTES) != Some(check) {
        return Err(TokenError::Checksum.into());
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(body, MAX_PAYLOAD_BYTES + 1024)
        .map_err(|e| match e.status {
            miniz_oxide::inflate::TINFLStatus::HasMoreOutput => Rejection::PayloadTooLarge {
                size: MAX_PAYLOAD_BYTES + 1024,
                max: MAX_PAYLOAD_BYTES,
            },
            _ => TokenError::Content("it does not decompress".to_owned()).into(),
        })?;
    let mut rest = raw.as_slice();
    let payload_type = take_short(&mut rest, "payload type")?;
    let keyid = take_short(&mut rest, "keyid")?;
    let sig = take_short(&mut rest, "signature")?;
    let payload_type = String::from_utf8(payload_type.to_vec())
        .map_err(|_| TokenError::Content("the payload type is not UTF-8".to_owned()))?;
    let keyid = (!keyid.is_empty())
        .then(|| String::from_utf8(keyid.to_vec()))
        .transpose()
        .map_err(|_| TokenError::Content("the keyid is not UTF-8".to_owned()))?;
    Envelope::checked(payload_type, rest.to_vec(), keyid, sig.to_vec())
}

fn take_short<'a>(rest: &mut &'a [u8], what: &str) -> Result<&'a [u8], TokenError> {
    let missing = || TokenError::Content(format!("the {what} is missing"));
    let (&len, tail) = rest.split_first().ok_or_else(missing)?;
    let field = tail.get(..usize::from(len)).ok_or_else(missing)?;
    *rest = tail.get(usize::from(len)..).unwrap_or_default();
    Ok(field)
}

/// Splits `rdpfix1.<N>.<DATA>` into `N` and `DATA`.
fn split(compact: &str) -> Result<(usize, &str), TokenError> {
    let rest = compact
        .strip_prefix(TOKEN_PREFIX)
        .ok_or(TokenError::BadPrefix)?;
    let (digits, data) = rest.split_once('.').ok_or_else(|| {
        // `rdpfix1.123` cut right after the length: everything is missing.
        match rest.parse::<usize>() {
            Ok(expected) if expected > 0 && rest.len() <= 7 && !rest.starts_with('0') => {
                TokenError::Truncated { expected, got: 0 }
            }
            _ => TokenError::BadPrefix,
        }
    })?;
    // One spelling of each length (no leading zero): a token has exactly one form.
    if digits.is_empty()
        || digits.len() > 7
        || digits.starts_with('0')
        || !digits.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(TokenError::BadPrefix);
    }
    let expected: usize = digits.parse().map_err(|_| TokenError::BadPrefix)?;
    if expected == 0 || expected > MAX_DATA_CHARS {
        return Err(TokenError::BadPrefix);
    }
    Ok((expected, data))
}

/// Reads a token pasted in pieces (`fixer apply -` on Serial Console): feed each line; it
/// says how much is still missing and stops as soon as the token is complete, so no
/// end-of-input key is needed.
#[derive(Debug, Clone, Default)]
pub struct TokenReader {
    text: String,
}

/// Where a [`TokenReader`] stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenProgress {
    /// More is needed. `expected` is known once the prefix has been read.
    NeedMore {
        have: usize,
        expected: Option<usize>,
    },
    /// The whole token (not yet checked: [`decode`] it).
    Complete(String),
    /// What was pasted cannot become a token.
    Invalid(TokenError),
}

impl TokenReader {
    pub fn new() -> TokenReader {
        TokenReader::default()
    }

    /// Adds a piece (a line); whitespace is ignored, and so is a `fixer apply` command
    /// pasted in front of the token.
    pub fn push(&mut self, piece: &str) -> TokenProgress {
        self.text
            .extend(piece.chars().filter(|c| !c.is_whitespace()));
        if let Some(start) = self.text.find(TOKEN_PREFIX) {
            self.text.drain(..start);
        }
        if self.text.len() > MAX_ENVELOPE_BYTES {
            return TokenProgress::Invalid(TokenError::TooLong {
                expected: MAX_DATA_CHARS,
                got: self.text.len(),
            });
        }
        if self.text.len() < TOKEN_PREFIX.len() {
            return if TOKEN_PREFIX.starts_with(self.text.as_str()) {
                TokenProgress::NeedMore {
                    have: 0,
                    expected: None,
                }
            } else {
                TokenProgress::Invalid(TokenError::BadPrefix)
            };
        }
        match split(&self.text) {
            Ok((expected, data)) if data.len() >= expected => {
                TokenProgress::Complete(self.text.clone())
            }
            Ok((expected, data)) => TokenProgress::NeedMore {
                have: data.len(),
                expected: Some(expected),
            },
            Err(TokenError::Truncated { expected, .. }) => TokenProgress::NeedMore {
                have: 0,
                expected: Some(expected),
            },
            Err(_) if !self.text.contains('.') || self.text.len() <= TOKEN_PREFIX.len() + 7 => {
                TokenProgress::NeedMore {
                    have: 0,
                    expected: None,
                }
            }
            Err(e) => TokenProgress::Invalid(e),
        }
    }
}

/// The shell a fix command is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// cmd.exe, Serial Console's CMD channel: `fixer.exe apply <token>`.
    Cmd,
    /// PowerShell (Run Command, Serial Console's PowerShell): `& .\fixer.exe apply <token>`.
    PowerShell,
}

/// The one-line fix command for a token.
pub fn fix_command(token: &str, shell: Shell) -> String {
    match shell {
        Shell::Cmd => format!("fixer.exe apply {token}"),
        Shell::PowerShell => format!("& .\\fixer.exe apply {token}"),
    }
}

/// The token in lines of at most `width` characters, for consoles that cut or wrap long
/// lines: run `fixer apply -`, then paste them.
pub fn token_lines(token: &str, width: usize) -> Vec<String> {
    let width = width.max(16);
    token
        .as_bytes()
        .chunks(width)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect()
}
