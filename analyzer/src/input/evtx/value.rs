//! A record's substitution values turned into text as the `evtx` crate's renderer writes
//! them into XML and the XML reader reads them back: what [`super::build`] builds events
//! from, without the detour. A value type or a value this module does not reproduce exactly
//! (text the rendering would change, among them) answers `None`, and the record is left to
//! the crate. The tests compare numbers, GUIDs, binaries and file times with the crate's own
//! `BinXmlValue` rendering and strings with decoding every unit; SIDs are compared whole,
//! with every other value, by the chunk tests on the corpus.

use super::template::utf16_units;

/// A substitution value of a record: its type, its bytes and where they are in the chunk.
#[derive(Debug, Clone, Copy)]
pub(super) struct Value<'a> {
    pub(super) kind: u8,
    pub(super) bytes: &'a [u8],
    pub(super) at: usize,
}

/// Value types (MS-EVEN6 2.2.3.1.11).
pub(super) mod ty {
    pub(in crate::input::evtx) const NULL: u8 = 0x00;
    pub(in crate::input::evtx) const STRING: u8 = 0x01;
    pub(in crate::input::evtx) const ANSI_STRING: u8 = 0x02;
    pub(in crate::input::evtx) const INT8: u8 = 0x03;
    pub(in crate::input::evtx) const UINT8: u8 = 0x04;
    pub(in crate::input::evtx) const INT16: u8 = 0x05;
    pub(in crate::input::evtx) const UINT16: u8 = 0x06;
    pub(in crate::input::evtx) const INT32: u8 = 0x07;
    pub(in crate::input::evtx) const UINT32: u8 = 0x08;
    pub(in crate::input::evtx) const INT64: u8 = 0x09;
    pub(in crate::input::evtx) const UINT64: u8 = 0x0a;
    pub(in crate::input::evtx) const REAL32: u8 = 0x0b;
    pub(in crate::input::evtx) const REAL64: u8 = 0x0c;
    pub(in crate::input::evtx) const BOOL: u8 = 0x0d;
    pub(in crate::input::evtx) const BINARY: u8 = 0x0e;
    pub(in crate::input::evtx) const GUID: u8 = 0x0f;
    pub(in crate::input::evtx) const SIZE_T: u8 = 0x10;
    pub(in crate::input::evtx) const FILETIME: u8 = 0x11;
    pub(in crate::input::evtx) const SYSTEMTIME: u8 = 0x12;
    pub(in crate::input::evtx) const SID: u8 = 0x13;
    pub(in crate::input::evtx) const HEX_INT32: u8 = 0x14;
    pub(in crate::input::evtx) const HEX_INT64: u8 = 0x15;
    pub(in crate::input::evtx) const BIN_XML: u8 = 0x21;
    pub(in crate::input::evtx) const ARRAY: u8 = 0x80;
}

/// Whether text reaches the XML reader as it is: XML escaping round-trips, but the
/// renderer writes C0 controls (but tab, line feed and carriage return), U+FFFE and U+FFFF
/// as `_`.
pub(super) fn renders_as_is(text: &str) -> bool {
    // Byte by byte: in UTF-8 a C0 control is one byte below 0x20, and U+FFFE and U+FFFF are
    // EF BF BE and EF BF BF (EF starts a character wherever it stands).
    let b = text.as_bytes();
    !b.iter().enumerate().any(|(i, &x)| {
        (x < 0x20 && !matches!(x, b'\t' | b'\n' | b'\r'))
            || (x == 0xef
                && b.get(i + 1) == Some(&0xbf)
                && matches!(b.get(i + 2), Some(0xbe | 0xbf)))
    })
}

/// [`renders_as_is`] of one character.
fn char_renders_as_is(c: char) -> bool {
    !((c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || c == '\u{fffe}' || c == '\u{ffff}')
}

/// Appends `value` as the `evtx` crate writes it into XML text (and the XML reader reads
/// it back); `None` for a type or a value this module does not write.
pub(super) fn push_value(out: &mut String, value: Value<'_>) -> Option<()> {
    use std::fmt::Write as _;
    let b = value.bytes;
    let fixed = |n: usize| -> Option<&[u8]> { (b.len() == n).then_some(b) };
    match value.kind {
        ty::NULL => {}
        ty::STRING => {
            // Up to the first NUL, as the crate reads it; strict UTF-16. Most text is
            // printable ASCII: copied unit by unit until the first unit that is not.
            let ascii = b
                .chunks_exact(2)
                .take_while(|p| matches!(p, [0x20..=0x7e | b'\t' | b'\n' | b'\r', 0]))
                .count();
            out.extend(b.iter().step_by(2).take(ascii).map(|&x| char::from(x)));
            let rest = b.get(2 * ascii..).unwrap_or_default();
            let units = utf16_units(rest).take_while(|u| *u != 0);
            for c in char::decode_utf16(units) {
                let c = c.ok()?;
                if !char_renders_as_is(c) {
                    return None;
                }
                out.push(c);
            }
        }
        // Numbers written digit by digit: through `write!` they were a tenth of the
        // walk's time on a log of listed records.
        ty::INT8 => push_signed(out, i8::from_le_bytes(fixed(1)?.try_into().ok()?).into()),
        ty::UINT8 => push_digits(out, (*fixed(1)?.first()?).into(), 10),
        ty::INT16 => push_signed(out, i16::from_le_bytes(fixed(2)?.try_into().ok()?).into()),
        ty::UINT16 => push_digits(
            out,
            u16::from_le_bytes(fixed(2)?.try_into().ok()?).into(),
            10,
        ),
        ty::INT32 => push_signed(out, i32::from_le_bytes(fixed(4)?.try_into().ok()?).into()),
        ty::UINT32 => push_digits(
            out,
            u32::from_le_bytes(fixed(4)?.try_into().ok()?).into(),
            10,
        ),
        ty::INT64 => push_signed(out, i64::from_le_bytes(fixed(8)?.try_into().ok()?)),
        ty::UINT64 => push_digits(out, u64::from_le_bytes(fixed(8)?.try_into().ok()?), 10),
        ty::HEX_INT32 => {
            out.push_str("0x");
            push_digits(
                out,
                u32::from_le_bytes(fixed(4)?.try_into().ok()?).into(),
                16,
            );
        }
        ty::HEX_INT64 => {
            out.push_str("0x");
            push_digits(out, u64::from_le_bytes(fixed(8)?.try_into().ok()?), 16);
        }
        ty::BOOL => match i32::from_le_bytes(fixed(4)?.try_into().ok()?) {
            0 => out.push_str("false"),
            1 => out.push_str("true"),
            _ => return None,
        },
        ty::BINARY => {
            for byte in b {
                write!(out, "{byte:02X}").ok()?;
            }
        }
        ty::GUID => {
            let g = fixed(16)?;
            let at = |i: usize| g.get(i).copied().unwrap_or(0);
            write!(
                out,
                "{{{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-",
                at(3),
                at(2),
                at(1),
                at(0),
                at(5),
                at(4),
                at(7),
                at(6)
            )
            .ok()?;
            write!(out, "{:02x}{:02x}-", at(8), at(9)).ok()?;
            for i in 10..16 {
                write!(out, "{:02x}", at(i)).ok()?;
            }
            out.push('}');
        }
        ty::FILETIME => push_filetime(out, u64::from_le_bytes(fixed(8)?.try_into().ok()?))?,
        ty::SID => {
            // Revision, sub-authority count, 48-bit big-endian authority, 32-bit
            // little-endian sub-authorities: exactly as many as counted.
            let (&revision, &count) = (b.first()?, b.get(1)?);
            if b.len() != 8 + 4 * usize::from(count) {
                return None;
            }
            let mut authority = [0u8; 8];
            authority.get_mut(2..)?.copy_from_slice(b.get(2..8)?);
            out.push_str("S-");
            push_digits(out, revision.into(), 10);
            out.push('-');
            push_digits(out, u64::from_be_bytes(authority), 10);
            for sub in b.get(8..)?.chunks_exact(4) {
                out.push('-');
                push_digits(out, u32::from_le_bytes(sub.try_into().ok()?).into(), 10);
            }
        }
        _ => return None,
    }
    Some(())
}

/// Appends `n` in base `radix` (10 or 16: lowercase hex digits), as `{}` and `{:x}` write it.
fn push_digits(out: &mut String, mut n: u64, radix: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 20];
    let mut len = 0;
    for slot in buf.iter_mut().rev() {
        // A remainder below 16: a digit.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % radix) as usize;
        *slot = DIGITS.get(digit).copied().unwrap_or(b'0');
        len += 1;
        n /= radix;
        if n == 0 {
            break;
        }
    }
    let digits = buf.get(buf.len() - len..).unwrap_or_default();
    out.push_str(std::str::from_utf8(digits).unwrap_or_default());
}

/// Appends `n` in decimal, as `{}` writes it.
fn push_signed(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    push_digits(out, n.unsigned_abs(), 10);
}

/// A FILETIME as the crate writes it: `YYYY-MM-DDTHH:MM:SS.fffffffZ` (values past year
/// 9999 are left to the crate, which keeps their last four digits).
fn push_filetime(out: &mut String, ticks: u64) -> Option<()> {
    use std::fmt::Write as _;
    const TICKS_PER_SECOND: u64 = 10_000_000;
    const TICKS_PER_DAY: u64 = 86_400 * TICKS_PER_SECOND;
    let (days, rest) = (ticks / TICKS_PER_DAY, ticks % TICKS_PER_DAY);
    // Howard Hinnant's civil_from_days, counted from 0000-03-01 (584,694 days before
    // 1601-01-01) in eras of 400 years.
    let z = days.checked_add(584_694)?;
    let (era, doe) = (z / 146_097, z % 146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = era * 400 + yoe + u64::from(month <= 2);
    if year > 9999 {
        return None;
    }
    let seconds = rest / TICKS_PER_SECOND;
    write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:07}Z",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60,
        rest % TICKS_PER_SECOND
    )
    .ok()
}

/// Whether the `evtx` crate reads a value of type `kind` stored in `bytes` as it is (the
/// sizes its deserialiser expects; anything else is left to it).
pub(super) fn value_reads(kind: u8, bytes: &[u8]) -> bool {
    let len = bytes.len();
    match SIZES.get(usize::from(kind)) {
        Some(Size::Any) => true,
        Some(Size::Exactly(n)) => len == usize::from(*n),
        Some(Size::Whole(n)) => len.is_multiple_of(usize::from(*n)),
        Some(Size::Sid) => sid_reads(bytes),
        Some(Size::SizeT) => len == 4 || len == 8,
        Some(Size::Never) | None => false,
    }
}

/// The sizes the `evtx` crate reads a value of one type in.
#[derive(Clone, Copy)]
enum Size {
    Any,
    Never,
    Exactly(u8),
    /// Whole values of this size: an array (or UTF-16 text).
    Whole(u8),
    Sid,
    SizeT,
}

/// [`Size`] by type code: looked up for every value of every record walked.
const SIZES: [Size; 256] = sizes();

// Type codes are below 256: each index is in the table.
#[allow(clippy::indexing_slicing)]
const fn sizes() -> [Size; 256] {
    let mut table = [Size::Never; 256];
    // Null, binary, nested BinXML, ANSI text: any size (not as arrays).
    table[ty::NULL as usize] = Size::Any;
    table[ty::BINARY as usize] = Size::Any;
    table[ty::BIN_XML as usize] = Size::Any;
    table[ty::ANSI_STRING as usize] = Size::Any;
    // UTF-16 text, and arrays of it.
    table[ty::STRING as usize] = Size::Whole(2);
    table[(ty::ARRAY | ty::STRING) as usize] = Size::Whole(2);
    table[ty::SID as usize] = Size::Sid;
    table[ty::SIZE_T as usize] = Size::SizeT;
    // One value of its size, or an array of whole ones.
    let fixed = [
        (ty::INT8, 1),
        (ty::UINT8, 1),
        (ty::INT16, 2),
        (ty::UINT16, 2),
        (ty::INT32, 4),
        (ty::UINT32, 4),
        (ty::REAL32, 4),
        (ty::BOOL, 4),
        (ty::HEX_INT32, 4),
        (ty::INT64, 8),
        (ty::UINT64, 8),
        (ty::REAL64, 8),
        (ty::FILETIME, 8),
        (ty::HEX_INT64, 8),
        (ty::GUID, 16),
        (ty::SYSTEMTIME, 16),
    ];
    let mut i = 0;
    while i < fixed.len() {
        let (kind, size) = fixed[i];
        table[kind as usize] = Size::Exactly(size);
        table[(kind | ty::ARRAY) as usize] = Size::Whole(size);
        i += 1;
    }
    table
}

/// A SID: revision, sub-authority count, 6-byte authority, 4 bytes per sub-authority.
fn sid_reads(bytes: &[u8]) -> bool {
    bytes
        .get(1)
        .is_some_and(|n| bytes.len() == 8 + 4 * usize::from(*n))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    //! Each value as the crate's renderer writes it, for values of every type written here.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use evtx::binxml::value_variant::BinXmlValue;
    use proptest::prelude::*;

    proptest! {
        /// Strings are written as decoding every unit writes them, whatever ASCII they start
        /// with and whatever follows it.
        #[test]
        fn strings_are_written_as_decoded(
            text in "[ -~\t\n\r\x00\x01\u{7f}é\u{fffe}\u{10000}\u{0421}\u{0627}\u{4e41}\u{2020}\u{0141}]{0,12}",
            odd in any::<bool>(),
        ) {
            let mut bytes: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
            if odd {
                bytes.push(b'x');
            }
            let units = utf16_units(&bytes).take_while(|u| *u != 0);
            let reference: Option<String> = char::decode_utf16(units)
                .map(|c| c.ok().filter(|c| char_renders_as_is(*c)))
                .collect();
            prop_assert_eq!(ours(ty::STRING, &bytes), reference);
        }

        /// The byte-wise check is the character-wise one.
        #[test]
        fn renders_as_is_reads_bytes_as_characters(
            text in "[\\x00-\\x21a\u{7f}-\u{a0}\u{fffd}-\u{ffff}\u{10000}é\u{efbf}]{0,8}",
        ) {
            prop_assert_eq!(renders_as_is(&text), text.chars().all(char_renders_as_is));
        }
    }

    fn ours(kind: u8, bytes: &[u8]) -> Option<String> {
        let mut s = String::new();
        push_value(&mut s, Value { kind, bytes, at: 0 }).map(|()| s)
    }

    /// Each integer type read from `v`'s bytes is written as the crate writes it.
    fn numbers_written_as_the_crate_writes(v: u64) -> Result<(), TestCaseError> {
        let b = v.to_le_bytes();
        let cases: [(u8, &[u8], BinXmlValue<'_>); 10] = [
            (ty::INT8, &b[..1], BinXmlValue::Int8Type(b[0] as i8)),
            (ty::UINT8, &b[..1], BinXmlValue::UInt8Type(b[0])),
            (ty::INT16, &b[..2], BinXmlValue::Int16Type(v as u16 as i16)),
            (ty::UINT16, &b[..2], BinXmlValue::UInt16Type(v as u16)),
            (ty::INT32, &b[..4], BinXmlValue::Int32Type(v as u32 as i32)),
            (ty::UINT32, &b[..4], BinXmlValue::UInt32Type(v as u32)),
            (ty::INT64, &b, BinXmlValue::Int64Type(v as i64)),
            (ty::UINT64, &b, BinXmlValue::UInt64Type(v)),
            (ty::HEX_INT32, &b[..4], BinXmlValue::HexInt32Type(v as u32)),
            (ty::HEX_INT64, &b, BinXmlValue::HexInt64Type(v)),
        ];
        for (kind, bytes, theirs) in cases {
            prop_assert_eq!(
                ours(kind, bytes),
                Some(theirs.to_string()),
                "type {:#x}",
                kind
            );
        }
        Ok(())
    }

    /// The edges of every width: zero, one digit and two, the largest and smallest.
    #[test]
    fn number_edges_are_written_as_the_crate_writes_them() {
        let edges = [0u64, 1, 9, 10, 15, 16, 99, 100, 255, 256];
        let widths = [
            u64::from(u8::MAX),
            u64::from(u16::MAX),
            u64::from(u32::MAX),
            u64::MAX,
        ];
        let halves = widths.map(|w| w / 2 + 1);
        for v in edges.into_iter().chain(widths).chain(halves) {
            numbers_written_as_the_crate_writes(v).unwrap();
        }
    }

    proptest! {
        #[test]
        fn numbers_are_written_as_the_crate_writes_them(v in any::<u64>()) {
            numbers_written_as_the_crate_writes(v)?;
        }

        #[test]
        fn guids_and_binaries_are_written_as_the_crate_writes_them(
            guid in any::<[u8; 16]>(),
            binary in proptest::collection::vec(any::<u8>(), 0..40),
        ) {
            prop_assert_eq!(ours(ty::GUID, &guid), Some(BinXmlValue::GuidType(guid).to_string()));
            prop_assert_eq!(
                ours(ty::BINARY, &binary),
                Some(BinXmlValue::BinaryType(&binary).to_string())
            );
        }

        #[test]
        fn file_times_are_written_as_the_crate_writes_them(t in 0u64..2_650_467_743_999_999_999) {
            let theirs = BinXmlValue::FileTimeType(evtx::binxml::value_variant::FileTime(t));
            prop_assert_eq!(ours(ty::FILETIME, &t.to_le_bytes()), Some(theirs.to_string()));
        }
    }

    /// SIDs (the crate's own type cannot be made outside it; the corpus's are compared whole
    /// by the chunk tests).
    #[test]
    fn sids_are_written_in_their_string_form() {
        let mut sid = vec![1u8, 5, 0, 0, 0, 0, 0, 5];
        for sub in [21u32, 3_623_811_015, 3_361_044_348, 30_300_820, 500] {
            sid.extend_from_slice(&sub.to_le_bytes());
        }
        assert_eq!(
            ours(ty::SID, &sid).as_deref(),
            Some("S-1-5-21-3623811015-3361044348-30300820-500")
        );
        assert_eq!(
            ours(ty::SID, &[1, 0, 0, 0, 0, 0, 0, 0]).as_deref(),
            Some("S-1-0")
        );
        // A count that does not match the bytes: left to the crate.
        assert_eq!(ours(ty::SID, &sid[..20]), None);
    }

    #[test]
    fn text_the_rendering_would_change_is_left_to_it() {
        let utf16 = |s: &str| {
            s.encode_utf16()
                .flat_map(u16::to_le_bytes)
                .collect::<Vec<u8>>()
        };
        assert_eq!(
            ours(ty::STRING, &utf16("a<b>&'\"\tc\n")).as_deref(),
            Some("a<b>&'\"\tc\n")
        );
        assert_eq!(
            ours(ty::STRING, &utf16("up to\0 the NUL")).as_deref(),
            Some("up to")
        );
        assert_eq!(
            ours(ty::STRING, &utf16("a\r\nb")).as_deref(),
            Some("a\r\nb")
        );
        assert_eq!(ours(ty::STRING, &utf16("a\u{1}b")), None);
        assert_eq!(ours(ty::STRING, &[0x00, 0xd8]), None, "unpaired surrogate");
        assert_eq!(ours(0x0b, &[0; 4]), None, "floats are not written here");
    }
}
