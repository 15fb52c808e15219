//! What the text-export tests share: fixtures, a read, and the encodings consoles use.
#![allow(dead_code, unused_macros)]

use analyzer::Event;
use analyzer::input::{InputReport, no_progress, read_bytes};

#[allow(unused_macros)]
macro_rules! fixture {
    ($name:literal) => {
        include_bytes!(concat!("../../tests/fixtures/inputs/", $name)).as_slice()
    };
}

pub const RCM: &str = "Microsoft-Windows-TerminalServices-RemoteConnectionManager";
pub const BROKER: &str = "Microsoft-Windows-TerminalServices-SessionBroker";
pub const BROKER_CLIENT: &str = "Microsoft-Windows-TerminalServices-SessionBroker-Client";

pub fn read(name: &str, bytes: &[u8]) -> (InputReport, Vec<Event>) {
    let mut events = Vec::new();
    let report = read_bytes(name, bytes, &mut events, &mut no_progress);
    (report, events)
}

pub fn ids(events: &[Event]) -> Vec<(&str, u16)> {
    events
        .iter()
        .map(|e| (e.provider.as_str(), e.event_id))
        .collect()
}

pub fn time(e: &Event) -> String {
    e.time_created.map(|t| t.to_string()).unwrap_or_default()
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

pub fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(s.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// cmd's OEM code page 850, for the characters these tests use.
pub fn cp850(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            'é' => 0x82,
            'à' => 0x85,
            'è' => 0x8A,
            'É' => 0x90,
            'ô' => 0x93,
            c if c.is_ascii() => c as u8,
            other => panic!("{other:?} is not in this test's cp850 table"),
        })
        .collect()
}

/// Every line of `text` cut into pieces of `width` characters, as a terminal shows it
/// (CRLF line ends; empty lines stay).
pub fn cut_at(text: &str, width: usize) -> String {
    text.split('\n')
        .map(|line| {
            let chars: Vec<char> = line.trim_end_matches('\r').chars().collect();
            chars
                .chunks(width)
                .map(|c| c.iter().collect::<String>())
                .collect::<Vec<_>>()
                .join("\r\n")
        })
        .collect::<Vec<_>>()
        .join("\r\n")
}
