//! The template definitions a reader has read ([`TemplateCache`]): once per chunk, and
//! found again in a later chunk that holds the same definition, wherever it holds it.

use crate::input::bytes::same;
use std::collections::HashMap;
use std::sync::Arc;

use super::super::recent::Recent;
use super::{ReadFrom, Reading, SystemMap, read_definition};

/// Template definitions: this chunk's by offset (`None`: not readable here), and those
/// read in earlier chunks by their header. Windows writes the definitions a chunk's records
/// use into that chunk, at whatever offset the first such record lands: a later chunk's
/// definition is taken from an earlier one when every byte it is read from is the same,
/// its name offsets moved by as much as the definition moved ([`ReadFrom`]). What a
/// definition gives does not depend on what was cached: those bytes decide it. (The
/// names a definition does not hold itself, written by an earlier one of the chunk, are
/// looked for where they were.)
#[derive(Debug, Default)]
pub(crate) struct TemplateCache {
    /// This chunk's, by offset and how the definition is read (a chunk holds a few: looked
    /// through, the last one found first).
    here: Recent<Place, Option<Arc<SystemMap>>>,
    /// Those read so far, by how they are read and their header (GUID and size).
    known: HashMap<(Reading, [u8; HEADER]), Vec<Definition>>,
    /// How many `known` holds, and how many this chunk added.
    count: usize,
    added: usize,
    /// The chunk being read (counted by [`TemplateCache::next_chunk`]).
    chunk: u64,
}

/// Where a definition is in a chunk, and how it is read.
type Place = (u32, Reading);

/// A definition's GUID and data size, what [`TemplateCache::known`] is keyed by: 20 bytes
/// from its offset + 4.
const HEADER: usize = 20;

/// Definitions remembered past which, at the next chunk, only those the last chunk used
/// are kept (what one chunk can add is bounded below).
const MAX_DEFINITIONS: usize = 256;

/// How far past where its reading stops a remembered definition's names may lie: a real
/// one names elements it writes inline or an earlier definition wrote.
const MAX_NAMES_PAST: usize = 512;

/// Definitions one chunk adds, at most, and the bytes one is read from (a real one takes
/// a few KiB): a hostile chunk whose records each name another definition, overlapping
/// ones among them, keeps little.
const MAX_NEW_PER_CHUNK: usize = 64;
const MAX_REMEMBERED: usize = 16 * 1024;

/// Definitions remembered under one header (GUID and size), at most: each is compared
/// with a definition of that header before it is read, so a hostile log with many of one
/// header costs a few comparisons, not many.
const MAX_PER_HEADER: usize = 4;

/// A readable definition as read, and what from.
#[derive(Debug)]
struct Definition {
    map: Arc<SystemMap>,
    /// The chunk it was last read or found again in.
    chunk: u64,
    /// The bytes from its offset + 20 on, the offsets of the names in them made relative
    /// to the definition's offset (wrapping).
    main: Box<[u8]>,
    /// Where in `main` name offsets are, in order, and whether each is relative (a name
    /// the definition holds) or not (one before it, which stays where it is when the
    /// definition moves).
    fields: Vec<(usize, bool)>,
    /// The names before the definition: where each one's length and characters are, and
    /// those bytes.
    below: Vec<(usize, Box<[u8]>)>,
}

impl Definition {
    /// `None` when what it was read from could say something else elsewhere: a name
    /// whose characters overlap a name offset (they change when the definition moves),
    /// or names far past what it parses (a long span to compare for a short definition).
    fn new(data: &[u8], start: usize, map: Arc<SystemMap>, from: &ReadFrom) -> Option<Definition> {
        let overlaps = |name: &std::ops::Range<usize>| {
            from.fields
                .iter()
                .any(|&at| name.start < at + 4 && at < name.end)
        };
        if from.below.iter().chain(&from.inside).any(overlaps)
            || from.main.end > from.parsed.saturating_add(MAX_NAMES_PAST)
        {
            return None;
        }
        let base = from.main.start;
        let mut main: Box<[u8]> = data.get(from.main.clone())?.into();
        let mut fields = Vec::with_capacity(from.fields.len());
        for &at in &from.fields {
            let at = at.checked_sub(base)?;
            let field = main.get_mut(at..at.checked_add(4)?)?;
            let offset = u32::from_le_bytes(field.try_into().ok()?);
            let inside = usize::try_from(offset).ok()? >= base;
            if inside {
                field.copy_from_slice(&relative(offset, start).to_le_bytes());
            }
            fields.push((at, inside));
        }
        let below = from
            .below
            .iter()
            .map(|r| Some((r.start, data.get(r.clone())?.into())))
            .collect::<Option<_>>()?;
        Some(Definition {
            map,
            chunk: 0,
            main,
            fields,
            below,
        })
    }

    /// Whether chunk `data` holds this definition at `start`: the same bytes, the offsets
    /// of the names it holds moved with it, those before it where they were.
    fn is_at(&self, data: &[u8], start: usize) -> bool {
        let Some(held) = start
            .checked_add(20)
            .and_then(|base| data.get(base..base.checked_add(self.main.len())?))
        else {
            return false;
        };
        let mut from = 0;
        for &(at, inside) in &self.fields {
            let (Some(before), Some(field)) = (held.get(from..at), held.get(at..at + 4)) else {
                return false;
            };
            let Ok(field) = <[u8; 4]>::try_from(field) else {
                return false;
            };
            let seen = if inside {
                relative(u32::from_le_bytes(field), start).to_le_bytes()
            } else {
                // A name before the definition must stay before it: at or past its bytes,
                // reading could take it as written inline.
                let name = usize::try_from(u32::from_le_bytes(field)).unwrap_or(usize::MAX);
                if name >= start.saturating_add(20) {
                    return false;
                }
                field
            };
            if !self
                .main
                .get(from..at)
                .is_some_and(|held| same(held, before))
                || self.main.get(at..at + 4) != Some(&seen)
            {
                return false;
            }
            from = at + 4;
        }
        (match (self.main.get(from..), held.get(from..)) {
            (Some(a), Some(b)) => same(a, b),
            (None, None) => true,
            _ => false,
        }) && self.below.iter().all(|(at, bytes)| {
            at.checked_add(bytes.len())
                .and_then(|end| data.get(*at..end))
                .is_some_and(|held| same(held, bytes))
        })
    }
}

/// A name offset as seen from a definition at `start`.
fn relative(offset: u32, start: usize) -> u32 {
    offset.wrapping_sub(start as u32)
}

impl TemplateCache {
    /// How many definitions are remembered, and the most under one header.
    #[cfg(test)]
    pub(super) fn remembered(&self) -> (usize, usize) {
        let most = self.known.values().map(Vec::len).max().unwrap_or(0);
        (self.count, most)
    }

    /// Starts the next chunk: definitions are looked up in its bytes from now on.
    pub(in super::super) fn next_chunk(&mut self) {
        self.here.clear();
        self.added = 0;
        self.chunk += 1;
        if self.count > MAX_DEFINITIONS {
            let last = self.chunk - 1;
            self.known.retain(|_, list| {
                list.retain(|d| d.chunk == last);
                !list.is_empty()
            });
            self.count = self.known.values().map(Vec::len).sum();
        }
    }

    /// What the definition at `offset` of the chunk `data` says about the `<System>` fields
    /// (read once per chunk), or `None` when it cannot be read here.
    pub(in super::super) fn map(&mut self, data: &[u8], offset: u32) -> Option<&SystemMap> {
        self.definition(data, offset, Reading::System).as_deref()
    }

    /// A definition already read by [`TemplateCache::map`] in this chunk.
    pub(in super::super) fn get(&self, offset: u32) -> Option<&SystemMap> {
        self.here.peek(&(offset, Reading::System))?.as_deref()
    }

    /// [`TemplateCache::map`] of a record's template (`nested: false`) or of a template
    /// nested in one of its values, spliced in under `<Event>` (`nested: true`), shared.
    pub(in super::super) fn shared(
        &mut self,
        data: &[u8],
        offset: u32,
        nested: bool,
    ) -> Option<Arc<SystemMap>> {
        let reading = if nested {
            Reading::Nested
        } else {
            Reading::Record
        };
        self.definition(data, offset, reading).clone()
    }

    /// The definition at `offset` of this chunk's `data`, read as `reading` says: this
    /// chunk's, found again from an earlier chunk, or read now.
    fn definition(
        &mut self,
        data: &[u8],
        offset: u32,
        reading: Reading,
    ) -> &Option<Arc<SystemMap>> {
        let key = (offset, reading);
        let at = match self.here.position(&key) {
            Some(at) => at,
            None => {
                let found = self.find(data, offset, reading);
                self.here.push(key, found)
            }
        };
        self.here.value(at).unwrap_or(&None)
    }

    /// [`TemplateCache::definition`] not yet seen in this chunk.
    fn find(&mut self, data: &[u8], offset: u32, reading: Reading) -> Option<Arc<SystemMap>> {
        let start = usize::try_from(offset).ok()?;
        let header: Option<[u8; HEADER]> = start
            .checked_add(4)
            .and_then(|from| data.get(from..from.checked_add(HEADER)?))
            .and_then(|h| h.try_into().ok());
        let chunk = self.chunk;
        if let Some(header) = header
            && let Some(list) = self.known.get_mut(&(reading, header))
            && let Some(known) = list.iter_mut().find(|d| d.is_at(data, start))
        {
            known.chunk = chunk;
            return Some(Arc::clone(&known.map));
        }
        let (map, from) = read_definition(data, offset, reading);
        let map = Arc::new(map?);
        // A cache never moved to a next chunk (the crate's path: one chunk) keeps nothing for
        // later.
        let remembered =
            self.chunk > 0 && self.added < MAX_NEW_PER_CHUNK && from.main.len() <= MAX_REMEMBERED;
        if remembered
            && let Some(header) = header
            && let Some(known) = Definition::new(data, start, Arc::clone(&map), &from)
        {
            let list = self.known.entry((reading, header)).or_default();
            let known = Definition { chunk, ..known };
            // One header's definitions are each compared with a definition not yet found:
            // a few, the one used longest ago giving way.
            if list.len() < MAX_PER_HEADER {
                list.push(known);
                self.count += 1;
            } else if let Some(oldest) = list.iter_mut().min_by_key(|d| d.chunk) {
                *oldest = known;
            }
            self.added += 1;
        }
        Some(map)
    }
}
