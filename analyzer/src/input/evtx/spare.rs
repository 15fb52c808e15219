//! Events a sink is done with, taken apart so that building the next ones reuses their
//! allocations: an attack log's failed logons are built whole (some 45 strings each) and most
//! are dropped again by the rules' collector, so without reuse every one of them costs as
//! many allocations and frees — most of the reading time.

use super::template::TemplateCache;
use super::value::Value;
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
    /// The texts last made of `<System>` values, most recent first.
    texts: Vec<MadeText>,
}

/// A `<System>` value's text as made (trimmed, capped if `capped`; `None` when empty), and
/// what it was made of.
#[derive(Debug)]
struct MadeText {
    kind: u8,
    capped: bool,
    bytes: Vec<u8>,
    text: Option<String>,
}

/// Texts remembered: an event's provider, channel, computer and user.
const MAX_TEXTS: usize = 4;

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

    /// The text made of `value` last time ([`EventSpare::made_text`]), in a reused string.
    /// What a value's text is depends only on its type, its bytes and whether it is capped.
    pub(super) fn last_text(&mut self, value: Value<'_>, capped: bool) -> Option<Option<String>> {
        let made = self.texts.iter().find(|t| {
            t.kind == value.kind
                && t.capped == capped
                && crate::input::bytes::same(&t.bytes, value.bytes)
        })?;
        let Some(text) = made.text.as_deref() else {
            return Some(None);
        };
        let mut s = self.strings.pop().unwrap_or_default();
        s.clear();
        s.push_str(text);
        Some(Some(s))
    }

    /// Remembers the text made of `value`.
    pub(super) fn made_text(&mut self, value: Value<'_>, capped: bool, text: Option<&str>) {
        let mut made = if self.texts.len() < MAX_TEXTS {
            MadeText {
                kind: 0,
                capped: false,
                bytes: Vec::new(),
                text: None,
            }
        } else {
            self.texts.remove(MAX_TEXTS - 1)
        };
        made.kind = value.kind;
        made.capped = capped;
        made.bytes.clear();
        made.bytes.extend_from_slice(value.bytes);
        match (&mut made.text, text) {
            (Some(kept), Some(text)) => {
                kept.clear();
                kept.push_str(text);
            }
            (kept, text) => *kept = text.map(str::to_owned),
        }
        self.texts.insert(0, made);
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

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::super::value::{Value, ty};
    use super::EventSpare;

    fn value(kind: u8, bytes: &[u8]) -> Value<'_> {
        Value { kind, bytes, at: 0 }
    }

    /// A text made is given again only for a value of the same type and bytes, made the same
    /// way (capped or not); the four made last are remembered.
    #[test]
    fn a_text_comes_back_only_for_the_same_value() {
        let mut spare = EventSpare::default();
        let security = b"S\0e\0c\0u\0r\0i\0t\0y\0";
        spare.made_text(value(ty::STRING, security), true, Some("Security"));
        spare.made_text(value(ty::STRING, b" \0"), true, None);
        let again = spare.last_text(value(ty::STRING, security), true);
        assert_eq!(again, Some(Some("Security".to_string())));
        assert_eq!(spare.last_text(value(ty::STRING, b" \0"), true), Some(None));
        assert_eq!(spare.last_text(value(ty::STRING, security), false), None);
        assert_eq!(spare.last_text(value(ty::SID, security), true), None);
        assert_eq!(
            spare.last_text(value(ty::STRING, &security[..14]), true),
            None
        );
        for n in 0u8..4 {
            spare.made_text(value(ty::STRING, &[n, 0]), false, Some("x"));
        }
        assert_eq!(spare.last_text(value(ty::STRING, security), true), None);
        assert!(spare.last_text(value(ty::STRING, &[0, 0]), false).is_some());
    }
}
