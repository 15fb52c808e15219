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

/// `data` with the definition at `offset` moved `by` bytes (further, or back over what was
/// before it; as a later chunk whose records before it are longer or shorter holds it):
/// the offsets of the names it holds moved with it, those of names before it (written by
/// an earlier definition) left as they are.
fn moved(data: &[u8], offset: u32, by: isize) -> Vec<u8> {
    let from = read_definition(data, offset, Reading::Record).1;
    let start = offset as usize;
    let to = start.checked_add_signed(by).unwrap();
    let mut out = data.to_vec();
    out[to..from.main.end.checked_add_signed(by).unwrap()]
        .copy_from_slice(&data[start..from.main.end]);
    for at in from.fields {
        let name = u32::from_le_bytes(data[at..at + 4].try_into().unwrap());
        if name as usize >= from.main.start {
            let at = at.checked_add_signed(by).unwrap();
            let name = (name as usize).checked_add_signed(by).unwrap() as u32;
            out[at..at + 4].copy_from_slice(&name.to_le_bytes());
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
    /// to it, where it was or moved (either way, over what lay there), the definition it
    /// gives is the one read there afresh.
    #[test]
    fn a_definition_found_again_is_the_one_read_afresh(
        pick in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        slack in -2isize..=2,
        byte in any::<u8>(),
        by in prop::sample::select(vec![-100isize, -8, -2, 0, 2, 8, 100]),
    ) {
        let data = chunk();
        let found = definitions(data);
        let (offset, from) = &found[pick.index(found.len())];
        let ranges: Vec<_> = std::iter::once(from.main.clone()).chain(from.below.clone()).collect();
        let places: Vec<usize> = ranges.into_iter().flatten().collect();
        let place = places[at.index(places.len())].saturating_add_signed(slack);
        let mut changed = moved(data, *offset, by);
        let place = if place >= *offset as usize {
            place.saturating_add_signed(by)
        } else {
            place
        };
        changed[place.min(data.len() - 1)] = byte;
        let mut cache = TemplateCache::default();
        cache.next_chunk();
        cache.shared(data, *offset, false);
        cache.next_chunk();
        let at = offset.checked_add_signed(by as i32).unwrap();
        let got = cache.shared(&changed, at, false);
        let fresh = read_definition(&changed, at, Reading::Record).0;
        prop_assert_eq!(got.as_deref(), fresh.as_ref());
    }
}

// Two definitions written by hand (review R, session 11) where every byte compared is the
// same but reading afresh gives something else: the cache must not find them again.

fn put_u16(d: &mut [u8], at: usize, v: u16) {
    d[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(d: &mut [u8], at: usize, v: u32) {
    d[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// The `<System>` map of the definition at `b.1` in chunk `b.0`, after the one at `a.1` in
/// chunk `a.0` was read the chunk before, is what reading it afresh gives.
fn assert_read_afresh(a: (&[u8], usize), b: (&[u8], usize)) {
    let fresh = read_definition(b.0, b.1 as u32, Reading::System).0;
    let mut cache = TemplateCache::default();
    cache.next_chunk();
    cache.map(a.0, a.1 as u32);
    cache.next_chunk();
    assert_eq!(cache.map(b.0, b.1 as u32), fresh.as_ref());
}

/// A name entry at `at`: link and hash left zero, length, UTF-16 characters.
fn put_name(d: &mut [u8], at: usize, text: &str) {
    let units: Vec<u16> = text.encode_utf16().collect();
    put_u16(d, at + 6, units.len() as u16);
    for (i, u) in units.iter().enumerate() {
        put_u16(d, at + 8 + 2 * i, *u);
    }
}

/// A definition at `s` whose attribute's name entry lies in a `0x0b` token's bytes just
/// before that name's own offset: the name's characters hold the offset's low bytes.
fn name_over_its_offset(d: &mut [u8], s: usize) -> usize {
    let far = s + 200;
    put_name(d, far, "Event");
    let mut p = s + 24;
    d[p] = 0x01;
    put_u16(d, p + 1, 0xffff);
    put_u32(d, p + 3, 0);
    put_u32(d, p + 7, far as u32);
    p += 11;
    d[p] = 0x0b;
    put_u16(d, p + 1, 4);
    let o = p + 3;
    d[o..o + 8].fill(0);
    put_u16(d, o + 6, 3);
    p = o + 8;
    d[p] = 0x06;
    put_u32(d, p + 1, o as u32);
    p += 5;
    d[p] = 0x02;
    d[p + 1] = 0x04;
    d[p + 2] = 0x00;
    put_u32(d, s + 20, (p + 3 - (s + 24)) as u32);
    o
}

#[test]
fn a_name_over_a_name_offset_is_not_found_again() {
    let mut s = 1000;
    let a = loop {
        let mut t = vec![0u8; 65536];
        if name_over_its_offset(&mut t, s) & 0xff == 0 {
            break t;
        }
        s += 1;
    };
    assert!(read_definition(&a, s as u32, Reading::System).0.is_some());
    let mut b = vec![0u8; 65536];
    let moved = s + 0xd8;
    name_over_its_offset(&mut b, moved);
    assert_read_afresh((&a, s), (&b, moved));
}

#[test]
fn a_definition_moved_back_onto_a_name_before_it_is_not_found_again() {
    let (x, s) = (600usize, 700usize);
    let mut a = vec![0u8; 65536];
    put_name(&mut a, x, "A");
    put_name(&mut a, 400, "Event");
    let mut p = s + 24;
    a[p] = 0x01;
    put_u16(&mut a, p + 1, 0xffff);
    put_u32(&mut a, p + 7, 400);
    p += 11;
    a[p] = 0x06;
    put_u32(&mut a, p + 1, x as u32);
    let after = p + 5;
    // After the offset: 02 | 0f 00 00 00 | 0b 01 00 41 00 | 04 | 00 (x's entry from +6 on).
    a[after] = 0x02;
    a[after + 1] = 0x0f;
    a[after + 5] = 0x0b;
    put_u16(&mut a, after + 6, 1);
    put_u16(&mut a, after + 8, 0x41);
    a[after + 10] = 0x04;
    a[after + 11] = 0x00;
    put_u32(&mut a, s + 20, (after + 13 - (s + 24)) as u32);
    // Moved back so that the offset's field ends where the name starts.
    let moved = s - (after - x);
    let mut b = vec![0u8; 65536];
    b[moved..moved + (after + 12 - s)].copy_from_slice(&a[s..after + 12]);
    put_name(&mut b, 400, "Event");
    b[x + 12] = 0xff;
    assert_read_afresh((&a, s), (&b, moved));
}
