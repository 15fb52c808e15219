//! Properties of the `RDPFIX-EVIDENCE` reader on untrusted text: no panic on anything, and a
//! damaged block is never read as a different set of events.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::evidence_block::{BlockBuilder, BlockError, MAX_BODY_CHARS, decode, find_blocks};
use analyzer::input::{no_progress, read_bytes};
use analyzer::rules::Catalog;
use analyzer::{Event, Location, Origin};
use proptest::prelude::*;
use testkit::alloc::{Capped, MAX_ALLOCATION_BYTES};

// A length taken from the text on trust aborts the run, even where memory is overcommitted.
#[global_allocator]
static ALLOC: Capped = Capped::new(MAX_ALLOCATION_BYTES);

fn arb_event() -> impl Strategy<Value = Event> {
    (
        prop::sample::select(vec![
            "Schannel",
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            "Service Control Manager",
            "Microsoft-Windows-Security-Auditing",
            "x\"\\\n\u{1F600}",
        ]),
        prop::sample::select(vec![1057u16, 1058, 36870, 36871, 7022, 4625, 1, 65535]),
        prop::option::of(0i64..2_000_000_000),
        prop::collection::vec(("[A-Za-z]{1,8}", ".{0,40}"), 0..4),
        prop::option::of(".{0,300}"),
    )
        .prop_map(|(provider, id, secs, data, message)| {
            let mut e = Event::new(
                provider,
                id,
                Origin {
                    input: "x".into(),
                    location: Location::Line { line: 1 },
                },
            );
            e.time_created = secs.and_then(|s| jiff::Timestamp::from_second(s).ok());
            e.data = data;
            e.message = message;
            e.channel = Some("System".into());
            e
        })
}

proptest! {
    #[test]
    fn any_text_is_read_without_panic(text in ".{0,400}", marker in prop::bool::ANY) {
        let text = if marker { format!("RDPFIX-EVIDENCE v1: 1 events\n{text}\nEND RDPFIX-EVIDENCE") } else { text };
        let _ = find_blocks(&text, "p");
        let _ = read_bytes("p", text.as_bytes(), &mut Vec::new(), &mut no_progress);
    }

    #[test]
    fn any_announced_length_is_checked_before_it_sizes_anything(
        digits in "[0-9]{1,40}",
        body in "[A-Za-z0-9+/=]{0,200}",
        before in "[ -~]{0,40}\n",
    ) {
        prop_assume!(!before.contains("RDPFIX-EVIDENCE"));
        let text = format!("{before}RDPFIX-EVIDENCE v1: 1 events\nsha256 0123456789abcdef, {digits} chars\n{body}\nEND RDPFIX-EVIDENCE\n");
        let over = digits.parse::<usize>().map_or(true, |n| n > MAX_BODY_CHARS);
        match decode(&text, "p") {
            Err(BlockError::TooLarge { line, .. }) => {
                prop_assert!(over);
                prop_assert_eq!(line, 3);
            }
            _ => prop_assert!(!over),
        }
        let _ = read_bytes("p", text.as_bytes(), &mut Vec::new(), &mut no_progress);
    }

    #[test]
    fn any_events_round_trip_within_the_budget(events in prop::collection::vec(arb_event(), 0..60), max in 300usize..4000) {
        let catalog = Catalog::builtin().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut builder = BlockBuilder::new(&catalog);
        for e in &events { builder.push(e); }
        let block = builder.finish(max);
        prop_assert!(block.console_bytes() <= max || block.kept + block.context == 0);
        let decoded = decode(&block.text, "p").map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(decoded.summary.kept + decoded.summary.omitted, decoded.summary.relevant);
        prop_assert_eq!(decoded.events.len() as u64, decoded.summary.kept + decoded.summary.context);
    }

    #[test]
    fn a_changed_body_character_never_decodes(events in prop::collection::vec(arb_event(), 1..20), at in any::<prop::sample::Index>(), to in "[A-Za-z0-9+/]") {
        let catalog = Catalog::builtin().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut builder = BlockBuilder::new(&catalog);
        for e in &events { builder.push(e); }
        let block = builder.finish(4000);
        let mut lines: Vec<String> = block.text.lines().map(str::to_owned).collect();
        let body_lines = lines.len().saturating_sub(3).max(1);
        let line_no = 2 + at.index(body_lines);
        if let Some(line) = lines.get_mut(line_no) {
            let mut chars: Vec<char> = line.chars().collect();
            let i = at.index(chars.len().max(1));
            if let (Some(c), Some(new)) = (chars.get_mut(i), to.chars().next()) {
                prop_assume!(*c != new);
                *c = new;
            }
            *line = chars.into_iter().collect();
        }
        prop_assert!(decode(&lines.join("\n"), "p").is_err());
    }
}
