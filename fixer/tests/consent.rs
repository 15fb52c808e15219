//! Consent and pasting at a terminal (Serial Console), with a scripted operator: the
//! dry-run is shown before the question, only "yes" applies, and a token pasted in pieces
//! is read until it is complete.

#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod support;

use fixer::cli::ApplyArgs;
use fixer::commands::apply;
use fixer::exit::Exit;
use fixer::host::sim::SimHost;
use fixer::operator::Operator;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::time::Duration;
use support::{PlanSpec, broken_vm, key, plan, restorable, s1_s2_steps, token};

/// A terminal whose operator types `lines`, in order.
struct Scripted {
    lines: RefCell<VecDeque<String>>,
    shown: RefCell<String>,
}

impl Scripted {
    fn new(lines: &[&str]) -> Self {
        Scripted {
            lines: RefCell::new(lines.iter().map(|l| (*l).to_owned()).collect()),
            shown: RefCell::new(String::new()),
        }
    }
}

impl Operator for Scripted {
    fn interactive(&self) -> bool {
        true
    }

    fn show(&self, text: &str) {
        self.shown.borrow_mut().push_str(text);
    }

    fn read_line(&self, _timeout: Duration) -> Option<String> {
        self.lines.borrow_mut().pop_front()
    }
}

fn host() -> SimHost {
    support::trusted(broken_vm())
}

fn args(plan: &str) -> ApplyArgs {
    ApplyArgs {
        plan: plan.into(),
        dry_run: false,
        yes: false,
        confirm_within: None,
        offline: None,
    }
}

fn good() -> String {
    token(&plan(&s1_s2_steps(), &PlanSpec::default()), &key(1))
}

#[test]
fn shows_the_dry_run_then_applies_on_yes() {
    let host = host();
    let operator = Scripted::new(&["YES"]);
    let report = apply::run(&host, &args(&good()), &operator).unwrap();
    assert_eq!(report.exit(), Exit::Success, "{}", report.text());
    let shown = operator.shown.borrow();
    assert!(shown.contains("-> WOULD CHANGE"), "{shown}");
    assert!(
        shown
            .trim_end()
            .ends_with("Type yes to apply, anything else to stop:")
    );
    assert!(report.text().contains("APPLIED plan"));
    assert_eq!(host.machine().certs.len(), 0);
}

#[test]
fn anything_but_yes_changes_nothing() {
    for answer in [&["no"][..], &["apply"][..], &[][..]] {
        let host = host();
        let before = host.machine();
        let operator = Scripted::new(answer);
        let report = apply::run(&host, &args(&good()), &operator).unwrap();
        assert_eq!(report.exit(), Exit::ConsentNeeded, "{answer:?}");
        let verdict = if answer.is_empty() {
            "CONSENT NEEDED"
        } else {
            "DECLINED: nothing was changed."
        };
        assert!(report.text().contains(verdict), "{}", report.text());
        assert_eq!(host.machine(), before, "{answer:?}");
    }
}

#[test]
fn reads_a_token_pasted_in_pieces_then_asks() {
    let host = host();
    let t = good();
    let mut lines: Vec<&str> = Vec::new();
    let mut rest = t.as_str();
    while !rest.is_empty() {
        let (a, b) = rest.split_at(rest.len().min(70));
        lines.push(a);
        rest = b;
    }
    lines.push("yes");
    let operator = Scripted::new(&lines);
    let report = apply::run(&host, &args("-"), &operator).unwrap();
    assert_eq!(report.exit(), Exit::Success, "{}", report.text());
    let shown = operator.shown.borrow();
    assert!(shown.contains("characters; paste the rest"), "{shown}");
    let initial = broken_vm();
    assert_ne!(restorable(&host.machine()), restorable(&initial));
}

#[test]
fn a_paste_that_stops_short_is_refused_before_any_check() {
    let host = host();
    let t = good();
    let operator = Scripted::new(&[&t[..60]]);
    let err = apply::run(&host, &args("-"), &operator).unwrap_err();
    assert_eq!(err.exit, Exit::Failure);
    assert!(
        err.error
            .to_string()
            .contains("characters arrived); paste it again"),
        "{:#}",
        err.error
    );
}
