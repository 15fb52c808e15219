//! The `RDPFIX-EVIDENCE v1` block: the catalog-relevant events of a VM's logs as one text
//! block small enough for Azure Run Command's 4,096-byte output tail and Serial Console.
//!
//! ```text
//! RDPFIX-EVIDENCE v1: 142 events, 37 left out
//! sha256 1a2b3c4d5e6f7081, 2904 chars
//! 7b2276223a312c2273656...   (base64, 76 columns)
//! END RDPFIX-EVIDENCE
//! ```
//!
//! The body is standard base64 of raw DEFLATE of JSON lines (see [`wire`]): a summary
//! line, then one short-keyed event per line. The second line carries the first 8 bytes of
//! the SHA-256 of the compressed bytes and the number of base64 characters, so a paste
//! that was cut (Run Command keeps the tail; consoles cut long pastes) or changed is named
//! as such before anything is decompressed. Whitespace and line breaks inside the body are
//! ignored, so a console that wraps lines does no harm.
//!
//! Besides the events some rule reads, a block keeps a few *context* events — the newest
//! and oldest event seen, the newest of every channel, one per catalog context (a domain
//! controller's) — so a diagnosis of the block judges "now", the window and missing logs
//! as it would on the full export.
//!
//! - [`BlockBuilder`] (an [`EventSink`](crate::input::EventSink)) collects events and
//!   [`BlockBuilder::finish`] writes the block within a byte budget
//!   ([`MAX_BLOCK_BYTES`] for Run Command);
//! - [`decode`] reads one block back; [`find_blocks`] finds every block in a pasted text.
//!   Reading blocks is an input format like any other, so the reading side and the body's
//!   wire format live in `input::evidence` and are re-exported here; this module (the
//!   writing side) needs the input's sink and the rule catalog, never the other way.

mod encode;

pub use crate::input::evidence::decode::{
    BlockError, DecodedBlock, FoundBlock, decode, find_blocks,
};
pub use crate::input::evidence::{
    BLOCK_END, BLOCK_MARKER, BLOCK_VERSION, LINE_WIDTH, MAX_BODY_CHARS, wire,
};
pub use encode::{BlockBuilder, EvidenceBlock, console_bytes};

/// The default budget: what Run Command returns (4,096 bytes) less room for a line of
/// output before the block.
pub const MAX_BLOCK_BYTES: usize = 4000;
