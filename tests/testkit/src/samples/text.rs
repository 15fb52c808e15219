//! Events rendered as `wevtutil qe <log> /f:text` prints them (English labels, local time
//! without an offset, the description on the lines after `Description:`): the paste-box
//! sample and text fixtures.

use super::noise::level_name;
use analyzer::Event;
use std::fmt::Write;

/// Renders `events` as one `wevtutil qe /f:text` output, `Event[0]:` first.
pub fn wevtutil_text(events: &[Event]) -> String {
    let mut out = String::new();
    for (i, e) in events.iter().enumerate() {
        let date = e
            .time_created
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3f").to_string())
            .unwrap_or_else(|| "N/A".to_string());
        let classic = e.qualifiers.is_some();
        let (user, user_name) = match e.user_sid.as_deref() {
            Some("S-1-5-18") => ("S-1-5-18", r"NT AUTHORITY\SYSTEM"),
            Some("S-1-5-19") => ("S-1-5-19", r"NT AUTHORITY\LOCAL SERVICE"),
            Some("S-1-5-20") => ("S-1-5-20", r"NT AUTHORITY\NETWORK SERVICE"),
            Some(other) => (other, "N/A"),
            None => ("N/A", "N/A"),
        };
        let _ = writeln!(out, "Event[{i}]:");
        let fields = [
            ("Log Name", e.channel.as_deref().unwrap_or("N/A")),
            ("Source", e.provider.as_str()),
            ("Date", date.as_str()),
            ("Event ID", &e.event_id.to_string()),
            ("Task", "N/A"),
            ("Level", e.level.map(level_name).unwrap_or("Information")),
            ("Opcode", if classic { "N/A" } else { "Info" }),
            ("Keyword", if classic { "Classic" } else { "N/A" }),
            ("User", user),
            ("User Name", user_name),
            ("Computer", e.computer.as_deref().unwrap_or("N/A")),
        ];
        for (label, value) in fields {
            let _ = writeln!(out, "  {label}: {value}");
        }
        let _ = writeln!(out, "  Description: ");
        let _ = writeln!(out, "{}", e.message.as_deref().unwrap_or(""));
        out.push('\n');
    }
    out
}
