//! The text of an `RDPFIX-CONFIG v1` block (the grammar is `docs/config-snapshot.md`):
//! percent-encoding of values, and the writer `fixer collect` and the tests use. The
//! generated PowerShell writes the same text (`remote::config`); the reader is
//! `input::config`.

use super::model::Value;
use super::schema::Section;
use jiff::Timestamp;

/// The first words of a block's first line.
pub const MARKER: &str = "RDPFIX-CONFIG v";
/// The first words of a block's last line.
pub const END: &str = "END RDPFIX-CONFIG";
/// The version this code writes and reads.
pub const VERSION: u32 = 1;
/// The longest line the writer makes: consoles and `Invoke-AzVMRunCommand`'s listing wrap
/// longer ones.
pub const LINE_WIDTH: usize = 76;

/// Percent-encodes `text`: everything but `A–Z a–z 0–9 - . _ ~ : \ / @ +` as `%XX` of its
/// UTF-8 bytes (so a value holds no space, `=`, `,` or `%`); a lone `-` or `?` (which mean
/// absent and unreadable) is encoded too. The generated PowerShell encodes the same set.
pub fn encode(text: &str) -> String {
    if text == "-" || text == "?" {
        return format!("%{:02X}", text.as_bytes().first().copied().unwrap_or(b'-'));
    }
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if is_plain(b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The bytes [`encode`] writes as they are.
pub fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'-' | b'.' | b'_' | b'~' | b':' | b'\\' | b'/' | b'@' | b'+'
        )
}

/// Decodes `%XX` sequences; anything else (a `%` not followed by two hex digits, bytes
/// that are not UTF-8) is kept or replaced, never refused.
pub fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| char::from(*c).to_digit(16)),
                bytes.get(i + 2).and_then(|c| char::from(*c).to_digit(16)),
            )
        {
            out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A list value's items, each decoded (`a,b%2Cc` → `a`, `b,c`); empty for an empty value.
/// The reader keeps list values as written, so that an encoded comma stays inside its item.
pub fn split_list(raw: &str) -> Vec<String> {
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(',').map(decode).collect()
}

/// Writes a block: values are added per section (and subject), then [`Writer::finish`]
/// lays them out in lines of at most [`LINE_WIDTH`] characters.
#[derive(Debug, Clone)]
pub struct Writer {
    head: String,
    /// (section, subject, items) in the order first added.
    lines: Vec<(Section, Option<String>, Vec<String>)>,
}

impl Writer {
    pub fn new(computer: &str, taken: Option<Timestamp>, os_build: Option<u32>) -> Writer {
        let mut head = format!("{MARKER}{VERSION} host={}", encode(computer));
        if let Some(t) = taken {
            head.push_str(&format!(" at={}", t.strftime("%Y-%m-%dT%H:%M:%SZ")));
        }
        if let Some(b) = os_build {
            head.push_str(&format!(" os={b}"));
        }
        Writer {
            head,
            lines: Vec::new(),
        }
    }

    fn items(&mut self, section: Section, subject: Option<&str>) -> &mut Vec<String> {
        let at = self
            .lines
            .iter()
            .position(|(s, subj, _)| *s == section && subj.as_deref() == subject);
        let at = match at {
            Some(i) => i,
            None => {
                self.lines
                    .push((section, subject.map(str::to_owned), Vec::new()));
                self.lines.len() - 1
            }
        };
        // `at` is an index just found or pushed.
        #[allow(clippy::indexing_slicing)]
        &mut self.lines[at].2
    }

    /// Adds one value (text values are encoded here).
    pub fn value(&mut self, section: Section, subject: Option<&str>, key: &str, value: &Value) {
        let v = match value {
            Value::Absent => "-".to_owned(),
            Value::Unreadable => "?".to_owned(),
            Value::Set(t) => encode(t),
        };
        self.items(section, subject).push(format!("{key}={v}"));
    }

    /// Adds a list value: items encoded one by one, joined by commas.
    pub fn list(&mut self, section: Section, subject: Option<&str>, key: &str, items: &[String]) {
        let v: Vec<String> = items.iter().map(|i| encode(i)).collect();
        self.items(section, subject)
            .push(format!("{key}={}", v.join(",")));
    }

    /// Marks a section (or one subject of it) as not collected, and why (one item: the
    /// two words stay on one line).
    pub fn not_collected(&mut self, section: Section, subject: Option<&str>, why: &str) {
        let item = if why.is_empty() {
            "!".to_owned()
        } else {
            format!("! why={}", encode(why))
        };
        self.items(section, subject).push(item);
    }

    /// The block's text, each line ending in `\n`: the sections in the schema's order
    /// (a producer may read a section's values in two places, as the registry table's
    /// `boot` rows and the `boot` values read apart), each subject where it was first added.
    pub fn finish(&self) -> String {
        let mut body: Vec<String> = Vec::new();
        let mut lines: Vec<&(Section, Option<String>, Vec<String>)> = self.lines.iter().collect();
        lines.sort_by_key(|(section, _, _)| *section);
        for (section, subject, items) in lines {
            let prefix = match subject {
                Some(s) => format!("{} {}", section.word(), encode(s)),
                None => section.word().to_owned(),
            };
            let mut line = prefix.clone();
            for item in items {
                if line.len() > prefix.len() && line.len() + 1 + item.len() > LINE_WIDTH {
                    body.push(std::mem::replace(&mut line, prefix.clone()));
                }
                line.push(' ');
                line.push_str(item);
            }
            body.push(line);
        }
        let mut out = String::new();
        out.push_str(&self.head);
        out.push('\n');
        for l in &body {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(&format!("{END} lines={}\n", body.len()));
        out
    }
}
