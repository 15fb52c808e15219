//! A `Format-List` cut by a terminal at any width (not wrapped by PowerShell, which
//! indents what it wraps) reads as the list itself: the rest of each cut line goes back
//! where it was cut.
#![cfg(not(target_arch = "wasm32"))]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[macro_use]
mod text_common;

use analyzer::input::{IssueKind, IssueLocation, Severity};
use proptest::prelude::*;
use text_common::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn a_list_cut_at_any_width_reads_as_the_list(width in 60usize..160) {
        // The real Sysmon list (its prompt line, Messages of many indented lines).
        let list = text(fixture!("formatlist-default.txt"));
        let (_, want) = read("list.txt", list.as_bytes());
        let (report, got) = read("cut.txt", cut_at(&list, width).as_bytes());
        // The command's line is cut too; a channel sets its prompt aside, and what is left of
        // the command may be taken for the end of a cut record (reported, nothing lost) unless
        // it names Format-List.
        let first_event = got.first().map_or(0, |e| match e.origin.location {
            analyzer::Location::Line { line } => line,
            _ => 0,
        });
        for issue in report.issues.iter().filter(|i| i.severity == Severity::Error) {
            prop_assert_eq!(issue.kind, IssueKind::Truncated);
            let before = matches!(issue.at, Some(IssueLocation::Line { line }) if line < first_event);
            prop_assert!(before, "{:?}", issue);
        }
        prop_assert_eq!(ids(&got), ids(&want));
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(&g.message, &w.message);
            prop_assert_eq!(g.time_created, w.time_created);
        }
    }
}
