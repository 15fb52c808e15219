//! Events a sink is done with, taken apart so that building the next ones reuses their
//! allocations: an attack log's failed logons are built whole (some 45 strings each) and most
//! are dropped again by the rules' collector, so without reuse every one of them costs as
//! many allocations and frees — most of the reading time.

use super::template::TemplateCache;
use crate::event::Event;

/// Strings, event data items and data lists kept at most (a few chunks' worth): memory stays
/// bounded whatever is given back.
const MAX_STRINGS: usize = 4096;
const MAX_ITEMS: usize = 32_768;
const MAX_LISTS: usize = 1024;

/// The allocations of events given back ([`EventSpare::give`]), for the `.evtx` reader to
/// build the next events in ([`parse_evtx_chunks_reusing`](super::parse_evtx_chunks_reusing)).
/// What an event is built of does not depend on what was reused: every string is cleared
/// before it is written. The template definitions of the chunks read before are kept here
/// too, found again where a chunk holds the same bytes.
#[derive(Debug, Default)]
pub struct EventSpare {
    strings: Vec<String>,
    items: Vec<(String, String)>,
    lists: Vec<Vec<(String, String)>>,
    pub(super) templates: TemplateCache,
}

impl EventSpare {
    /// Takes `event` apart for reuse (what does not fit is dropped).
    pub fn give(&mut self, event: Event) {
        // Every field named, so a string field added to `Event` is not forgotten here.
        let Event {
            provider,
            event_id: _,
            qualifiers: _,
            level: _,
            time_created: _,
            time_is_local: _,
            record_id: _,
            channel,
            computer,
            user_sid,
            user_name,
            mut data,
            message,
            origin,
        } = event;
        let strings = [
            Some(provider),
            channel,
            computer,
            user_sid,
            user_name,
            message,
        ]
        .into_iter()
        .flatten()
        .chain([origin.input]);
        for s in strings {
            self.keep_string(s);
        }
        let room = MAX_ITEMS.saturating_sub(self.items.len());
        self.items.extend(data.drain(..).take(room));
        if self.lists.len() < MAX_LISTS && data.capacity() > 0 {
            self.lists.push(data);
        }
    }

    fn keep_string(&mut self, s: String) {
        if self.strings.len() < MAX_STRINGS && s.capacity() > 0 {
            self.strings.push(s);
        }
    }

    /// An empty string (reused when there is one).
    pub(super) fn string(&mut self) -> String {
        let mut s = self.strings.pop().unwrap_or_default();
        s.clear();
        s
    }

    /// `text` in a reused string.
    pub(super) fn copy(&mut self, text: &str) -> String {
        let mut s = self.string();
        s.push_str(text);
        s
    }

    /// An empty data item: two empty strings.
    pub(super) fn item(&mut self) -> (String, String) {
        let (mut key, mut value) = self.items.pop().unwrap_or_default();
        key.clear();
        value.clear();
        (key, value)
    }

    /// A data item not used after all, back for the next.
    pub(super) fn put_item(&mut self, item: (String, String)) {
        if self.items.len() < MAX_ITEMS {
            self.items.push(item);
        }
    }

    /// An empty list of data items with room for `n`.
    pub(super) fn list(&mut self, n: usize) -> Vec<(String, String)> {
        let mut list = self.lists.pop().unwrap_or_default();
        list.clear();
        list.reserve(n);
        list
    }
}
