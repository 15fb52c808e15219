//! Properties of the channel unwrapping on untrusted pastes: no panic on anything, and any
//! export wrapped as Run Command (JSON or PowerShell listing) or Serial Console returns reads
//! as the same events as the export alone (and so do a managed Run Command's instance view,
//! a PowerShell console's escape sequences, a console copy padded to its width, lines ending
//! in CR alone, and the output as one JSON string).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::input::{no_progress, read_bytes};
use analyzer::{Event, Location, Origin};
use proptest::prelude::*;

fn read(text: &str) -> Vec<Event> {
    let mut events = Vec::new();
    read_bytes("p", text.as_bytes(), &mut events, &mut no_progress);
    events
}

fn arb_events() -> impl Strategy<Value = Vec<Event>> {
    prop::collection::vec(
        (
            prop::sample::select(vec!["Schannel", "Service Control Manager", "EventLog"]),
            1u16..60000,
            0i64..1_700_000_000,
            "[A-Za-z0-9 .,:'\"\\\\{}\\[\\]]{0,200}",
        ),
        1..8,
    )
    .prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, (p, id, secs, msg))| {
                let mut e = Event::new(
                    p,
                    id,
                    Origin {
                        input: "x".into(),
                        location: Location::Line { line: i as u32 },
                    },
                );
                e.channel = Some("System".into());
                e.computer = Some("VM01".into());
                e.level = Some(analyzer::Level::Error);
                e.time_created = jiff::Timestamp::from_second(secs).ok();
                e.message = Some(msg.trim().to_owned()).filter(|m| !m.is_empty());
                e
            })
            .collect()
    })
}

fn key(events: &[Event]) -> Vec<(String, u16, Option<jiff::Timestamp>, Option<String>)> {
    events
        .iter()
        .map(|e| {
            (
                e.provider.clone(),
                e.event_id,
                e.time_created,
                e.message.clone(),
            )
        })
        .collect()
}

proptest! {
    #[test]
    fn any_paste_is_read_without_panic(text in "(SAC>|Value\\[0\\] +:|  Message +: |\\{\"value\": \\[\\{\"code\": \"ComponentStatus/StdOut\", \"message\": \"|C:\\\\>|rdpfix: |[ -~\\n\\\\]){0,80}") {
        let _ = read(&text);
    }

    #[test]
    fn wrapped_exports_read_as_the_export_alone(events in arb_events(), how in 0usize..8) {
        let export = testkit::samples::wevtutil_text(&events).replace('\n', "\r\n");
        let alone = read(&export);
        prop_assume!(!alone.is_empty());
        let wrapped = match how {
            0 => serde_json::json!({"value": [
                {"code": "ComponentStatus/StdOut/succeeded", "displayStatus": "Provisioning succeeded", "level": "Info", "message": export, "time": null},
                {"code": "ComponentStatus/StdErr/succeeded", "displayStatus": "Provisioning succeeded", "level": "Info", "message": "", "time": null}
            ]}).to_string(),
            1 => format!("Value[0]        :\r\n  Code          : ComponentStatus/StdOut/succeeded\r\n  Level         : Info\r\n  DisplayStatus : Provisioning succeeded\r\n  Message       : {}\r\nStatus          : Succeeded\r\nCapacity        : 0\r\nCount           : 0\r\n", export.trim_end()),
            2 => format!("SAC>cmd\r\nThe Command Prompt session was successfully launched.\r\nC:\\Windows\\system32>wevtutil qe System /f:text\r\n{export}\r\nC:\\Windows\\system32>\r\n"),
            // A PowerShell console's escape sequences before its banner and in the prompt.
            3 => format!("\u{1b}[?25l\u{1b}[2J\u{1b}[HWindows PowerShell\r\nPS C:\\> \u{1b}[93mwevtutil\u{1b}[0m qe System /f:text\r\n{export}\r\nPS C:\\> \r\n"),
            // A managed Run Command's instance view (`az vm run-command show --instance-view`).
            6 => serde_json::to_string_pretty(&serde_json::json!({
                "instanceView": {"error": "", "executionState": "Succeeded", "exitCode": 0, "output": export},
                "name": "rdpfix"
            })).unwrap(),
            // A terminal's capture whose lines end in CR alone.
            5 => export.replace("\r\n", "\r"),
            // `az … --query "value[0].message"`: the output as one JSON string.
            4 => serde_json::to_string(&export).unwrap(),
            // A console window's rectangular copy: every line padded to the buffer's width.
            _ => format!("C:\\>wevtutil qe System /f:text\r\n{export}\r\nC:\\>")
                .split("\r\n")
                .map(|l| format!("{l:<300}"))
                .collect::<Vec<_>>()
                .join("\r\n"),
        };
        prop_assert_eq!(key(&read(&wrapped)), key(&alone));
    }
}
