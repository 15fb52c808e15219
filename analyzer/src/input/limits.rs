//! Caps on what one input may make the reader hold, so a hostile or broken input cannot
//! exhaust memory in the browser. Every error that hits one names it.

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
