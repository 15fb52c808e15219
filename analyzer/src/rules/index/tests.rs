//! The compiled fields and reads against what matching each condition on its own finds.

use super::super::Catalog;
use super::super::matching::{Parsed, check, outcome};
use super::*;
use crate::event::{Event, Location, Origin};
use proptest::prelude::*;
use proptest::sample::Index as Pick;

/// The values `conditions` accept, as a log writes them, and two they do not.
fn values_to_try(conditions: &[&EventCondition]) -> Vec<String> {
    conditions
        .iter()
        .flat_map(|c| match &c.values {
            Values::Numbers(n) => n.iter().map(|n| format!("0x{n:X}")).collect::<Vec<_>>(),
            Values::Texts(t) => t.clone(),
        })
        .chain(["x", "0x0"].map(String::from))
        .collect()
}

fn origin() -> Origin {
    Origin {
        input: "p".into(),
        location: Location::Line { line: 1 },
    }
}

proptest! {
    /// An event cut to what `data_reads` reads for its ID (as a `.evtx` reader builds
    /// it for the collector) is checked as the whole event is, by every condition of
    /// every signal listing that ID — for every listed ID, with names drawn from its
    /// conditions' fields, positions and others, values from its conditions' values
    /// and others.
    #[test]
    fn the_cut_event_is_checked_as_the_whole_one(
        items in prop::collection::vec((any::<Pick>(), any::<Pick>()), 0..5),
    ) {
        let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
        let index = catalog.index();
        let checked = index.data_reads();
        for id in index.detail_ids() {
            let conditions: Vec<&EventCondition> = index
                .signals_listing(id)
                .unwrap_or_default()
                .iter()
                .filter_map(|at| index.signals().get(*at))
                .flat_map(|s| &s.conditions)
                .collect();
            let mut names: Vec<String> =
                conditions.iter().flat_map(|c| c.fields.clone()).collect();
            names.extend(["Param1", "param2", "PARAM4", "Reason", "Status"].map(String::from));
            let values = values_to_try(&conditions);
            let mut whole = Event::new("Provider", id, origin());
            whole.data = items
                .iter()
                .map(|(n, v)| (n.get(&names).clone(), v.get(&values).clone()))
                .collect();
            let mut cut = whole.clone();
            checked.cut(&mut cut);
            for condition in conditions {
                prop_assert_eq!(
                    check(condition, &cut),
                    check(condition, &whole),
                    "{} {:?}",
                    id,
                    whole.data
                );
            }
        }
    }

    /// Where an event's items were looked through once for every field its listing
    /// reads (as the collector does), each condition finds what it finds looking for
    /// its own fields — for every listed ID, with names drawn from the fields in other
    /// cases, repeated, and others.
    #[test]
    fn fields_found_at_once_are_those_each_condition_finds(
        items in prop::collection::vec((any::<Pick>(), 0u8..3, any::<Pick>()), 0..8),
    ) {
        let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
        let index = catalog.index();
        for id in index.detail_ids() {
            let Some(listing) = index.listing(id) else { continue };
            let conditions: Vec<&EventCondition> = listing
                .signals
                .iter()
                .filter_map(|at| index.signals().get(*at))
                .flat_map(|s| &s.conditions)
                .collect();
            let mut names: Vec<String> =
                listing.fields.iter().map(|(_, name)| name.clone()).collect();
            names.extend(["Param1", "Reason", "Statu", "Status "].map(String::from));
            let values = values_to_try(&conditions);
            let mut event = Event::new("Provider", id, origin());
            event.data = items
                .iter()
                .map(|(n, case, v)| {
                    let name = n.get(&names);
                    let name = match case {
                        0 => name.clone(),
                        1 => name.to_ascii_lowercase(),
                        _ => name.to_ascii_uppercase(),
                    };
                    (name, v.get(&values).clone())
                })
                .collect();
            let mut parsed = Parsed::default();
            parsed.find_fields(&event, &listing.fields);
            prop_assert!(parsed.fields_found());
            for condition in conditions {
                prop_assert_eq!(
                    outcome(condition, &event, &mut parsed).to_check(),
                    check(condition, &event),
                    "{} {:?}",
                    id,
                    event.data
                );
            }
        }
    }
}

/// Field numbers name one field whatever its case, across the catalog, and a listing
/// reads each once.
#[test]
fn fields_are_numbered_once_whatever_their_case() {
    let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
    let index = catalog.index();
    let mut named: Vec<(usize, String)> = Vec::new();
    for condition in index.signals().iter().flat_map(|s| &s.conditions) {
        assert_eq!(condition.fields.len(), condition.field_ids.len());
        for (id, name) in condition.field_ids.iter().zip(&condition.fields) {
            match named.iter().find(|(n, _)| n == id) {
                Some((_, seen)) => assert!(seen.eq_ignore_ascii_case(name), "{seen} {name}"),
                None => {
                    assert!(
                        !named.iter().any(|(_, n)| n.eq_ignore_ascii_case(name)),
                        "{name} numbered twice"
                    );
                    named.push((*id, name.clone()));
                }
            }
        }
    }
    assert!(named.len() > 3, "{named:?}");
    let failed_logon = index.listing(4625).unwrap_or_else(|| panic!("4625 listed"));
    let mut fields: Vec<&str> = failed_logon
        .fields
        .iter()
        .map(|(_, n)| n.as_str())
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["LogonType", "Status", "SubStatus"]);
}
