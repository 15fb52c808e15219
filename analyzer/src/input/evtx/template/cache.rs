//! The template definitions a reader has read ([`TemplateCache`]): once per chunk, and
//! found again in a later chunk where the bytes they were read from are the same.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Reading, SystemMap, read_definition};

/// Template definitions by offset (`None`: not readable here): read once per chunk, and
/// taken from an earlier chunk when the bytes they were read from are the same at the same
/// offset (a log's chunks mostly hold the same few definitions, often at the same offsets).
/// What a definition gives does not depend on what was cached: only the bytes it was read
/// from decide it, and they are compared first.
#[derive(Debug, Default)]
pub(crate) struct TemplateCache {
    /// By offset and how the definition is read.
    maps: HashMap<(u32, Reading), Definition>,
    /// The chunk being read (counted by [`TemplateCache::next_chunk`]).
    chunk: u64,
}

/// A definition as read, and where from.
#[derive(Debug)]
struct Definition {
    map: Option<Arc<SystemMap>>,
    /// The chunk it was last read or found again in.
    chunk: u64,
    /// The bytes it was read from, where (see [`ReadFrom`]), and the chunk's length (a read
    /// past its end fails): another chunk of that length with the same bytes there holds the
    /// same definition.
    from: Vec<(usize, Box<[u8]>)>,
    len: usize,
}

impl Definition {
    /// Whether chunk `data` holds the bytes this was read from.
    fn read_from_same(&self, data: &[u8]) -> bool {
        self.len == data.len()
            && self.from.iter().all(|(at, bytes)| {
                at.checked_add(bytes.len())
                    .and_then(|end| data.get(*at..end))
                    .is_some_and(|held| held == &bytes[..])
            })
    }
}

/// Definitions kept from earlier chunks, at most: past it those of earlier chunks go.
const MAX_DEFINITIONS: usize = 512;

impl TemplateCache {
    /// Starts the next chunk: definitions are looked up in its bytes from now on.
    pub(in super::super) fn next_chunk(&mut self) {
        self.chunk += 1;
        if self.maps.len() > MAX_DEFINITIONS {
            let chunk = self.chunk;
            self.maps.retain(|_, d| d.chunk + 1 == chunk);
        }
    }

    /// What the definition at `offset` of the chunk `data` says about the `<System>` fields
    /// (read once per chunk), or `None` when it cannot be read here.
    pub(in super::super) fn map(&mut self, data: &[u8], offset: u32) -> Option<&SystemMap> {
        self.definition(data, offset, Reading::System).as_deref()
    }

    /// A definition already read by [`TemplateCache::map`] in this chunk.
    pub(in super::super) fn get(&self, offset: u32) -> Option<&SystemMap> {
        self.maps
            .get(&(offset, Reading::System))
            .filter(|d| d.chunk == self.chunk)?
            .map
            .as_deref()
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

    /// The definition at `offset` of this chunk's `data`, read as `reading` says: found
    /// again (this chunk, or an earlier one whose bytes there are the same) or read now.
    fn definition(
        &mut self,
        data: &[u8],
        offset: u32,
        reading: Reading,
    ) -> &Option<Arc<SystemMap>> {
        let chunk = self.chunk;
        let entry = self.maps.entry((offset, reading));
        let found = match &entry {
            std::collections::hash_map::Entry::Occupied(d) => {
                let d = d.get();
                d.chunk == chunk || d.read_from_same(data)
            }
            std::collections::hash_map::Entry::Vacant(_) => false,
        };
        let definition = entry.or_insert_with(|| Definition {
            map: None,
            chunk,
            from: Vec::new(),
            len: 0,
        });
        if !found {
            let (map, from) = read_definition(data, offset, reading);
            let ranges = std::iter::once(from.main).chain(from.names);
            *definition = Definition {
                map: map.map(Arc::new),
                chunk,
                // A range it could not read (past the chunk's end) is kept empty.
                from: ranges
                    .map(|r| (r.start, data.get(r).map(Box::from).unwrap_or_default()))
                    .collect(),
                len: data.len(),
            };
        }
        definition.chunk = chunk;
        &definition.map
    }
}
