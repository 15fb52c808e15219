//! What Run Command and Serial Console really give back, pasted into the page: the tail of
//! an output cut at 4,096 bytes, the JSON `az vm run-command invoke` prints, the listing
//! `Invoke-AzVMRunCommand` prints, a Serial Console capture (SAC, login, prompts, 80-column
//! wrapping), and several of them pasted one after another. Each gives the findings of the
//! full export it was cut from: the same ones when nothing was cut (Serial Console returns
//! everything); when Run Command kept only the last 4,096 bytes, the same leading finding
//! and nothing the whole export does not show (what was cut can only take findings away).
//!
//! The fixtures in `tests/fixtures/channels/` are generated here from the page's sample logs
//! (how: `tests/fixtures/channels/SOURCES.md`); `RDPFIX_BLESS_CHANNELS=1` rewrites them, and
//! the test fails when they differ from the generator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::Event;
use analyzer::diagnose::{DiagnoseOptions, Diagnosis, Session};
use analyzer::input::{IssueKind, no_progress};
use analyzer::remote::collect::{RUN_COMMAND_OUTPUT_BYTES, remote_collection};
use analyzer::rules::Catalog;
use jiff::SignedDuration;
use std::collections::BTreeMap;
use std::path::PathBuf;
use testkit::samples::{self, SampleLog, wevtutil_text};

/// What the seed scenario's text queries print when more events match than `/c:` allows
/// for: each text query of the collection run with `/c:12`, newest first, concatenated.
fn full_export(sample: &SampleLog, per_query: usize) -> (Vec<(String, String)>, String) {
    let collection = remote_collection(&Catalog::builtin().unwrap(), 24);
    let now = sample
        .events
        .iter()
        .filter_map(|e| e.time_created)
        .max()
        .unwrap();
    let since = now - SignedDuration::from_hours(24);
    let mut outputs = Vec::new();
    for q in &collection.queries {
        let mut hits: Vec<Event> = sample
            .events
            .iter()
            .filter(|e| e.channel.as_deref() == Some(q.channel.as_str()))
            .filter(|e| q.selects.iter().any(|s| s.selects(e)))
            .filter(|e| e.time_created.is_some_and(|t| t >= since))
            .cloned()
            .collect();
        if hits.is_empty() {
            continue;
        }
        hits.sort_by_key(|e| std::cmp::Reverse(e.time_created));
        hits.truncate(per_query);
        let command = q
            .wevtutil
            .replace(&format!("/c:{}", q.max_events), &format!("/c:{per_query}"));
        outputs.push((command, wevtutil_text(&hits).replace('\n', "\r\n")));
    }
    let all = outputs.iter().map(|(_, o)| o.as_str()).collect::<String>();
    (outputs, all)
}

/// The last `n` bytes, as Run Command keeps them (at a character boundary).
fn tail(text: &str, n: usize) -> &str {
    let mut start = text.len().saturating_sub(n);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// `az vm run-command invoke` output: the REST response, keys sorted, two-space indent.
fn az_json(stdout: &str, stderr: &str) -> String {
    let item = |code: &str, message: &str| {
        let mut m = BTreeMap::new();
        m.insert("code", serde_json::Value::from(code));
        m.insert("displayStatus", "Provisioning succeeded".into());
        m.insert("level", "Info".into());
        m.insert("message", message.into());
        m.insert("time", serde_json::Value::Null);
        m
    };
    let doc = BTreeMap::from([(
        "value",
        vec![
            item("ComponentStatus/StdOut/succeeded", stdout),
            item("ComponentStatus/StdErr/succeeded", stderr),
        ],
    )]);
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

/// `Invoke-AzVMRunCommand` output as PowerShell lists its result.
fn invoke_listing(stdout: &str) -> String {
    let mut out = String::from(
        "\r\nValue[0]        :\r\n  Code          : ComponentStatus/StdOut/succeeded\r\n  Level         : Info\r\n  DisplayStatus : Provisioning succeeded\r\n  Message       : ",
    );
    out.push_str(stdout.trim_end());
    out.push_str("\r\nValue[1]        :\r\n  Code          : ComponentStatus/StdErr/succeeded\r\n  Level         : Info\r\n  DisplayStatus : Provisioning succeeded\r\n  Message       : \r\nStatus          : Succeeded\r\nCapacity        : 0\r\nCount           : 0\r\n\r\n");
    out
}

/// A Serial Console session: SAC, a cmd channel, login, then each command at the prompt
/// and its output, every line wrapped at 80 columns as the console does.
fn serial_capture(outputs: &[(String, String)]) -> String {
    let mut raw = String::from(
        "SAC>cmd\r\nThe Command Prompt session was successfully launched.\r\nSAC>\r\nEVENT:   A new channel has been created.  Use \"ch -?\" for channel help.\r\nCHANNEL: Cmd0001\r\nSAC>ch -si 1\r\nName:                  Cmd0001\r\nDescription:           Command\r\nType:                  VT-UTF8\r\nChannel GUID:          e203fb5a-6b7d-11e8-8ca6-000d3a1f0d0d\r\nApplication Type GUID: 63d02271-8aa4-11d5-bccf-00b0d014a2d0\r\n\r\nPress <esc><tab> for next channel.\r\nPress <esc><tab>0 to return to the SAC channel.\r\nUse any other key to view this channel.\r\n\r\nPlease enter login credentials.\r\nUsername: azureuser\r\nDomain  :\r\nPassword: ************\r\n\r\nMicrosoft Windows [Version 10.0.17763.5830]\r\n(c) 2018 Microsoft Corporation. All rights reserved.\r\n\r\n",
    );
    for (command, output) in outputs {
        raw.push_str("C:\\Windows\\system32>");
        raw.push_str(command);
        raw.push_str("\r\n");
        raw.push_str(output);
        raw.push_str("\r\n");
    }
    raw.push_str("C:\\Windows\\system32>\r\n");
    let mut wrapped = String::new();
    for line in raw.split("\r\n") {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            wrapped.push_str("\r\n");
        }
        for part in chars.chunks(80) {
            wrapped.extend(part);
            wrapped.push_str("\r\n");
        }
    }
    wrapped
}

/// Every fixture: (file, its text, the full export it was cut from).
fn generate() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let scenarios = [
        samples::cert_keys(),
        samples::tls_disabled(),
        samples::broker_renamed(),
    ];
    let mut several = String::new();
    let mut several_full = String::new();
    for sample in &scenarios {
        let (_, full) = full_export(sample, 12);
        assert!(
            full.len() > RUN_COMMAND_OUTPUT_BYTES,
            "{}: {}",
            sample.name,
            full.len()
        );
        let kept = tail(&full, RUN_COMMAND_OUTPUT_BYTES);
        let name = sample.name;
        out.push((
            format!("{name}/run-command-tail.txt"),
            kept.to_owned(),
            full.clone(),
        ));
        out.push((
            format!("{name}/az-run-command.json"),
            az_json(kept, ""),
            full.clone(),
        ));
        out.push((
            format!("{name}/invoke-azvmruncommand.txt"),
            invoke_listing(kept),
            full.clone(),
        ));
        // Serial Console returns everything: the standalone commands, as generated.
        let (outputs, serial_full) = full_export(sample, 3);
        let capture = serial_capture(&outputs);
        out.push((
            format!("{name}/serial-console.txt"),
            capture.clone(),
            serial_full.clone(),
        ));
        if name != "rdp-broker-renamed" {
            several.push_str(if several.is_empty() { "" } else { "\r\n" });
            several.push_str(&if name == "rdp-cert-keys" {
                az_json(kept, "")
            } else {
                capture
            });
            several_full.push_str(if name == "rdp-cert-keys" {
                &full
            } else {
                &serial_full
            });
        }
    }
    out.push((
        "several/az-json-then-serial-console.txt".to_owned(),
        several,
        several_full,
    ));
    out
}

fn fixtures_dir() -> PathBuf {
    testkit::fixture("channels")
}

#[test]
fn channel_fixtures_match_their_generator() {
    let bless = std::env::var_os("RDPFIX_BLESS_CHANNELS").is_some();
    for (file, text, _) in generate() {
        let path = fixtures_dir().join(&file);
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (RDPFIX_BLESS_CHANNELS=1 writes it)",
                path.display()
            )
        });
        assert!(
            committed == text,
            "{file} differs from its generator (RDPFIX_BLESS_CHANNELS=1 rewrites it)"
        );
    }
}

fn diagnose(name: &str, bytes: &[u8]) -> Diagnosis {
    let mut session = Session::new();
    session.add_bytes(name, bytes, &mut no_progress);
    session.finish(&DiagnoseOptions::default())
}

fn ids(d: &Diagnosis) -> Vec<&str> {
    d.findings.iter().map(|f| f.id.as_str()).collect()
}

#[test]
fn each_channel_fixture_gives_the_findings_of_the_export_it_was_cut_from() {
    for (file, _, full) in generate() {
        let text = std::fs::read(fixtures_dir().join(&file)).unwrap();
        let pasted = diagnose(&file, &text);
        let whole = diagnose("full export", full.as_bytes());
        assert!(
            !whole.findings.is_empty(),
            "{file}: the full export has a finding"
        );
        let cut = file.contains("tail")
            || file.contains("az-")
            || file.contains("invoke")
            || file.starts_with("several");
        if cut {
            // A cut keeps the newest part: the leading finding must survive, and nothing
            // may appear that the whole export does not show.
            assert_eq!(ids(&pasted).first(), ids(&whole).first(), "{file}");
            assert!(
                ids(&pasted).iter().all(|id| ids(&whole).contains(id)),
                "{file}: {:?} vs {:?}",
                ids(&pasted),
                ids(&whole)
            );
        } else {
            assert_eq!(ids(&pasted), ids(&whole), "{file}");
        }
        let input = pasted.inputs.first().unwrap();
        assert!(input.events > 0, "{file}");
        // Only a cut first event may be lost, and it is said so.
        let errors: Vec<_> = input
            .issues
            .iter()
            .filter(|i| i.severity == analyzer::input::Severity::Error)
            .collect();
        assert!(
            errors.iter().all(|i| i.kind == IssueKind::Truncated) && errors.len() <= 1,
            "{file}: {errors:?}"
        );
        assert_eq!(!errors.is_empty(), cut, "{file}: {:?}", input.issues);
        if !file.contains("tail") {
            assert!(
                input.issues.iter().any(|i| i.kind == IssueKind::Wrapper),
                "{file}: says what it set aside"
            );
        }
    }
}

#[test]
fn the_az_json_message_is_read_with_its_escaped_newlines() {
    let (_, full) = full_export(&samples::cert_keys(), 2);
    let json = az_json(&full, "wevtutil : Failed to read events.");
    assert!(json.contains("\\r\\n") && !json.contains("\r\nEvent[0]"));
    let d = diagnose("az.json", json.as_bytes());
    let input = d.inputs.first().unwrap();
    assert_eq!(input.errors, 0, "{:?}", input.issues);
    assert_eq!(ids(&d), ids(&diagnose("full", full.as_bytes())));
    assert!(
        input
            .issues
            .iter()
            .any(|i| i.message.contains("error stream")
                && i.message.contains("Failed to read events")),
        "{:?}",
        input.issues
    );
}

#[test]
fn an_az_json_document_cut_short_is_still_read() {
    let (_, full) = full_export(&samples::tls_disabled(), 2);
    let json = az_json(&full, "");
    // Copied from the terminal up to the middle of the message, no closing quote.
    let cut = &json[..json.find("Event[1]").unwrap() + 400];
    let d = diagnose("az.json", cut.as_bytes());
    assert_eq!(
        ids(&d).first().copied(),
        Some("rdp-tls-disabled"),
        "{:?}",
        d.inputs
    );
}

/// The real Run Command output of `tests/fixtures/config/both-tls-server` (S2 events and a
/// configuration block): the whole `az vm run-command invoke` JSON and its message.
fn both_tls_server_output() -> (String, String) {
    let path = fixtures_dir().join("../config/both-tls-server/az-run-command.json");
    let json = std::fs::read_to_string(&path).unwrap();
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    let message = value["value"][0]["message"].as_str().unwrap().to_owned();
    (json, message)
}

/// `shown` (the output as another command prints it) reads as the whole `json` does: the
/// same findings and events, no error, a note containing `note`; and cut 300 bytes before
/// the configuration block (a copy that stopped inside the last event), it still gives S2.
fn reads_as_the_invoke_json(json: &str, shown: &str, note: &str) -> Diagnosis {
    let whole = diagnose("az.json", json.as_bytes());
    let d = diagnose("shown.txt", shown.as_bytes());
    assert_eq!(ids(&d), ids(&whole));
    assert_eq!(ids(&d).first().copied(), Some("rdp-tls-disabled"));
    let (input, want) = (&d.inputs[0], &whole.inputs[0]);
    assert_eq!(
        (input.events, input.errors),
        (want.events, 0),
        "{:?}",
        input.issues
    );
    assert!(
        input.issues.iter().any(|i| i.message.contains(note)),
        "{:?}",
        input.issues
    );
    let cut = &shown[..shown.find("RDPFIX-CONFIG").unwrap() - 300];
    let c = diagnose("cut.txt", cut.as_bytes());
    assert_eq!(
        ids(&c).first().copied(),
        Some("rdp-tls-disabled"),
        "{:?}",
        c.inputs
    );
    d
}

/// `az vm run-command invoke … --query "value[0].message"` prints the output as one JSON
/// string, its line ends escaped: the same events and findings as the whole JSON, the
/// configuration block included. A copy cut before the closing quote still reads.
#[test]
fn the_az_query_of_the_message_is_read_as_a_json_string() {
    let (json, message) = both_tls_server_output();
    let printed = format!("{}\n", serde_json::to_string(&message).unwrap());
    assert!(!printed.trim_end().contains('\n') && printed.contains("\\n"));
    reads_as_the_invoke_json(&json, &printed, "JSON string");
}

/// A managed Run Command (`az vm run-command create`, then `az vm run-command show
/// --instance-view`): the output in `instanceView.output`, the error stream in
/// `instanceView.error`. The same findings as `az vm run-command invoke`'s JSON, and a copy
/// cut inside the output still reads.
#[test]
fn a_managed_run_command_instance_view_is_read() {
    let (json, message) = both_tls_server_output();
    // Keys as the Azure CLI prints the resource: sorted, two-space indent.
    let shown = serde_json::to_string_pretty(&serde_json::json!({
        "asyncExecution": false,
        "instanceView": {
            "endTime": "2024-05-14T09:01:12+00:00",
            "error": "wevtutil : Failed to read events.",
            "executionMessage": "Execution completed",
            "executionState": "Succeeded",
            "exitCode": 0,
            "output": message,
            "startTime": "2024-05-14T09:00:58+00:00",
            "statuses": null
        },
        "name": "rdpfix",
        "provisioningState": "Succeeded",
        "source": {"script": "# rdpfix: the events the rdpfix rules read"},
        "type": "Microsoft.Compute/virtualMachines/runCommands"
    }))
    .unwrap();
    let d = reads_as_the_invoke_json(&json, &shown, "instanceView.output");
    assert!(
        d.inputs[0]
            .issues
            .iter()
            .any(|i| i.message.contains("error stream") && i.message.contains("Failed to read")),
        "{:?}",
        d.inputs[0].issues
    );
}
