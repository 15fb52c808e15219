//! Reading blocks back from pasted text: find each block, check its length and checksum
//! before inflating anything, then read its lines (a bad line is skipped and named).

use super::wire::{self, Summary, WireEvent};
use super::{
    BLOCK_END, BLOCK_MARKER, BLOCK_VERSION, CHECK_BYTES, MAX_BODY_CHARS, MAX_INFLATED_BYTES,
};
use crate::event::Event;
use crate::input::hex;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// What is wrong with a pasted block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BlockError {
    #[error(
        "this RDPFIX-EVIDENCE block is version {found}; this page reads version {BLOCK_VERSION}: open the rdpfix page that matches the fixer.exe that wrote it"
    )]
    UnknownVersion { found: String },
    #[error(
        "the block's second line should read `sha256 <16 hex digits>, <N> chars`: copy the whole block again, from its RDPFIX-EVIDENCE line to END RDPFIX-EVIDENCE"
    )]
    BadHeader,
    #[error(
        "the block announces {announced} characters, more than a block ever holds ({MAX_BODY_CHARS}): its sha256 line (line {line}) was changed, copy the block again"
    )]
    TooLarge {
        /// 1-based line of the text that announces it.
        line: u32,
        /// The announced count as written (its first 24 digits).
        announced: String,
    },
    #[error(
        "the block was cut: it announces {expected} characters and has {got}; copy it again whole (Run Command keeps only the last 4,096 bytes of output: run `fixer collect --compact` alone)"
    )]
    Truncated { expected: usize, got: usize },
    #[error(
        "the block has {got} characters where it announces {expected}: something was pasted into it or twice, copy it again"
    )]
    TooLong { expected: usize, got: usize },
    #[error(
        "line {line} inside the block holds `{found}`, which a block never contains: copy the block again"
    )]
    BadCharacter { line: u32, found: char },
    #[error(
        "the block's checksum does not match: characters were changed in copying, copy it again"
    )]
    Checksum,
    #[error(
        "only the end of an RDPFIX-EVIDENCE block was pasted (its first lines were cut off): run `fixer collect --compact` again and copy the whole block"
    )]
    MissingStart,
    #[error("the block's content is damaged: {0}")]
    Content(String),
}

/// A block read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedBlock {
    pub summary: Summary,
    /// Its events, relevant and context ones, in block order.
    pub events: Vec<Event>,
    /// Body lines that could not be read (1-based, counting the summary as line 1) and why.
    pub skipped: Vec<(u32, String)>,
}

/// One block found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundBlock {
    /// 1-based line of the block's first line (of its end, for [`BlockError::MissingStart`]).
    pub line: u32,
    /// The 1-based lines the block spans, first and last: the rest of the text is
    /// something else (another export pasted with it).
    pub lines: (u32, u32),
    pub result: Result<DecodedBlock, BlockError>,
}

/// Reads the first block in `text`, its events attributed to `input`.
pub fn decode(text: &str, input: &str) -> Result<DecodedBlock, BlockError> {
    find_blocks(text, input)
        .into_iter()
        .next()
        .map_or(Err(BlockError::MissingStart), |b| b.result)
}

/// Finds every block in `text` (blocks may sit among other pasted output), reading each.
pub fn find_blocks(text: &str, input: &str) -> Vec<FoundBlock> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        let number = line_number(i);
        if let Some(at) = line.find(BLOCK_MARKER) {
            let rest = line.get(at + BLOCK_MARKER.len()..).unwrap_or_default();
            let (end, result) = read_block(&lines, i, rest, input);
            found.push(FoundBlock {
                line: number,
                lines: (number, line_number(end)),
                result,
            });
            i = end + 1;
            continue;
        }
        if line.trim() == BLOCK_END {
            found.push(FoundBlock {
                line: number,
                lines: (number, number),
                result: Err(BlockError::MissingStart),
            });
        }
        i += 1;
    }
    found
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

/// Reads the block whose first line is `lines[start]`; returns the index of its last line.
fn read_block(
    lines: &[&str],
    start: usize,
    after_marker: &str,
    input: &str,
) -> (usize, Result<DecodedBlock, BlockError>) {
    let version: String = after_marker
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    if version != BLOCK_VERSION.to_string() {
        let end = block_end(lines, start);
        let found = if version.is_empty() {
            after_marker.chars().take(8).collect()
        } else {
            version
        };
        return (end, Err(BlockError::UnknownVersion { found }));
    }
    let Some((check, announced)) = lines.get(start + 1).and_then(|l| parse_check(l)) else {
        return (block_end(lines, start), Err(BlockError::BadHeader));
    };
    // Checked before the count sizes anything.
    let Some(expected) = announced.parse().ok().filter(|n| *n <= MAX_BODY_CHARS) else {
        let announced = match announced.char_indices().nth(24) {
            Some((at, _)) => format!("{}…", announced.get(..at).unwrap_or_default()),
            None => announced.to_owned(),
        };
        return (
            block_end(lines, start),
            Err(BlockError::TooLarge {
                line: line_number(start + 1),
                announced,
            }),
        );
    };
    let mut data = String::with_capacity(expected);
    let mut last = start + 1;
    for (offset, line) in lines.iter().enumerate().skip(start + 2) {
        let trimmed = line.trim();
        if trimmed == BLOCK_END {
            last = offset;
            break;
        }
        if trimmed.contains(BLOCK_MARKER) {
            break;
        }
        if let Some(bad) = trimmed.chars().find(|c| {
            !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=') || c.is_whitespace())
        }) {
            // Something else was pasted after a cut block: the block ends here.
            if data.len() < expected {
                return (
                    offset.saturating_sub(1).max(start + 1),
                    Err(cut_or_bad(expected, data.len(), offset, bad)),
                );
            }
            break;
        }
        data.extend(trimmed.chars().filter(|c| !c.is_whitespace()));
        last = offset;
        if data.len() > expected {
            break;
        }
    }
    let result = if data.len() < expected {
        Err(BlockError::Truncated {
            expected,
            got: data.len(),
        })
    } else if data.len() > expected {
        Err(BlockError::TooLong {
            expected,
            got: data.len(),
        })
    } else {
        body(&data, &check, input, line_number(start))
    };
    (last, result)
}

fn cut_or_bad(expected: usize, got: usize, offset: usize, bad: char) -> BlockError {
    if got == 0 {
        BlockError::BadCharacter {
            line: line_number(offset),
            found: bad,
        }
    } else {
        BlockError::Truncated { expected, got }
    }
}

/// The index of the block's END line, or the last line before the next block.
fn block_end(lines: &[&str], start: usize) -> usize {
    let mut last = start;
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        if line.contains(BLOCK_MARKER) {
            break;
        }
        last = i;
        if line.trim() == BLOCK_END {
            break;
        }
    }
    last
}

/// `sha256 <hex>, <N> chars`: the checksum and `N`'s digits (any number of them: the
/// caller checks the count against [`MAX_BODY_CHARS`]).
fn parse_check(line: &str) -> Option<(String, &str)> {
    let rest = line.trim().strip_prefix("sha256 ")?;
    let (check, count) = rest.split_once(',')?;
    let count = count.trim().strip_suffix("chars")?.trim();
    let check = check.trim().to_ascii_lowercase();
    (!count.is_empty()
        && count.bytes().all(|b| b.is_ascii_digit())
        && check.len() == 2 * CHECK_BYTES
        && check.chars().all(|c| c.is_ascii_hexdigit()))
    .then_some((check, count))
}

fn body(data: &str, check: &str, input: &str, line: u32) -> Result<DecodedBlock, BlockError> {
    let packed = STANDARD
        .decode(data)
        .map_err(|e| BlockError::Content(format!("not base64: {e}")))?;
    let digest: [u8; 32] = Sha256::digest(&packed).into();
    if hex(digest.get(..CHECK_BYTES).unwrap_or_default()) != check {
        return Err(BlockError::Checksum);
    }
    let raw = miniz_oxide::inflate::decompress_to_vec_with_limit(&packed, MAX_INFLATED_BYTES)
        .map_err(|e| BlockError::Content(format!("does not inflate ({:?})", e.status)))?;
    let text = String::from_utf8(raw)
        .map_err(|_| BlockError::Content("not UTF-8 once inflated".to_owned()))?;
    let mut body_lines = text.lines();
    let summary: Summary = body_lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| BlockError::Content("its summary line is missing".to_owned()))?;
    if summary.v != BLOCK_VERSION {
        return Err(BlockError::UnknownVersion {
            found: summary.v.to_string(),
        });
    }
    let mut events = Vec::new();
    let mut skipped = Vec::new();
    for (n, l) in body_lines.enumerate() {
        match serde_json::from_str::<WireEvent>(l) {
            Ok(w) => events.push(w.into_event(wire::origin(input, line))),
            Err(e) => skipped.push((u32::try_from(n + 2).unwrap_or(u32::MAX), e.to_string())),
        }
    }
    Ok(DecodedBlock {
        summary,
        events,
        skipped,
    })
}
