//! What Azure Run Command and Serial Console put around an export, set aside before the
//! export is read:
//!
//! - `az vm run-command invoke` prints JSON: the script's output is the `message` of the
//!   `value[]` item whose `code` is `ComponentStatus/StdOut/…`, newlines escaped. Several
//!   JSON documents may be pasted one after another, or one cut short (read leniently);
//! - `Invoke-AzVMRunCommand` prints a PowerShell listing: `Value[0] :`, then indented
//!   `Code`, `Level`, `DisplayStatus`, `Message` properties, the message running on over the
//!   following lines, then `Status`, `Capacity`, `Count`;
//! - Serial Console shows SAC (`SAC>` prompts, `EVENT:` and `CHANNEL:` notices, the channel
//!   description shown on `ch -si`, the login prompt), cmd.exe and PowerShell banners and
//!   prompts with the commands typed, and `more`'s `-- More --` lines;
//! - the collection script's own `rdpfix: …` line says how many events it left out.
//!
//! Lines set aside are blanked so the export keeps its line numbers (JSON is the
//! exception: its message becomes lines of its own).

use std::borrow::Cow;

use serde_json::Value;

use super::text::{MAX_WRAP_WIDTH, MIN_WRAP_WIDTH, TextLines, clean, continues};

/// The text with the wrappers removed, and what was set aside.
#[derive(Debug, Default)]
pub(crate) struct Unwrapped {
    pub(crate) text: String,
    /// (1-based line of the input, what was set aside there).
    pub(crate) notes: Vec<(u32, String)>,
}

/// Removes the wrappers from `text`; `None` when it has none.
pub(crate) fn unwrap(text: &str) -> Option<Unwrapped> {
    let mut out = Unwrapped::default();
    // Borrowed until something is taken out: a large export is not copied line by line.
    let text: Cow<'_, str> =
        match az_json(text, &mut out.notes).or_else(|| json_string(text, &mut out.notes)) {
            Some(t) => Cow::Owned(t),
            None => Cow::Borrowed(text),
        };
    let text = match console_padding(&text, &mut out.notes) {
        Some(padded) => Cow::Owned(padded),
        None => text,
    };
    let mut kept = Kept::default();
    let mut changed = !out.notes.is_empty();
    changed |= powershell_listing(&text, &mut kept, &mut out.notes);
    changed |= console_chrome(&text, &mut kept, &mut out.notes);
    if !changed {
        return None;
    }
    out.text = kept.join(&text);
    Some(out)
}

/// The lines of a text as they are kept: where they lie, but for the few changed (set
/// aside or cut); only the changes are held, not a list of every line.
#[derive(Default)]
struct Kept {
    /// Line index → its new text.
    changes: std::collections::BTreeMap<usize, String>,
}

impl Kept {
    /// Line `i` as kept, `line` being its text in the input.
    fn get<'a>(&'a self, i: usize, line: &'a str) -> &'a str {
        self.changes.get(&i).map_or(line, String::as_str)
    }

    fn set(&mut self, i: usize, text: String) {
        self.changes.insert(i, text);
    }

    fn join(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(self.get(i, line));
        }
        out
    }
}

fn line_no(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

// ---------------------------------------------------------------------------------------
// az vm run-command invoke (JSON)

/// Replaces each Run Command JSON document with its standard output: `az vm run-command
/// invoke`'s (`value[].message`), and a managed Run Command's as `az vm run-command show
/// --instance-view` prints it (`instanceView.output`, the error stream in
/// `instanceView.error`).
fn az_json(text: &str, notes: &mut Vec<(u32, String)>) -> Option<String> {
    let invoke = text.contains("ComponentStatus/") && text.contains("\"message\"");
    let managed = text.contains("\"instanceView\"") && text.contains("\"output\"");
    if !invoke && !managed {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut line = 1u32;
    let mut found = false;
    while let Some(start) = json_start(rest) {
        let (before, from) = rest.split_at(start);
        out.push_str(before);
        line += count_lines(before);
        let (consumed, messages) = match strict_json(from) {
            Some(parsed) => parsed,
            None => lenient_json(from),
        };
        if messages.is_empty() || consumed == 0 {
            // Not Run Command JSON: keep the brace and look further.
            let keep = from.get(..1).unwrap_or_default();
            out.push_str(keep);
            rest = from.get(1..).unwrap_or_default();
            continue;
        }
        found = true;
        let (command, field) =
            if from.contains("\"instanceView\"") && !from.contains("ComponentStatus/") {
                (
                    "az vm run-command show --instance-view",
                    "instanceView.output",
                )
            } else {
                ("az vm run-command invoke", "value[].message")
            };
        notes.push((
            line,
            format!("read the script output inside `{command}` JSON ({field}); line numbers below count its lines"),
        ));
        for (stream, message) in messages {
            if stream == Stream::StdErr {
                if !message.trim().is_empty() {
                    notes.push((
                        line,
                        format!(
                            "the script wrote to its error stream: {}",
                            first_chars(message.trim(), 300)
                        ),
                    ));
                }
                continue;
            }
            out.push('\n');
            out.push_str(&message);
            out.push('\n');
        }
        let (taken, after) = from.split_at(consumed.min(from.len()));
        line += count_lines(taken);
        rest = after;
    }
    out.push_str(rest);
    found.then_some(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    StdOut,
    StdErr,
}

/// The offset of the next line that opens a JSON object or array.
fn json_start(text: &str) -> Option<usize> {
    let mut offset = 0;
    for l in text.split_inclusive('\n') {
        let trimmed = l.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            return Some(offset + (l.len() - trimmed.len()));
        }
        offset += l.len();
    }
    None
}

fn count_lines(text: &str) -> u32 {
    u32::try_from(text.matches('\n').count()).unwrap_or(u32::MAX)
}

/// Parses one JSON document at the start of `text`: (bytes consumed, messages).
fn strict_json(text: &str) -> Option<(usize, Vec<(Stream, String)>)> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let value = stream.next()?.ok()?;
    let consumed = stream.byte_offset();
    let items: Vec<&Value> = match &value {
        Value::Object(o) if o.contains_key("instanceView") => vec![&value],
        Value::Object(o) => o.get("value").and_then(Value::as_array)?.iter().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => return None,
    };
    let mut messages = Vec::new();
    for item in items {
        // A managed Run Command (`az vm run-command show --instance-view`, or `list
        // --expand instanceView`): its output and error streams.
        if let Some(view) = item.get("instanceView") {
            for (key, stream) in [("output", Stream::StdOut), ("error", Stream::StdErr)] {
                if let Some(text) = view.get(key).and_then(Value::as_str) {
                    messages.push((stream, text.to_owned()));
                }
            }
            continue;
        }
        let code = item.get("code").and_then(Value::as_str).unwrap_or_default();
        if let Some(message) = item.get("message").and_then(Value::as_str) {
            messages.push((stream_of(code), message.to_owned()));
        }
    }
    Some((consumed, messages))
}

fn stream_of(code: &str) -> Stream {
    if code.contains("StdErr") {
        Stream::StdErr
    } else {
        Stream::StdOut
    }
}

/// Reads a document cut short or damaged: every `"message": "…"` string up to the end of
/// the document (a line that is `}` alone) or of the text.
fn lenient_json(text: &str) -> (usize, Vec<(Stream, String)>) {
    let end = text
        .match_indices("\n}")
        .map(|(i, _)| i + 2)
        .find(|i| {
            text.get(*i..)
                .is_none_or(|r| r.starts_with('\n') || r.starts_with('\r') || r.is_empty())
        })
        .unwrap_or(text.len());
    let doc = text.get(..end).unwrap_or(text);
    // A managed Run Command's instance view names its streams `output` and `error`.
    let managed = doc.contains("\"instanceView\"") && !doc.contains("ComponentStatus/");
    let keys: &[&str] = if managed {
        &["\"output\"", "\"error\""]
    } else {
        &["\"message\""]
    };
    let mut messages = Vec::new();
    let mut search = 0;
    while let Some((key, name)) = keys
        .iter()
        .filter_map(|k| {
            doc.get(search..)
                .and_then(|r| r.find(k))
                .map(|at| (search + at, *k))
        })
        .min()
    {
        let before = doc.get(..key).unwrap_or_default();
        let code = if managed {
            if name == "\"error\"" {
                "StdErr"
            } else {
                "StdOut"
            }
        } else {
            let code_at = before.rfind("\"code\"");
            code_at.and_then(|c| before.get(c..)).unwrap_or_default()
        };
        let after = doc.get(key + name.len()..).unwrap_or_default();
        let Some(open) = after.trim_start().strip_prefix(':').map(str::trim_start) else {
            search = key + 1;
            continue;
        };
        let Some(body) = open.strip_prefix('"') else {
            search = key + 1;
            continue;
        };
        let (value, used) = json_string_lenient(body);
        messages.push((stream_of(code), value));
        search = doc.len() - body.len() + used;
    }
    (end, messages)
}

/// `az vm run-command invoke … --query "value[0].message"` prints the script's output as one
/// JSON string: a single line in quotes, its line ends escaped (`-o tsv` would print it
/// as it is). Read leniently, as a copy may stop short of the closing quote.
fn json_string(text: &str, notes: &mut Vec<(u32, String)>) -> Option<String> {
    let t = text.trim();
    let body = t.strip_prefix('"')?;
    if t.contains('\n') || !body.contains("\\n") {
        return None;
    }
    let (value, used) = json_string_lenient(body);
    // Only what follows the closing quote may be left: nothing but the line end.
    if body.get(used..).is_some_and(|rest| !rest.trim().is_empty()) {
        return None;
    }
    notes.push((
        1,
        "read the script output printed as a JSON string (az … --query \"value[0].message\")"
            .to_owned(),
    ));
    Some(value)
}

/// Decodes a JSON string body (after its opening quote) up to its closing quote or the
/// end; returns the value and the bytes used.
fn json_string_lenient(body: &str) -> (String, usize) {
    let mut out = String::new();
    let mut chars = body.char_indices();
    let mut pending_high: Option<u16> = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (out, i + 1),
            '\\' => {
                let Some((_, e)) = chars.next() else { break };
                match e {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'b' | 'f' => {}
                    'u' => {
                        let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                        let Ok(unit) = u16::from_str_radix(&hex, 16) else {
                            continue;
                        };
                        match (pending_high.take(), unit) {
                            (None, 0xD800..=0xDBFF) => pending_high = Some(unit),
                            (Some(high), 0xDC00..=0xDFFF) => {
                                let code = 0x10000
                                    + ((u32::from(high) - 0xD800) << 10)
                                    + (u32::from(unit) - 0xDC00);
                                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            }
                            (_, u) => out.push(char::from_u32(u32::from(u)).unwrap_or('\u{FFFD}')),
                        }
                    }
                    other => out.push(other),
                }
            }
            other => out.push(other),
        }
    }
    (out, body.len())
}

fn first_chars(text: &str, n: usize) -> String {
    let mut s: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        s.push('…');
    }
    s
}

// ---------------------------------------------------------------------------------------
// Invoke-AzVMRunCommand (PowerShell listing)

/// `name<spaces>: value` with `name` an identifier, as Format-List prints a property.
fn property<'a>(line: &'a str, names: &[&str]) -> Option<(&'a str, &'a str)> {
    let trimmed = line.trim_start();
    let (name, value) = trimmed.split_once(':')?;
    let name = name.trim_end();
    // Format-List pads names with spaces before the colon; wevtutil text does not.
    let padded = trimmed.get(name.len()..)?.starts_with(' ');
    (padded && names.iter().any(|n| n.eq_ignore_ascii_case(name)))
        .then(|| (name, value.strip_prefix(' ').unwrap_or(value)))
}

fn is_value_header(line: &str) -> bool {
    let Some(rest) = line.strip_prefix("Value[") else {
        return false;
    };
    rest.split_once(']')
        .is_some_and(|(n, after)| n.chars().all(|c| c.is_ascii_digit()) && after.trim() == ":")
}

const RESULT_PROPERTIES: [&str; 8] = [
    "Status",
    "Capacity",
    "Count",
    "Name",
    "StartTime",
    "EndTime",
    "Error",
    "Output",
];

/// Blanks the listing around each `Message`; keeps the message itself.
fn powershell_listing(text: &str, kept: &mut Kept, notes: &mut Vec<(u32, String)>) -> bool {
    if !text.split('\n').any(is_value_header) {
        return false;
    }
    let lines: Vec<&str> = text.split('\n').collect();
    let mut found = false;
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        if !is_value_header(line) {
            i += 1;
            continue;
        }
        found = true;
        let header = i;
        blank(kept, i);
        i += 1;
        let mut stream = Stream::StdOut;
        // The item's properties up to `Message`.
        while let Some(l) = lines.get(i) {
            if let Some((name, value)) = property(l, &["Code", "Level", "DisplayStatus", "Time"]) {
                if name.eq_ignore_ascii_case("Code") {
                    stream = stream_of(value);
                }
                blank(kept, i);
                i += 1;
                continue;
            }
            break;
        }
        let Some((_, first)) = lines.get(i).and_then(|l| property(l, &["Message"])) else {
            continue;
        };
        let value_column = lines
            .get(i)
            .map_or(0, |l| l.len().saturating_sub(first.len()));
        let start = i;
        let mut end = i + 1;
        while let Some(l) = lines.get(end) {
            if is_value_header(l)
                || (!l.starts_with(' ') && property(l, &RESULT_PROPERTIES).is_some())
            {
                break;
            }
            end += 1;
        }
        // Continuation lines indented to the value column were indented by the listing.
        let continuation = lines.get(start + 1..end).unwrap_or_default();
        let indented = !continuation.is_empty()
            && continuation
                .iter()
                .all(|l| l.trim().is_empty() || l.starts_with(&" ".repeat(value_column)));
        if stream == Stream::StdErr {
            let text: Vec<&str> = std::iter::once(first)
                .chain(continuation.iter().copied())
                .collect();
            let text = text.join("\n");
            if !text.trim().is_empty() {
                notes.push((
                    line_no(start),
                    format!(
                        "the script wrote to its error stream: {}",
                        first_chars(text.trim(), 300)
                    ),
                ));
            }
            for j in start..end {
                blank(kept, j);
            }
        } else {
            if start < lines.len() {
                kept.set(start, first.to_owned());
            }
            if indented {
                for (j, line) in lines.iter().enumerate().take(end).skip(start + 1) {
                    let cut = kept.get(j, line).get(value_column..).unwrap_or_default();
                    kept.set(j, cut.to_owned());
                }
            }
        }
        notes.push((
            line_no(header),
            "read the script output inside Invoke-AzVMRunCommand's listing (Value[…].Message)"
                .to_owned(),
        ));
        i = end;
    }
    // The result's own properties after the items.
    for (j, l) in lines.iter().enumerate() {
        if !l.starts_with(' ') && property(l, &RESULT_PROPERTIES).is_some() && found {
            blank(kept, j);
        }
    }
    found
}

fn blank(kept: &mut Kept, i: usize) {
    kept.set(i, String::new());
}

// ---------------------------------------------------------------------------------------
// Serial Console, consoles and the collection script

/// Blanks SAC's and the shells' lines.
fn console_chrome(text: &str, kept: &mut Kept, notes: &mut Vec<(u32, String)>) -> bool {
    let mut sac = false;
    let mut prompts = 0;
    let mut first_prompt = None;
    let mut channel_info = false;
    let mut changed = false;
    // Judged without the terminal's escape sequences: a PowerShell console colours its
    // banner and the command typed (PSReadLine), and a cursor or clear-screen sequence can
    // lead the first line.
    // Each line cleaned as it is come to, not all held at once.
    let cleaned = || text.split('\n').map(clean).enumerate();
    let width = console_width(cleaned().map(|(_, l)| l));
    // In a CSV a quoted field may hold any line, a prompt too (a description quoting a
    // console): lines inside one are the field's.
    let csv = cleaned()
        .map(|(_, l)| l)
        .find(|l| !l.trim().is_empty())
        .is_some_and(|first| {
            let first = first.trim_start_matches('\u{feff}');
            !is_prompt(first) && super::csv::looks_like(TextLines::new(first, 0).lines())
        });
    let mut in_field = false;
    // The previous line's length: a line right after one the console cut is its rest.
    let mut previous = 0;
    let mut all = cleaned();
    while let Some((i, line)) = all.next() {
        let line: &str = &line;
        let above = std::mem::replace(&mut previous, line.chars().count());
        if csv {
            let inside = in_field;
            // `""` inside a quoted field toggles twice: parity is the quote state.
            in_field ^= line.matches('"').count() % 2 == 1;
            if inside {
                continue;
            }
        }
        let t = line.trim();
        if let Some(note) = t.strip_prefix("rdpfix: ") {
            notes.push((line_no(i), format!("the collection script said: {note}")));
            blank(kept, i);
            changed = true;
            continue;
        }
        let is_sac = t.starts_with("SAC>")
            || line.starts_with("EVENT:")
            || line.starts_with("CHANNEL:")
            || t == "The Command Prompt session was successfully launched."
            || t == "Please enter login credentials.";
        if is_sac {
            sac = true;
        }
        // The description SAC shows when switching channels (`ch -si 1`).
        if sac && (line.starts_with("Name:") && t.contains("Cmd")) {
            channel_info = true;
        }
        let in_info = channel_info
            && ([
                "Name:",
                "Description:",
                "Type:",
                "Channel GUID:",
                "Application Type GUID:",
            ]
            .iter()
            .any(|p| line.starts_with(p))
                || t.starts_with("Press <esc>")
                || t == "Use any other key to view this channel.");
        if channel_info && t == "Use any other key to view this channel." {
            channel_info = false;
        }
        let login = sac
            && ["Username:", "Domain", "Password:"]
                .iter()
                .any(|p| line.starts_with(p) && line.contains(':') && line.len() < 80);
        let banner = is_banner(t);
        let more = t.starts_with("-- More") && t.ends_with("--");
        // The rest of a wrapped line can look like a cmd prompt (a value holding `C:\>`
        // cut just before it): after a line as long as the console's width, or as long as
        // a console's narrowest and no longer than any wraps at (the width found can be a
        // repeated line's, not the wrap's), it is taken for that. cmd leaves an empty line
        // before its prompt, so a real one is never there. PowerShell does not: its prompt
        // (`PS …>`) counts wherever it is.
        let cut_above = width == Some(above) || (MIN_WRAP_WIDTH..=MAX_WRAP_WIDTH).contains(&above);
        let prompt = is_prompt(line) && (line.starts_with("PS ") || !cut_above);
        if prompt {
            prompts += 1;
            first_prompt.get_or_insert(i);
            // A command longer than the console wraps onto the next lines: they go too. A
            // prompt line as long as the wrap width by chance is followed by output, which
            // stays (`Event[0]:`, a `Name: value` field, an empty line).
            if let Some(w) = width {
                let mut full = line.chars().count() == w;
                let mut ahead = all.clone();
                while full && let Some((j, next)) = ahead.next().filter(|(_, n)| continues(n)) {
                    blank(kept, j);
                    full = next.chars().count() == w;
                }
            }
        }
        if is_sac || in_info || login || banner || more || prompt {
            blank(kept, i);
            changed = true;
        }
    }
    if sac {
        notes.push((
            1,
            "set aside Serial Console's SAC lines (prompts, channel notices, login)".to_owned(),
        ));
    }
    if let Some(i) = first_prompt {
        notes.push((
            line_no(i),
            format!("set aside {prompts} shell prompt line(s) and the commands typed at them"),
        ));
    }
    changed
}

/// A rectangular copy from a console window (the legacy console's Mark, some terminals'
/// block selection) pads every line with spaces to the buffer's width. Every line is then
/// exactly that long: taken for a console's wrapping, it would glue the whole export into
/// one line, and a prompt's command would seem to run on to the end. Returns the text with
/// the padding removed (a line the console cut at the width keeps its full length, but for
/// spaces it ended in there).
fn console_padding(text: &str, notes: &mut Vec<(u32, String)>) -> Option<String> {
    let mut lengths: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let (mut lines, mut ending_in_space) = (0usize, 0usize);
    for l in text.split('\n') {
        let l = l.trim_end_matches('\r');
        if l.is_empty() {
            continue;
        }
        lines += 1;
        ending_in_space += usize::from(l.ends_with(' '));
        *lengths.entry(l.chars().count()).or_default() += 1;
    }
    let (&width, &at_width) = lengths.iter().max_by_key(|(_, n)| **n)?;
    // Nearly every line is padded to one width (the last may be a prompt left unpadded),
    // and most end in the padding's spaces; an export has lines of many lengths.
    let padded = lines >= 4
        && (40..=1024).contains(&width)
        && at_width * 10 >= lines * 9
        && ending_in_space * 2 >= lines;
    if !padded {
        return None;
    }
    notes.push((
        1,
        format!(
            "removed the spaces a console copy padded every line with, to its width of {width} \
             columns"
        ),
    ));
    let mut out = String::with_capacity(text.len());
    for (i, l) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let cr = l.ends_with('\r');
        out.push_str(l.trim_end_matches('\r').trim_end_matches(' '));
        if cr {
            out.push('\r');
        }
    }
    Some(out)
}

/// The width a console wrapped lines at: the longest line length (60–400 characters)
/// that at least three lines have exactly.
fn console_width<'a>(lines: impl Iterator<Item = Cow<'a, str>>) -> Option<usize> {
    let mut counts: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    for l in lines {
        let n = l.chars().count();
        if (60..=400).contains(&n) {
            *counts.entry(n).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .rev()
        .find(|(_, c)| *c >= 3)
        .map(|(n, _)| n)
}

/// A cmd.exe prompt (`C:\Windows\system32>…`) or PowerShell's (`PS C:\>…`).
fn is_prompt(line: &str) -> bool {
    let l = line.strip_prefix("PS ").unwrap_or(line);
    let mut chars = l.chars();
    let drive = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let colon = chars.next() == Some(':');
    let slash = chars.next() == Some('\\');
    if !(drive && colon && slash) {
        return false;
    }
    // The path up to `>` holds no characters a path cannot.
    match l.find('>') {
        Some(gt) => l
            .get(..gt)
            .is_some_and(|p| !p.contains(['<', '|', '"', '*', '?']) && !p.ends_with([' ', '-'])),
        None => false,
    }
}

fn is_banner(t: &str) -> bool {
    (t.starts_with("Microsoft Windows [Version ") && t.ends_with(']'))
        || (t.starts_with("(c)") && t.contains("Microsoft Corporation"))
        || (t.starts_with("Copyright (C)") && t.contains("Microsoft Corporation"))
        || t == "Windows PowerShell"
        || t.starts_with("Try the new cross-platform PowerShell")
        || t.starts_with("Install the latest PowerShell for new features")
}

#[cfg(test)]
mod tests {
    use super::unwrap;

    /// The lines `unwrap` keeps, or the text itself when it changes nothing.
    fn kept(text: &str) -> Vec<String> {
        let out = unwrap(text).map_or_else(|| text.to_owned(), |u| u.text);
        out.split('\n')
            .map(|l| l.trim_end_matches('\r').to_owned())
            .collect()
    }

    #[test]
    fn a_prompt_after_a_long_line_is_set_aside_unless_that_line_was_cut_there() {
        let long = "y".repeat(100);
        // PowerShell writes its prompt right after the output: a prompt wherever it is.
        let ps = format!("{long}\r\nPS C:\\Users\\admin> Get-WinEvent -LogName System\r\nnext\r\n");
        assert_eq!(kept(&ps), [long.as_str(), "", "next", ""]);
        // cmd writes an empty line before its prompt.
        let cmd = format!("{long}\r\n\r\nC:\\Windows\\system32>wevtutil qe System\r\nnext\r\n");
        assert_eq!(kept(&cmd), [long.as_str(), "", "", "next", ""]);
        // Right after a line the console could have filled, a `C:\>` is that line's rest.
        let cut = format!("{long}\r\nC:\\>echo y\r\n");
        assert_eq!(kept(&cut), [long.as_str(), "C:\\>echo y", ""]);
        // After a short line it is a prompt.
        let short = "C:\\>echo y\r\nnext\r\n";
        assert_eq!(kept(short), ["", "next", ""]);
    }
}
