//! How one event is compared with a signal: provider names, channels, and structured-data
//! conditions. Message text is consulted only for language-neutral tokens (status codes,
//! error states) or for identifiers the catalog lists in several languages.

use super::catalog::InMessage;
use super::index::{EventCondition, Values};
use super::service_name::names_service;
use crate::Event;
use crate::input::{is_collapsed, is_cut, is_positional_name};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The comparison key of a provider name: trimmed, ASCII-lowercased, without the
/// `Microsoft-Windows-` prefix Event Viewer leaves out of its "Source" column.
pub fn provider_key(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    match lower.strip_prefix("microsoft-windows-") {
        Some(rest) if !rest.is_empty() => rest.to_string(),
        _ => lower,
    }
}

/// The comparison key of a channel name.
pub fn channel_key(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

/// Parses a number as Windows logs print them: decimal, `0x` hex, negative 32-bit values
/// (an NTSTATUS printed as signed), and `%%` insertion prefixes. Negative values are read
/// as their 32-bit two's complement, so `-2146893043` equals `0x8009030D`.
pub fn parse_number(text: &str) -> Option<u64> {
    // `trim_start_matches("%%")` without a string searcher: this runs for every event a
    // numeric condition checks.
    let mut t = text.trim();
    while let Some(rest) = t.strip_prefix("%%") {
        t = rest;
    }
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    if let Some(neg) = t.strip_prefix('-') {
        let n: i64 = neg.parse().ok()?;
        // `--9223372036854775808` parses as `i64::MIN`, which has no negation.
        let v = i32::try_from(n.checked_neg()?).ok()?;
        return Some(u64::from(v as u32));
    }
    t.parse().ok()
}

/// The outcome of one condition on one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Check {
    /// The value was found in the named event data. (Values are short — a status, a
    /// logon type — and one is made for every event a signal keeps: up to 24 bytes are held
    /// without an allocation, 12 in wasm32.)
    Held { value: CompactString },
    /// The value was found in the message text (the export carries no event data).
    HeldInMessage,
    /// The event carries another value.
    Failed { value: CompactString },
    /// The export carries neither the field nor a message to look in.
    Unknown,
}

impl Check {
    pub fn holds(&self) -> bool {
        matches!(self, Check::Held { .. } | Check::HeldInMessage)
    }
}

/// Evaluates one condition (its values parsed when the catalog was read) on an event.
pub fn check(condition: &EventCondition, event: &Event) -> Check {
    outcome(condition, event, &mut Parsed::default()).to_check()
}

/// What was read from one event so far: the numbers read from its values, by where each
/// value is — a value several conditions compare (a failed logon's status, read by four
/// signals) is parsed once — and, once [`Parsed::find_fields`] looked, where the items its
/// listing's conditions read are. Cleared before the next event ([`Parsed::clear`]): only
/// then may the same place hold another value.
#[derive(Debug, Default)]
pub(crate) struct Parsed {
    /// The text's address and length, and what [`parse_number`] made of it.
    seen: Vec<(usize, usize, Option<u64>)>,
    /// By field number ([`EventCondition::field_ids`]): the position of the event's first
    /// item of that name. Only the fields looked for are this event's.
    positions: Vec<Option<usize>>,
    /// Whether the fields were looked for in this event.
    found: bool,
}

impl Parsed {
    pub(crate) fn clear(&mut self) {
        self.seen.clear();
        self.found = false;
    }

    /// Whether [`Parsed::find_fields`] looked through this event already.
    pub(crate) fn fields_found(&self) -> bool {
        self.found
    }

    /// Looks through `event`'s items once for the first of each field `fields` names (with
    /// their numbers, ASCII case ignored), for the conditions' [`outcome`]s.
    /// A listing of more than 64 fields (none is near) is not looked through: each
    /// condition then looks for its own.
    pub(crate) fn find_fields(&mut self, event: &Event, fields: &[(usize, String)]) {
        // The fields still looked for, a bit each.
        let mut left: u64 = match u32::try_from(fields.len()) {
            Ok(64) => u64::MAX,
            Ok(n) if n < 64 => (1 << n) - 1,
            _ => return,
        };
        for (id, _) in fields {
            if self.positions.len() <= *id {
                self.positions.resize(id + 1, None);
            }
            if let Some(at) = self.positions.get_mut(*id) {
                *at = None;
            }
        }
        for (i, (key, _)) in event.data.iter().enumerate() {
            for (bit, (id, name)) in fields.iter().enumerate() {
                let mask = 1u64.checked_shl(bit as u32).unwrap_or(0);
                // Compared byte for byte first: items are named as the catalog spells them.
                if left & mask != 0
                    && key.len() == name.len()
                    && (key == name || key.eq_ignore_ascii_case(name))
                {
                    left &= !mask;
                    if let Some(at) = self.positions.get_mut(*id) {
                        *at = Some(i);
                    }
                }
            }
            if left == 0 {
                break;
            }
        }
        self.found = true;
    }

    /// The value of `event`'s first item named `field` (number `id`): where
    /// [`Parsed::find_fields`] found it, or looked for now when it did not look. Once it
    /// looked, `field` must be one of those it was given (the collector gives it every
    /// field of the event's listing): another's position would be a former event's.
    fn data_value<'a>(&self, event: &'a Event, field: &str, id: usize) -> Option<&'a str> {
        if !self.found {
            return event.data_value(field);
        }
        let at = self.positions.get(id).copied().flatten()?;
        event.data.get(at).map(|(_, v)| v.as_str())
    }

    /// [`parse_number`] of `text`, parsed once per place.
    fn number(&mut self, text: &str) -> Option<u64> {
        let place = (text.as_ptr() as usize, text.len());
        if let Some((_, _, n)) = self.seen.iter().find(|(a, l, _)| (*a, *l) == place) {
            return *n;
        }
        let n = parse_number(text);
        if self.seen.len() < 8 {
            self.seen.push((place.0, place.1, n));
        }
        n
    }
}

/// A [`Check`] whose value is still the event's own text (not yet shortened and copied):
/// what a collector needs to decide, before it keeps anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome<'a> {
    Held(&'a str),
    HeldInMessage,
    Failed(&'a str),
    NotInMessage,
    Unknown,
}

impl Outcome<'_> {
    /// The check as kept and shown.
    pub(crate) fn to_check(self) -> Check {
        match self {
            Outcome::Held(value) => Check::Held {
                value: shorten_compact(value, 64),
            },
            Outcome::HeldInMessage => Check::HeldInMessage,
            Outcome::Failed(value) => Check::Failed {
                value: shorten_compact(value, 64),
            },
            Outcome::NotInMessage => Check::Failed {
                value: "(not in the message)".into(),
            },
            Outcome::Unknown => Check::Unknown,
        }
    }
}

/// [`check`] without copying the value it names.
/// `parsed` holds the numbers read from `event`'s values so far.
pub(crate) fn outcome<'a>(
    condition: &EventCondition,
    event: &'a Event,
    parsed: &mut Parsed,
) -> Outcome<'a> {
    // Every named field present is consulted: a service's localised display name may not be
    // listed while its key name in <Binary> is.
    // In one pass: the first present value that matches, or else the first present.
    let mut first = None;
    for (field, id) in condition.fields.iter().zip(&condition.field_ids) {
        let Some(value) = parsed.data_value(event, field, *id) else {
            continue;
        };
        if value_matches(condition, value, parsed) {
            return Outcome::Held(value);
        }
        first.get_or_insert(value);
    }
    if let Some(value) = first {
        return Outcome::Failed(value);
    }
    // Exports of older systems carry unnamed, positional data (`Param1`…): when one of them
    // holds the value it is the one, but a miss proves nothing about positions we can't name.
    if !event.data.is_empty() && event.data.iter().all(|(k, _)| is_positional_name(k)) {
        if let Some((_, v)) = event
            .data
            .iter()
            .find(|(_, v)| value_matches(condition, v, parsed))
        {
            return Outcome::Held(v);
        }
        return Outcome::Unknown;
    }
    let Some(message) = event.message.as_deref() else {
        return Outcome::Unknown;
    };
    let found = match condition.in_message {
        InMessage::No => return Outcome::Unknown,
        InMessage::Token => message_tokens(message).any(|t| value_matches(condition, t, parsed)),
        InMessage::Phrase => {
            let hay = message.to_lowercase();
            condition.phrases.iter().any(|v| hay.contains(v.as_str()))
        }
        InMessage::ServiceName => {
            let hay = message.to_lowercase();
            condition.phrases.iter().any(|v| names_service(&hay, v))
        }
    };
    if found {
        Outcome::HeldInMessage
    } else if condition.in_message == InMessage::Token && is_cut(message) {
        // A value a cut message (a PowerShell table shows a message's start and `...`)
        // lacks — a status, a state, which messages give last — may be in the part cut off.
        // Phrases name what the message is about, at its start: their absence still counts
        // (`TLS client credential. ...` is no server's failure).
        Outcome::Unknown
    } else {
        Outcome::NotInMessage
    }
}

fn value_matches(condition: &EventCondition, value: &str, parsed: &mut Parsed) -> bool {
    match &condition.values {
        Values::Numbers(numbers) => parsed.number(value).is_some_and(|n| numbers.contains(&n)),
        Values::Texts(texts) => {
            let value = value.trim();
            let decoded = decode_utf16_hex(value);
            texts.iter().any(|v| {
                v.eq_ignore_ascii_case(value)
                    || decoded
                        .as_deref()
                        .is_some_and(|d| v.eq_ignore_ascii_case(d))
            })
        }
    }
}

/// Splits a message into candidate number tokens: runs of ASCII letters and digits.
fn message_tokens(message: &str) -> impl Iterator<Item = &str> {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
}

/// Classic events carry a service's key name in `<Binary>` as hex-encoded UTF-16LE
/// (`5400650072006D00…` is `TermService`). Returns the decoded text, without trailing NULs.
pub fn decode_utf16_hex(hex: &str) -> Option<String> {
    let hex = hex.trim();
    if hex.len() < 4 || !hex.len().is_multiple_of(4) || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let bytes: Vec<u8> = hex
        .as_bytes()
        .chunks(2)
        .filter_map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect();
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|c| {
            u16::from_le_bytes([
                c.first().copied().unwrap_or(0),
                c.get(1).copied().unwrap_or(0),
            ])
        })
        .collect();
    let text = String::from_utf16(&units).ok()?;
    let text = text.trim_end_matches('\0');
    if text.is_empty() || text.chars().any(char::is_control) {
        return None;
    }
    Some(text.to_string())
}

/// At most `max` characters of `text`, whitespace runs collapsed, with `…` when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let mut out = String::new();
    shorten_into(&mut out, text, max);
    out
}

/// Whether [`shorten`] gives `text` as it is: most values (an address, a status, a user
/// name) are short single words or single spaces between words.
fn kept_as_is(text: &str, max: usize) -> bool {
    text.len() <= max && is_collapsed(text)
}

/// [`shorten`] as a [`CompactString`]: no allocation for a short value kept as it is.
fn shorten_compact(text: &str, max: usize) -> CompactString {
    if kept_as_is(text, max) {
        CompactString::new(text)
    } else {
        collapse(text, max).into()
    }
}

/// [`shorten`] into `out`, replacing what it held and reusing its allocation.
pub fn shorten_into(out: &mut String, text: &str, max: usize) {
    out.clear();
    if kept_as_is(text, max) {
        out.push_str(text);
    } else {
        collapse_into(out, text, max);
    }
}

/// [`shorten`] of `text`, in place (no allocation when it is kept as it is).
pub fn shorten_in_place(text: &mut String, max: usize) {
    if !kept_as_is(text, max) {
        *text = collapse(text, max);
    }
}

/// [`shorten_in_place`] without giving up `text`'s allocation: the cut text is made in
/// `scratch` and copied back.
pub fn shorten_within(text: &mut String, max: usize, scratch: &mut String) {
    if !kept_as_is(text, max) {
        scratch.clear();
        collapse_into(scratch, text, max);
        text.clear();
        text.push_str(scratch);
    }
}

/// [`shorten`] word by word: what the forms give once [`kept_as_is`] has said no.
fn collapse(text: &str, max: usize) -> String {
    let mut out = String::new();
    collapse_into(&mut out, text, max);
    out
}

/// [`shorten`] word by word, appended to `out`.
fn collapse_into(out: &mut String, text: &str, max: usize) {
    let mut count = 0;
    for word in text.split_whitespace() {
        if count > 0 {
            out.push(' ');
            count += 1;
        }
        for c in word.chars() {
            if count >= max {
                out.push('…');
                return;
            }
            out.push(c);
            count += 1;
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_shortcut_gives_what_the_word_walk_gives(
            text in "[ a-zé\t\n\u{a0}\u{2003}x]{0,12}",
            max in 0usize..10,
        ) {
            prop_assert_eq!(shorten(&text, max), collapse(&text, max));
            let mut reused = String::from("left over");
            shorten_into(&mut reused, &text, max);
            prop_assert_eq!(reused, collapse(&text, max));
            let mut in_place = text.clone();
            shorten_in_place(&mut in_place, max);
            prop_assert_eq!(in_place, collapse(&text, max));
            let mut within = text.clone();
            let mut scratch = String::from("left over");
            shorten_within(&mut within, max, &mut scratch);
            prop_assert_eq!(within, collapse(&text, max));
            prop_assert_eq!(shorten_compact(&text, max).to_string(), collapse(&text, max));
        }

        #[test]
        fn numbers_read_past_every_insertion_prefix(
            text in "[ %]{0,6}(0x|0X|-|--|-\\+)?([0-9a-fA-F%]{0,10}|[0-9]{18,20}) ?",
        ) {
            // The reference: what `trim_start_matches` strips.
            let t = text.trim().trim_start_matches("%%");
            let reference = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => match t.strip_prefix('-') {
                    // Wider than the parser's i64, so no negation overflows here.
                    Some(neg) => neg
                        .parse::<i64>()
                        .ok()
                        .and_then(|n| i32::try_from(-i128::from(n)).ok())
                        .map(|v| u64::from(v as u32)),
                    None => t.parse().ok(),
                },
            };
            prop_assert_eq!(parse_number(&text), reference);
        }
    }

    #[test]
    fn numbers_as_windows_prints_them() {
        assert_eq!(parse_number("%%%%0xC000006D "), Some(0xC000_006D));
        assert_eq!(parse_number("%%%1"), None);
        assert_eq!(parse_number("-2146893043"), Some(0x8009_030D));
        assert_eq!(parse_number(" 4625"), Some(4625));
        // Parsed as i64::MIN after the first minus: no overflow, not a 32-bit value.
        assert_eq!(parse_number("--9223372036854775808"), None);
        assert_eq!(parse_number("-9223372036854775808"), None);
    }

    #[test]
    fn shortcut_cases() {
        for text in [
            "",
            "a",
            "a b",
            " a",
            "a ",
            "a  b",
            "a\tb",
            "é b",
            "0xc000006d",
        ] {
            for max in [0, 1, 3, 64] {
                assert_eq!(shorten(text, max), collapse(text, max), "{text:?} {max}");
            }
        }
    }
}
