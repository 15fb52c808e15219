//! `RDPFIX-CONFIG` blocks in a pasted text or a file (the format is
//! `docs/config-snapshot.md`; the model `crate::config`): each block becomes a
//! [`ConfigSnapshot`] in the input's report, every problem is named by its line, keys this
//! version does not know are kept and reported, and the text around the blocks is handed
//! back for the other readers.

use super::report::{Dialect, IssueKind, IssueLocation};
use super::text::MIN_WRAP_WIDTH;
use super::{Format, Output};
use crate::config::model::{ConfigSnapshot, Entry, NotCollected, Unknown, Value};
use crate::config::schema::{self, Kind, Section};
use crate::config::sources::{PROTOCOLS, REGISTRY, SERVICES};
use crate::config::text::{END, MARKER, VERSION, decode};

/// Most blocks read from one input (a paste of many runs is still bounded).
pub const MAX_SNAPSHOTS: usize = 32;
/// Most lines one block may hold; the writer's blocks hold about 40.
pub const MAX_LINES: usize = 400;
/// Longest value kept, in bytes as written; a longer one is unreadable.
pub const MAX_VALUE_BYTES: usize = 1024;

/// How bad a problem with a block is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gravity {
    /// Something was lost (a cut block, a block of another version).
    Error,
    /// A value could not be read.
    Warning,
    /// Kept but not used (an unknown key).
    Note,
}

/// A problem with a block, at a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub line: u32,
    pub gravity: Gravity,
    pub kind: IssueKind,
    pub message: String,
}

/// One block found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundSnapshot {
    /// The 1-based lines the block spans, first and last.
    pub lines: (u32, u32),
    /// `None` when nothing of it could be used (another version, only its end).
    pub snapshot: Option<ConfigSnapshot>,
    pub issues: Vec<Issue>,
}

/// Finds and reads every block in `text`, attributing them to `input`.
pub fn find_snapshots(text: &str, input: &str) -> Vec<FoundSnapshot> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        if found.len() >= MAX_SNAPSHOTS {
            skipped(&lines, i, &mut found);
            break;
        }
        if let Some(at) = line.find(MARKER) {
            let rest = line.get(at + MARKER.len()..).unwrap_or_default();
            let (last, block) = read_block(&lines, i, rest, input);
            found.push(block);
            i = last + 1;
            continue;
        }
        if line.trim_start().starts_with(END) {
            let n = line_number(i);
            found.push(FoundSnapshot {
                lines: (n, n),
                snapshot: None,
                issues: vec![Issue {
                    line: n,
                    gravity: Gravity::Error,
                    kind: IssueKind::Truncated,
                    message: "only the end of an RDPFIX-CONFIG block was pasted (its first \
                              lines were cut off): run the collection again and copy the \
                              whole block"
                        .to_owned(),
                }],
            });
        }
        i += 1;
    }
    found
}

/// Names the first block at or after `from` that [`MAX_SNAPSHOTS`] leaves unread, on the
/// last block read (nothing when no block follows).
fn skipped(lines: &[&str], from: usize, found: &mut [FoundSnapshot]) {
    let rest = lines.get(from..).unwrap_or_default();
    let Some(at) = rest.iter().position(|l| l.contains(MARKER)) else {
        return;
    };
    let n = line_number(from + at);
    if let Some(last) = found.last_mut() {
        last.issues.push(Issue {
            line: n,
            gravity: Gravity::Error,
            kind: IssueKind::Limit,
            message: format!(
                "more than {MAX_SNAPSHOTS} RDPFIX-CONFIG blocks in one input: the blocks \
                 from this line on were not read (paste fewer runs at once)"
            ),
        });
    }
}

/// Reads the blocks in `text` into the report. `None` when there is none; otherwise the
/// text with the blocks' lines blanked (line numbers stay true).
pub(crate) fn read(text: &str, out: &mut Output<'_>) -> Option<String> {
    if !text.contains(MARKER) && !text.contains(END) {
        return read_registry(text, out);
    }
    let name = out.input_name().to_owned();
    let blocks = find_snapshots(text, &name);
    if blocks.is_empty() {
        return None;
    }
    for block in &blocks {
        out.report.format.get_or_insert(Format::ConfigSnapshot);
        out.report.dialect.get_or_insert(Dialect::ConfigSnapshot);
        for issue in &block.issues {
            let at = Some(IssueLocation::Line { line: issue.line });
            let message = issue.message.clone();
            match issue.gravity {
                Gravity::Error => out.report.error(issue.kind, at, message),
                Gravity::Warning => out.report.warning(issue.kind, at, message),
                Gravity::Note => out.report.info(issue.kind, at, message),
            }
            out.report.truncated |= issue.kind == IssueKind::Truncated;
        }
        if let Some(s) = &block.snapshot {
            out.report.configs.push(s.clone());
        }
    }
    let spans: Vec<(u32, u32)> = blocks.iter().map(|b| b.lines).collect();
    Some(super::text::blank_spans(text, &spans))
}

/// `reg query` output of the snapshot's keys (Serial Console), read as a snapshot.
fn read_registry(text: &str, out: &mut Output<'_>) -> Option<String> {
    if !text.contains(REG_ROOT) || !text.contains("    REG_") {
        return None;
    }
    let name = out.input_name().to_owned();
    let (snapshot, spans) = read_reg_query(text, &name)?;
    out.report.format.get_or_insert(Format::ConfigSnapshot);
    out.report.dialect.get_or_insert(Dialect::ConfigSnapshot);
    out.report.info(
        IssueKind::Wrapper,
        Some(IssueLocation::Line {
            line: snapshot.origin_line(),
        }),
        "read `reg query` output as a configuration snapshot of the registry: it names no \
         computer, and keys it does not show count as not collected"
            .to_owned(),
    );
    out.report.configs.push(snapshot);
    Some(super::text::blank_spans(text, &spans))
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

struct Block {
    snapshot: ConfigSnapshot,
    issues: Vec<Issue>,
}

impl Block {
    /// Keeps something this version does not use, and says so at its line.
    fn unknown(
        &mut self,
        line: u32,
        text: &str,
        gravity: Gravity,
        kind: IssueKind,
        message: String,
    ) {
        self.snapshot.unknown.push(Unknown {
            line,
            text: shorten(text),
        });
        self.issue(line, gravity, kind, message);
    }

    fn issue(&mut self, line: u32, gravity: Gravity, kind: IssueKind, message: String) {
        self.issues.push(Issue {
            line,
            gravity,
            kind,
            message,
        });
    }
}

/// Reads the block whose first line is `lines[start]`; returns the index of its last line.
fn read_block(
    lines: &[&str],
    start: usize,
    after_marker: &str,
    input: &str,
) -> (usize, FoundSnapshot) {
    let first = line_number(start);
    let mut words = after_marker.split_whitespace();
    let version = words.next().unwrap_or_default();
    if version != VERSION.to_string() {
        let last = block_end(lines, start);
        let shown: String = version.chars().take(8).collect();
        return (
            last,
            FoundSnapshot {
                lines: (first, line_number(last)),
                snapshot: None,
                issues: vec![Issue {
                    line: first,
                    gravity: Gravity::Error,
                    kind: IssueKind::Malformed,
                    message: format!(
                        "this RDPFIX-CONFIG block is version `{shown}`; this page reads version \
                         {VERSION}: open the rdpfix page that matches the script or fixer.exe \
                         that wrote it"
                    ),
                }],
            },
        );
    }
    let mut block = Block {
        snapshot: ConfigSnapshot::empty(input, first),
        issues: Vec::new(),
    };
    header(words, first, &mut block);
    let mut body_lines = 0usize;
    let mut last = start;
    let mut ended = None;
    let mut cut_by_text_end = true;
    for (index, raw) in lines.iter().enumerate().skip(start + 1) {
        let n = line_number(index);
        let line = raw.trim();
        if line.is_empty() {
            last = index;
            continue;
        }
        if let Some(rest) = line.strip_prefix(END) {
            ended = Some((n, rest.trim().to_owned()));
            last = index;
            break;
        }
        if line.contains(MARKER) || !looks_like_config_line(line) {
            cut_by_text_end = false;
            break;
        }
        if body_lines >= MAX_LINES {
            block.issue(
                n,
                Gravity::Error,
                IssueKind::Limit,
                format!(
                    "the block holds more than {MAX_LINES} lines, more than a snapshot ever \
                     has: the rest was not read"
                ),
            );
            cut_by_text_end = false;
            break;
        }
        body_lines += 1;
        last = index;
        body_line(line, n, &mut block);
    }
    match ended {
        Some((n, rest)) => {
            let announced = rest
                .strip_prefix("lines=")
                .and_then(|v| v.parse::<usize>().ok());
            match announced {
                Some(a) if a == body_lines => {}
                Some(a) => block.issue(
                    n,
                    Gravity::Error,
                    IssueKind::Truncated,
                    format!(
                        "the block has {body_lines} lines where its end announces {a}: lines \
                         were lost or pasted into it; what is missing counts as not collected, \
                         copy the block again whole"
                    ),
                ),
                None => block.issue(
                    n,
                    Gravity::Warning,
                    IssueKind::Malformed,
                    "the block's last line should read `END RDPFIX-CONFIG lines=<N>`".to_owned(),
                ),
            }
        }
        None => {
            // A block cut at the end of the text may end in half a line: it is dropped.
            if cut_by_text_end && body_lines > 0 {
                let cut = line_number(last);
                block.snapshot.entries.retain(|e| e.line != cut);
                block.snapshot.not_collected.retain(|e| e.line != cut);
                block.snapshot.unknown.retain(|e| e.line != cut);
            }
            block.issue(
                line_number(last),
                Gravity::Error,
                IssueKind::Truncated,
                format!(
                    "the RDPFIX-CONFIG block that starts at line {first} has no END line: it was \
                     cut after line {}; what is missing counts as not collected, copy the block \
                     again whole",
                    line_number(last)
                ),
            );
        }
    }
    (
        last,
        FoundSnapshot {
            lines: (first, line_number(last)),
            snapshot: Some(block.snapshot),
            issues: block.issues,
        },
    )
}

/// The last line of a block that cannot be read: its END line, or the line before the next
/// block or the end of the text.
fn block_end(lines: &[&str], start: usize) -> usize {
    let mut last = start;
    for (i, l) in lines.iter().enumerate().skip(start + 1) {
        if l.contains(MARKER) {
            break;
        }
        last = i;
        if l.trim_start().starts_with(END) {
            break;
        }
    }
    last
}

/// A snapshot line starts with a lowercase section word; anything else ends a cut block.
fn looks_like_config_line(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or_default();
    !word.is_empty()
        && word.len() <= 16
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

fn header<'a>(words: impl Iterator<Item = &'a str>, line: u32, block: &mut Block) {
    for word in words {
        let (key, value) = word.split_once('=').unwrap_or((word, ""));
        match key {
            "host" => block.snapshot.computer = decode(value),
            "at" => match value.parse() {
                Ok(t) => block.snapshot.taken = Some(t),
                Err(_) => block.issue(
                    line,
                    Gravity::Warning,
                    IssueKind::BadValue,
                    format!("`at={}` is not an RFC 3339 time", shorten(value)),
                ),
            },
            "os" => match value.parse() {
                Ok(b) => block.snapshot.os_build = Some(b),
                Err(_) => block.issue(
                    line,
                    Gravity::Warning,
                    IssueKind::BadValue,
                    format!(
                        "`os={}` is not a build number: the OS defaults cannot be chosen",
                        shorten(value)
                    ),
                ),
            },
            _ => block.snapshot.unknown.push(Unknown {
                line,
                text: shorten(word),
            }),
        }
    }
    if block.snapshot.computer.is_empty() {
        block.issue(
            line,
            Gravity::Warning,
            IssueKind::Malformed,
            "the block's first line names no computer (`host=`)".to_owned(),
        );
    }
}

fn body_line(line: &str, n: u32, block: &mut Block) {
    let mut words = line.split_whitespace();
    let word = words.next().unwrap_or_default();
    let Some(section) = Section::from_word(word) else {
        block.unknown(
            n,
            line,
            Gravity::Note,
            IssueKind::BadValue,
            format!("section `{word}` is not known to this version: kept, not used"),
        );
        return;
    };
    let mut items: Vec<&str> = words.collect();
    let subject = match items.first() {
        Some(s) if section.has_subject() && !s.contains('=') && *s != "!" => {
            let subject = decode(s);
            items.remove(0);
            Some(subject)
        }
        _ => None,
    };
    if items.first() == Some(&"!") {
        let why = items
            .iter()
            .find_map(|i| i.strip_prefix("why="))
            .map(decode);
        block.snapshot.not_collected.push(NotCollected {
            section,
            subject,
            why,
            line: n,
        });
        return;
    }
    for item in items {
        let Some((key, raw)) = item.split_once('=') else {
            block.unknown(
                n,
                &format!("{word} {item}"),
                Gravity::Warning,
                IssueKind::Malformed,
                format!("`{}` is not `key=value`: kept, not used", shorten(item)),
            );
            continue;
        };
        let Some(spec) = schema::lookup(section, key) else {
            block.unknown(
                n,
                &format!("{word} {item}"),
                Gravity::Note,
                IssueKind::BadValue,
                format!(
                    "`{word} {}` is not known to this version: kept, not used",
                    shorten(key)
                ),
            );
            continue;
        };
        let value = match value(raw, spec.kind) {
            Ok(v) => v,
            Err(why) => {
                block.issue(
                    n,
                    Gravity::Warning,
                    IssueKind::BadValue,
                    format!(
                        "`{word} {key}={}` ({}) {why}: read as unreadable",
                        shorten(raw),
                        spec.name
                    ),
                );
                Value::Unreadable
            }
        };
        block.snapshot.entries.push(Entry {
            section,
            subject: subject.clone(),
            key: key.to_owned(),
            value,
            line: n,
        });
    }
}

/// A written value checked against its kind; list values are kept as written (see
/// [`crate::config::text::split_list`]), others decoded.
fn value(raw: &str, kind: Kind) -> Result<Value, &'static str> {
    match raw {
        "-" => return Ok(Value::Absent),
        "?" => return Ok(Value::Unreadable),
        _ => {}
    }
    if raw.len() > MAX_VALUE_BYTES {
        return Err("is longer than any value a snapshot holds");
    }
    if kind == Kind::List {
        return Ok(Value::Set(raw.to_owned()));
    }
    let text = decode(raw);
    let ok = match kind {
        Kind::Dword => text.parse::<u32>().is_ok(),
        Kind::Int => text.parse::<i64>().is_ok(),
        Kind::Decimal => {
            !text.is_empty()
                && text.len() <= 32
                && text.trim_start_matches(['-', '+']).parse::<f64>().is_ok()
        }
        Kind::Hex => !text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit()),
        Kind::Time => text.parse::<jiff::Timestamp>().is_ok(),
        Kind::Text | Kind::List => true,
        Kind::Word(words) => words.contains(&text.as_str()),
    };
    if ok {
        Ok(Value::Set(text))
    } else {
        Err(match kind {
            Kind::Dword => "is not a whole number from 0 to 4294967295",
            Kind::Int => "is not a whole number",
            Kind::Decimal => "is not a number",
            Kind::Hex => "is not hex digits",
            Kind::Time => "is not an RFC 3339 time",
            Kind::Word(_) => "is not one of the words this key takes",
            Kind::Text | Kind::List => "is not valid",
        })
    }
}

/// At most 80 characters of something written, for a message.
fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((at, _)) => format!("{}…", text.get(..at).unwrap_or_default()),
        None => text.to_owned(),
    }
}

// ---------------------------------------------------------------------------------------
// `reg query` output (the Serial Console lines of `remote::config`)

/// What `reg query` prints for a key: `HKEY_LOCAL_MACHINE\…` alone on a line.
const REG_ROOT: &str = "HKEY_LOCAL_MACHINE\\";
/// The width Serial Console wraps lines at.
const WRAP_WIDTH: usize = 80;

/// A line that can only be the rest of a wrapped value line: not another value (those
/// start with four spaces), not a key, not empty (the blank line that ends a key's values).
fn is_value_continuation(line: &str) -> bool {
    !line.starts_with("    ") && !line.trim().is_empty() && !line.trim_start().starts_with(REG_ROOT)
}

/// `reg query` output of the keys the snapshot reads, as one snapshot of the registry
/// sections: a value printed under its key is set, a value missing under a printed key is
/// absent, a key never printed is not collected. `reg query` names no computer and no
/// time: the snapshot's `computer` is empty. The lines read are returned as spans.
pub fn read_reg_query(text: &str, input: &str) -> Option<(ConfigSnapshot, Vec<(u32, u32)>)> {
    let mut keys: Vec<(String, Vec<RegLine>)> = Vec::new();
    let mut spans: Vec<(u32, u32)> = Vec::new();
    let mut current: Option<usize> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut joined: usize = 0;
    for (i, raw) in lines.iter().enumerate() {
        if joined > 0 {
            joined -= 1;
            continue;
        }
        let n = line_number(i);
        let line = raw.trim_end();
        if let Some(path) = line.trim_start().strip_prefix(REG_ROOT) {
            // A console wraps a key longer than its width (80 columns) onto the next line.
            let mut path = path.trim().to_owned();
            if line.len() >= WRAP_WIDTH
                && let Some(next) = lines.get(i + 1)
                && !next.starts_with(' ')
                && !next.trim().is_empty()
                && !next.starts_with(REG_ROOT)
            {
                path.push_str(next.trim_end());
                joined = 1;
            }
            let key = format!("hklm\\{}", path.to_ascii_lowercase());
            current = Some(match keys.iter().position(|(k, _)| *k == key) {
                Some(at) => at,
                None => {
                    keys.push((key, Vec::new()));
                    keys.len() - 1
                }
            });
            spans.push((n, n + u32::try_from(joined).unwrap_or(0)));
            continue;
        }
        let Some(at) = current else { continue };
        // A console wraps a value line longer than its width (a binary certificate hash,
        // a long REG_SZ) onto the lines below: join them back before reading it.
        // Each piece is kept whole up to its line end: a wrap may fall right after a space of
        // the data, which trimming the piece would lose; only the value's own end is trimmed.
        let mut whole = raw.trim_end_matches(['\r', '\n']).to_owned();
        let mut width = raw.chars().count();
        while raw.starts_with("    ")
            && width >= MIN_WRAP_WIDTH
            && let Some(next) = lines.get(i + 1 + joined)
            && is_value_continuation(next)
        {
            whole.push_str(next.trim_end_matches(['\r', '\n']));
            width = next.chars().count();
            joined += 1;
        }
        let whole = whole.trim_end();
        let n_last = n + u32::try_from(joined).unwrap_or(0);
        let Some((name, kind, data)) = reg_value_line(whole) else {
            if !line.trim().is_empty() {
                current = None;
            }
            continue;
        };
        if let Some((_, values)) = keys.get_mut(at) {
            values.push((
                name.to_ascii_lowercase(),
                kind.to_owned(),
                data.to_owned(),
                n,
            ));
        }
        if let Some(last) = spans.last_mut() {
            last.1 = n_last;
        }
    }
    let first = spans.first()?.0;
    let mut snapshot = ConfigSnapshot::empty(input, first);
    let lookup = |path: &str, name: &str| {
        let path = path.to_ascii_lowercase();
        let (_, values) = keys.iter().find(|(k, _)| *k == path)?;
        let name = name.to_ascii_lowercase();
        Some(
            values
                .iter()
                .find(|(v, _, _, _)| *v == name)
                .map(|(_, kind, data, line)| (reg_data(kind, data), *line)),
        )
    };
    let mut add =
        |section, subject: Option<&str>, key: &str, found: Option<Option<(Value, u32)>>| {
            let Some(found) = found else { return };
            let (value, line) = found.unwrap_or((Value::Absent, first));
            snapshot.entries.push(Entry {
                section,
                subject: subject.map(str::to_owned),
                key: key.to_owned(),
                value,
                line,
            });
        };
    for (section, key, path, name) in REGISTRY {
        add(*section, None, key, lookup(path, name));
    }
    for p in PROTOCOLS {
        let path = format!(
            r"HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\{p}\Server"
        );
        let subject = p.replace(' ', "");
        add(Section::Tls, Some(&subject), "en", lookup(&path, "Enabled"));
        add(
            Section::Tls,
            Some(&subject),
            "dbd",
            lookup(&path, "DisabledByDefault"),
        );
    }
    for s in SERVICES {
        let path = format!(r"HKLM\SYSTEM\CurrentControlSet\Services\{s}");
        // `/v Start` prints only Start: the other values are not collected, not absent.
        for (key, name) in [("start", "Start"), ("type", "Type"), ("acct", "ObjectName")] {
            let found = lookup(&path, name);
            if key == "start" || matches!(found, Some(Some(_))) {
                add(Section::Svc, Some(s), key, found);
            }
        }
    }
    (!snapshot.entries.is_empty()).then_some((snapshot, spans))
}

/// A value `reg query` printed under a key: its name lowercased, type, data and line.
type RegLine = (String, String, String, u32);

/// A `reg query` value line: four spaces, the name, four spaces, `REG_…`, four spaces, the
/// data (names may hold spaces; the type is one of a few words).
fn reg_value_line(line: &str) -> Option<(&str, &str, &str)> {
    let body = line.strip_prefix("    ")?;
    let at = body.find("    REG_")?;
    let name = body.get(..at)?.trim();
    let rest = body.get(at + 4..)?;
    let (kind, data) = rest.split_once("    ").unwrap_or((rest, ""));
    (!name.is_empty() && kind.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')).then_some((
        name,
        kind,
        data.trim(),
    ))
}

/// A `reg query` datum as the snapshot writes it: DWORDs (printed `0x…`) in decimal,
/// binary data as it is (hex), text as it is.
fn reg_data(kind: &str, data: &str) -> Value {
    match kind {
        "REG_DWORD" | "REG_QWORD" => data
            .strip_prefix("0x")
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .map_or(Value::Unreadable, |n| Value::Set(n.to_string())),
        _ => Value::Set(data.to_owned()),
    }
}
