//! Quoting for the three shells the generated commands meet: bash (Cloud Shell, `az`),
//! PowerShell (Run Command scripts, `Invoke-AzVMRunCommand`) and cmd.exe (Serial Console).

/// A bash word holding exactly `text`: single quotes, each `'` written `'\''`. Nothing is
/// special inside bash single quotes, newlines included.
pub fn bash(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// The characters PowerShell reads as a single quote: ASCII `'` and the typographic
/// quotes U+2018, U+2019, U+201A and U+201B.
pub const POWERSHELL_SINGLE_QUOTES: [char; 5] =
    ['\'', '\u{2018}', '\u{2019}', '\u{201A}', '\u{201B}'];

/// A PowerShell verbatim string holding exactly `text`: single quotes, each quote
/// character doubled. Nothing else is special inside (no `$`, no backtick escapes).
pub fn powershell(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if POWERSHELL_SINGLE_QUOTES.contains(&c) {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// Whether `text` can sit between double quotes on a cmd.exe command line unchanged: cmd
/// expands `%name%` even inside quotes and a `"` would end the quoted part.
pub fn cmd_quotable(text: &str) -> bool {
    !text.contains(['"', '%', '\r', '\n'])
}
