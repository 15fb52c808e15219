//! Definitions found again in a later chunk: the same as reading them there, whatever
//! byte of what they were read from changed.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use proptest::prelude::*;
use std::sync::Arc;

use super::*;

/// A chunk of a real Security log: several definitions, the later ones naming elements
/// an earlier one wrote.
fn chunk() -> &'static [u8] {
    let file = include_bytes!("../../../../../tests/fixtures/corpus/security.evtx");
    &file[4096..4096 + 65536]
}

/// Where the chunk's definitions are, and what each was read from (as a record's
/// template): every offset a definition reads at.
fn definitions(data: &[u8]) -> Vec<(u32, ReadFrom)> {
    (512..data.len() as u32)
        .filter_map(
            |offset| match read_definition(data, offset, Reading::Record) {
                (Some(map), from) if map.data.is_some() => Some((offset, from)),
                _ => None,
            },
        )
        .collect()
}

#[test]
fn a_definition_is_found_again_where_its_bytes_are_the_same() {
    let data = chunk();
    let found = definitions(data);
    // Later definitions name elements (`Data`, `Name`…) an earlier one wrote.
    assert!(found.len() >= 3, "{}", found.len());
    assert!(found.iter().any(|(_, from)| !from.names.is_empty()));
    // The next chunk: the same bytes elsewhere in memory.
    let next = data.to_vec();
    let mut cache = TemplateCache::default();
    for (offset, _) in &found {
        cache.next_chunk();
        let first = cache.shared(data, *offset, false).unwrap();
        cache.next_chunk();
        let again = cache.shared(&next, *offset, false).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "read again at {offset}");
    }
}

proptest! {
    /// Whatever byte changes in the next chunk, in what a definition was read from or
    /// next to it, the definition it gives is the one read there afresh.
    #[test]
    fn a_definition_found_again_is_the_one_read_afresh(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        slack in -2isize..=2,
        byte in any::<u8>(),
    ) {
        let data = chunk();
        let found = definitions(data);
        let (offset, from) = &found[pick.index(found.len())];
        let ranges: Vec<_> = std::iter::once(from.main.clone()).chain(from.names.clone()).collect();
        let places: Vec<usize> = ranges.into_iter().flatten().collect();
        let place = places[at.index(places.len())].saturating_add_signed(slack);
        let mut changed = data.to_vec();
        changed[place.min(data.len() - 1)] = byte;
        let mut cache = TemplateCache::default();
        cache.next_chunk();
        cache.shared(data, *offset, false);
        cache.next_chunk();
        let got = cache.shared(&changed, *offset, false);
        let fresh = read_definition(&changed, *offset, Reading::Record).0;
        prop_assert_eq!(got.as_deref(), fresh.as_ref());
    }
}
