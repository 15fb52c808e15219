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
//! - [`decode`] reads one block back; [`find_blocks`] finds every block in a pasted text
//!   (the paste box reads them through [`crate::input`]).

mod decode;
mod encode;
pub mod wire;

pub use decode::{BlockError, DecodedBlock, FoundBlock, decode, find_blocks};
pub use encode::{BlockBuilder, EvidenceBlock};

/// The first words of every block's first line.
pub const BLOCK_MARKER: &str = "RDPFIX-EVIDENCE v";
/// The block's last line.
pub const BLOCK_END: &str = "END RDPFIX-EVIDENCE";
/// The version this code writes and reads.
pub const BLOCK_VERSION: u32 = 1;
/// The default budget: what Run Command returns (4,096 bytes) less room for a line of
/// output before the block.
pub const MAX_BLOCK_BYTES: usize = 4000;
/// Body characters per line, as MIME base64.
pub const LINE_WIDTH: usize = 76;
/// Bytes of SHA-256 kept as the checksum.
const CHECK_BYTES: usize = 8;
/// The most a block's body may inflate to: a hostile paste cannot exhaust memory.
const MAX_INFLATED_BYTES: usize = 4 * 1024 * 1024;
/// The most base64 characters a block's body may announce on its second line. A larger
/// count is refused before anything is read or reserved for it (a changed line must not
/// size an allocation); [`BlockBuilder::finish`] never writes a block that large.
pub const MAX_BODY_CHARS: usize = 1024 * 1024;
