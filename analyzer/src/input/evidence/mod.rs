//! `RDPFIX-EVIDENCE` blocks in a pasted text (the format is described in `evidence_block`, whose
//! builder writes them; reading them is this module's): each block's
//! events are emitted, a damaged block is an error naming its line and what to do, and the
//! text around the blocks is handed back for the other readers.

pub mod decode;
pub mod wire;

use super::report::{Dialect, IssueKind, IssueLocation};
use super::{Format, Output};
use decode::{BlockError, find_blocks};

/// The first words of every block's first line.
pub const BLOCK_MARKER: &str = "RDPFIX-EVIDENCE v";
/// The block's last line.
pub const BLOCK_END: &str = "END RDPFIX-EVIDENCE";
/// The version this code writes and reads.
pub const BLOCK_VERSION: u32 = 1;
/// Body characters per line, as MIME base64.
pub const LINE_WIDTH: usize = 76;
/// Bytes of SHA-256 kept as the checksum.
pub(crate) const CHECK_BYTES: usize = 8;
/// The most a block's body may inflate to: a hostile paste cannot exhaust memory.
pub(crate) const MAX_INFLATED_BYTES: usize = 4 * 1024 * 1024;
/// The most base64 characters a block's body may announce on its second line. A larger
/// count is refused before anything is read or reserved for it (a changed line must not
/// size an allocation); the block builder never writes a block that large.
pub const MAX_BODY_CHARS: usize = 1024 * 1024;

/// Reads the blocks in `text`. `None` when there is none; otherwise the text with the
/// blocks' lines blanked.
pub(crate) fn read(text: &str, out: &mut Output<'_>) -> Option<String> {
    if !text.contains(BLOCK_MARKER) && !text.contains(BLOCK_END) {
        return None;
    }
    let name = out.input_name().to_owned();
    let blocks = find_blocks(text, &name);
    if blocks.is_empty() {
        return None;
    }
    for block in &blocks {
        // A refused count is named where it is written; anything else where the block starts.
        let line = match &block.result {
            Err(BlockError::TooLarge { line, .. }) => *line,
            _ => block.line,
        };
        let at = Some(IssueLocation::Line { line });
        match &block.result {
            Ok(decoded) => {
                out.report.format.get_or_insert(Format::EvidenceBlock);
                out.report.dialect.get_or_insert(Dialect::EvidenceBlock);
                for event in decoded.events.iter().cloned() {
                    out.emit(event);
                }
                for (line, why) in &decoded.skipped {
                    out.skip();
                    out.report.warning(
                        IssueKind::BadRecord,
                        at,
                        format!("event line {line} of the block could not be read: {why}"),
                    );
                }
                if decoded.summary.omitted > 0 {
                    out.report.info(
                        IssueKind::Limit,
                        at,
                        format!(
                            "the block holds {} of the {} relevant events on the VM; {} were left out to fit Run Command's output (export the logs as .evtx to see them all)",
                            decoded.summary.kept, decoded.summary.relevant, decoded.summary.omitted
                        ),
                    );
                }
            }
            Err(e) => {
                out.report.format.get_or_insert(Format::EvidenceBlock);
                out.report.dialect.get_or_insert(Dialect::EvidenceBlock);
                out.skip();
                out.report.truncated |=
                    matches!(e, BlockError::Truncated { .. } | BlockError::MissingStart);
                out.report.error(IssueKind::Malformed, at, e.to_string());
            }
        }
    }
    let spans: Vec<(u32, u32)> = blocks.iter().map(|b| b.lines).collect();
    Some(super::text::blank_spans(text, &spans))
}
