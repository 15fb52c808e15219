//! Property tests: whatever the events, the rules engine neither panics nor loses count.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use analyzer::rules::{self, Catalog, Collector};
use analyzer::{Event, Location, Origin};
use jiff::Timestamp;
use proptest::prelude::*;

fn arb_event() -> impl Strategy<Value = Event> {
    let providers = prop::sample::select(vec![
        "Schannel",
        "TermService",
        "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
        "Service Control Manager",
        "Microsoft-Windows-Security-Auditing",
        "Microsoft-Windows-GroupPolicy",
        "",
        " ",
    ]);
    let ids = prop::sample::select(vec![
        1057u16, 1058, 36870, 36871, 36872, 7022, 4625, 2056, 1296, 50, 1004, 0, 65535,
    ]);
    let values = prop::collection::vec(("[A-Za-z0-9]{0,12}", ".{0,40}"), 0..6);
    (
        providers,
        ids,
        prop::option::of(-100_000_000i64..100_000_000i64),
        prop::option::of("[A-Za-z/ -]{0,30}"),
        values,
        prop::option::of(".{0,200}"),
    )
        .prop_map(|(provider, event_id, secs, channel, data, message)| Event {
            provider: provider.to_string(),
            event_id,
            qualifiers: None,
            level: None,
            time_created: secs.map(|s| Timestamp::from_second(1_700_000_000 + s).unwrap()),
            time_is_local: false,
            record_id: None,
            channel,
            computer: None,
            user_sid: None,
            user_name: None,
            data,
            message,
            origin: Origin {
                input: "prop".into(),
                location: Location::Line { line: 1 },
            },
        })
}

proptest! {
    #[test]
    fn any_events_are_evaluated_without_panic_and_counts_add_up(events in prop::collection::vec(arb_event(), 0..200), now in prop::option::of(-1_000_000i64..1_000_000)) {
        let mut collector = Collector::new(Catalog::builtin().unwrap());
        for e in &events {
            collector.observe(e);
        }
        prop_assert_eq!(collector.stats().events, events.len() as u64);
        let now = now.map(|s| Timestamp::from_second(1_700_000_000 + s).unwrap());
        for f in rules::evaluate(&collector, now) {
            prop_assert!(f.score <= 100);
            prop_assert!(f.evidence.len() <= 12);
            for s in &f.signals {
                let total = s.in_window + s.older + s.newer + s.time_unknown;
                prop_assert!(total as usize <= events.len());
            }
        }
    }
}
