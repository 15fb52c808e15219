//! Where each event of a text export is said to be is where it starts in the text, as an
//! editor counts lines and columns — for event XML on any number of lines (wevtutil prints
//! every event on one), wrapped by a console or not.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod text_common;

use analyzer::Location;
use proptest::prelude::*;
use text_common::*;

/// Real events' XML (tests/fixtures/inputs), one element each.
fn events() -> Vec<String> {
    [
        text(fixture!("xml-wevtutil.xml")),
        text(fixture!("xml-rendered.xml")),
    ]
    .iter()
    .flat_map(|t| t.lines().map(str::to_owned).collect::<Vec<_>>())
    .filter(|l| l.starts_with("<Event "))
    .collect()
}

/// The text at `location` in `text`: lines split at LF, columns counted in characters; a
/// line alone is where its first text is (blanks before an event need no column).
fn at(text: &str, location: Location) -> String {
    let (line, column) = match location {
        Location::Line { line } => (line, 1),
        Location::LineColumn { line, column } => (line, column),
        other => panic!("{other:?}"),
    };
    let from: usize = text
        .split('\n')
        .take(line as usize - 1)
        .map(|l| l.chars().count() + 1)
        .sum();
    let blanks = match location {
        Location::Line { .. } => text
            .chars()
            .skip(from)
            .take_while(|c| matches!(c, ' ' | '\t'))
            .count(),
        _ => 0,
    };
    // A console's wrapping may cut `<Event` itself: its line ends are skipped.
    text.chars()
        .skip(from + blanks + column as usize - 1)
        .filter(|c| !matches!(c, '\r' | '\n'))
        .take(7)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn each_event_is_where_its_location_says(
        picks in prop::collection::vec(
            (any::<prop::sample::Index>(), prop::sample::select(vec!["", "", " ", "\r\n", "\n\n", "é"])),
            1..12,
        ),
        wrap in prop::option::of(60usize..200),
    ) {
        let all = events();
        let mut xml = String::new();
        for (pick, sep) in &picks {
            xml.push_str(&all[pick.index(all.len())]);
            xml.push_str(sep);
        }
        // Serial Console cuts every line at its width.
        let input = match wrap {
            None => xml.clone(),
            Some(width) => cut_at(&xml, width),
        };
        let (report, events) = read("events.xml", input.as_bytes());
        prop_assert_eq!(events.len(), picks.len(), "{:?}", report.issues);
        for e in &events {
            let found = at(&input, e.origin.location);
            prop_assert_eq!(&found, "<Event ", "{:?}", e.origin.location);
            if let Location::LineColumn { line, column } = e.origin.location {
                // A column only where other text comes before it on its line.
                let before: String = input
                    .split('\n')
                    .nth(line as usize - 1)
                    .unwrap()
                    .chars()
                    .take(column as usize - 1)
                    .collect();
                prop_assert!(!before.trim().is_empty());
            }
        }
    }
}
