//! The double-byte code pages of Japanese, Chinese and Korean consoles (cmd's `>` writes
//! the OEM code page: cp932, cp936, cp949, cp950) and how likely it is that a text's bytes
//! are in each.
//!
//! These code pages accept much of each other's bytes without an error: GBK reads Korean
//! text as Han characters, Big5 reads GBK text as Han characters, GBK reads Shift-JIS
//! kana as rare ideographs. What tells them apart is *which* characters a reading
//! yields. Each code page lays its characters out in blocks by how common they are
//! (GB2312's level-1 hanzi are the 3,755 most used, Big5's level 1 the 5,401 most used,
//! KS X 1001's 2,350 hangul syllables nearly all Korean text, JIS X 0208's level-1 kanji
//! and the kana nearly all Japanese), so the block a byte pair falls in says how likely it
//! is: a reading made of common characters is the right one, a reading made of
//! extension blocks, user-defined areas, half-width katakana and invalid pairs is a wrong
//! one. Latin text taken for one of them shows as short runs glued to ASCII letters
//! (`Gr` + `öß` + `e`), which costs too.

use encoding_rs::{BIG5, EUC_KR, Encoding, GBK, SHIFT_JIS};

use crate::input::report::TextEncoding;

/// How common the character a byte pair (or a lone byte) stands for is in its code page's
/// language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Everyday characters: level-1 ideographs, kana, hangul, the punctuation in use.
    Common,
    /// Level-2 ideographs, hanja, symbols, other scripts' letters.
    Uncommon,
    /// Extension blocks and half-width katakana: seldom in real text.
    Rare,
    /// Not a character of the code page, or a user-defined one.
    Invalid,
}

impl Kind {
    fn weight(self) -> i64 {
        match self {
            Kind::Common => 4,
            Kind::Uncommon => 1,
            Kind::Rare => -4,
            Kind::Invalid => -16,
        }
    }
}

/// One double-byte code page: how its bytes pair and what each pair is.
#[derive(Debug)]
pub(super) struct CodePage {
    pub(super) encoding: TextEncoding,
    pub(super) codec: &'static Encoding,
    lead: fn(u8) -> bool,
    trail: fn(u8) -> bool,
    /// A byte of 0x80 and above that stands alone, and what it is.
    single: fn(u8) -> Option<Kind>,
    pair: fn(u8, u8) -> Kind,
}

/// The candidates, in the order that breaks a tie.
pub(super) const CODE_PAGES: [CodePage; 4] = [
    CodePage {
        encoding: TextEncoding::Cp932,
        codec: SHIFT_JIS,
        lead: |b| matches!(b, 0x81..=0x9F | 0xE0..=0xFC),
        trail: |b| matches!(b, 0x40..=0x7E | 0x80..=0xFC),
        single: |b| matches!(b, 0xA1..=0xDF).then_some(Kind::Rare),
        pair: shift_jis,
    },
    CodePage {
        encoding: TextEncoding::Cp949,
        codec: EUC_KR,
        lead: |b| matches!(b, 0x81..=0xFE),
        trail: |b| matches!(b, 0x41..=0x5A | 0x61..=0x7A | 0x81..=0xFE),
        single: |_| None,
        pair: unified_hangul,
    },
    CodePage {
        encoding: TextEncoding::Cp936,
        codec: GBK,
        lead: |b| matches!(b, 0x81..=0xFE),
        trail: |b| matches!(b, 0x40..=0x7E | 0x80..=0xFE),
        // GBK's lone 0x80 is the euro sign.
        single: |b| (b == 0x80).then_some(Kind::Uncommon),
        pair: gbk,
    },
    CodePage {
        encoding: TextEncoding::Cp950,
        codec: BIG5,
        lead: |b| matches!(b, 0x81..=0xFE),
        trail: |b| matches!(b, 0x40..=0x7E | 0xA1..=0xFE),
        single: |_| None,
        pair: big5,
    },
];

/// Shift-JIS (cp932): JIS X 0208 rows as Microsoft's table lays them out.
fn shift_jis(lead: u8, trail: u8) -> Kind {
    match lead {
        // Punctuation, full-width digits and letters, hiragana, katakana.
        0x81 | 0x82 => Kind::Common,
        0x83 if trail <= 0x96 => Kind::Common,
        // Greek, Cyrillic, box drawing, NEC's circled numbers and units.
        0x83 | 0x84 | 0x87 => Kind::Uncommon,
        // Level-1 kanji: 0x889F to 0x9872.
        0x88 if trail >= 0x9F => Kind::Common,
        0x89..=0x97 => Kind::Common,
        0x98 if trail <= 0x72 => Kind::Common,
        // Level-2 kanji: 0x989F to 0xEAA4.
        0x98 if trail >= 0x9F => Kind::Uncommon,
        0x99..=0x9F | 0xE0..=0xEA => Kind::Uncommon,
        // NEC-selected and IBM extensions.
        0xED | 0xEE | 0xFA..=0xFC => Kind::Rare,
        // Empty rows and the user-defined area (0xF0–0xF9).
        _ => Kind::Invalid,
    }
}

/// Unified Hangul Code (cp949): KS X 1001 in its EUC rows, and Microsoft's extension of
/// the other 8,822 hangul syllables below and beside them.
fn unified_hangul(lead: u8, trail: u8) -> Kind {
    if trail < 0xA1 {
        // The extension's syllables, each a rare one (the common 2,350 are in KS X 1001).
        return if lead <= 0xC6 {
            Kind::Rare
        } else {
            Kind::Invalid
        };
    }
    match lead {
        // Punctuation and full-width ASCII.
        0xA1 | 0xA3 => Kind::Common,
        // Other symbols, jamo, kana, Greek, Cyrillic.
        0xA2 | 0xA4..=0xAC => Kind::Uncommon,
        // The 2,350 hangul syllables of KS X 1001.
        0xB0..=0xC8 => Kind::Common,
        // Hanja: seldom in today's Korean.
        0xCA..=0xFD => Kind::Uncommon,
        // Empty rows and the user-defined rows 0xC9 and 0xFE.
        _ => Kind::Invalid,
    }
}

/// GBK (cp936): GB2312 in its EUC rows, GBK's extensions around them.
fn gbk(lead: u8, trail: u8) -> Kind {
    if trail < 0xA1 || lead < 0xA1 {
        // GBK/3, GBK/4, GBK/5: traditional and rare hanzi, a few symbols.
        return Kind::Rare;
    }
    match lead {
        // Punctuation and full-width ASCII.
        0xA1 | 0xA3 => Kind::Common,
        // Numbers, kana, Greek, Cyrillic, pinyin, box drawing.
        0xA2 | 0xA4..=0xA9 => Kind::Uncommon,
        // Level-1 hanzi, the 3,755 most used.
        0xB0..=0xD7 => Kind::Common,
        // Level-2 hanzi.
        0xD8..=0xF7 => Kind::Uncommon,
        // User-defined rows.
        _ => Kind::Invalid,
    }
}

/// Big5 (cp950): the level-1 hanzi from 0xA440 to 0xC67E, level 2 from 0xC940.
fn big5(lead: u8, trail: u8) -> Kind {
    match lead {
        // Punctuation.
        0xA1 => Kind::Common,
        // Symbols, Greek, bopomofo.
        0xA2 | 0xA3 => Kind::Uncommon,
        // Level-1 hanzi, the 5,401 most used.
        0xA4..=0xC5 => Kind::Common,
        0xC6 if trail <= 0x7E => Kind::Common,
        // Level-2 hanzi.
        0xC9..=0xF9 => Kind::Uncommon,
        // Rows 0xC6A1–0xC8FE (kana, Cyrillic in the ETEN extensions) and the
        // user-defined and Hong Kong rows.
        _ => Kind::Rare,
    }
}

/// What reading `bytes` in one code page gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Reading {
    /// Characters of 0x80 and above.
    pub(super) chars: u64,
    /// The sum of their weights: 4 a common character, down to −16 an invalid byte.
    pub(super) score: i64,
    /// Characters of the common blocks.
    common: u64,
}

impl Reading {
    /// Enough characters, most of them common ones: the text reads as this code page's
    /// language. (Real Japanese, Chinese and Korean exports score 3 and more a character;
    /// Latin and Cyrillic text read this way score below 1.)
    pub(super) fn reads_well(self) -> bool {
        self.chars >= 4 && self.score >= 2 * i64::try_from(self.chars).unwrap_or(i64::MAX)
    }

    /// Nine characters in ten common: for cp949, hangul text. Korean text reads as GBK's
    /// level-1 hanzi just as well (both code pages lay out their common characters in the
    /// same EUC rows), but Chinese text never reads as hangul this much: its most used
    /// characters fall on cp949's hanja rows (是, 在, 中, 一, 有 …) and on the user-defined
    /// row 0xC9 (上, 生).
    pub(super) fn mostly_common(self) -> bool {
        self.chars >= 16 && self.common * 10 >= self.chars * 9
    }
}

/// Reads `bytes` as `page`, character by character, scoring each.
///
/// A run of one or two characters with an ASCII letter before or after it costs 8 a
/// character: that is how Latin accents read in a double-byte code page (cp850's
/// "événement" is Shift-JIS "ＷＯement", "Größe" is "Gr" + a kanji + "e"), while the
/// runs of real Japanese, Chinese and Korean text are longer or stand apart from ASCII
/// words (`TLS サーバー`, `RDP连接`; a Korean particle after an ASCII word, `RDP를`, costs,
/// but such particles are a small share of a text).
pub(super) fn read(page: &CodePage, bytes: &[u8]) -> Reading {
    let mut reading = Reading {
        chars: 0,
        score: 0,
        common: 0,
    };
    // The current run of non-ASCII characters: its length and whether a letter precedes it.
    let (mut run, mut letter_before_run, mut after_letter) = (0i64, false, false);
    let mut i = 0;
    loop {
        let Some(&b) = bytes.get(i) else {
            reading.score -= glued_run_cost(run, letter_before_run, false);
            break;
        };
        if b.is_ascii() {
            reading.score -= glued_run_cost(run, letter_before_run, b.is_ascii_alphabetic());
            run = 0;
            after_letter = b.is_ascii_alphabetic();
            i += 1;
            continue;
        }
        if run == 0 {
            letter_before_run = after_letter;
        }
        let next = bytes.get(i + 1).copied();
        let (kind, len) = match next {
            Some(t) if (page.lead)(b) && (page.trail)(t) => ((page.pair)(b, t), 2),
            _ => ((page.single)(b).unwrap_or(Kind::Invalid), 1),
        };
        i += len;
        run += 1;
        reading.chars += 1;
        reading.common += u64::from(kind == Kind::Common);
        reading.score += kind.weight();
    }
    reading
}

fn glued_run_cost(run: i64, letter_before: bool, letter_after: bool) -> i64 {
    if (1..=2).contains(&run) && (letter_before || letter_after) {
        8 * run
    } else {
        0
    }
}
