//! The decoder's tests: property tests of each code page against its text and of Latin
//! text never read as another script, and the cases real exports showed.

use super::*;

#[cfg(not(target_arch = "wasm32"))]
use proptest::prelude::*;

#[cfg(not(target_arch = "wasm32"))]
proptest! {
    /// Decoding into a string of the measured length gives what the crate's one-shot
    /// decoding gives, text and errors, for every code page read here.
    #[test]
    fn exact_decoding_is_the_crates_decoding(
        bytes in prop::collection::vec(any::<u8>(), 0..20_000),
        codec in prop::sample::select(vec![
            UTF_16LE, UTF_16BE, encoding_rs::SHIFT_JIS, encoding_rs::GBK,
            encoding_rs::EUC_KR, encoding_rs::BIG5, IBM866, WINDOWS_1250, WINDOWS_1252,
        ]),
    ) {
        let (want, errors) = codec.decode_without_bom_handling(&bytes);
        let (got, had_errors) = decode_exact(&bytes, codec);
        prop_assert_eq!(got.as_str(), &*want);
        prop_assert_eq!(had_errors, errors);
        prop_assert_eq!(got.capacity(), got.len());
    }

    /// Plain UTF-8 kept where it lies is what decoding a copy gives; anything else comes
    /// back whole.
    #[test]
    fn plain_utf8_in_place_is_decoding_a_copy(
        bytes in prop_oneof![
            "[ -~\t\r\né€\u{0}\u{feff}]{0,40}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..40),
        ],
    ) {
        let copied = decode_text(&bytes);
        match decode_plain_utf8(bytes.clone()) {
            Ok(in_place) => prop_assert_eq!(in_place, copied),
            Err(back) => {
                prop_assert_eq!(&back, &bytes);
                prop_assert!(
                    copied.encoding != TextEncoding::Utf8 || copied.replaced > 0
                );
            }
        }
    }
}

/// Common kanji of Windows' Japanese messages (all JIS X 0208 level 1).
#[cfg(not(target_arch = "wasm32"))]
const KANJI: &str = "資格情報作成中致命的発生内部状態説明日付名前記録接続失敗証明書秘密鍵\
    問題場合確認設定変更管理者権限実行開始停止起動完了要求応答時間更新削除登録使用可能\
    無効有効値読込書込指定見方法以上下新規構成要素種類値";

/// Words of French, German and Spanish Windows messages, accents adjacent in some.
#[cfg(not(target_arch = "wasm32"))]
const LATIN_WORDS: [&str; 24] = [
    "événement",
    "réseau",
    "échoué",
    "arrêté",
    "paramètres",
    "clé",
    "privée",
    "données",
    "réécrire",
    "Schlüssel",
    "Größe",
    "Übergröße",
    "übermäßig",
    "gemäß",
    "außerdem",
    "Schlüsselwörter",
    "Überprüfung",
    "información",
    "conexión",
    "descripción",
    "año",
    "SERVICE RÉSEAU",
    "naïve",
    "Noël",
];

#[cfg(not(target_arch = "wasm32"))]
proptest! {
    /// Japanese text, runs of kana and kanji between ASCII words and punctuation (with or
    /// without spaces), written in Shift-JIS, is recognised and decodes back exactly.
    /// (Runs of one or two characters glued to ASCII letters are how Latin accents read
    /// in Shift-JIS and cost: a text made mostly of those is not recognised.)
    #[test]
    fn shift_jis_text_decodes_back_exactly(
        tokens in prop::collection::vec(
            prop_oneof![
                "[ぁ-んァ-ヶー]{3,8}",
                prop::collection::vec(prop::sample::select(KANJI.chars().collect::<Vec<_>>()), 3..6)
                    .prop_map(|k| k.into_iter().collect::<String>()),
                "[A-Za-z0-9]{1,10}",
                "[ :.,()\\\\/\r\n-]{1,3}",
            ],
            8..60,
        ),
    ) {
        let text: String = tokens.concat();
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
        prop_assume!(!unmappable && text.chars().filter(|c| !c.is_ascii()).count() >= 8);
        let d = decode_text(&bytes);
        prop_assert_eq!(d.encoding, TextEncoding::Cp932);
        prop_assert_eq!(d.text, text);
        prop_assert_eq!(d.replaced, 0);
    }

    /// Latin text (accented words among ASCII ones, field lines) in cmd's cp437 or
    /// cp850 never reads as a double-byte, a Cyrillic, a Central European or a Turkish
    /// code page.
    #[test]
    fn latin_oem_text_stays_latin(
        words in prop::collection::vec(
            prop_oneof![
                prop::sample::select(LATIN_WORDS.to_vec()).prop_map(str::to_owned),
                "[A-Za-z]{1,12}",
                "  [A-Z][a-z]{2,8}: ".prop_map(|s| format!("\r\n{s}")),
            ],
            1..80,
        ),
        cp437 in any::<bool>(),
    ) {
        let text = words.join(" ");
        let table = if cp437 { &CP437 } else { &CP850 };
        prop_assume!(!text.is_ascii());
        prop_assume!(text.chars().all(|c| c.is_ascii() || table.contains(&c)));
        let d = decode_text(&encode(&text, table));
        prop_assert!(
            !matches!(
                d.encoding,
                TextEncoding::Cp932
                    | TextEncoding::Cp936
                    | TextEncoding::Cp949
                    | TextEncoding::Cp950
                    | TextEncoding::Cp866
                    | TextEncoding::Windows1251
                    | TextEncoding::Cp852
                    | TextEncoding::Windows1250
                    | TextEncoding::Cp857
                    | TextEncoding::Windows1254
            ),
            "{:?}",
            d.encoding
        );
    }
}

/// Encodes with a table, for tests: the inverse of `decode_table`.
fn encode(text: &str, high: &[char; 128]) -> Vec<u8> {
    text.chars()
        .map(|c| {
            if c.is_ascii() {
                c as u8
            } else {
                0x80 + high.iter().position(|h| *h == c).expect("char in table") as u8
            }
        })
        .collect()
}

#[test]
fn reads_cp850_french_service_name() {
    let bytes = encode("  User Name: AUTORITE NT\\SERVICE RÉSEAU\r\n", &CP850);
    let d = decode_text(&bytes);
    assert_eq!(d.encoding, TextEncoding::Cp850);
    assert!(d.text.contains("SERVICE RÉSEAU"), "{}", d.text);
}

#[test]
fn reads_cp850_lowercase_accents() {
    let bytes = encode("Le service a été arrêté. Paramètres réseau.", &CP850);
    let d = decode_text(&bytes);
    assert_eq!(d.encoding, TextEncoding::Cp850);
    assert_eq!(d.text, "Le service a été arrêté. Paramètres réseau.");
}

#[test]
fn reads_ansi_french_as_windows_1252() {
    let (bytes, _, _) = WINDOWS_1252.encode("Le service a été arrêté: événement réseau");
    let d = decode_text(&bytes);
    assert_eq!(d.encoding, TextEncoding::Windows1252);
    assert_eq!(d.text, "Le service a été arrêté: événement réseau");
}

/// The code pages are scored on 4 MiB from the first line with a byte above 0x7F:
/// megabytes of ASCII before it, or of other text after it, change nothing.
#[test]
fn code_pages_are_scored_where_the_text_tells_them_apart() {
    let ascii = "  Source: Service Control Manager\r\n".repeat(150_000);
    let french = encode("Le service a été arrêté. Paramètres réseau.\r\n", &CP850);
    let (japanese, _, _) =
        encoding_rs::SHIFT_JIS.encode("TLS サーバー資格情報の作成中に致命的なエラー\r\n");
    for (text, encoding) in [
        (&french, TextEncoding::Cp850),
        (&japanese.into_owned(), TextEncoding::Cp932),
    ] {
        let mut bytes = ascii.clone().into_bytes();
        bytes.extend(text.iter());
        bytes.extend(ascii.as_bytes());
        assert!(bytes.len() > 8 << 20);
        let d = decode_text(&bytes);
        assert_eq!(d.encoding, encoding);
        assert_eq!(d.replaced, 0);
    }
}

#[test]
fn reads_russian_oem_and_ansi_text() {
    let text = "Уровень: Ошибка\r\nИсточник: Schannel\r\nОписание:\r\nНеустранимая ошибка \
                при создании учетных данных TLS-сервера.";
    for (codec, encoding) in [
        (encoding_rs::IBM866, TextEncoding::Cp866),
        (WINDOWS_1251, TextEncoding::Windows1251),
    ] {
        let (bytes, _, _) = codec.encode(text);
        let d = decode_text(&bytes);
        assert_eq!(d.encoding, encoding);
        assert_eq!(d.text, text);
    }
}

#[test]
fn reads_utf16le_with_bom() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "Event[0]:\r\n  Source: Schannel".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let d = decode_text(&bytes);
    assert_eq!(d.encoding, TextEncoding::Utf16Le);
    assert_eq!(d.text, "Event[0]:\r\n  Source: Schannel");
}

#[test]
fn reads_utf16le_without_bom() {
    let bytes: Vec<u8> = "Event[3]:\r\n  Log Name: System\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let d = decode_text(&bytes);
    assert_eq!(d.encoding, TextEncoding::Utf16LeNoBom);
    assert!(d.text.starts_with("Event[3]:"));
}

#[test]
fn a_code_pages_first_bad_byte_is_found() {
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ソース: Schannel\r\nレベル: エラー\r\n");
    // Cut after a lead byte at the end; a stray lead byte before an ASCII one inside.
    let mut cut = sjis.clone().into_owned();
    cut.push(0x83);
    let mut inside = b"  ".to_vec();
    inside.extend_from_slice(&sjis);
    inside.splice(6..6, [0x81, b':']);
    for (bytes, at) in [(&cut, sjis.len()), (&inside, 6)] {
        let d = with_codec(bytes, encoding_rs::SHIFT_JIS, TextEncoding::Cp932, 7);
        assert_eq!(d.replaced, 1);
        assert_eq!(d.first_bad_byte, Some(7 + at as u64));
    }
    let d = with_codec(&sjis, encoding_rs::SHIFT_JIS, TextEncoding::Cp932, 7);
    assert_eq!((d.replaced, d.first_bad_byte), (0, None));
    // After a BOM, UTF-16's offsets count it.
    let d = decode_text(b"\xFF\xFEa\x00b");
    assert_eq!(d.first_bad_byte, Some(4));
}

#[test]
fn odd_length_utf16_is_cut_with_a_replacement() {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend("ab".encode_utf16().flat_map(u16::to_le_bytes));
    bytes.push(b'c');
    let d = decode_text(&bytes);
    assert_eq!(d.text, "ab\u{FFFD}");
    assert_eq!(d.replaced, 1);
}

#[test]
fn utf8_with_bom_and_accents() {
    let d = decode_text("\u{FEFF}SERVICE RÉSEAU".as_bytes());
    assert_eq!(d.encoding, TextEncoding::Utf8Bom);
    assert_eq!(d.text, "SERVICE RÉSEAU");
}

#[test]
fn latin_code_pages_are_not_taken_for_unsupported_ones() {
    for text in [
        "  User Name: AUTORITE NT\\SERVICE RÉSEAU\r\n",
        "Le service a été arrêté. Paramètres réseau. Événement 7036, clé privée.",
        "Schlüsselwort: Klassisch\r\nBenutzer: NETZWERKDIENST\r\nGröße: Übergröße",
        // Two accented letters together inside words (session 12 probe C, c04).
        "Identificação do Evento: 36871\r\nNível: Informações\r\nDescrição: em execução.",
    ] {
        for high in [&CP850, &CP437] {
            if text.chars().all(|c| c.is_ascii() || high.contains(&c)) {
                assert!(!looks_unsupported_code_page(&encode(text, high)), "{text}");
            }
        }
        let (bytes, _, _) = WINDOWS_1252.encode(text);
        assert!(!looks_unsupported_code_page(&bytes), "{text}");
    }
}

#[test]
fn double_byte_and_cyrillic_code_pages_are_noticed() {
    let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("ソース: Schannel\r\nレベル: エラー\r\n説明:\r\nTLS サーバー資格情報の作成中に致命的なエラーが発生しました。");
    let (gbk, _, _) =
        encoding_rs::GBK.encode("Level: 信息\r\nLAPS 策略处理成功。有关详细信息，请参阅");
    let (cyrillic, _, _) =
        encoding_rs::IBM866.encode("Уровень: Ошибка\r\nОписание: служба удаленных рабочих столов");
    for bytes in [&sjis, &gbk, &cyrillic] {
        assert!(looks_unsupported_code_page(bytes));
    }
    // Too few to judge.
    assert!(!looks_unsupported_code_page("日本".as_bytes()));
}

#[test]
fn utf8_cut_inside_a_character_stays_utf8() {
    let bytes = "Ereignis-ID: 1058 – Zugriff verweigert ö".as_bytes();
    let cut = bytes.get(..bytes.len() - 1).unwrap();
    let d = decode_text(cut);
    assert_eq!(d.encoding, TextEncoding::Utf8);
    assert!(d.text.ends_with('\u{FFFD}'));
    assert_eq!(d.replaced, 1);
}
