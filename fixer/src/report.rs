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

/// Makes text safe for a console that must stay ASCII. The punctuation rdpfix's own words
/// use (dashes, `×`, `…`, `›`, arrows, curly quotes, `≥`) is written as ASCII (`-`, `x`,
/// `...`, `>`, `->`, quotes, `>=`), so the project's sentences read as sentences; anything
/// else outside printable ASCII — a label or a path from the machine, text from the logs,
/// control characters — is escaped (`\u{c9}`), so it cannot garble a console or smuggle
/// escape sequences.
pub fn ascii_safe(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' '..='~' => out.push(c),
            '\t' => out.push(' '),
            c => match ascii_punctuation(c) {
                Some(plain) => out.push_str(plain),
                None => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            },
        }
    }
    out
}

/// The ASCII for the punctuation rdpfix writes in its own text (the analyzer's messages,
/// the rule catalog, these reports); `None` for any other character.
fn ascii_punctuation(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{2014}' | '\u{2013}' | '\u{2012}' | '\u{2011}' | '\u{2010}' | '\u{2212}' => "-",
        '\u{d7}' => "x",
        '\u{2026}' => "...",
        '\u{203a}' => ">",
        '\u{2039}' => "<",
        '\u{2192}' => "->",
        '\u{2190}' => "<-",
        '\u{2265}' => ">=",
        '\u{2264}' => "<=",
        '\u{2018}' | '\u{2019}' => "'",
        '\u{201c}' | '\u{201d}' => "\"",
        '\u{b7}' | '\u{2022}' => "*",
        '\u{a0}' | '\u{202f}' | '\u{2009}' => " ",
        _ => return None,
    })
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

    /// The project's own punctuation reads as ASCII; everything else stays escaped.
    #[test]
    fn the_projects_punctuation_is_ascii_and_the_logs_text_escaped() {
        assert_eq!(
            ascii_safe("wevtutil-text \u{2014} no Event[N]: blocks (Source, Event ID \u{2026})"),
            "wevtutil-text - no Event[N]: blocks (Source, Event ID ...)"
        );
        assert_eq!(
            ascii_safe("the burst is 2\u{d7} the threshold; lines 3\u{2013}9"),
            "the burst is 2x the threshold; lines 3-9"
        );
        assert_eq!(
            ascii_safe("logs.zip \u{203a} rdpfix-logs/System.evtx"),
            "logs.zip > rdpfix-logs/System.evtx"
        );
        assert_eq!(
            ascii_safe("NETZWERKDIENST \u{e9}\u{4e2d}"),
            "NETZWERKDIENST \\u{e9}\\u{4e2d}"
        );
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
