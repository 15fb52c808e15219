//! Enrolling the page's signing key where there is no prompt with fixer.exe in it: a Run
//! Command script (and its Serial Console line) that puts `fixer.exe` in place exactly as
//! the fix script does ([`deliver`](super::deliver)) and runs `fixer.exe trust add <key>
//! --label <label> --fingerprint <fingerprint>`; and the console line that runs the same
//! where fixer.exe is at hand. The fixer refuses a key whose fingerprint is not the one
//! given, and its output ends with the fingerprint it computed, for the admin to compare
//! with the page's.
//!
//! No plan is applied: enrolling and applying stay two deliberate runs.

use super::deliver::{Delivery, FixerSource, ScriptError, with_fixer};
use super::quote;
use crate::envelope::PublicKey;
use std::fmt;

/// The name a key is enrolled under: what `fixer trust list` shows and `fixer trust remove`
/// takes. Only characters every shell leaves alone, starting with a letter or digit (not
/// a `-` an option parser would read, not PowerShell's `@`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLabel(String);

impl KeyLabel {
    /// The label the page enrols its key under.
    pub const PAGE: &str = "rdpfix-page";

    pub fn parse(text: &str) -> Result<Self, ScriptError> {
        let ok = (1..=64).contains(&text.len())
            && text.starts_with(|c: char| c.is_ascii_alphanumeric())
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if ok {
            Ok(KeyLabel(text.to_owned()))
        } else {
            Err(ScriptError::BadLabel(text.chars().take(80).collect()))
        }
    }

    /// [`KeyLabel::PAGE`].
    pub fn page() -> Self {
        KeyLabel(Self::PAGE.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

const HEADER: [&str; 2] = [
    "rdpfix: download fixer.exe, check its SHA-256, enrol a plan-signing key (no plan is applied).",
    "Compare the fingerprint printed last with the page's (or fixer plan's); then run the fix script.",
];

/// `fixer.exe trust add …` for a prompt where fixer.exe is at hand: the same words in
/// cmd.exe and PowerShell (the fingerprint in double quotes, its spaces kept).
pub fn trust_command(key: &PublicKey, label: &KeyLabel) -> String {
    let [key, label, fingerprint] = trust_add_values(key, label);
    format!("fixer.exe trust add {key} --label {label} --fingerprint \"{fingerprint}\"")
}

/// The enrolment script for `key` under `label`, with `fixer.exe` from `source`.
pub fn enrol_delivery(source: &FixerSource, key: &PublicKey, label: &KeyLabel) -> Delivery {
    let [key, label, fingerprint] = trust_add_values(key, label).map(|v| quote::powershell(&v));
    with_fixer(
        &HEADER,
        source,
        [
            format!("& $exe trust add {key} --label {label} --fingerprint {fingerprint}"),
            "exit $LASTEXITCODE".to_owned(),
        ],
    )
}

/// What `trust add` is given: the key's text form, its label, the fingerprint to check.
fn trust_add_values(key: &PublicKey, label: &KeyLabel) -> [String; 3] {
    [
        key.to_string(),
        label.to_string(),
        key.fingerprint().to_string(),
    ]
}
