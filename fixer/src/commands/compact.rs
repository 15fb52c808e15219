//! `fixer collect --compact`: every catalog-relevant event of the window as one
//! `RDPFIX-EVIDENCE v1` block (`analyzer::evidence_block`) of at most 4,000 bytes, for when
//! the only way out of the VM is Run Command's 4,096-byte tail or a Serial Console screen.
//!
//! On Windows the channels the catalog reads are exported for the window (`wevtutil epl`,
//! as `fixer collect` does) and read back whole; with `--from`, exported files are read
//! instead (any machine, any format). On the VM the configuration snapshot
//! (`RDPFIX-CONFIG`, [`super::collect_config`]) is printed first and the block gets what it
//! leaves of the 4,000 bytes. The block keeps as many relevant events as fit,
//! newest first, and says how many it left out; a one-line summary follows it, so the
//! output's last 4,096 bytes hold both.

use super::{CommandError, CommandResult};
use crate::cli::CollectArgs;
use crate::exit::Exit;
use crate::host::{Host, HostError, LogExport};
use crate::inputs;
use crate::report::{Report, ascii_lines};
use crate::safe_folder;
use analyzer::evidence_block::{BlockBuilder, EvidenceBlock, MAX_BLOCK_BYTES};
use analyzer::input::InputReport;
use analyzer::rules::{Catalog, collection};
use serde::Serialize;
use std::path::Path;

/// Bytes Run Command returns: the block and the summary line must fit in them.
pub const RUN_COMMAND_TAIL: usize = 4096;

pub fn run(host: &dyn Host, args: &CollectArgs) -> CommandResult {
    let catalog = Catalog::builtin().map_err(|e| CommandError::new(Exit::Failure, e))?;
    let mut builder = BlockBuilder::new(&catalog);
    let mut sources = Vec::new();
    if args.from.is_empty() {
        // Exported as SYSTEM, then read back: only in a folder no user could have prepared.
        safe_folder::ensure(host, &args.out)?;
        let guide = collection::guide(&catalog, args.hours);
        for export in &guide.exports {
            let query = LogExport {
                channel: export.channel.clone(),
                query: export.xpath.clone(),
            };
            match host.log_export(&query, &args.out, &export.file_name) {
                Ok(path) => sources.extend(read_export(&path, &mut builder)),
                // What to do instead is added by `commands::run`.
                Err(e @ HostError::NeedsWindows { .. }) => return Err(e.into()),
                // A channel this VM does not have (no Connection Broker role) is no error.
                Err(e) => sources.push(Source::skipped(&export.channel, &e.to_string())),
            }
        }
    } else {
        for input in inputs::inputs(&args.from)? {
            for report in input.read(&mut builder)? {
                sources.push(Source::read(&report));
            }
        }
    }
    // On the VM, the configuration snapshot goes first; the block gets what it leaves.
    let config = args
        .from
        .is_empty()
        .then(|| super::collect_config::snapshot(host));
    let budget = MAX_BLOCK_BYTES.saturating_sub(
        config
            .as_deref()
            .map_or(0, analyzer::evidence_block::console_bytes),
    );
    Ok(Box::new(CompactReport {
        hours: args.hours,
        sources,
        config,
        block: builder.finish(budget),
    }))
}

/// Reads an exported `.evtx` back into the block.
fn read_export(path: &Path, builder: &mut BlockBuilder) -> Vec<Source> {
    let name = path.display().to_string();
    match inputs::read_file(&name, path, builder) {
        Ok(reports) => reports.iter().map(Source::read).collect(),
        Err(e) => vec![Source::skipped(
            &name,
            &format!("cannot read the export: {e}"),
        )],
    }
}

/// One input or channel, as read.
#[derive(Debug, Serialize)]
struct Source {
    name: String,
    events: u64,
    /// Why nothing was read from it (a missing channel, an unreadable file).
    skipped: Option<String>,
    /// Problems the reader reported, briefly.
    errors: u64,
}

impl Source {
    fn read(report: &InputReport) -> Source {
        Source {
            name: report.name.clone(),
            events: report.events,
            skipped: None,
            errors: report.errors,
        }
    }

    fn skipped(name: &str, why: &str) -> Source {
        Source {
            name: name.to_owned(),
            events: 0,
            skipped: Some(why.to_owned()),
            errors: 0,
        }
    }
}

#[derive(Debug)]
struct CompactReport {
    hours: u32,
    sources: Vec<Source>,
    /// The `RDPFIX-CONFIG` snapshot (on the VM only: `--from` reads files elsewhere).
    config: Option<String>,
    block: EvidenceBlock,
}

impl CompactReport {
    /// The last line: what the block holds and what to do with it.
    fn summary(&self) -> String {
        let b = &self.block;
        format!(
            "rdpfix: {} of {} relevant events kept, {} left out: paste the block",
            b.kept, b.relevant, b.omitted
        )
    }
}

impl Report for CompactReport {
    fn exit(&self) -> Exit {
        if self.sources.iter().all(|s| s.skipped.is_some()) {
            Exit::Failure
        } else {
            Exit::Success
        }
    }

    fn text(&self) -> String {
        let mut head = String::new();
        for s in &self.sources {
            match &s.skipped {
                Some(why) => head.push_str(&format!("skipped {}: {why}\n", s.name)),
                None if s.errors > 0 => head.push_str(&format!(
                    "read {}: {} events, {} problems (fixer diagnose shows them)\n",
                    s.name, s.events, s.errors
                )),
                None => head.push_str(&format!("read {}: {} events\n", s.name, s.events)),
            }
        }
        if self.exit() != Exit::Success {
            head.push_str(&format!(
                "FAILED: no log could be read for the last {} h; run as Administrator\n",
                self.hours
            ));
            return ascii_lines(&head);
        }
        let mut out = ascii_lines(&head);
        if out.trim().is_empty() {
            out.clear();
        }
        // ASCII by construction (percent-encoded values), as is the evidence block (base64
        // and fixed words), printed as is so its checksum holds.
        if let Some(config) = &self.config {
            out.push_str(config);
        }
        out.push_str(&self.block.text);
        out.push_str(&self.summary());
        out.push('\n');
        out
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "ok": self.exit() == Exit::Success,
            "hours": self.hours,
            "sources": self.sources,
            "block": self.block.text,
            "config": self.config,
            "block_console_bytes": self.block.console_bytes(),
            "seen": self.block.seen,
            "relevant": self.block.relevant,
            "kept": self.block.kept,
            "left_out": self.block.omitted,
            "context": self.block.context,
            "summary": self.summary(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_line_fits_beside_a_full_block_even_with_ten_digit_counts() {
        let big = 9_999_999_999;
        let report = CompactReport {
            hours: 24,
            sources: Vec::new(),
            config: None,
            block: EvidenceBlock {
                text: String::new(),
                seen: big,
                relevant: big,
                kept: big,
                omitted: big,
                context: 0,
            },
        };
        let line = report.summary();
        // CR LF on a Windows console.
        assert!(
            line.len() + 2 + MAX_BLOCK_BYTES <= RUN_COMMAND_TAIL,
            "{line}"
        );
        assert!(line.len() <= 96, "{line}");
    }
}
