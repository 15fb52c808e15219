//! Caps on what one input may make the reader hold, so a hostile or broken input cannot
//! exhaust memory in the browser. Every error that hits one names it.

use serde::{Deserialize, Serialize};

/// Largest text export read (after which it must be exported in parts or as `.evtx`).
pub const MAX_TEXT_INPUT_BYTES: usize = 256 * 1024 * 1024;

/// Largest single event: one `Event[N]:` block, one XML `<Event>`, one CSV row or one
/// `Format-List` record, in bytes of decoded text.
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// Longest field value kept (a message, a data value); longer ones are cut with a note.
pub const MAX_FIELD_CHARS: usize = 64 * 1024;

/// Deepest XML element nesting inside one `<Event>`.
pub const MAX_XML_DEPTH: usize = 32;

/// Most `EventData`/`UserData` values kept per event.
pub const MAX_DATA_ITEMS: usize = 512;

/// What a sink that keeps excerpts of events (the rules' collector) cuts an event's text
/// to: its message and each data value to [`EXCERPT_CHARS`] characters, each data name to
/// [`EXCERPT_NAME_CHARS`], whitespace runs collapsed, and the first [`EXCERPT_ITEMS`] items.
pub const EXCERPT_CHARS: usize = 300;
pub const EXCERPT_NAME_CHARS: usize = 64;
pub const EXCERPT_ITEMS: usize = 24;

/// Which data names and values of an event an excerpt cuts (a name longer than
/// [`EXCERPT_NAME_CHARS`] bytes, a value longer than [`EXCERPT_CHARS`] bytes, whitespace that
/// is not single spaces between words): two bits per item. Known only for an event with no
/// message and at most [`EXCERPT_ITEMS`] items. Found where the event is built, while its
/// text is at hand, so that a sink keeping excerpts need not read again what an excerpt
/// leaves as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExcerptCuts(u64);

// Two bits per item an excerpt keeps.
const _: () = assert!(EXCERPT_ITEMS <= 32);

impl ExcerptCuts {
    /// The cuts of `event`, when it has no message and at most [`EXCERPT_ITEMS`] items.
    pub(crate) fn of(event: &crate::Event) -> Option<ExcerptCuts> {
        if event.message.is_some() || event.data.len() > EXCERPT_ITEMS {
            return None;
        }
        let mut bits = 0u64;
        for (i, (name, value)) in event.data.iter().enumerate() {
            let cut_name = name.len() > EXCERPT_NAME_CHARS || !is_collapsed(name);
            let cut_value = value.len() > EXCERPT_CHARS || !is_collapsed(value);
            let pair = u64::from(cut_name) | u64::from(cut_value) << 1;
            bits |= pair.checked_shl(u32::try_from(2 * i).ok()?)?;
        }
        Some(ExcerptCuts(bits))
    }

    fn bit(self, at: usize) -> bool {
        u32::try_from(at)
            .ok()
            .and_then(|at| 1u64.checked_shl(at))
            .is_some_and(|bit| self.0 & bit != 0)
    }

    /// Whether an excerpt cuts the name of data item `item`.
    pub fn cuts_name(self, item: usize) -> bool {
        self.bit(item.saturating_mul(2))
    }

    /// Whether an excerpt cuts the value of data item `item`.
    pub fn cuts_value(self, item: usize) -> bool {
        self.bit(item.saturating_mul(2).saturating_add(1))
    }
}

/// Whether `text` has no whitespace but single spaces between words (what an excerpt leaves
/// as it is).
pub(crate) fn is_collapsed(text: &str) -> bool {
    let mut after_space = true;
    let bytes = text.as_bytes();
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        // Eight printable ASCII bytes other than a space (0x21..=0x7e) at once: most
        // names and values are made of nothing else.
        let w = u64::from_le_bytes(<[u8; 8]>::try_from(word).unwrap_or([0; 8]));
        if !has_byte_outside_words(w) {
            after_space = false;
            continue;
        }
        for &b in word {
            match collapsed_step(b, after_space) {
                Some(next) => after_space = next,
                None if b >= 0x80 => return is_collapsed_text(text),
                None => return false,
            }
        }
    }
    for &b in words.remainder() {
        match collapsed_step(b, after_space) {
            Some(next) => after_space = next,
            None if b >= 0x80 => return is_collapsed_text(text),
            None => return false,
        }
    }
    !after_space || text.is_empty()
}

/// Whether any of the eight bytes of `w` is a space, a control byte, DEL or outside ASCII.
fn has_byte_outside_words(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below 0x21 borrows in `w - 0x21`; one of 0x7f or above carries into its high
    // bit in `w + 0x01` or has it set already.
    let below = w.wrapping_sub(ONES * 0x21) & !w & HIGH;
    let above = (w.wrapping_add(ONES) | w) & HIGH;
    below | above != 0
}

/// One ASCII byte of [`is_collapsed`]'s walk: whether it now follows a space, or `None` when
/// the text is not collapsed (or, for a byte outside ASCII, must be read as characters).
fn collapsed_step(b: u8, after_space: bool) -> Option<bool> {
    match b {
        b' ' if after_space => None,
        b' ' => Some(true),
        b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x80.. => None,
        _ => Some(false),
    }
}

/// [`is_collapsed`] character by character.
fn is_collapsed_text(text: &str) -> bool {
    let mut after_space = true;
    for c in text.chars() {
        if c == ' ' {
            if after_space {
                return false;
            }
            after_space = true;
        } else if c.is_whitespace() {
            return false;
        } else {
            after_space = false;
        }
    }
    !after_space || text.is_empty()
}

/// Cuts `value` to [`MAX_FIELD_CHARS`] characters; returns whether it was cut.
pub(crate) fn cap_field(value: &mut String) -> bool {
    match value.char_indices().nth(MAX_FIELD_CHARS) {
        Some((at, _)) => {
            value.truncate(at);
            true
        }
        None => false,
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Eight bytes at a time, the same as character by character.
        #[test]
        fn is_collapsed_is_the_character_walk(
            text in "[ a-z~\\x00-\\x21\u{7f}\u{80}\u{a0}\u{3000}é\t\n]{0,24}",
        ) {
            prop_assert_eq!(is_collapsed(&text), is_collapsed_text(&text));
        }

        #[test]
        fn a_word_is_outside_words_when_one_byte_is(bytes in any::<[u8; 8]>()) {
            let outside = bytes.iter().any(|b| !(0x21..=0x7e).contains(b));
            prop_assert_eq!(has_byte_outside_words(u64::from_le_bytes(bytes)), outside);
        }
    }
}
