//! The sample logs yield exactly their finding, and the healthy one none.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::rules::{self, Catalog, Collector, Confidence};

#[test]
fn each_sample_event_stream_yields_exactly_its_expected_finding() {
    for sample in testkit::samples::all() {
        assert!(
            sample.events.len() > 3_000,
            "{}: {}",
            sample.name,
            sample.events.len()
        );
        let mut collector = Collector::new(Catalog::builtin().unwrap());
        for e in &sample.events {
            collector.observe(e);
        }
        let now = collector.stats().newest;
        let findings = rules::evaluate(&collector, now);
        let ids: Vec<&str> = findings.iter().map(|f| f.id.as_str()).collect();
        match sample.expected {
            Some(expected) => {
                assert_eq!(ids, [expected], "{}", sample.name);
                assert_eq!(
                    findings[0].confidence,
                    Confidence::High,
                    "{}: {:?}",
                    sample.name,
                    findings[0].reasons
                );
            }
            None => assert!(ids.is_empty(), "{}: {ids:?}", sample.name),
        }
    }
}

#[test]
fn samples_are_deterministic_and_in_record_order() {
    let a = testkit::samples::all();
    let b = testkit::samples::all();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.events, y.events);
        assert!(
            x.events
                .windows(2)
                .all(|w| w[0].time_created <= w[1].time_created && w[0].record_id < w[1].record_id)
        );
    }
}
