//! Times as exports print them. XML and new `wevtutil` print UTC (`…Z`); old `wevtutil`
//! prints local time without an offset (`2016-12-22T05:29:02.512`); Event Viewer CSV and
//! PowerShell print the machine's culture (`11/1/2018 10:00:00 AM`, `16/12/2017 11:19:36`,
//! `20.07.2010 00:00:01`). Local times are read as if UTC and flagged.

use jiff::Timestamp;
use jiff::civil::{Date, DateTime, Time};
use jiff::tz::TimeZone;

/// A parsed time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParsedTime {
    pub ts: Timestamp,
    /// The text carried no offset: `ts` is its wall-clock time read as UTC.
    pub local: bool,
}

/// Which number comes first in `a/b/yyyy` dates, decided once per input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateOrder {
    DayFirst,
    MonthFirst,
    /// Nothing in the input tells: every date had both numbers ≤ 12.
    Unknown,
}

impl DateOrder {
    /// Looks at every date of an input: one `13/…` means day first, one `…/13/…` month first.
    pub(crate) fn decide<'a>(samples: impl IntoIterator<Item = &'a str>) -> DateOrder {
        let (mut day_first, mut month_first) = (false, false);
        for s in samples {
            // Year-first dates (2018-09-05) say nothing about the others.
            if let Some((a, b, _)) = numeric_date(s.split_whitespace().next().unwrap_or_default())
                .filter(|(a, _, _)| *a <= 31)
            {
                day_first |= a > 12 && b <= 12;
                month_first |= b > 12 && a <= 12;
            }
        }
        match (day_first, month_first) {
            (true, false) => DateOrder::DayFirst,
            (false, true) => DateOrder::MonthFirst,
            _ => DateOrder::Unknown,
        }
    }
}

/// Whether `s` is a date whose day and month could be swapped (`1/2/2020 10:00`): both
/// numbers ≤ 12 and different, no AM/PM (the US culture's mark), no dots (the day-first
/// cultures' separator).
pub(crate) fn is_ambiguous(s: &str) -> bool {
    let first = s.split_whitespace().next().unwrap_or_default();
    numeric_date(first).is_some_and(|(a, b, _)| a <= 12 && b <= 12 && a != b)
        && !has_meridiem(s)
        && !first.contains('.')
}

/// Parses an exported time; `None` when it is not a time (placeholders included).
pub(crate) fn parse_time(raw: &str, order: DateOrder) -> Option<ParsedTime> {
    let s = raw.trim().trim_matches('"').trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Some(ParsedTime { ts, local: false });
    }
    if let Ok(dt) = s.parse::<DateTime>() {
        return utc(dt).map(|ts| ParsedTime { ts, local: true });
    }
    // More than nine fractional digits, which jiff refuses: cut them.
    if let Some(fixed) = cut_fraction(s) {
        if let Ok(ts) = fixed.parse::<Timestamp>() {
            return Some(ParsedTime { ts, local: false });
        }
        if let Ok(dt) = fixed.parse::<DateTime>() {
            return utc(dt).map(|ts| ParsedTime { ts, local: true });
        }
    }
    culture_time(s, order)
        .and_then(utc)
        .map(|ts| ParsedTime { ts, local: true })
}

fn utc(dt: DateTime) -> Option<Timestamp> {
    dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

fn cut_fraction(s: &str) -> Option<String> {
    let dot = s.find('.')?;
    let digits = s
        .get(dot + 1..)?
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    (digits > 9).then(|| {
        let keep = s.get(..dot + 10).unwrap_or(s);
        let rest = s.get(dot + 1 + digits..).unwrap_or_default();
        format!("{keep}{rest}")
    })
}

/// `a/b/yyyy`, `a.b.yyyy`, `a-b-yyyy` or `yyyy/m/d` → (a, b, year) with year last, or
/// (year, month, day) marked by a four-digit first number.
fn numeric_date(s: &str) -> Option<(u32, u32, u32)> {
    let sep = s.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let mut parts = s.trim_end_matches('.').split(sep);
    let a = parts.next()?.parse().ok()?;
    let b = parts.next()?.parse().ok()?;
    let c = parts.next()?.parse().ok()?;
    parts.next().is_none().then_some((a, b, c))
}

fn culture_time(s: &str, order: DateOrder) -> Option<DateTime> {
    let mut words = s.split_whitespace().peekable();
    let first = words.next()?.trim_end_matches(',');
    // A date with a space after each dot (hu-HU `2026. 12. 07.`, cs-CZ and sk-SK
    // `7. 12. 2026`): its three parts read as one word.
    let mut joined = String::new();
    let date_word = if is_dotted_part(first) {
        joined.push_str(first);
        for _ in 0..2 {
            match words.next_if(|w| w.bytes().all(|b| b.is_ascii_digit() || b == b'.')) {
                Some(part) => joined.push_str(part),
                None => break,
            }
        }
        joined.as_str()
    } else {
        first
    };
    let (a, b, c) = numeric_date(date_word)?;
    let date = if a > 31 {
        Date::new(
            i16::try_from(a).ok()?,
            i8::try_from(b).ok()?,
            i8::try_from(c).ok()?,
        )
        .ok()?
    } else {
        let year = if c < 100 { c + 2000 } else { c };
        let day_first = match order {
            DateOrder::DayFirst => true,
            DateOrder::MonthFirst => false,
            // Dots are the day-first cultures' separator (de-DE 20.07.2010); a 12-hour
            // clock is the US culture's (11/1/2018 10:00:00 AM).
            DateOrder::Unknown => {
                a > 12 || (date_word.contains('.') && b <= 12) || !has_meridiem(s)
            }
        };
        let (day, month) = if day_first && b <= 12 { (a, b) } else { (b, a) };
        Date::new(
            i16::try_from(year).ok()?,
            i8::try_from(month).ok()?,
            i8::try_from(day).ok()?,
        )
        .ok()?
    };
    // The time, and a 12-hour clock's half of the day in either place a culture writes it:
    // after the time (`10:00:00 AM`, en-US) or before it (`午前 3:11:15` ja-JP, `上午 3:11:15`
    // zh-CN, `오전 3:11:15` ko-KR, whose .NET patterns put `tt` first), also glued to it.
    let mut time_word = None;
    let mut half = None;
    for w in words {
        if let Some(h) = Half::of(w) {
            half = half.or(Some(h));
        } else if time_word.is_none() {
            let (glued, t) = Half::glued(w);
            half = half.or(glued);
            time_word = Some(t);
        }
    }
    let time = match time_word {
        None => Time::midnight(),
        Some(t) => clock(t, half)?,
    };
    Some(date.to_datetime(time))
}

/// `2026.` or `7.`: digits and one dot after them, the first part of a date written with a
/// space after each dot.
fn is_dotted_part(word: &str) -> bool {
    word.strip_suffix('.')
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Which half of the day a 12-hour clock's mark names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Half {
    Am,
    Pm,
}

impl Half {
    /// The marks .NET cultures print for `tt`: `AM`/`PM` (and `a.m.`/`p.m.`, es), `午前`/`午後`
    /// (ja-JP), `上午`/`下午` (zh-CN, zh-TW), `오전`/`오후` (ko-KR).
    const EAST_ASIAN: [(&'static str, Half); 6] = [
        ("午前", Half::Am),
        ("午後", Half::Pm),
        ("上午", Half::Am),
        ("下午", Half::Pm),
        ("오전", Half::Am),
        ("오후", Half::Pm),
    ];

    fn of(word: &str) -> Option<Half> {
        match word.to_ascii_uppercase().as_str() {
            "AM" | "A.M." => Some(Half::Am),
            "PM" | "P.M." => Some(Half::Pm),
            w => Self::EAST_ASIAN
                .iter()
                .find(|(mark, _)| *mark == w)
                .map(|(_, h)| *h),
        }
    }

    /// A mark written without a space before the time (`午後3:11:15`) → the mark and the time.
    fn glued(word: &str) -> (Option<Half>, &str) {
        Self::EAST_ASIAN
            .iter()
            .find_map(|(mark, h)| word.strip_prefix(mark).map(|t| (Some(*h), t)))
            .unwrap_or((None, word))
    }
}

fn has_meridiem(s: &str) -> bool {
    s.split_whitespace().any(|w| Half::of(w).is_some())
}

fn clock(t: &str, half: Option<Half>) -> Option<Time> {
    let mut parts = t.split(':');
    let mut hour: i8 = parts.next()?.parse().ok()?;
    let minute: i8 = parts.next()?.parse().ok()?;
    let (second, nanos) = match parts.next() {
        None => (0, 0),
        Some(sec) => {
            let (whole, frac) = sec.split_once(['.', ',']).unwrap_or((sec, ""));
            let second: i8 = whole.parse().ok()?;
            let digits: String = frac.chars().take(9).collect();
            let nanos = if digits.is_empty() {
                0
            } else {
                let n: i32 = digits.parse().ok()?;
                n * 10i32.pow(9 - u32::try_from(digits.len()).ok()?)
            };
            (second, nanos)
        }
    };
    match half {
        Some(Half::Pm) if hour < 12 => hour += 12,
        Some(Half::Am) if hour == 12 => hour = 0,
        _ => {}
    }
    Time::new(hour, minute, second, nanos).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn utc_times_stay_utc() {
        let t = parse_time("2025-11-12T15:49:43.5630000Z", DateOrder::Unknown).unwrap();
        assert_eq!(
            t,
            ParsedTime {
                ts: iso("2025-11-12T15:49:43.563Z"),
                local: false
            }
        );
    }

    #[test]
    fn old_wevtutil_times_are_local() {
        let t = parse_time("2016-12-22T05:29:02.512", DateOrder::Unknown).unwrap();
        assert_eq!(
            t,
            ParsedTime {
                ts: iso("2016-12-22T05:29:02.512Z"),
                local: true
            }
        );
    }

    #[test]
    fn us_culture_with_meridiem() {
        let t = parse_time("10/7/2016 06:38:24 PM", DateOrder::Unknown).unwrap();
        assert_eq!(t.ts, iso("2016-10-07T18:38:24Z"));
        assert!(t.local);
        let t = parse_time("11/1/2018 12:05:00 AM", DateOrder::Unknown).unwrap();
        assert_eq!(t.ts, iso("2018-11-01T00:05:00Z"));
    }

    #[test]
    fn dates_with_a_space_after_each_dot() {
        for (s, want) in [
            // hu-HU: yyyy. MM. dd. H:mm:ss
            ("2026. 12. 07. 3:11:15", "2026-12-07T03:11:15Z"),
            ("2026. 12. 07. 15:11:15", "2026-12-07T15:11:15Z"),
            // cs-CZ, sk-SK: d. M. yyyy H:mm:ss
            ("7. 12. 2026 3:11:15", "2026-12-07T03:11:15Z"),
            ("13. 1. 2026 23:59:59", "2026-01-13T23:59:59Z"),
        ] {
            let t = parse_time(s, DateOrder::Unknown).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(t.ts, iso(want), "{s}");
            assert!(t.local, "{s}");
            assert!(!is_ambiguous(s), "{s}");
        }
        // Not a date: a number with a dot, then words.
        assert_eq!(parse_time("7. december", DateOrder::Unknown), None);
    }

    #[test]
    fn east_asian_half_of_day_before_the_time() {
        for (s, want) in [
            ("2026/12/07 午前 3:11:15", "2026-12-07T03:11:15Z"),
            ("2026/12/07 午後 3:11:15", "2026-12-07T15:11:15Z"),
            ("2026/12/7 上午 3:11:15", "2026-12-07T03:11:15Z"),
            ("2026/12/7 下午 3:11:15", "2026-12-07T15:11:15Z"),
            ("2026-12-07 오전 3:11:15", "2026-12-07T03:11:15Z"),
            ("2026-12-07 오후 3:11:15", "2026-12-07T15:11:15Z"),
            ("2026-12-07 오전 12:05:00", "2026-12-07T00:05:00Z"),
            ("2026-12-07 오후 12:05:00", "2026-12-07T12:05:00Z"),
            ("2026/12/7 下午3:11:15", "2026-12-07T15:11:15Z"),
            ("2026/12/7 3:11:15 下午", "2026-12-07T15:11:15Z"),
        ] {
            let t = parse_time(s, DateOrder::Unknown).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(t.ts, iso(want), "{s}");
            assert!(t.local);
        }
        assert_eq!(
            parse_time("2026/12/7 中午 3:11:15", DateOrder::Unknown),
            None
        );
    }

    #[test]
    fn day_first_cultures() {
        let t = parse_time("16/12/2017 11:19:36", DateOrder::Unknown).unwrap();
        assert_eq!(t.ts, iso("2017-12-16T11:19:36Z"));
        let t = parse_time("20.07.2010 00:00:01", DateOrder::Unknown).unwrap();
        assert_eq!(t.ts, iso("2010-07-20T00:00:01Z"));
        let t = parse_time("05/03/2020 10:00:00", DateOrder::DayFirst).unwrap();
        assert_eq!(t.ts, iso("2020-03-05T10:00:00Z"));
    }

    #[test]
    fn order_is_decided_from_the_whole_input() {
        assert_eq!(
            DateOrder::decide(["1/2/2020 1:00", "13/2/2020 1:00"]),
            DateOrder::DayFirst
        );
        assert_eq!(
            DateOrder::decide(["1/2/2020", "2/13/2020 1:00 PM"]),
            DateOrder::MonthFirst
        );
        assert_eq!(
            DateOrder::decide(["1/2/2020", "2/3/2020"]),
            DateOrder::Unknown
        );
    }

    #[test]
    fn ambiguity_needs_two_small_numbers_and_no_culture_mark() {
        assert!(is_ambiguous("1/2/2020 10:00:00"));
        assert!(!is_ambiguous("1/2/2020 10:00:00 AM"));
        assert!(!is_ambiguous("01.02.2020 10:00:00"));
        assert!(!is_ambiguous("13/2/2020 10:00:00"));
        assert!(!is_ambiguous("2020-01-02T10:00:00"));
    }

    #[test]
    fn placeholders_are_not_times() {
        for s in [
            "*time*",
            "—",
            "",
            "N/A",
            "*Uhrzeit*",
            "99/99/2020 10:00",
            "2020-13-45T00:00:00",
        ] {
            assert_eq!(parse_time(s, DateOrder::Unknown), None, "{s}");
        }
    }
}
