//! The fix going in through the channels: a Run Command script that puts `fixer.exe` in
//! place ([`deliver`](super::deliver): downloaded from the page's own site, refused unless
//! its SHA-256 is the published one) and runs `fixer.exe apply --yes <token>`; and the same
//! as one cmd.exe line for Serial Console.
//!
//! Nothing is enrolled: the plan is applied only if its signer's key is already trusted on
//! the VM (by the [`enrol`](super::enrol) script or `fixer trust add`, run deliberately
//! before). When the fixer refuses the plan because it does not know that key, the script
//! asks it why (`fixer --json verify`) and its last line says to run the enrolment script.

use super::deliver::{Delivery, FixerSource, ScriptError, fix_token, with_fixer};
use super::quote;

/// The fixer's exit code for a plan refused by a check (`fixer::exit::Exit::Rejected`).
pub const FIXER_EXIT_REJECTED: i32 = 3;
/// The fixer's code for a plan signed by a key it has not enrolled
/// ([`Rejection::code`](crate::envelope::Rejection::code) of `UnknownKey`).
pub const UNKNOWN_KEY_CODE: &str = "unknown_key";
/// The fix script's last line when the VM does not trust the plan's signer yet.
pub const NOT_TRUSTED_HINT: &str = "rdpfix: NOT ENROLLED: this VM does not trust the key that signed this plan yet. \
Run the enrolment script for that key first (step 1 before this fix on the page, or in fixer plan's output), \
compare the fingerprint it prints last with the page's, then run this fix again.";

const HEADER: [&str; 2] = [
    "rdpfix: download fixer.exe, check its SHA-256, apply the signed plan (nothing is enrolled).",
    "The plan runs only if its signer is already trusted here: run the enrolment script first.",
];

/// The fix script for `token`, with `fixer.exe` from `source`.
pub fn fix_delivery(source: &FixerSource, token: &str) -> Result<Delivery, ScriptError> {
    let token = fix_token(token)?;
    Ok(with_fixer(
        &HEADER,
        source,
        [
            format!("$plan = {}", quote::powershell(token)),
            "& $exe apply --yes $plan".to_owned(),
            "$code = $LASTEXITCODE".to_owned(),
            format!(
                "if ($code -eq {FIXER_EXIT_REJECTED}) {{ \
try {{ $why = ((& $exe --json verify $plan) -join ' ' | ConvertFrom-Json).code }} catch {{ $why = '' }}; \
if ($why -eq '{UNKNOWN_KEY_CODE}') {{ Write-Output {} }} }}",
                quote::powershell(NOT_TRUSTED_HINT)
            ),
            "exit $code".to_owned(),
        ],
    ))
}
