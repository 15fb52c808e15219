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

/// Console width the text output is laid out for (Serial Console is 80 columns; one spare
/// column keeps a terminal from wrapping on its own).
pub const WIDTH: usize = 79;

/// Word-wraps `text` to [`WIDTH`]: the first line starts with `first`, the others with
/// `rest` (usually spaces). A word longer than a line is cut, a path after a `\\`.
pub fn wrap(text: &str, first: &str, rest: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line = first.to_owned();
    // No word on `line` yet (only its indent).
    let mut fresh = true;
    for mut word in text.split_whitespace() {
        loop {
            let room = WIDTH.saturating_sub(line.len() + usize::from(!fresh));
            if word.len() <= room {
                if !fresh {
                    line.push(' ');
                }
                line.push_str(word);
                fresh = false;
                break;
            }
            if !fresh {
                lines.push(std::mem::replace(&mut line, rest.to_owned()));
                fresh = true;
                continue;
            }
            // A path is cut after one of its `\`, where a reader expects a break.
            let hard = floor_char_boundary(word, room.max(1));
            let cut = word
                .get(..hard)
                .and_then(|w| w.rfind('\\'))
                .map(|i| i + 1)
                .filter(|&i| i > hard / 3)
                .unwrap_or(hard);
            line.push_str(word.get(..cut).unwrap_or(word));
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            word = word.get(cut..).unwrap_or_default();
            if word.is_empty() {
                break;
            }
        }
    }
    lines.push(line);
    let mut out: String = lines
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i.max(1).min(s.len())
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

    #[test]
    fn wraps_to_the_console_width_with_indents_and_cuts_overlong_words() {
        let text = "grant SYSTEM (*S-1-5-18) Full control, NETWORK SERVICE (*S-1-5-20) Read, \
                    Administrators (*S-1-5-32-544) Full control on the RDP key files";
        let out = wrap(text, " 3 ", "   ");
        assert!(out.lines().all(|l| l.len() <= WIDTH), "{out}");
        assert!(out.starts_with(" 3 grant SYSTEM"));
        assert!(
            out.lines()
                .skip(1)
                .all(|l| l.starts_with("   ") && !l.starts_with("    "))
        );
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>().join(" "),
            format!("3 {text}")
        );
        let long = "x".repeat(200);
        let out = wrap(&long, "", "  ");
        assert!(out.lines().all(|l| l.len() <= WIDTH), "{out}");
        assert_eq!(out.replace(['\n', ' '], ""), long);
        assert_eq!(wrap("", "a ", "  "), "a\n");
        let path = r"under HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Server)";
        let out = wrap(path, "", "  ");
        assert!(out.contains("\\Protocols\\\n  TLS 1.2"), "{out}");
    }
}
