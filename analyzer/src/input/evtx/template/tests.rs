//! Definitions found again in a later chunk: the same as reading them there, wherever the
//! chunk holds them and whatever byte of what they were read from changed.
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
/// template).
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

/// `data` with the definition at `offset` moved `by` bytes further (as a later chunk whose
/// records before it are longer holds it): the offsets of the names it holds moved with
/// it, those of names before it (written by an earlier definition) left as they are.
fn moved(data: &[u8], offset: u32, by: usize) -> Vec<u8> {
    let from = read_definition(data, offset, Reading::Record).1;
    let start = offset as usize;
    let mut out = data.to_vec();
    out[start + by..from.main.end + by].copy_from_slice(&data[start..from.main.end]);
    for at in from.fields {
        let name = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        if name as usize >= from.main.start {
            out[at + by..at + by + 4].copy_from_slice(&(name + by as u32).to_le_bytes());
        }
    }
    out
}

#[test]
fn a_definition_is_found_again_where_a_chunk_holds_the_same() {
    let data = chunk();
    let found = definitions(data);
    // Later definitions name elements (`Data`, `Name`…) an earlier one wrote.
    assert!(found.len() >= 3, "{}", found.len());
    assert!(found.iter().any(|(_, from)| !from.below.is_empty()));
    for (offset, _) in &found {
        // The next chunk: the same bytes elsewhere in memory, then the definition moved.
        for (next, at) in [
            (data.to_vec(), *offset),
            (moved(data, *offset, 8), offset + 8),
        ] {
            let mut cache = TemplateCache::default();
            cache.next_chunk();
            let first = cache.shared(data, *offset, false).unwrap();
            cache.next_chunk();
            let again = cache.shared(&next, at, false).unwrap();
            assert!(Arc::ptr_eq(&first, &again), "read again at {offset}");
            let fresh = read_definition(&next, at, Reading::Record).0;
            assert_eq!(Some(&*again), fresh.as_ref());
        }
    }
}

/// Chunks each holding one definition under the same header but with other bytes (a
/// hostile log): each is read afresh and right, and only a few are remembered under that
/// header.
#[test]
fn a_header_holds_a_few_definitions() {
    let data = chunk();
    let found = definitions(data);
    // The first character of the last name a definition holds itself differs per chunk.
    let inside = |from: &ReadFrom| -> Vec<usize> {
        from.fields
            .iter()
            .map(|&at| u32::from_le_bytes(data[at..at + 4].try_into().unwrap()) as usize)
            .filter(|&name| name >= from.main.start)
            .collect()
    };
    let (offset, from) = found
        .iter()
        .find(|(_, from)| !inside(from).is_empty())
        .unwrap();
    let name = *inside(from).iter().max().unwrap();
    let mut cache = TemplateCache::default();
    for n in 0..20u8 {
        let mut next = data.to_vec();
        next[name + 8] = b'a' + n;
        cache.next_chunk();
        let got = cache.shared(&next, *offset, false);
        let fresh = read_definition(&next, *offset, Reading::Record).0;
        assert_eq!(got.as_deref(), fresh.as_ref());
        let (count, most) = cache.remembered();
        assert!(most <= 4 && count <= 4, "{count} {most}");
    }
    assert_eq!(cache.remembered(), (4, 4));
}

proptest! {
    /// Whatever byte changes in the next chunk, in what a definition was read from or next
    /// to it, where it was or moved, the definition it gives is the one read there afresh.
    #[test]
    fn a_definition_found_again_is_the_one_read_afresh(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        slack in -2isize..=2,
        byte in any::<u8>(),
        by in prop::sample::select(vec![0usize, 2, 8, 100]),
    ) {
        let data = chunk();
        let found = definitions(data);
        let (offset, from) = &found[pick.index(found.len())];
        let ranges: Vec<_> = std::iter::once(from.main.clone()).chain(from.below.clone()).collect();
        let places: Vec<usize> = ranges.into_iter().flatten().collect();
        let place = places[at.index(places.len())].saturating_add_signed(slack);
        let mut changed = moved(data, *offset, by);
        let place = if place >= *offset as usize { place + by } else { place };
        changed[place.min(data.len() - 1)] = byte;
        let mut cache = TemplateCache::default();
        cache.next_chunk();
        cache.shared(data, *offset, false);
        cache.next_chunk();
        let got = cache.shared(&changed, offset + by as u32, false);
        let fresh = read_definition(&changed, offset + by as u32, Reading::Record).0;
        prop_assert_eq!(got.as_deref(), fresh.as_ref());
    }
}
