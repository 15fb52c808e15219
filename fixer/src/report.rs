//! Rendering results: plain ASCII text that survives Run Command (last 4,096 bytes) and an
//! 80-column Serial Console, or a JSON summary with `--json`. Commands return reports;
//! only `main` prints them.

use crate::exit::Exit;
use std::fmt::Debug;

/// What a command returns: rendered by `main`, never printed by the command itself.
pub trait Report: Debug {
    fn exit(&self) -> Exit;
    /// Text for a console. The verdict and anything to do next come last, so the tail that
    /// Run Command keeps holds them.
    fn text(&self) -> String;
    fn json(&self) -> serde_json::Value;
}

/// Replaces anything outside printable ASCII (and control characters) so a label or a
/// path from the machine cannot garble a console or smuggle escape sequences.
pub fn ascii_safe(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c.to_string(),
            '\t' => " ".into(),
            c => format!("\\u{{{:x}}}", c as u32),
        })
        .collect()
}

/// Keeps the whole text ASCII-safe, line by line.
pub fn ascii_lines(text: &str) -> String {
    let mut out: String = text.lines().map(ascii_safe).collect::<Vec<_>>().join("\n");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_non_ascii_and_control_characters() {
        assert_eq!(
            ascii_safe("SERVICE R\u{c9}SEAU\x1b[31m"),
            "SERVICE R\\u{c9}SEAU\\u{1b}[31m"
        );
        assert_eq!(ascii_lines("a\r\nb"), "a\nb\n");
    }
}
