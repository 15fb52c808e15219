//! The page's sample logs ("try a sample"): one per seed scenario and one healthy log, each a
//! few thousand ordinary events with the scenario's events buried among them. Deterministic:
//! the same build always yields the same events, so the committed files in `static/samples/`
//! can be checked against this generator.

mod noise;
mod text;

pub use text::wevtutil_text;

use crate::evtx_writer::{EvtxWriteError, EvtxWriter, Filler};
use analyzer::{Event, Level, Location, Origin};
use jiff::{SignedDuration, Timestamp};
use noise::Draft;

/// The end of every sample's timeline ("now" for a reader of the sample).
pub const SAMPLE_END: &str = "2024-05-14T09:30:00Z";
/// Ordinary events per sample.
const ORDINARY: usize = 3_000;
/// The hours the samples span.
const SPAN_HOURS: i64 = 72;

/// One sample log.
#[derive(Debug, Clone)]
pub struct SampleLog {
    /// The file stem under `static/samples/` (`rdp-cert-keys` → `rdp-cert-keys.evtx`).
    pub name: &'static str,
    /// What the page's button says.
    pub title: &'static str,
    /// The one finding the sample must yield; `None` for the healthy log.
    pub expected: Option<&'static str>,
    pub computer: &'static str,
    /// In time order, record ids ascending.
    pub events: Vec<Event>,
}

/// The paste box's sample: `wevtutil qe System /f:text` of Scenario 1's last three hours,
/// with a sixth of the ordinary events that carry a message (small enough to paste).
pub fn paste_sample() -> String {
    let sample = cert_keys();
    let from = before_end(3.0);
    let events: Vec<Event> = sample
        .events
        .iter()
        .filter(|e| e.message.is_some() && e.time_created.is_some_and(|t| t >= from))
        .enumerate()
        .filter(|(i, e)| e.level == Some(Level::Error) || i % 6 == 0)
        .map(|(_, e)| e.clone())
        .collect();
    wevtutil_text(&events)
}

/// The sample as the `.evtx` file the page offers.
pub fn evtx(sample: &SampleLog) -> Result<Vec<u8>, EvtxWriteError> {
    EvtxWriter::new()
        .extend(sample.events.iter().cloned())
        .to_bytes()
}

/// Every sample, in the order the page offers them.
pub fn all() -> Vec<SampleLog> {
    vec![cert_keys(), tls_disabled(), broker_renamed(), healthy()]
}

/// A small deterministic generator (xorshift64*): no dependency, same output everywhere.
pub(crate) struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (self.next() % u64::from(n.max(1))) as u32
    }

    /// One of `items`, which must not be empty (callers pass constant tables).
    #[allow(clippy::indexing_slicing)]
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let i = self.below(items.len() as u32) as usize;
        &items[i.min(items.len() - 1)]
    }
}

fn end() -> Timestamp {
    SAMPLE_END.parse().unwrap_or(Timestamp::UNIX_EPOCH)
}

fn before_end(hours: f64) -> Timestamp {
    end() - SignedDuration::from_secs_f64(hours * 3600.0)
}

/// Builds a sample: provisioning events at the start, ordinary traffic throughout, the
/// scenario's events where given; then sorts by time and numbers the records.
fn build(
    name: &'static str,
    title: &'static str,
    expected: Option<&'static str>,
    computer: &'static str,
    seed: u64,
    scenario: Vec<(Timestamp, Draft)>,
) -> SampleLog {
    let mut rng = Rng::new(seed);
    let start = end() - SignedDuration::from_hours(SPAN_HOURS);
    let mut timed: Vec<(Timestamp, Draft)> = Vec::with_capacity(ORDINARY + scenario.len() + 2);
    let old_name = "WIN-7OQ8T2C1A5N";
    let short_name = computer.split('.').next().unwrap_or(computer);
    for (i, draft) in noise::provisioning(old_name, &short_name.to_ascii_uppercase())
        .into_iter()
        .enumerate()
    {
        timed.push((start + SignedDuration::from_secs(40 + 5 * i as i64), draft));
    }
    let span = SPAN_HOURS as u64 * 3600;
    // Two ordinary events in three are real ones from the corpus (retimed, on this
    // sample's computer); the third is synthetic, with the near-misses real logs carry.
    let mut filler = Filler::new(seed);
    let input = format!("{name}.evtx");
    let mut events: Vec<Event> = Vec::with_capacity(ORDINARY + scenario.len() + 2);
    for i in 0..ORDINARY {
        let offset = 120 + rng.next() % (span - 240);
        let millis = rng.below(1000);
        let t = start
            + SignedDuration::from_secs(offset as i64)
            + SignedDuration::from_millis(i64::from(millis));
        if i % 3 == 0 {
            timed.push((t, noise::ordinary(&mut rng)));
        } else {
            let mut e = filler.draw();
            e.time_created = Some(t);
            e.computer = Some(computer.to_string());
            events.push(e);
        }
    }
    timed.extend(scenario);
    events.extend(
        timed
            .into_iter()
            .map(|(t, draft)| draft.into_event(t, 0, computer, &input)),
    );
    events.sort_by_key(|e| e.time_created);
    for (i, e) in events.iter_mut().enumerate() {
        let record = i as u64 + 1;
        e.record_id = Some(record);
        e.origin = Origin {
            input: input.clone(),
            location: Location::Record {
                record_id: record,
                chunk: 0,
            },
        };
    }
    SampleLog {
        name,
        title,
        expected,
        computer,
        events,
    }
}

fn positional(values: &[&str]) -> Vec<(String, String)> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (format!("Param{}", i + 1), v.to_string()))
        .collect()
}

fn named(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Scenario 1: Remote Desktop cannot create or replace its certificate, and every connection
/// attempt fails to open the private key.
pub fn cert_keys() -> SampleLog {
    let mut events = Vec::new();
    for (hours, id) in [(5.2, 1057u16), (3.1, 1057), (1.4, 1058)] {
        let (message, status) = if id == 1057 {
            (
                "The RD Session Host Server has failed to create a new self signed certificate to be used for RD Session Host Server authentication on TLS connections. The relevant status code was Keyset does not exist.",
                "Keyset does not exist",
            )
        } else {
            (
                "The RD Session Host Server has failed to replace the expired self signed certificate used for RD Session Host Server authentication on TLS connections. The relevant status code was Access is denied.",
                "Access is denied.",
            )
        };
        events.push((
            before_end(hours),
            Draft {
                provider: "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
                id,
                qualifiers: Some(49152),
                level: Level::Error,
                channel: "System",
                user: None,
                data: positional(&[status]),
                message: message.to_string(),
            },
        ));
    }
    for attempt in 0..14 {
        events.push((before_end(5.0 - f64::from(attempt) * 0.33), Draft {
            provider: "Schannel",
            id: 36870,
            qualifiers: None,
            level: Level::Error,
            channel: "System",
            user: Some("S-1-5-18"),
            data: named(&[("Type", "server"), ("ErrorCode", "0x8009030d"), ("ErrorStatus", "10001")]),
            message: "A fatal error occurred when attempting to access the TLS server credential private key. The error code returned from the cryptographic module is 0x8009030D. The internal error state is 10001.".to_string(),
        }));
    }
    build(
        "rdp-cert-keys",
        "Scenario 1: certificate keys unreadable",
        Some("rdp-cert-keys"),
        "vm-app-01",
        0x51,
        events,
    )
}

/// Scenario 2: a policy disabled the server's TLS protocols; every connection attempt fails
/// to create the server credential.
pub fn tls_disabled() -> SampleLog {
    let events = (0..16)
        .map(|attempt| {
            (before_end(6.5 - f64::from(attempt) * 0.4), Draft {
                provider: "Schannel",
                id: 36871,
                qualifiers: None,
                level: Level::Error,
                channel: "System",
                user: Some("S-1-5-18"),
                data: named(&[("Type", "server"), ("ErrorState", "10013")]),
                message: "A fatal error occurred while creating a TLS server credential. The internal error state is 10013.".to_string(),
            })
        })
        .collect();
    build(
        "rdp-tls-disabled",
        "Scenario 2: TLS disabled",
        Some("rdp-tls-disabled"),
        "vm-app-02",
        0x52,
        events,
    )
}

/// Scenario 3: the Connection Broker was renamed; its database logon and RPC fail. Saved from
/// a custom view spanning System and the broker's Operational channels.
pub fn broker_renamed() -> SampleLog {
    let mut events = vec![(before_end(20.0), Draft {
        provider: "EventLog",
        id: 6011,
        qualifiers: Some(32768),
        level: Level::Information,
        channel: "System",
        user: None,
        data: positional(&["RDCB01", "RDCB02"]),
        message: "The NetBIOS name and DNS host name of this machine have been changed from RDCB01 to RDCB02.".to_string(),
    })];
    for attempt in 0..10 {
        let hours = 8.0 - f64::from(attempt) * 0.7;
        events.push((before_end(hours), Draft {
            provider: "Microsoft-Windows-TerminalServices-SessionBroker",
            id: 2056,
            qualifiers: None,
            level: Level::Error,
            channel: "Microsoft-Windows-TerminalServices-SessionBroker/Operational",
            user: Some("S-1-5-20"),
            data: positional(&["NULL", "NULL", "Logon to the database failed."]),
            message: "The description for Event ID 2056 from source Microsoft-Windows-TerminalServices-SessionBroker cannot be found. NULL NULL Logon to the database failed.".to_string(),
        }));
        events.push((before_end(hours - 0.01), Draft {
            provider: "Microsoft-Windows-TerminalServices-SessionBroker-Client",
            id: 1296,
            qualifiers: None,
            level: Level::Error,
            channel: "Microsoft-Windows-TerminalServices-SessionBroker-Client/Operational",
            user: Some("S-1-5-20"),
            data: positional(&["rdcb02.contoso.local", "3221225473", "Remote Desktop Connection Broker is not ready for RPC communication."]),
            message: "The description for Event ID 1296 from source Microsoft-Windows-TerminalServices-SessionBroker-Client cannot be found. Remote Desktop Connection Broker is not ready for RPC communication.".to_string(),
        }));
    }
    build(
        "rdp-broker-renamed",
        "Scenario 3: Connection Broker renamed",
        Some("rdp-broker-renamed"),
        "rdcb02.contoso.local",
        0x53,
        events,
    )
}

/// A healthy VM: ordinary traffic and the usual near-misses, no failure.
pub fn healthy() -> SampleLog {
    build(
        "healthy",
        "A healthy VM",
        None,
        "vm-app-03",
        0x54,
        Vec::new(),
    )
}
