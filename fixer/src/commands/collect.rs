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
use crate::host::{FileSource, Host, HostError, HostResult, LogExport};
use crate::report::{Report, ascii_lines};
use crate::safe_folder;
use analyzer::remote;
use analyzer::rules::{Catalog, collection};
use serde::Serialize;
use std::path::{Path, PathBuf};

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
    /// Where the snapshot was written in the folder (and zipped), or why it was not.
    config_file: Option<String>,
    config_file_error: Option<String>,
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
    let config = super::collect_config::snapshot(host);
    // The snapshot beside the exports, and in the archive with them.
    let config_file = (!args.text_only).then(|| write_config(host, &args.out, &config));
    if let Some(Ok(path)) = &config_file {
        files.push(path.clone());
    }
    // After the exports, into the folder just judged safe (see `bundle`).
    let zipped = (!files.is_empty()).then(|| host.zip_logs(&args.out, &files));
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
    let (zip, zip_error) = outcome(zipped);
    let (config_file, config_file_error) = outcome(config_file);
    Ok(Box::new(CollectReport {
        out: (!args.text_only).then(|| args.out.display().to_string()),
        hours: args.hours,
        exports,
        zip,
        zip_error,
        events_text,
        events_shown: shown,
        events_left_out: left_out,
        config,
        config_file: config_file.map(|p| p.display().to_string()),
        config_file_error,
    }))
}

/// A step that may not have run: what it gave, or why it failed.
pub fn outcome<T>(result: Option<HostResult<T>>) -> (Option<T>, Option<String>) {
    match result {
        Some(Ok(t)) => (Some(t), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    }
}

/// Writes the snapshot's block, exactly as printed, as [`CONFIG_FILE`] in `dir`.
pub fn write_config(host: &dyn Host, dir: &Path, config: &str) -> HostResult<PathBuf> {
    host.collect_file(dir, CONFIG_FILE, FileSource::Bytes(config.as_bytes()))
}

/// The snapshot's file name in the collection folder and its archive.
pub const CONFIG_FILE: &str = "rdpfix-config.txt";

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
        out.push_str(&config_file_line(
            &self.config_file,
            &self.config_file_error,
        ));
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

/// What became of the snapshot's file: written (the block above), or not, and why.
pub fn config_file_line(written: &Option<String>, error: &Option<String>) -> String {
    match (written, error) {
        (Some(path), _) => format!("written  {path} (the configuration block above)\n"),
        (None, Some(e)) => format!(
            "not written: {CONFIG_FILE} ({e}); the configuration block above is its only copy\n"
        ),
        (None, None) => String::new(),
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
                r"C:\rdpfix-logs\rdpfix-config.txt",
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
        assert!(exported.contains_key(r"C:\rdpfix-logs\rdpfix-config.txt"));
        assert_eq!(exported.len(), 4, "{exported:?}");
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
            "rdpfix-logs/System.evtx\nrdpfix-logs/Security.evtx\nrdpfix-logs/rdpfix-config.txt",
            "every export and the snapshot, nothing else"
        );
        let text = report.text();
        assert!(
            text.contains(
                "zipped   C:\\rdpfix-logs\\rdpfix-logs.zip (2 KB): the one file to copy off the VM"
            ),
            "{text}"
        );
        assert!(
            text.contains("NEXT: copy C:\\rdpfix-logs\\rdpfix-logs.zip to your computer"),
            "{text}"
        );
        let config = report.json()["config"].as_str().unwrap().to_owned();
        assert_eq!(report.json()["zip"]["bytes"], EVENT.len() + config.len());

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

    /// The archive, read back as the page reads it, holds the snapshot exactly as printed,
    /// and it gives the configuration findings the printed block gives.
    #[test]
    fn the_zip_s_snapshot_gives_the_printed_block_s_findings() {
        use analyzer::diagnose::{DiagnoseOptions, Session};
        use analyzer::input::{no_progress, read_any};
        let mut m = Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
        m.logs.insert("System".into(), EVENT.into());
        let policy = r"SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services";
        m.set_reg(
            policy,
            "fDenyTSConnections",
            crate::host::RegValue::dword(1),
        );
        let host = SimHost::new(m);
        let report = run(&host, &args(false)).unwrap();
        let printed = report.json()["config"].as_str().unwrap().to_owned();
        assert!(report.text().contains(&printed));
        assert!(
            report.text().contains(
                "written  C:\\rdpfix-logs\\rdpfix-config.txt (the configuration block above)"
            ),
            "{}",
            report.text()
        );
        let machine = host.machine();
        assert_eq!(
            machine.exported[r"C:\rdpfix-logs\rdpfix-config.txt"],
            printed
        );
        let zip = &machine.zips[r"C:\rdpfix-logs\rdpfix-logs.zip"];
        let mut events = Vec::new();
        let reports = read_any(
            "rdpfix-logs.zip",
            std::io::Cursor::new(zip),
            zip.len() as u64,
            &mut events,
            &mut no_progress,
        );
        let member = reports
            .iter()
            .find(|r| r.name.ends_with("rdpfix-logs/rdpfix-config.txt"))
            .expect("the snapshot is a member");
        assert_eq!(member.configs.len(), 1, "{member:?}");
        let mut pasted = Session::new();
        pasted.add_bytes("pasted", printed.as_bytes(), &mut no_progress);
        let mut zipped = Session::new();
        zipped.add_seekable(
            "rdpfix-logs.zip",
            std::io::Cursor::new(zip),
            zip.len() as u64,
            &mut no_progress,
        );
        let config_findings = |s: &Session| -> Vec<(String, u8)> {
            s.finish(&DiagnoseOptions::default())
                .findings
                .iter()
                .filter(|f| f.id.starts_with("rdp-config-"))
                .map(|f| (f.id.clone(), f.score))
                .collect()
        };
        let from_paste = config_findings(&pasted);
        assert!(
            from_paste
                .iter()
                .any(|(id, _)| id == "rdp-config-disabled-by-policy"),
            "{from_paste:?}"
        );
        assert_eq!(config_findings(&zipped), from_paste);
        assert_eq!(member.configs[0].entries, pasted_entries(&printed));
    }

    fn pasted_entries(text: &str) -> Vec<analyzer::config::Entry> {
        let mut events = Vec::new();
        let report = analyzer::input::read_bytes(
            "pasted",
            text.as_bytes(),
            &mut events,
            &mut analyzer::input::no_progress,
        );
        report.configs[0].entries.clone()
    }

    /// When the snapshot cannot be written, the report says so and where its only copy is;
    /// nothing is said to be written, and the archive holds the exports alone. A crash
    /// leaves no file under the snapshot's name.
    #[test]
    fn a_snapshot_not_written_is_said_and_never_zipped() {
        let mut m = Machine::new("VM1", "vm1", "2026-11-25T10:00:00Z".parse().unwrap());
        m.logs.insert("System".into(), EVENT.into());
        let host = SimHost::new(m);
        host.inject(Fault {
            at: FaultAt::Target("rdpfix-config.txt".into()),
            kind: FaultKind::Fail,
        });
        let report = run(&host, &args(false)).unwrap();
        let text = report.text();
        assert!(
            text.contains("not written: rdpfix-config.txt (write C:\\rdpfix-logs\\rdpfix-config.txt: injected fault); the configuration block above is its only copy"),
            "{text}"
        );
        assert!(!text.contains("written  "), "{text}");
        assert_eq!(report.json()["config_file"], serde_json::Value::Null);
        let machine = host.machine();
        assert!(
            !machine
                .exported
                .contains_key(r"C:\rdpfix-logs\rdpfix-config.txt")
        );
        assert_eq!(
            machine.exported[r"C:\rdpfix-logs\rdpfix-logs.zip"],
            "rdpfix-logs/System.evtx"
        );
        assert_eq!(report.exit(), Exit::Success);

        let host = SimHost::new(machine);
        host.inject(Fault {
            at: FaultAt::Target("rdpfix-config.txt".into()),
            kind: FaultKind::Crash,
        });
        let report = run(&host, &args(false)).unwrap();
        assert!(host.crashed());
        assert!(
            !host
                .machine()
                .exported
                .contains_key(r"C:\rdpfix-logs\rdpfix-config.txt")
        );
        assert!(report.text().contains("not written: rdpfix-config.txt"));
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
