//! PowerShell's tables of `Get-WinEvent` objects: what `Get-WinEvent` prints when nothing
//! formats it — its default view groups the events under `   ProviderName: <name>` lines and
//! shows `TimeCreated` (26 columns), `Id` (8, right-aligned), `LevelDisplayName` (16) and
//! the `Message`'s first line, cut at the window's width — and `Format-Table` with chosen
//! properties. A dashes line under the header row gives each column's place; the header
//! names are .NET property names, never localised. Columns are counted in console cells (an
//! East Asian wide character takes two).
//!
//! `Get-EventLog`'s table shows its time without a year and cuts sources at 20 columns: it is
//! recognised and refused with the command that gives a readable list.

use super::LocalTimes;
use super::datetime::DateOrder;
use super::limits::MAX_EVENT_BYTES;
use super::normalise::parse_event_id;
use super::report::{Dialect, IssueKind, IssueLocation};
use super::text::{LineIndex, Lines};
use super::{Format, Output, format_list};
use crate::event::Event;

/// Properties PowerShell shows right-aligned (numbers).
const RIGHT_ALIGNED: [&str; 13] = [
    "Id",
    "RecordId",
    "ProcessId",
    "ThreadId",
    "Qualifiers",
    "Version",
    "Level",
    "Task",
    "Opcode",
    "Keywords",
    "EventID",
    "InstanceId",
    "Index",
];

/// Whether a value ends as PowerShell ends one it cut to a column's width, or a message it
/// showed only the start of (`...` in Windows PowerShell, `…` in PowerShell 7).
pub(crate) fn is_cut(value: &str) -> bool {
    let v = value.trim_end();
    v.ends_with("...") || v.ends_with('…')
}

/// The console cells `c` takes: two for East Asian wide and full-width characters.
fn cells(c: char) -> usize {
    let wide = matches!(u32::from(c),
        0x1100..=0x115F
        | 0x2E80..=0x303E
        | 0x3041..=0x33FF
        | 0x3400..=0x4DBF
        | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF
        | 0xAC00..=0xD7A3
        | 0xF900..=0xFAFF
        | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60
        | 0xFFE0..=0xFFE6
        | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

/// The console cells `text` takes.
fn width(text: &str) -> usize {
    text.chars().map(cells).sum()
}

/// The byte offset in `line` where console column `col` starts (the line's length past it).
fn byte_at(line: &str, col: usize) -> usize {
    let mut at = 0;
    for (i, c) in line.char_indices() {
        if at >= col {
            return i;
        }
        at += cells(c);
    }
    line.len()
}

/// One column: its property name and where its name and dashes stand (console columns).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Column {
    name: String,
    start: usize,
    end: usize,
    right: bool,
}

/// A header row's columns, as its dashes line places them.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Layout {
    columns: Vec<Column>,
}

impl Layout {
    /// The header at `lines[i]` with its dashes line under it: the dashes groups stand under
    /// the names, one each, and the names are property names.
    fn at(lines: Lines<'_>, i: usize) -> Option<Layout> {
        let header = lines.get(i)?.text.trim_end();
        let dashes = lines.get(i + 1)?.text.trim_end();
        if dashes.is_empty() || !dashes.chars().all(|c| c == '-' || c == ' ') {
            return None;
        }
        let runs = |text: &str| -> Vec<(usize, usize)> {
            let mut runs = Vec::new();
            let mut col = 0;
            let mut open: Option<usize> = None;
            for c in text.chars() {
                match (c == ' ', open) {
                    (false, None) => open = Some(col),
                    (true, Some(s)) => {
                        runs.push((s, col));
                        open = None;
                    }
                    _ => {}
                }
                col += cells(c);
            }
            if let Some(s) = open {
                runs.push((s, col));
            }
            runs
        };
        let (names, groups) = (runs(header), runs(dashes));
        if names != groups || names.len() < 2 {
            return None;
        }
        let columns = names
            .iter()
            .map(|&(start, end)| {
                let name = header
                    .get(byte_at(header, start)..byte_at(header, end))
                    .unwrap_or_default()
                    .to_owned();
                let right = RIGHT_ALIGNED.iter().any(|n| n.eq_ignore_ascii_case(&name));
                Column {
                    name,
                    start,
                    end,
                    right,
                }
            })
            .collect::<Vec<_>>();
        let names_ok = columns.iter().all(|c| {
            c.name
                .chars()
                .next()
                .is_some_and(|f| f.is_ascii_alphabetic())
                && c.name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_')
        });
        let has = |n: &str| columns.iter().any(|c| c.name.eq_ignore_ascii_case(n));
        let of_events = columns.iter().any(|c| is_id_column(&c.name))
            && [
                "TimeCreated",
                "ProviderName",
                "LevelDisplayName",
                "Message",
                "TimeGenerated",
            ]
            .iter()
            .any(|n| has(n));
        (names_ok && of_events).then_some(Layout { columns })
    }

    fn has(&self, name: &str) -> bool {
        self.columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(name))
    }

    /// `Get-EventLog`'s default table (`Index Time EntryType Source InstanceID Message`).
    fn is_event_log(&self) -> bool {
        self.has("Time") && self.has("EntryType")
    }

    /// Where the last column starts: a line blank up to it continues the row above
    /// (`Format-Table -Wrap`).
    fn last_start(&self) -> usize {
        self.columns.last().map_or(0, |c| c.start)
    }

    /// The row's cells, by name, trimmed.
    fn cells<'t>(&self, row: &'t str) -> Vec<(&str, &'t str)> {
        let n = self.columns.len();
        let mut out = Vec::with_capacity(n);
        let mut from = 0usize;
        for (k, column) in self.columns.iter().enumerate() {
            let to = match self.columns.get(k + 1) {
                None => row.len(),
                Some(next) if next.right => {
                    // A right-aligned number ends under its dashes: this cell ends where
                    // the number's run of non-blanks begins (where the next column's name
                    // does, when no number is there).
                    let end = byte_at(row, next.end).max(from);
                    let head = row.get(from..end).unwrap_or_default();
                    let filled = width(row) >= next.end && !head.ends_with(' ');
                    if filled {
                        from + head.trim_end_matches(|c: char| c != ' ').len()
                    } else {
                        byte_at(row, next.start).clamp(from, end)
                    }
                }
                Some(next) => byte_at(row, next.start).max(from),
            };
            let start = if column.right {
                from
            } else {
                byte_at(row, column.start).clamp(from, to.max(from))
            };
            out.push((
                column.name.as_str(),
                row.get(start..to).unwrap_or_default().trim(),
            ));
            from = to;
        }
        out
    }
}

/// A group line (`   ProviderName: Schannel`, or `Format-Table -GroupBy`'s): property and
/// value.
fn group_line(text: &str) -> Option<(&str, &str)> {
    let t = text.trim();
    let (name, value) = t.split_once(": ")?;
    let ok = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then_some((name, value.trim()))
}

/// Whether the text holds a table of events: a header row of event properties with its
/// dashes line.
pub(crate) fn looks_like(lines: Lines<'_>) -> bool {
    (0..lines.len().min(4000)).any(|i| Layout::at(lines, i).is_some())
}

/// Whether a table of events plainly starts at `lines[i]`: its header row, or the group line
/// before it (see `parts`) — after an empty line, as PowerShell prints them, or at the
/// text's start. (A message quoting a table, in a `Format-List` value, runs on from the
/// line before.)
pub(crate) fn starts_export(lines: Lines<'_>, i: usize) -> bool {
    let after_blank = i
        .checked_sub(1)
        .is_none_or(|p| lines.get(p).is_none_or(|l| l.text.trim().is_empty()));
    if !after_blank {
        return false;
    }
    if Layout::at(lines, i).is_some() {
        return true;
    }
    let Some(line) = lines.get(i) else {
        return false;
    };
    group_line(line.text).is_some()
        && (i + 1..i + 4)
            .find(|&j| lines.get(j).is_some_and(|l| !l.text.trim().is_empty()))
            .is_some_and(|j| Layout::at(lines, j).is_some())
}

/// One row: its line, its cells by name, and what a group line above it said.
#[derive(Debug)]
struct Row {
    line: u32,
    start: usize,
    props: Vec<(String, String)>,
    bytes: usize,
}

impl Row {
    fn get(&self, name: &str) -> Option<&str> {
        self.props
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

/// What the lines hold, in order.
#[derive(Debug)]
enum Item {
    Row(Row),
    /// Rows before the first header (a cut start) whose group line is gone: lines.
    Orphans(u32, u32),
    /// A `Get-EventLog` table: its header line and how many rows it has.
    EventLogTable(u32, u64),
}

fn items(lines: Lines<'_>) -> Vec<Item> {
    let first_layout = (0..lines.len()).find_map(|i| Layout::at(lines, i).map(|l| (i, l)));
    let Some((first_at, mut layout)) = first_layout else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // Rows before the first header are a cut start: the default view's columns stand in the
    // same places in every group, so the first header's places read them; their group line
    // is gone.
    let mut group: Vec<(String, String)> = Vec::new();
    let mut orphans: Option<(u32, u32)> = None;
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        if let Some(next) = Layout::at(lines, i) {
            if next.is_event_log() {
                out.push(Item::EventLogTable(line.no, 0));
            }
            layout = next;
            i += 2;
            continue;
        }
        let after_blank = i
            .checked_sub(1)
            .and_then(|p| lines.get(p))
            .is_some_and(|l| l.text.trim().is_empty());
        i += 1;
        let text = line.text.trim_end();
        if text.trim().is_empty() || is_prompt(text) {
            continue;
        }
        // `Format-Table -Wrap`: blank up to the last column, the rest of the row above.
        let lead = text.chars().take_while(|c| *c == ' ').count();
        if !after_blank
            && lead >= layout.last_start()
            && let Some(Item::Row(row)) = out.last_mut()
            && let Some(last) = layout.columns.last()
            && let Some((_, value)) = row
                .props
                .iter_mut()
                .rev()
                .find(|(n, _)| last.name.eq_ignore_ascii_case(n))
        {
            row.bytes += text.len() + 1;
            if row.bytes <= MAX_EVENT_BYTES {
                value.push(' ');
                value.push_str(text.trim());
            }
            continue;
        }
        // A group line (`   ProviderName: Schannel`): indented, or right above a header.
        if let Some((name, value)) = group_line(text)
            && !layout.has(name)
            && (text.starts_with(' ') || starts_export(lines, i - 1))
        {
            group.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
            group.push((name.to_owned(), value.to_owned()));
            continue;
        }
        let cells = layout.cells(text);
        let has_id = cells
            .iter()
            .find(|(n, _)| is_id_column(n))
            .is_some_and(|(_, v)| parse_event_id(v).is_some());
        // Text with no event ID where a row has one, before the first header or after an
        // empty line, is not the table's (a note, the next command); within it, it is a
        // damaged row, reported.
        if !has_id && (i <= first_at || after_blank) {
            continue;
        }
        if layout.is_event_log() {
            if let Some(Item::EventLogTable(_, rows)) = out
                .iter_mut()
                .rev()
                .find(|it| matches!(it, Item::EventLogTable(..)))
            {
                *rows += 1;
            }
            continue;
        }
        if i <= first_at
            && !group.iter().any(|(n, _)| n == "ProviderName")
            && !layout.has("ProviderName")
        {
            orphans = Some(orphans.map_or((line.no, line.no), |(a, _)| (a, line.no)));
            continue;
        }
        if let Some((a, b)) = orphans.take() {
            out.push(Item::Orphans(a, b));
        }
        let mut props = group.clone();
        props.extend(cells.into_iter().map(|(n, v)| (n.to_owned(), v.to_owned())));
        out.push(Item::Row(Row {
            line: line.no,
            start: line.start,
            props,
            bytes: text.len() + 1,
        }));
    }
    if let Some((a, b)) = orphans {
        out.insert(0, Item::Orphans(a, b));
    }
    out
}

/// A column holding the event ID.
fn is_id_column(name: &str) -> bool {
    ["Id", "EventID", "InstanceId"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(name))
}

/// A shell prompt a channel did not set aside (`PS>`, as PowerShell's documentation shows
/// it, or `PS C:\>`).
fn is_prompt(text: &str) -> bool {
    text.starts_with("PS>")
        || (text.starts_with("PS ") && text.contains(":\\") && text.contains('>'))
}

pub(crate) fn read(lines: Lines<'_>, index: &LineIndex, out: &mut Output<'_>) {
    let all = items(lines);
    let order = DateOrder::decide(all.iter().filter_map(|item| match item {
        Item::Row(r) => r.get("TimeCreated"),
        _ => None,
    }));
    let (mut rows, mut tables) = (0u64, 0u64);
    let mut local = LocalTimes::default();
    let (mut cut_messages, mut cut_providers) = (0u64, 0u64);
    let mut first_cut_provider = None;
    for item in all {
        let row = match item {
            Item::Orphans(first, last) => {
                out.cut_at_start(
                    first,
                    &format!(
                        "lines {first}–{last} are rows of a table whose ProviderName line \
                         is cut off: they are events"
                    ),
                    "table",
                    "Get-WinEvent -MaxEvents 5",
                );
                continue;
            }
            Item::EventLogTable(line, n) => {
                tables += 1;
                for _ in 0..n.max(1) {
                    out.skip();
                }
                out.report.error(
                    IssueKind::Unrecognised,
                    Some(IssueLocation::Line { line }),
                    format!(
                        "this is Get-EventLog's table, which shows no year and cuts sources \
                         to 20 characters: its {n} rows were not read; run the command again \
                         with `| Format-List` (or use Get-WinEvent)"
                    ),
                );
                continue;
            }
            Item::Row(row) => row,
        };
        if out.tick(index.byte_progress(row.start)).is_break() {
            return;
        }
        rows += 1;
        let at = Some(IssueLocation::Line { line: row.line });
        if row.bytes > MAX_EVENT_BYTES {
            out.skip_oversized(at, "this row", row.bytes);
            continue;
        }
        match row_event(&row, order, out.input_name()) {
            Ok(event) => {
                local.note(&event, || at);
                cut_messages += u64::from(event.message.as_deref().is_some_and(is_cut));
                if is_cut(&event.provider) {
                    cut_providers += 1;
                    first_cut_provider.get_or_insert(at);
                }
                out.emit(event);
            }
            Err(why) => {
                out.skip();
                out.report.error(
                    IssueKind::IncompleteEvent,
                    at,
                    format!("this row was skipped: {why}"),
                );
            }
        }
    }
    if rows + tables > 0 {
        out.report.format = Some(Format::Table);
        out.report.dialect = Some(Dialect::FormatTable);
    }
    if cut_providers > 0 {
        out.report.warning(
            IssueKind::BadValue,
            first_cut_provider.flatten(),
            format!(
                "{cut_providers} rows show their ProviderName cut to the column's width \
                 (ending in ...), so rules cannot match them; run the command again with \
                 `| Format-List`"
            ),
        );
    }
    if cut_messages > 0 {
        out.report.info(
            IssueKind::Limit,
            None,
            format!(
                "{cut_messages} messages show only their start (ending in ...); \
                 `| Format-List` shows them whole"
            ),
        );
    }
    out.report_local_times(local, " (PowerShell prints local time)");
}

fn row_event(row: &Row, order: DateOrder, input: &str) -> Result<Event, String> {
    format_list::properties_event(|name| row.get(name), row.line, order, input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::text::split_lines;

    const HEADER: &str = "TimeCreated                     Id LevelDisplayName Message\n\
                          -----------                     -- ---------------- -------\n";

    fn layout(text: &str) -> Option<Layout> {
        let all = split_lines(text);
        Layout::at(all.lines(), 0)
    }

    #[test]
    fn the_dashes_place_the_columns() {
        let l = layout(HEADER).unwrap();
        let names: Vec<(&str, usize, usize, bool)> = l
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.start, c.end, c.right))
            .collect();
        assert_eq!(
            names,
            [
                ("TimeCreated", 0, 11, false),
                ("Id", 32, 34, true),
                ("LevelDisplayName", 35, 51, false),
                ("Message", 52, 59, false)
            ]
        );
        // Dashes not under the names, or names that are no properties: no table.
        assert_eq!(
            layout("TimeCreated Id Message\n---------- -- -------\n"),
            None
        );
        assert_eq!(layout("Time Created  Id\n---- -------  --\n"), None);
        assert_eq!(layout("Name  Value\n----  -----\n"), None);
    }

    #[test]
    fn cells_are_cut_where_the_columns_stand() {
        let l = layout(HEADER).unwrap();
        let row = "12/7/2026 3:11:15 AM         36871 Error            A fatal error occurred...";
        assert_eq!(
            l.cells(row),
            [
                ("TimeCreated", "12/7/2026 3:11:15 AM"),
                ("Id", "36871"),
                ("LevelDisplayName", "Error"),
                ("Message", "A fatal error occurred...")
            ]
        );
        // Wide characters take two cells; a short row leaves the last cells empty.
        let row = "2026/12/07 3:11:15           36871 エラー           致命的なエラー";
        assert_eq!(l.cells(row)[2], ("LevelDisplayName", "エラー"));
        assert_eq!(l.cells(row)[3], ("Message", "致命的なエラー"));
        let short = "12/7/2026 3:11:15 AM          7036";
        assert_eq!(l.cells(short)[1], ("Id", "7036"));
        assert_eq!(l.cells(short)[3], ("Message", ""));
    }
}
