//! Decoded text as the text parsers see it: numbered lines, cleaned of what consoles add
//! (CR, terminal escape sequences, Serial Console's wrapping at a fixed width), and a map
//! from text positions back to lines and to input bytes for progress.

use std::borrow::Cow;

/// Maps byte offsets of the decoded text to 1-based lines and to progress in input bytes.
#[derive(Debug)]
pub(crate) struct LineIndex {
    /// Where each line starts. 4 bytes a line: a text is far shorter than 4 GiB (the input
    /// caps), and an offset past that would only place a line wrong, never panic.
    starts: Vec<u32>,
    text_len: usize,
    input_bytes: u64,
}

impl LineIndex {
    pub(crate) fn new(text: &str, input_bytes: u64) -> LineIndex {
        // Counted first: grown by doubling, the list took up to twice its room, and more
        // while it was moved.
        let count = text.bytes().filter(|b| *b == b'\n').count() + 1;
        let mut starts = Vec::with_capacity(count);
        starts.push(0);
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| offset(i + 1)),
        );
        LineIndex {
            starts,
            text_len: text.len(),
            input_bytes,
        }
    }

    /// The 1-based line holding byte `offset`.
    pub(crate) fn line_of(&self, offset: usize) -> u32 {
        let line = match self.starts.binary_search(&self::offset(offset)) {
            Ok(i) => i + 1,
            Err(i) => i,
        };
        u32::try_from(line).unwrap_or(u32::MAX)
    }

    /// The byte offset where 1-based line `line` starts.
    pub(crate) fn line_start(&self, line: u32) -> Option<usize> {
        let i = usize::try_from(line).ok()?.checked_sub(1)?;
        self.starts.get(i).map(|s| *s as usize)
    }

    /// How many input bytes lie before text offset `offset` (proportional: the text may be
    /// UTF-16 or a code page underneath).
    pub(crate) fn byte_progress(&self, offset: usize) -> u64 {
        if self.text_len == 0 {
            return self.input_bytes;
        }
        let done = (offset.min(self.text_len) as u128) * u128::from(self.input_bytes);
        u64::try_from(done / self.text_len as u128).unwrap_or(self.input_bytes)
    }
}

/// A text offset as the index holds it.
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// One cleaned line, as the parsers read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Line<'a> {
    /// 1-based number of the (first) input line it came from.
    pub no: u32,
    /// Byte offset of its start in the decoded text.
    pub start: usize,
    pub text: &'a str,
}

/// One cleaned line that may be a copy: a line cleaned of escapes, or lines a console
/// wrapped joined back together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CleanLine<'a> {
    /// 1-based number of the (first) input line it came from.
    pub no: u32,
    /// Byte offset of its start in the decoded text.
    pub start: usize,
    pub text: Cow<'a, str>,
}

/// A decoded text's lines, cleaned (no CR, terminal escapes or control characters), as
/// they are: where they lie in the text, found through its [`LineIndex`], with a copy only
/// of the lines cleaning changed. A line costs the 4 bytes of its start, not a list entry
/// of its own: 10 MB of empty lines is 10 million lines.
#[derive(Debug)]
pub(crate) struct TextLines<'a> {
    text: &'a str,
    index: LineIndex,
    /// (line index, its cleaned text) of the lines cleaning changed, ascending.
    cleaned: Vec<(usize, String)>,
}

impl<'a> TextLines<'a> {
    pub(crate) fn new(text: &'a str, input_bytes: u64) -> TextLines<'a> {
        let index = LineIndex::new(text, input_bytes);
        let cleaned = text
            .split('\n')
            .enumerate()
            .filter_map(|(i, raw)| match clean(raw) {
                Cow::Borrowed(_) => None,
                Cow::Owned(copy) => Some((i, copy)),
            })
            .collect();
        TextLines {
            text,
            index,
            cleaned,
        }
    }

    pub(crate) fn index(&self) -> &LineIndex {
        &self.index
    }

    pub(crate) fn lines(&self) -> Lines<'_> {
        Lines {
            source: Source::Text(self),
            from: 0,
            to: self.index.starts.len(),
        }
    }

    /// Line `i` (0-based) of the text.
    fn line(&self, i: usize) -> Option<Line<'_>> {
        let start = *self.index.starts.get(i)? as usize;
        let text = match self.cleaned.binary_search_by_key(&i, |(at, _)| *at) {
            Ok(at) => self.cleaned.get(at).map_or("", |(_, copy)| copy.as_str()),
            Err(_) => {
                let end = self
                    .index
                    .starts
                    .get(i + 1)
                    .map_or(self.text.len(), |next| (*next as usize).saturating_sub(1));
                // What `clean` leaves of a line it does not change.
                self.text
                    .get(start..end)
                    .unwrap_or_default()
                    .trim_end_matches(['\r', '\n'])
            }
        };
        Some(Line {
            no: u32::try_from(i + 1).unwrap_or(u32::MAX),
            start,
            text,
        })
    }
}

#[derive(Debug, Clone, Copy)]
enum Source<'a> {
    Text(&'a TextLines<'a>),
    Joined(&'a [CleanLine<'a>]),
}

/// A run of cleaned lines (all of a text's, a part of them, or lines joined back after a
/// console's wrapping), read in place: cheap to copy and to read again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lines<'a> {
    source: Source<'a>,
    from: usize,
    to: usize,
}

impl<'a> Lines<'a> {
    /// Lines held as copies (joined back, or made by a test).
    pub(crate) fn of(lines: &'a [CleanLine<'a>]) -> Lines<'a> {
        Lines {
            source: Source::Joined(lines),
            from: 0,
            to: lines.len(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.to - self.from
    }

    /// Line `i` of these.
    pub(crate) fn get(&self, i: usize) -> Option<Line<'a>> {
        let at = self.from.checked_add(i).filter(|at| *at < self.to)?;
        match self.source {
            Source::Text(text) => text.line(at),
            Source::Joined(lines) => lines.get(at).map(|l| Line {
                no: l.no,
                start: l.start,
                text: &l.text,
            }),
        }
    }

    pub(crate) fn first(&self) -> Option<Line<'a>> {
        self.get(0)
    }

    /// The first line and the rest.
    pub(crate) fn split_first(&self) -> Option<(Line<'a>, Lines<'a>)> {
        Some((self.first()?, self.skip(1)))
    }

    /// Lines `from..to` of these; `None` when out of range.
    pub(crate) fn slice(&self, from: usize, to: usize) -> Option<Lines<'a>> {
        (from <= to && to <= self.len()).then(|| Lines {
            source: self.source,
            from: self.from + from,
            to: self.from + to,
        })
    }

    /// Lines `from..` of these (none when out of range).
    pub(crate) fn skip(&self, from: usize) -> Lines<'a> {
        self.slice(from.min(self.len()), self.len())
            .unwrap_or(*self)
    }

    pub(crate) fn iter(&self) -> LinesIter<'a> {
        LinesIter {
            lines: *self,
            front: 0,
            back: self.len(),
        }
    }
}

/// The lines of a [`Lines`], in either direction; skipping is free.
#[derive(Debug, Clone)]
pub(crate) struct LinesIter<'a> {
    lines: Lines<'a>,
    front: usize,
    back: usize,
}

impl<'a> Iterator for LinesIter<'a> {
    type Item = Line<'a>;

    fn next(&mut self) -> Option<Line<'a>> {
        if self.front >= self.back {
            return None;
        }
        self.front += 1;
        self.lines.get(self.front - 1)
    }

    fn nth(&mut self, n: usize) -> Option<Line<'a>> {
        self.front = self.front.saturating_add(n).min(self.back);
        self.next()
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back.saturating_sub(self.front);
        (n, Some(n))
    }
}

impl DoubleEndedIterator for LinesIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front >= self.back {
            return None;
        }
        self.back -= 1;
        self.lines.get(self.back)
    }
}

impl ExactSizeIterator for LinesIter<'_> {}

/// Splits `text` into cleaned lines: no CR, no terminal escapes or control characters, and
/// lines a console wrapped at its width joined back together.
#[cfg(test)]
pub(crate) fn clean_lines(text: &str) -> Vec<CleanLine<'_>> {
    let lines = split_lines(text);
    let view = lines.lines();
    match wrap_width(view) {
        Some(width) => unwrap(view, width),
        None => view.iter().map(CleanLine::from).collect(),
    }
    .into_iter()
    .map(|l| CleanLine {
        no: l.no,
        start: l.start,
        text: Cow::Owned(l.text.into_owned()),
    })
    .collect()
}

/// Splits `text` into cleaned lines (no CR, terminal escapes or control characters), as
/// they are: lines a console wrapped stay apart ([`rejoin_wrapped`]).
#[cfg(test)]
pub(crate) fn split_lines(text: &str) -> TextLines<'_> {
    TextLines::new(text, 0)
}

impl<'a> From<Line<'a>> for CleanLine<'a> {
    fn from(line: Line<'a>) -> CleanLine<'a> {
        CleanLine {
            no: line.no,
            start: line.start,
            text: Cow::Borrowed(line.text),
        }
    }
}

/// Lines a console wrapped at its width joined back, when the lines show that signature;
/// `None` when they do not (then they are read as they are).
pub(crate) fn rejoin_wrapped<'a>(lines: Lines<'a>) -> Option<Vec<CleanLine<'a>>> {
    wrap_width(lines).map(|width| unwrap(lines, width))
}

/// One line without its line end, terminal escape sequences, control characters (tabs
/// kept) or the invisible marks Windows puts around the parts of a date it formats for
/// display (left-to-right and right-to-left marks, embeddings, isolates) and a byte order
/// mark left inside by joined files.
pub(crate) fn clean(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim_end_matches(['\r', '\n']);
    let needs = trimmed
        .chars()
        .any(|c| (c.is_control() && c != '\t') || is_invisible_mark(c));
    if !needs {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(trimmed.len());
    let mut chars = trimmed.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => match chars.peek() {
                // CSI: ESC [ params… final byte in @..~
                Some('[') => {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                }
                // OSC: ESC ] … BEL (or ESC \)
                Some(']') => {
                    for n in chars.by_ref() {
                        if n == '\u{7}' || n == '\u{1b}' {
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            },
            '\t' => out.push('\t'),
            c if c.is_control() || is_invisible_mark(c) => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Directional marks, embeddings and isolates, and U+FEFF: they format text for display
/// and carry nothing a parser reads.
fn is_invisible_mark(c: char) -> bool {
    matches!(
        c,
        '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}'
    )
}

/// A console that wraps at `w` columns leaves many lines exactly `w` characters long and
/// none longer. Returns `w` when the text shows that signature.
///
/// The longest line of an export that was not wrapped can also come several times: the
/// same message line in every event, say, followed by the event's next field. Joining
/// would glue that field on and lose it. A wrap cuts *different* text at the same
/// column, and at least one cut is followed by text that is not a field of its own; the
/// longest lines of an unwrapped export are either all the same or each followed by a
/// field, an empty line or a block header.
pub(crate) fn wrap_width(lines: Lines<'_>) -> Option<usize> {
    // Read again for each question rather than holding every line's length.
    let length = |l: &Line<'_>| l.text.chars().count();
    let max = lines.iter().map(|l| length(&l)).max()?;
    if !(60..=MAX_WRAP_WIDTH).contains(&max) {
        return None;
    }
    let full = || lines.iter().filter(|l| length(l) == max);
    let at_max = full().count();
    let pairs = || lines.iter().zip(lines.iter().skip(1));
    // Two full-width lines could be chance; wrapped output has them in runs or in numbers.
    let numbers = at_max >= 3
        || (at_max >= 2 && pairs().any(|(a, b)| length(&a) == max && length(&b) == max));
    if !numbers {
        return None;
    }
    let first = full().next().map(|l| l.text)?;
    let varied = full().any(|l| l.text != first);
    let continued = pairs().any(|(l, next)| length(&l) == max && continues(next.text));
    (varied && continued).then_some(max)
}

/// The shortest line taken as cut by a console's wrapping when the next line continues
/// it: Serial Console wraps at 80 columns, a wider console later; a line that ends short
/// of this was not wrapped.
pub(crate) const MIN_WRAP_WIDTH: usize = 76;
/// The widest a console is taken to wrap at ([`wrap_width`]).
pub(crate) const MAX_WRAP_WIDTH: usize = 512;

/// Whether `line` can be the rest of a line cut before it: not empty, not a block
/// header, not a `Name: value` / `Name : value` field of the text formats.
pub(crate) fn continues(line: &str) -> bool {
    !line.trim().is_empty() && !starts_structure(line) && !looks_like_field(line)
}

/// `  Log Name: System`, `Id          : 4625`, `Keywords:` — a label of words (letters,
/// digits, spaces, `-`, `_`, `.`, `(`, `)`) then a colon, in the first 40 characters.
fn looks_like_field(line: &str) -> bool {
    let label = line.trim_start();
    let Some(colon) = label.find(':') else {
        return false;
    };
    let name = label[..colon].trim_end();
    !name.is_empty()
        && colon <= 40
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | '(' | ')' | '\''))
        && label[colon + 1..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
}

fn unwrap<'a>(lines: Lines<'a>, width: usize) -> Vec<CleanLine<'a>> {
    let mut out: Vec<CleanLine<'a>> = Vec::with_capacity(lines.len());
    let mut joining = false;
    for line in lines.iter() {
        let full = line.text.chars().count() == width;
        match out.last_mut() {
            Some(prev) if joining && !line.text.is_empty() && !starts_structure(line.text) => {
                // Appended in place: copying the joined line for each piece is quadratic
                // in a long run of full-width lines.
                prev.text.to_mut().push_str(line.text);
            }
            _ => out.push(CleanLine::from(line)),
        }
        joining = full;
    }
    out
}

/// A line that cannot be the continuation of a wrapped one: an event block's header.
fn starts_structure(line: &str) -> bool {
    block_header_number(line).is_some()
}

/// `Event[12]:` (or a localised word before the brackets) → 12.
pub(crate) fn block_header_number(line: &str) -> Option<u64> {
    // Bytes no encoding could read, glued before a header, are already reported where the
    // text was decoded: the header after them still starts its event.
    let t = line
        .trim_end()
        .trim_start_matches(char::REPLACEMENT_CHARACTER);
    let body = t.strip_suffix(':')?;
    let open = body.rfind('[')?;
    let word = body.get(..open)?;
    let number = body.get(open + 1..)?.strip_suffix(']')?;
    let word_ok = !word.is_empty()
        && !word.starts_with(char::is_whitespace)
        && word.chars().count() <= 24
        && word.chars().all(char::is_alphabetic);
    (word_ok && !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()))
        .then(|| number.parse().ok())
        .flatten()
}

/// `text` with the lines inside any of `spans` (1-based, first and last inclusive) blanked,
/// so what is left keeps its line numbers: what the other readers get around a block.
pub(crate) fn blank_spans(text: &str, spans: &[(u32, u32)]) -> String {
    let mut rest = String::with_capacity(text.len());
    for (i, line) in text.lines().enumerate() {
        let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
        if !spans.iter().any(|(first, last)| *first <= n && n <= *last) {
            rest.push_str(line);
        }
        rest.push('\n');
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_run_of_full_width_lines_joins_into_one_line() {
        // Joined in place: copying the joined line for each piece made 40,000 such lines
        // take 14 s (quadratic); a 256 MiB export would never have finished.
        let text: String = (0..40_000).map(|i| format!("{i:x>80}\n")).collect();
        let lines = clean_lines(&text);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text.len(), 80 * 40_000);
    }

    #[test]
    fn strips_cr_and_escapes() {
        let lines = clean_lines("Event[0]:\r\n  \u{1b}[1mLog Name\u{1b}[0m: System\r\n");
        assert_eq!(lines[0].text, "Event[0]:");
        assert_eq!(lines[1].text, "  Log Name: System");
        assert_eq!(lines[1].no, 2);
    }

    #[test]
    fn rejoins_lines_wrapped_at_80_columns() {
        let long = format!("  Computer: {}", "a".repeat(100));
        let (first, second) = long.split_at(80);
        let filler = "x".repeat(80);
        let text = format!("{filler}\n{filler}\ny\nEvent[0]:\n{first}\n{second}\n  Description:\n");
        let lines = clean_lines(&text);
        let joined = lines
            .iter()
            .find(|l| l.text.starts_with("  Computer"))
            .unwrap();
        assert_eq!(joined.text, long);
        assert_eq!(joined.no, 5);
    }

    #[test]
    fn the_same_longest_line_in_every_event_is_not_a_wrap() {
        // `Get-WinEvent | Format-List *`: the message's longest line, the same in each
        // event, is followed by the next property; joining would lose the `Id`.
        let message = format!("Message : {}", "An account failed to log on. ".repeat(4));
        let event = format!("{message}\nId      : 4625\nVersion : 0\n\n");
        let text = event.repeat(3);
        let lines = clean_lines(&text);
        assert_eq!(
            lines.iter().filter(|l| l.text.starts_with("Id ")).count(),
            3
        );
    }

    #[test]
    fn different_longest_lines_each_followed_by_a_field_are_not_a_wrap() {
        let text = (0..3)
            .map(|i| format!("  Description: {}{i}\n  Keywords: Audit\n", "d".repeat(70)))
            .collect::<String>();
        let lines = clean_lines(&text);
        assert_eq!(lines.len(), 7, "{lines:?}");
    }

    #[test]
    fn field_lines_are_told_from_continuations() {
        assert!(looks_like_field("  Log Name: System"));
        assert!(looks_like_field("Id                   : 4625"));
        assert!(looks_like_field("  Keywords:"));
        assert!(!looks_like_field("aaaa"));
        assert!(!looks_like_field(
            "ess 10.0.0.1, port 3389, was refused: no listener"
        ));
        assert!(!looks_like_field("http://example.com/x"));
    }

    #[test]
    fn does_not_join_short_text() {
        let lines = clean_lines("a\nb\n");
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn block_headers_in_any_language() {
        assert_eq!(block_header_number("Event[0]:"), Some(0));
        assert_eq!(block_header_number("Ereignis[12]:"), Some(12));
        assert_eq!(block_header_number("  Event[0]:"), None);
        assert_eq!(block_header_number("Event[x]:"), None);
        assert_eq!(block_header_number("Event[0]: foo"), None);
        // Bytes no encoding read, glued before it (helper C's probe u02).
        assert_eq!(block_header_number("\u{fffd}\u{fffd}Event[10]:"), Some(10));
    }

    #[test]
    fn line_index_maps_offsets() {
        let idx = LineIndex::new("a\nbc\n", 10);
        assert_eq!(idx.line_of(0), 1);
        assert_eq!(idx.line_of(2), 2);
        assert_eq!(idx.line_of(5), 3);
        assert_eq!(idx.byte_progress(5), 10);
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        /// The lines read in place are the text split at LF, each cleaned, numbered and
        /// placed: what the list of copies held before them. Read forwards, backwards,
        /// skipped into and sliced alike.
        #[test]
        fn lines_in_place_are_the_split_and_cleaned_text(
            text in "[a-c :\t\r\n\u{1b}\\[m\u{200e}\u{feff}é\u{85}]{0,60}",
            from in 0usize..8,
            len in 0usize..8,
        ) {
            let all = TextLines::new(&text, 0);
            let lines = all.lines();
            let mut start = 0;
            let expected: Vec<(u32, usize, String)> = text
                .split('\n')
                .enumerate()
                .map(|(i, raw)| {
                    let line = (u32::try_from(i + 1).unwrap_or(u32::MAX), start, clean(raw).into_owned());
                    start += raw.len() + 1;
                    line
                })
                .collect();
            let got = |l: Line<'_>| (l.no, l.start, l.text.to_owned());
            proptest::prop_assert_eq!(lines.iter().map(got).collect::<Vec<_>>(), expected.clone());
            let mut backwards: Vec<_> = lines.iter().rev().map(got).collect();
            backwards.reverse();
            proptest::prop_assert_eq!(&backwards, &expected);
            proptest::prop_assert_eq!(lines.iter().nth(from).map(got), expected.get(from).cloned());
            let to = (from + len).min(expected.len());
            match lines.slice(from, to) {
                Some(part) => proptest::prop_assert_eq!(
                    part.iter().map(got).collect::<Vec<_>>(),
                    expected.get(from..to).unwrap_or_default().to_vec()
                ),
                None => proptest::prop_assert!(from > to),
            }
            for (i, (no, start, _)) in expected.iter().enumerate() {
                proptest::prop_assert_eq!(all.index().line_of(*start), *no);
                proptest::prop_assert_eq!(all.index().line_start(*no), Some(*start), "{}", i);
            }
        }
    }
}
