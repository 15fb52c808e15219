//! Bytes of a text export → text. Exports arrive as UTF-8 with or without a BOM, UTF-16LE
//! with a BOM (Windows PowerShell 5.1's `>`), cmd's OEM code page (cp437 in the US, cp850 in
//! Western Europe: `wevtutil … > out.txt` in cmd writes "SERVICE RÉSEAU" as `90` for É;
//! cp932, cp936, cp949 and cp950 on Japanese, Chinese, Korean and Taiwanese Windows; cp866
//! in Cyrillic locales, cp852 in Central European ones, cp857 in Turkish), or the ANSI code
//! page (Windows-1252, -1251, -1250, -1254). A file carries no label, so the encoding is
//! recognised from the bytes.

mod double_byte;

use encoding_rs::{
    CoderResult, DecoderResult, Encoding, IBM866, UTF_16BE, UTF_16LE, WINDOWS_1250, WINDOWS_1251,
    WINDOWS_1252, WINDOWS_1254,
};

use super::labels;
use super::report::TextEncoding;

/// Text decoded from an export, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedText {
    pub text: String,
    pub encoding: TextEncoding,
    /// Bytes (or UTF-16 units) that were invalid and became U+FFFD.
    pub replaced: u64,
    /// Byte offset of the first invalid byte, when known.
    pub first_bad_byte: Option<u64>,
}

/// Decodes `bytes`, recognising the encoding from a BOM or from the bytes themselves.
pub fn decode_text(bytes: &[u8]) -> DecodedText {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return utf8(rest, TextEncoding::Utf8Bom, 3);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, false, TextEncoding::Utf16Le, 2);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, true, TextEncoding::Utf16Be, 2);
    }
    match utf16_without_bom(bytes) {
        Some(false) => return utf16(bytes, false, TextEncoding::Utf16LeNoBom, 0),
        Some(true) => return utf16(bytes, true, TextEncoding::Utf16Be, 0),
        None => {}
    }
    let counts = utf8_counts(bytes);
    if counts.mostly_valid() {
        return utf8(bytes, TextEncoding::Utf8, 0);
    }
    let decoded = code_page(bytes);
    // UTF-8 with a few stray bytes beside fewer accented letters ("SRV-CAFÉ" and two bytes
    // of another tool's output) reads as a Latin code page only by turning each letter
    // into two ("SRV-CAFÃ‰"), silently: Latin characters that are valid UTF-8 are
    // strong evidence, as a Latin code page's accents make one only by chance (an
    // upper-case accented letter before a sign). A double-byte reading that reads well,
    // or Cyrillic letters (cp866 makes valid sequences of other scripts), still win.
    let latin_code_page = matches!(
        decoded.encoding,
        TextEncoding::Cp437 | TextEncoding::Cp850 | TextEncoding::Windows1252
    );
    if latin_code_page && counts.latin * 4 >= counts.invalid {
        return utf8(bytes, TextEncoding::Utf8, 0);
    }
    decoded
}

/// [`decode_text`] of bytes it reads as UTF-8 without a BOM, when they are all valid: the
/// bytes become the text where they lie. Anything else comes back, to be decoded.
pub fn decode_plain_utf8(bytes: Vec<u8>) -> Result<DecodedText, Vec<u8>> {
    let plain = !bytes.starts_with(b"\xEF\xBB\xBF")
        && !bytes.starts_with(b"\xFF\xFE")
        && !bytes.starts_with(b"\xFE\xFF")
        && utf16_without_bom(&bytes).is_none()
        && mostly_utf8(&bytes);
    if !plain {
        return Err(bytes);
    }
    String::from_utf8(bytes)
        .map(|text| DecodedText {
            text,
            encoding: TextEncoding::Utf8,
            replaced: 0,
            first_bad_byte: None,
        })
        .map_err(std::string::FromUtf8Error::into_bytes)
}

fn utf8(bytes: &[u8], encoding: TextEncoding, offset: u64) -> DecodedText {
    match std::str::from_utf8(bytes) {
        Ok(s) => DecodedText {
            text: s.to_owned(),
            encoding,
            replaced: 0,
            first_bad_byte: None,
        },
        Err(e) => {
            let text = String::from_utf8_lossy(bytes).into_owned();
            let replaced = text
                .chars()
                .filter(|c| *c == char::REPLACEMENT_CHARACTER)
                .count();
            DecodedText {
                text,
                encoding,
                replaced: replaced as u64,
                first_bad_byte: Some(offset + e.valid_up_to() as u64),
            }
        }
    }
}

/// `bytes` (which start at byte `offset` of the input) decoded as UTF-16.
fn utf16(bytes: &[u8], big_endian: bool, encoding: TextEncoding, offset: u64) -> DecodedText {
    with_codec(
        bytes,
        if big_endian { UTF_16BE } else { UTF_16LE },
        encoding,
        offset,
    )
}

/// `bytes` (which start at byte `offset` of the input) decoded by `codec` (no BOM looked
/// for), each invalid sequence a U+FFFD.
fn with_codec(
    bytes: &[u8],
    codec: &'static Encoding,
    encoding: TextEncoding,
    offset: u64,
) -> DecodedText {
    let (text, had_errors) = decode_exact(bytes, codec);
    let replaced = if had_errors {
        text.chars()
            .filter(|c| *c == char::REPLACEMENT_CHARACTER)
            .count() as u64
    } else {
        0
    };
    DecodedText {
        text,
        encoding,
        replaced,
        first_bad_byte: had_errors
            .then(|| first_malformed(bytes, codec))
            .flatten()
            .map(|at| offset + at),
    }
}

/// `bytes` decoded by `codec` (each invalid sequence a U+FFFD), and whether any was invalid:
/// what `decode_without_bom_handling` gives, in a string of just the text's length. That
/// reserves for the longest text the bytes could make (for UTF-16 or Shift-JIS the next
/// power of two above one and a half times their length), which giving back costs a copy
/// while the bytes are still held; here the text is measured first, into a small buffer,
/// then decoded again where it stays.
fn decode_exact(bytes: &[u8], codec: &'static Encoding) -> (String, bool) {
    // Each pass decodes into `scratch` and hands each piece to `put`; the decoder writes
    // whole characters only, so every piece is text.
    let pass = |put: &mut dyn FnMut(&str)| {
        let mut decoder = codec.new_decoder_without_bom_handling();
        let mut scratch = [0u8; 16 * 1024];
        let (mut consumed, mut had_errors) = (0usize, false);
        loop {
            let rest = bytes.get(consumed..).unwrap_or_default();
            let (result, read, written, errors) = decoder.decode_to_utf8(rest, &mut scratch, true);
            (consumed, had_errors) = (consumed + read, had_errors || errors);
            put(&String::from_utf8_lossy(
                scratch.get(..written).unwrap_or_default(),
            ));
            if result == CoderResult::InputEmpty {
                return had_errors;
            }
        }
    };
    let mut len = 0usize;
    pass(&mut |piece| len += piece.len());
    let mut text = String::with_capacity(len);
    let had_errors = pass(&mut |piece| text.push_str(piece));
    (text, had_errors)
}

/// Where the first bytes `codec` cannot decode start in `bytes`: what a report points at (a
/// paste cut after the first byte of a character, another tool's bytes inside).
fn first_malformed(bytes: &[u8], codec: &'static Encoding) -> Option<u64> {
    let mut decoder = codec.new_decoder_without_bom_handling();
    let mut scratch = [0u8; 4096];
    let mut consumed = 0usize;
    loop {
        let rest = bytes.get(consumed..)?;
        let (result, read, _) =
            decoder.decode_to_utf8_without_replacement(rest, &mut scratch, true);
        match result {
            DecoderResult::InputEmpty => return None,
            // Every character fits in the scratch: something was read.
            DecoderResult::OutputFull if read > 0 => consumed += read,
            DecoderResult::OutputFull => return None,
            // The malformed bytes, then `extra` bytes read after them.
            DecoderResult::Malformed(bad, extra) => {
                let end = consumed + read;
                let start = end.checked_sub(usize::from(bad) + usize::from(extra))?;
                return u64::try_from(start).ok();
            }
        }
    }
}

/// UTF-16 without a BOM shows as ASCII with a zero byte beside every character: `Some(false)`
/// for little-endian (zeros at odd offsets), `Some(true)` for big-endian.
fn utf16_without_bom(bytes: &[u8]) -> Option<bool> {
    let sample = bytes.get(..bytes.len().min(4096))?;
    if sample.len() < 8 {
        return None;
    }
    let pairs = sample.len() / 2;
    let (mut zero_even, mut zero_odd) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        if let [a, b] = pair {
            zero_even += usize::from(*a == 0);
            zero_odd += usize::from(*b == 0);
        }
    }
    if zero_odd * 10 > pairs * 4 && zero_even * 10 < pairs {
        Some(false)
    } else if zero_even * 10 > pairs * 4 && zero_odd * 10 < pairs {
        Some(true)
    } else {
        None
    }
}

/// Valid UTF-8, or UTF-8 with a few damaged bytes (a paste cut inside a character, two
/// outputs glued together), rather than a single-byte code page.
fn mostly_utf8(bytes: &[u8]) -> bool {
    utf8_counts(bytes).mostly_valid()
}

/// What reading bytes as UTF-8 finds: characters of two bytes and more (those that are
/// Latin letters or punctuation apart), and invalid bytes.
#[derive(Debug, Default)]
struct Utf8Counts {
    multibyte: usize,
    latin: usize,
    invalid: usize,
}

impl Utf8Counts {
    /// No invalid byte, or no more than the characters of several bytes.
    fn mostly_valid(&self) -> bool {
        self.invalid == 0 || self.multibyte >= self.invalid
    }

    fn add(&mut self, valid: &str) {
        for c in valid.chars().filter(|c| !c.is_ascii()) {
            self.multibyte += 1;
            // Accented Latin letters, the Latin-1 signs, and ’ – … €: what a Latin export
            // holds beside ASCII.
            self.latin += usize::from(matches!(c, '\u{a0}'..='\u{24f}' | '\u{2000}'..='\u{20cf}'));
        }
    }
}

fn utf8_counts(bytes: &[u8]) -> Utf8Counts {
    let mut counts = Utf8Counts::default();
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                counts.add(s);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                counts.add(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    // Cut inside a character at the very end: still UTF-8.
                    None => break,
                    Some(n) => {
                        counts.invalid += n;
                        rest = after.get(n..).unwrap_or_default();
                    }
                }
            }
        }
    }
    counts
}

/// Picks the code page `bytes` read best in. A double-byte code page whose reading is
/// mostly common characters (`double_byte`) is a candidate beside the best single-byte
/// one; the known field labels (`ソース`, `来源`, `Источник` …) each reading shows decide
/// between them, and where they show none or as many, a double-byte reading that reads
/// well wins: Latin and Cyrillic text never reads well as one.
fn code_page(bytes: &[u8]) -> DecodedText {
    let window = scored_window(bytes);
    let (single, single_table, single_labels) = single_byte(window, sample(bytes));
    let mut best: Option<(&double_byte::CodePage, (usize, bool, i64))> = None;
    for page in &double_byte::CODE_PAGES {
        let reading = double_byte::read(page, window);
        if !reading.reads_well() {
            continue;
        }
        let shown = labels_shown(&page.codec.decode_without_bom_handling(sample(bytes)).0);
        let hangul = page.encoding == TextEncoding::Cp949 && reading.mostly_common();
        let rank = (shown, hangul, reading.score);
        if shown >= single_labels && best.is_none_or(|(_, other)| rank > other) {
            best = Some((page, rank));
        }
    }
    let Some((page, _)) = best else {
        return DecodedText {
            text: decode_table(bytes, &single_table),
            encoding: single,
            replaced: 0,
            first_bad_byte: None,
        };
    };
    with_codec(bytes, page.codec, page.encoding, 0)
}

/// The part of `bytes` the code pages are scored on: 4 MiB of lines from the first line
/// with a byte of 0x80 or above (the first text that tells code pages apart), whole lines
/// so that no character is cut. A file's encoding does not change along it, and scoring
/// all of a 256 MiB export nine times over would cost seconds for nothing.
fn scored_window(bytes: &[u8]) -> &[u8] {
    const WINDOW: usize = 4 << 20;
    let Some(first) = bytes.iter().position(|b| !b.is_ascii()) else {
        return bytes;
    };
    let before = bytes.get(..first).unwrap_or_default();
    let start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |n| n + 1);
    whole_lines(bytes.get(start..).unwrap_or_default(), WINDOW)
}

/// The start of `bytes` the labels are looked for in: up to 64 KiB, cut after a line
/// feed (never inside a character: no code page here uses 0x0A in a character).
fn sample(bytes: &[u8]) -> &[u8] {
    whole_lines(bytes, 64 * 1024)
}

/// At most `limit` bytes of the start of `bytes`, cut after a line feed when cut.
fn whole_lines(bytes: &[u8], limit: usize) -> &[u8] {
    if bytes.len() <= limit {
        return bytes;
    }
    let head = bytes.get(..limit).unwrap_or(bytes);
    match head.iter().rposition(|b| *b == b'\n') {
        Some(end) => head.get(..=end).unwrap_or(head),
        None => head,
    }
}

/// Lines of `text` that start with a field label the text readers know ("  ソース: …",
/// "Источник:  …"), and the known labels of a CSV header in its first line.
fn labels_shown(text: &str) -> usize {
    let known = |label: &str| {
        let label = label.trim().trim_matches('"');
        !label.is_ascii() && labels::field_for_label(label).is_some()
    };
    let mut shown = 0;
    for (n, line) in text.lines().take(2000).enumerate() {
        if let Some((label, _)) = line.split_once([':', '\u{ff1a}'])
            && known(label)
        {
            shown += 1;
        } else if n == 0 {
            shown += line.split([',', ';', '\t']).filter(|l| known(l)).count();
        }
    }
    shown
}

/// Picks among the OEM code pages and the ANSI code pages the one whose decoding reads as
/// words: accented letters beside letters of the same case score, box-drawing and control
/// characters cost, and so does a Cyrillic letter beside a Latin one. (cp850 turns the
/// ANSI "é" of "événement" into "Ú", an upper-case letter inside a lower-case word; ANSI
/// turns cp850's "É" into a control character; Windows-1251 turns it into "й" inside a
/// Latin word.) The known field labels each reading shows in `sample` decide first: the
/// Central European and Turkish code pages differ from cp850 and Windows-1252 mostly in
/// letters that read as words either way (cp852's "ł" is cp850's "ê", cp857's "ı" is "ì"),
/// but only the right one shows "Źródło" or "Kullanıcı". Scored without decoding the
/// window: only the winner's table is kept, with the labels it shows.
fn single_byte(bytes: &[u8], sample: &[u8]) -> (TextEncoding, [char; 128], usize) {
    let mut best: Option<((usize, i64), TextEncoding, [char; 128])> = None;
    let mut not_latin = None;
    for encoding in [
        TextEncoding::Cp850,
        TextEncoding::Windows1252,
        TextEncoding::Cp437,
        TextEncoding::Cp866,
        TextEncoding::Windows1251,
        // Turkish before Central European: Turkish text without a dotless ı can read as
        // cp852's Polish letters just as well ("oluçtu", "śç"), while Polish text read as
        // cp857 shows signs ("®", "¥", "½" for "ę", "ż", "ź").
        TextEncoding::Cp857,
        TextEncoding::Windows1254,
        TextEncoding::Cp852,
        TextEncoding::Windows1250,
    ] {
        let table = match encoding {
            TextEncoding::Cp850 => CP850,
            TextEncoding::Cp437 => CP437,
            TextEncoding::Cp852 => CP852,
            TextEncoding::Cp857 => CP857,
            TextEncoding::Cp866 => high_half(IBM866),
            TextEncoding::Windows1251 => high_half(WINDOWS_1251),
            TextEncoding::Windows1250 => high_half(WINDOWS_1250),
            TextEncoding::Windows1254 => high_half(WINDOWS_1254),
            _ => high_half(WINDOWS_1252),
        };
        // Only bytes of 0x80 and above differ between the code pages.
        let high = || {
            bytes
                .iter()
                .filter(|b| !b.is_ascii())
                .map(|&b| table_char(b, &table))
        };
        let cyrillic = matches!(encoding, TextEncoding::Cp866 | TextEncoding::Windows1251);
        if cyrillic && !reads_as_cyrillic(high()) {
            continue;
        }
        // Polish and Turkish accents stand as Latin ones do, alone or in pairs inside
        // words; text whose high bytes come in runs (Greek, Hebrew …) is read as cp850 or
        // Windows-1252 and said to be garbled rather than read as Polish letters.
        let central = matches!(
            encoding,
            TextEncoding::Cp852
                | TextEncoding::Windows1250
                | TextEncoding::Cp857
                | TextEncoding::Windows1254
        );
        if central && *not_latin.get_or_insert_with(|| looks_unsupported_code_page(bytes)) {
            continue;
        }
        let rank = (
            labels_shown(&decode_table(sample, &table)),
            wordlike_score(bytes, &table),
        );
        // Ties keep the earlier candidate: cp850 first (the default OEM code page of the
        // locales whose accented text matters here), then ANSI; the Central European and
        // Turkish ones last, taken on their labels or a better score only.
        if best.as_ref().is_none_or(|(r, _, _)| rank > *r) {
            best = Some((rank, encoding, table));
        }
    }
    best.map_or(
        (TextEncoding::Windows1252, high_half(WINDOWS_1252), 0),
        |((labels, _), e, t)| (e, t, labels),
    )
}

/// Whether the Cyrillic letters of a reading are mostly the ten most frequent in Russian,
/// Ukrainian, Bulgarian and Serbian text (о е а и н т с р в л: two letters in three there).
/// Greek text read as Windows-1251 is Cyrillic letters too, but other ones (α is б, ο is п,
/// no а at all), and Latin accents read as Cyrillic are few and scattered.
fn reads_as_cyrillic(chars: impl Iterator<Item = char>) -> bool {
    let (mut letters, mut frequent) = (0u64, 0u64);
    for c in chars.filter(|c| ('\u{400}'..='\u{4ff}').contains(c) && c.is_alphabetic()) {
        letters += 1;
        let lower = c.to_lowercase().next().unwrap_or(c);
        frequent += u64::from("оеаинтсрвл".contains(lower));
    }
    letters > 0 && frequent * 2 >= letters
}

/// The characters bytes 0x80–0xFF stand for in a single-byte encoding.
fn high_half(codec: &'static Encoding) -> [char; 128] {
    let mut table = [char::REPLACEMENT_CHARACTER; 128];
    for (slot, byte) in table.iter_mut().zip(0x80u8..=0xFF) {
        let one = [byte];
        let (text, _) = codec.decode_without_bom_handling(&one);
        *slot = text.chars().next().unwrap_or(char::REPLACEMENT_CHARACTER);
    }
    table
}

/// Whether bytes read as a Latin code page (cp437, cp850, Windows-1252) more likely belong
/// to one this reader does not decode (Greek, Hebrew, Arabic, Thai …), or to East Asian or
/// Cyrillic text too short or too damaged for [`decode_text`] to recognise. In the Latin
/// code pages an accented letter mostly stands alone between ASCII letters
/// ("Schl\u{fc}ssel", "SERVICE R\u{c9}SEAU"), or two stand together inside a word
/// (Portuguese "informa\u{e7}\u{f5}es", "execu\u{e7}\u{e3}o"); in those, bytes of 0x80
/// and above come in longer runs (whole words) or stand apart from ASCII words. The caller
/// says the text is garbled rather than leave a reader to wonder why nothing reads.
pub(crate) fn looks_unsupported_code_page(bytes: &[u8]) -> bool {
    let (mut high, mut latin) = (0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        let run = bytes
            .get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| !b.is_ascii())
            .count();
        if run == 0 {
            i += 1;
            continue;
        }
        high += run;
        let before = i.checked_sub(1).and_then(|p| bytes.get(p)).copied();
        let after = bytes.get(i + run).copied();
        let letter = |n: Option<u8>| n.is_some_and(|n| n.is_ascii_alphabetic());
        // A run starts after an ASCII byte (or the text's start) and ends before one.
        let latin_run = match run {
            1 => letter(before) || letter(after),
            2 => letter(before) && letter(after),
            _ => false,
        };
        if latin_run {
            latin += run;
        }
        i += run;
    }
    high >= 8 && latin * 2 < high
}

fn decode_table(bytes: &[u8], high: &[char; 128]) -> String {
    let mut text: String = bytes.iter().map(|&b| table_char(b, high)).collect();
    text.shrink_to_fit();
    text
}

fn table_char(b: u8, high: &[char; 128]) -> char {
    match b.checked_sub(0x80) {
        None => char::from(b),
        Some(i) => high
            .get(usize::from(i))
            .copied()
            .unwrap_or(char::REPLACEMENT_CHARACTER),
    }
}

/// How much `bytes` read in the code page `high` reads as words: each character of 0x80
/// and above with its neighbours (ASCII ones are the same in every code page here and
/// score nothing themselves), without decoding the text.
fn wordlike_score(bytes: &[u8], high: &[char; 128]) -> i64 {
    let char_at = |i: usize| bytes.get(i).map(|&b| table_char(b, high));
    let mut score = 0i64;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii() {
            continue;
        }
        let c = table_char(b, high);
        let before = i.checked_sub(1).and_then(char_at);
        let next = char_at(i + 1);
        // The typographic apostrophe inside a word (French "l’état", "d’exécution", "s’est"
        // in Windows-1252) is part of it; read so, no Latin code page's letter beats it.
        if matches!(c, '\u{2019}' | '\u{2018}')
            && before.is_some_and(char::is_alphabetic)
            && next.is_some_and(char::is_alphabetic)
        {
            score += 2;
            continue;
        }
        if !c.is_alphabetic() {
            score -= 2;
            continue;
        }
        // Signs Unicode counts as letters never stand between two letters in Western text
        // (the florin, the ordinals of "Nº", "1ª"): cp850's reading of Turkish "ş" and "ğ"
        // ("oluƒtu", "deºer"), where cp857's letters read as words.
        let letter = |n: Option<char>| n.is_some_and(char::is_alphabetic);
        if matches!(c, 'ƒ' | 'ª' | 'º') && letter(before) && letter(next) {
            score -= 2;
            continue;
        }
        // A Cyrillic letter beside a Latin one (or the other way round): a Latin accent
        // read in a Cyrillic code page, or Cyrillic text in a Latin one.
        let cyrillic = |n: char| ('\u{400}'..='\u{52f}').contains(&n);
        let mixed =
            |n: Option<char>| n.is_some_and(|n| n.is_alphabetic() && cyrillic(n) != cyrillic(c));
        if mixed(before) || mixed(next) {
            score -= 2;
            continue;
        }
        let same_case = |n: Option<char>| {
            n.is_some_and(|n| {
                n.is_alphabetic()
                    && (n.is_lowercase() == c.is_lowercase()
                        || n.is_uppercase() == c.is_uppercase())
            })
        };
        // A capital starting a word and the small letter after it ("İç", "Ńadal", "Şu")
        // read as a word too.
        let capital = c.is_uppercase()
            && !letter(before)
            && next.is_some_and(|n| n.is_alphabetic() && n.is_lowercase());
        let after_capital = c.is_lowercase() && before.is_some_and(char::is_uppercase);
        score += if same_case(before) || same_case(next) || capital || after_capital {
            2
        } else {
            1
        };
    }
    score
}

/// cp437 (OEM United States), bytes 0x80–0xFF.
const CP437: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', '¢', '£', '¥', '₧', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '⌐', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', '╡', '╢', '╖', '╕', '╣', '║', '╗', '╝', '╜', '╛', '┐', //
    '└', '┴', '┬', '├', '─', '┼', '╞', '╟', '╚', '╔', '╩', '╦', '╠', '═', '╬', '╧', //
    '╨', '╤', '╥', '╙', '╘', '╒', '╓', '╫', '╪', '┘', '┌', '█', '▄', '▌', '▐', '▀', //
    'α', 'ß', 'Γ', 'π', 'Σ', 'σ', 'µ', 'τ', 'Φ', 'Θ', 'Ω', 'δ', '∞', 'φ', 'ε', '∩', //
    '≡', '±', '≥', '≤', '⌠', '⌡', '÷', '≈', '°', '∙', '·', '√', 'ⁿ', '²', '■', '\u{a0}',
];

/// cp850 (OEM Multilingual Latin 1: French, German, Spanish … consoles), bytes 0x80–0xFF.
const CP850: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ì', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'ÿ', 'Ö', 'Ü', 'ø', '£', 'Ø', '×', 'ƒ', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'ª', 'º', '¿', '®', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'À', '©', '╣', '║', '╗', '╝', '¢', '¥', '┐', //
    '└', '┴', '┬', '├', '─', '┼', 'ã', 'Ã', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤', //
    'ð', 'Ð', 'Ê', 'Ë', 'È', 'ı', 'Í', 'Î', 'Ï', '┘', '┌', '█', '▄', '¦', 'Ì', '▀', //
    'Ó', 'ß', 'Ô', 'Ò', 'õ', 'Õ', 'µ', 'þ', 'Þ', 'Ú', 'Û', 'Ù', 'ý', 'Ý', '¯', '´', //
    '\u{ad}', '±', '‗', '¾', '¶', '§', '÷', '¸', '°', '¨', '·', '¹', '³', '²', '■', '\u{a0}',
];

/// cp852 (OEM Central European: Polish, Czech, Hungarian … consoles), bytes 0x80–0xFF.
const CP852: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'ů', 'ć', 'ç', 'ł', 'ë', 'Ő', 'ő', 'î', 'Ź', 'Ä', 'Ć', //
    'É', 'Ĺ', 'ĺ', 'ô', 'ö', 'Ľ', 'ľ', 'Ś', 'ś', 'Ö', 'Ü', 'Ť', 'ť', 'Ł', '×', 'č', //
    'á', 'í', 'ó', 'ú', 'Ą', 'ą', 'Ž', 'ž', 'Ę', 'ę', '¬', 'ź', 'Č', 'ş', '«', '»', //
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'Ě', 'Ş', '╣', '║', '╗', '╝', 'Ż', 'ż', '┐', //
    '└', '┴', '┬', '├', '─', '┼', 'Ă', 'ă', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤', //
    'đ', 'Đ', 'Ď', 'Ë', 'ď', 'Ň', 'Í', 'Î', 'ě', '┘', '┌', '█', '▄', 'Ţ', 'Ů', '▀', //
    'Ó', 'ß', 'Ô', 'Ń', 'ń', 'ň', 'Š', 'š', 'Ŕ', 'Ú', 'ŕ', 'Ű', 'ý', 'Ý', 'ţ', '´', //
    '\u{ad}', '˝', '˛', 'ˇ', '˘', '§', '÷', '¸', '°', '¨', '˙', 'ű', 'Ř', 'ř', '■', '\u{a0}',
];

/// cp857 (OEM Turkish), bytes 0x80–0xFF; 0xD5, 0xE7 and 0xF2 are not assigned.
const CP857: [char; 128] = [
    'Ç', 'ü', 'é', 'â', 'ä', 'à', 'å', 'ç', 'ê', 'ë', 'è', 'ï', 'î', 'ı', 'Ä', 'Å', //
    'É', 'æ', 'Æ', 'ô', 'ö', 'ò', 'û', 'ù', 'İ', 'Ö', 'Ü', 'ø', '£', 'Ø', 'Ş', 'ş', //
    'á', 'í', 'ó', 'ú', 'ñ', 'Ñ', 'Ğ', 'ğ', '¿', '®', '¬', '½', '¼', '¡', '«', '»', //
    '░', '▒', '▓', '│', '┤', 'Á', 'Â', 'À', '©', '╣', '║', '╗', '╝', '¢', '¥', '┐', //
    '└', '┴', '┬', '├', '─', '┼', 'ã', 'Ã', '╚', '╔', '╩', '╦', '╠', '═', '╬', '¤', //
    'º', 'ª', 'Ê', 'Ë', 'È', '\u{fffd}', 'Í', 'Î', 'Ï', '┘', '┌', '█', '▄', '¦', 'Ì', '▀', //
    'Ó', 'ß', 'Ô', 'Ò', 'õ', 'Õ', 'µ', '\u{fffd}', '×', 'Ú', 'Û', 'Ù', 'ì', 'ÿ', '¯', '´', //
    '\u{ad}', '±', '\u{fffd}', '¾', '¶', '§', '÷', '¸', '°', '¨', '·', '¹', '³', '²', '■',
    '\u{a0}',
];

#[cfg(test)]
mod tests;
