//! `fixer collect`: what the admin runs first. Exports the last hours of every channel the
//! rule catalog reads with `wevtutil epl` into one folder (to drop into the page), zips them
//! into `rdpfix-logs.zip` there (the one file to copy off the VM: [`crate::bundle`]), and
//! prints the few events that matter as `wevtutil qe /f:text`, cut to fit what Run Command
//! returns.
//!
//! The channels and export queries come from the catalog (`analyzer::rules::collection`),
//! the "relevant events" queries are the Run Command script's (`analyzer::remote`): a
//! channel or event a new rule reads is collected without a change here.

use super::{CommandError, CommandResult};
use crate::bundle::Bundle;
use crate::cli::CollectArgs;
use crate::exit::Exit;
use crate::host::{Host, HostError, LogExport};
use crate::report::{Report, ascii_lines};
use crate::safe_folder;
use analyzer::remote;
use analyzer::rules::{Catalog, collection};
use serde::Serialize;

/// Bytes of event text printed at most, leaving room in Run Command's 4,096 for the rest.
pub const TEXT_BUDGET: usize = 2600;
/// Events asked of each channel; the budget usually stops sooner.
const EVENTS_PER_CHANNEL: u32 = 6;

#[derive(Debug, Serialize)]
struct Exported {
    channel: String,
    file: Option<String>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct CollectReport {
    out: Option<String>,
    hours: u32,
    exports: Vec<Exported>,
    /// The exports zipped into one file, or why they could not be.
    zip: Option<Bundle>,
    zip_error: Option<String>,
    /// `wevtutil qe /f:text` of the relevant events, newest first, whole events only.
    events_text: String,
    events_shown: usize,
    events_left_out: usize,
    /// The configuration snapshot (`RDPFIX-CONFIG`), printed last: [`super::collect_config`].
    config: String,
}

pub fn run(host: &dyn Host, args: &CollectArgs) -> CommandResult {
    if args.compact {
        return super::compact::run(host, args);
    }
    if let Some(disk) = &args.offline {
        return crate::offline::collect(host, disk, &args.out);
    }
    let catalog = Catalog::builtin().map_err(|e| CommandError::new(Exit::Failure, e))?;
    let guide = collection::guide(&catalog, args.hours);
    let mut exports = Vec::new();
    let mut files = Vec::new();
    if !args.text_only {
        // `wevtutil epl … /ow:true` runs as SYSTEM: into a folder made for it, or one that
        // only SYSTEM and Administrators could have written (never a user's junction).
        safe_folder::ensure(host, &args.out)?;
        for e in &guide.exports {
            let export = LogExport {
                channel: e.channel.clone(),
                query: e.xpath.clone(),
            };
            let result = host.log_export(&export, &args.out, &e.file_name);
            if let Err(e @ HostError::NeedsWindows { .. }) = result {
                return Err(e.into());
            }
            if let Ok(path) = &result {
                files.push(path.clone());
            }
            exports.push(Exported {
                channel: e.channel.clone(),
                file: result.as_ref().ok().map(|p| p.display().to_string()),
                error: result.err().map(|e| e.to_string()),
            });
        }
    }
    // After the exports, into the folder just judged safe (see `bundle`).
    let zipped = (!files.is_empty()).then(|| host.zip_logs(&args.out, &files));
    let config = super::collect_config::snapshot(host);
    // The snapshot is printed too: the events get what it leaves of their budget.
    let budget = TEXT_BUDGET.saturating_sub(analyzer::evidence_block::console_bytes(&config));
    let mut events_text = String::new();
    let (mut shown, mut left_out) = (0, 0);
    // The Run Command script's queries: exactly the providers and IDs the rules read,
    // within the event log's 20-expression limit, most relevant first.
    for q in remote::remote_collection(&catalog, args.hours).queries {
        let query = LogExport {
            channel: q.channel,
            query: q.xpath,
        };
        let text = match host.log_query_text(&query, EVENTS_PER_CHANNEL) {
            Ok(t) => t,
            Err(e @ HostError::NeedsWindows { .. }) => return Err(e.into()),
            // A channel that does not exist here (no Connection Broker role) has no events.
            Err(_) => continue,
        };
        for event in split_events(&text) {
            if events_text.len() + event.len() <= budget {
                events_text.push_str(event.trim_end());
                events_text.push('\n');
                shown += 1;
            } else {
                left_out += 1;
            }
        }
    }
    Ok(Box::new(CollectReport {
        out: (!args.text_only).then(|| args.out.display().to_string()),
        hours: args.hours,
        exports,
        zip_error: zipped
            .as_ref()
            .and_then(|z| z.as_ref().err().map(|e| e.to_string())),
        zip: zipped.and_then(Result::ok),
        events_text,
        events_shown: shown,
        events_left_out: left_out,
        config,
    }))
}

/// Splits `wevtutil qe /f:text` output into whole events. Each event starts with an
/// `Event[n]:` line, which wevtutil does not localise; text without one is one event.
pub fn split_events(text: &str) -> Vec<&str> {
    let starts: Vec<usize> = text
        .match_indices("Event[")
        .map(|(i, _)| i)
        .filter(|&i| i == 0 || text.as_bytes().get(i - 1) == Some(&b'\n'))
        .collect();
    if starts.is_empty() {
        return if text.trim().is_empty() {
            Vec::new()
        } else {
            vec![text]
        };
    }
    let mut ends: Vec<usize> = starts.iter().skip(1).copied().collect();
    ends.push(text.len());
    starts
        .iter()
        .zip(ends)
        .filter_map(|(&s, e)| text.get(s..e))
        .collect()
}

impl Report for CollectReport {
    fn exit(&self) -> Exit {
        let all_failed = !self.exports.is_empty() && self.exports.iter().all(|e| e.file.is_none());
        if all_failed {
            Exit::Failure
        } else {
            Exit::Success
        }
    }

    fn text(&self) -> String {
        let mut out = String::new();
        if self.events_shown > 0 {
            out.push_str(&format!(
                "--- relevant events, last {} h, newest first ---\n",
                self.hours
            ));
            out.push_str(&self.events_text);
            if self.events_left_out > 0 {
                out.push_str(&format!(
                    "... {} more not shown (see the exported files)\n",
                    self.events_left_out
                ));
            }
            out.push_str("---\n");
        } else {
            out.push_str(&format!(
                "No event any rdpfix rule reads in the last {} h.\n",
                self.hours
            ));
        }
        // The snapshot between the events and what to do next: ASCII by construction
        // (percent-encoded values), so `ascii_lines` leaves it as it is.
        out.push_str(&self.config);
        for e in &self.exports {
            match (&e.file, &e.error) {
                (Some(f), _) => out.push_str(&format!("exported {f}\n")),
                (None, Some(err)) => out.push_str(&format!("skipped  {} ({err})\n", e.channel)),
                (None, None) => {}
            }
        }
        if let Some(zip) = &self.zip {
            out.push_str(&format!(
                "zipped   {} ({} KB): the one file to copy off the VM\n",
                zip.path,
                zip.bytes.div_ceil(1024)
            ));
        } else if let Some(e) = &self.zip_error {
            out.push_str(&format!("not zipped ({e}): copy the .evtx files instead\n"));
        }
        match (&self.out, &self.zip) {
            (Some(_), Some(zip)) if self.exit() == Exit::Success => out.push_str(&format!(
                "NEXT: copy {} to your computer and drop it on the page;\n\
                 or paste the events above into the page's text box.\n",
                zip.path
            )),
            (Some(dir), None) if self.exit() == Exit::Success => out.push_str(&format!(
                "NEXT: copy {dir} to your computer and drop the folder on the page;\n\
                 or paste the events above into the page's text box.\n"
            )),
            (Some(_), _) => {
                out.push_str("FAILED: no log could be exported; run as Administrator.\n")
            }
            (None, _) => out.push_str("NEXT: paste the events above into the page's text box.\n"),
        }
        ascii_lines(&out)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CollectArgs;
    use crate::host::sim::{Fault, FaultAt, FaultKind, Machine, SimHost};
    use std::path::PathBuf;

    const EVENT: &str = "Event[0]:\r\n  Log Name: System\r\n  Source: Schannel\r\n  Event ID: 36871\r\n  Description: \r\nA fatal error occurred while creating a TLS server credential. The internal error state is 10013.\r\n";

    fn args(text_only: bool) -> CollectArgs {
        CollectArgs {
            out: PathBuf::from(r"C:\rdpfix-logs"),
            hours: 24,
            text_only,
            compact: false,
            offline: None,
            from: Vec::new(),
        }
    }

    #[test]
    fn splits_wevtutil_text_into_whole_events() {
        let two = format!("{EVENT}{}", EVENT.replace("Event[0]", "Event[1]"));
        let events = split_events(&two);
        assert_eq!(events.len(), 2);
        assert!(events[1].starts_with("Event[1]:"));
        assert_eq!(split_events("  \r\n"), Vec::<&str>::new());
        // "Event[" inside a description is not a boundary.
        assert_eq!(split_events("Event[0]:\n x Event[7] y\n").len(), 1);
    }

    #[test]
    fn every_channel_the_catalog_reads_is_exported_with_its_window() {
        let mut m = Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
        m.logs.insert("System".into(), EVENT.into());
        let host = SimHost::new(m);
        run(&host, &args(false)).unwrap();
        let exported: Vec<String> = host.machine().exported.into_keys().collect();
        // Only System exists on this machine; every other channel was tried and skipped.
        assert_eq!(
            exported,
            [
                r"C:\rdpfix-logs\System.evtx",
                r"C:\rdpfix-logs\rdpfix-logs.zip"
            ]
        );
        let catalog = Catalog::builtin().unwrap();
        let guide = collection::guide(&catalog, 24);
        for channel in ["System", "Security"] {
            assert!(
                guide.exports.iter().any(|e| e.channel == channel),
                "{channel} is read by a rule, so collect exports it"
            );
        }
        let broker = guide
            .exports
            .iter()
            .find(|e| e.channel.contains("SessionBroker/"))
            .unwrap();
        assert!(broker.channel.ends_with("/Operational"));
        assert!(
            !broker.text_command.contains("' "),
            "no spaces inside provider names"
        );
        assert!(broker.xpath.contains("86400000"), "{}", broker.xpath);
    }

    #[test]
    fn exports_every_channel_and_skips_missing_ones() {
        let mut m = Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
        m.logs.insert("System".into(), EVENT.into());
        m.logs.insert("Security".into(), String::new());
        let host = SimHost::new(m);
        let report = run(&host, &args(false)).unwrap();
        assert_eq!(report.exit(), Exit::Success);
        let exported = host.machine().exported;
        assert!(exported.contains_key(r"C:\rdpfix-logs\System.evtx"));
        assert!(exported.contains_key(r"C:\rdpfix-logs\Security.evtx"));
        assert!(exported.contains_key(r"C:\rdpfix-logs\rdpfix-logs.zip"));
        assert_eq!(exported.len(), 3, "{exported:?}");
        let text = report.text();
        assert!(text.contains("Event ID: 36871"), "{text}");
        assert!(
            text.contains("skipped  Microsoft-Windows-TerminalServices-SessionBroker/Operational")
        );
        assert!(text.trim_end().ends_with("text box."), "{text}");
    }

    #[test]
    fn the_exports_are_zipped_into_one_file_to_copy_off_the_vm() {
        let mut m = Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
        m.logs.insert("System".into(), EVENT.into());
        m.logs.insert("Security".into(), String::new());
        let host = SimHost::new(m);
        let report = run(&host, &args(false)).unwrap();
        let exported = host.machine().exported;
        assert_eq!(
            exported[r"C:\rdpfix-logs\rdpfix-logs.zip"],
            "rdpfix-logs/System.evtx\nrdpfix-logs/Security.evtx",
            "every export, and nothing else"
        );
        let text = report.text();
        assert!(
            text.contains(
                "zipped   C:\\rdpfix-logs\\rdpfix-logs.zip (1 KB): the one file to copy off the VM"
            ),
            "{text}"
        );
        assert!(
            text.contains("NEXT: copy C:\\rdpfix-logs\\rdpfix-logs.zip to your computer"),
            "{text}"
        );
        assert_eq!(report.json()["zip"]["bytes"], EVENT.len());

        // When zipping fails, the folder is what to copy.
        host.inject(Fault {
            at: FaultAt::Target("zip logs".into()),
            kind: FaultKind::Fail,
        });
        let report = run(&host, &args(false)).unwrap();
        let text = report.text();
        assert!(text.contains("not zipped (zip logs"), "{text}");
        assert!(text.contains("drop the folder on the page"), "{text}");
        assert_eq!(report.exit(), Exit::Success);
    }

    #[test]
    fn text_fits_run_command_even_with_many_long_events() {
        let long = format!("{EVENT}{}\r\n", "x".repeat(900));
        let many: String = (0..40)
            .map(|i| long.replace("Event[0]", &format!("Event[{i}]")))
            .collect();
        let mut m = Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
        m.logs.insert("System".into(), many);
        let host = SimHost::new(m);
        let report = run(&host, &args(true)).unwrap();
        let text = report.text();
        assert!(text.len() < 4096, "{} bytes", text.len());
        assert!(text.contains("more not shown"));
        assert!(
            text.lines()
                .all(|l| l.starts_with("Event[") || !l.contains("Event["))
        );
    }
}
