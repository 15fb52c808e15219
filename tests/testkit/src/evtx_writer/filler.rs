//! Ordinary events to bury test events among: real events from the corpus's System and
//! Remote Desktop logs (retimed and renumbered), plus near misses — the seed scenarios' IDs
//! from other providers, and RDP events that are not failures.

use analyzer::Event;
use analyzer::input::{no_progress, read_bytes};
use jiff::{SignedDuration, Timestamp};

use super::event;

const SYSTEM: &[u8] = include_bytes!("../../../fixtures/corpus/system.evtx");
const VSS_SYSTEM: &[u8] = include_bytes!("../../../fixtures/corpus/2-vss_7-System.evtx");
const RCM: &[u8] = include_bytes!(
    "../../../fixtures/corpus/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx"
);

/// A deterministic source of ordinary events.
#[derive(Debug, Clone)]
pub struct Filler {
    pool: Vec<Event>,
    state: u64,
}

impl Filler {
    /// Real events of the corpus (System logs and RemoteConnectionManager/Operational) and
    /// near misses, drawn in an order fixed by `seed`.
    pub fn new(seed: u64) -> Filler {
        let mut pool = Vec::new();
        for (name, bytes) in [
            ("system.evtx", SYSTEM),
            ("vss-system.evtx", VSS_SYSTEM),
            ("rcm.evtx", RCM),
        ] {
            let mut events: Vec<Event> = Vec::new();
            read_bytes(name, bytes, &mut events, &mut no_progress);
            // Damaged records (no provider) are not ordinary events.
            pool.extend(events.into_iter().filter(|e| !e.provider.is_empty()));
        }
        pool.extend(near_misses());
        Filler {
            pool,
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// A number from xorshift64*.
    fn next(&mut self) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }

    /// One ordinary event (no time or record id: the writer or [`bury`] sets them).
    pub fn draw(&mut self) -> Event {
        let i = self.below(self.pool.len());
        let mut e = self
            .pool
            .get(i)
            .cloned()
            .unwrap_or_else(|| event("EventLog", 6013).build());
        e.time_created = None;
        e.record_id = None;
        e
    }
}

/// Events with the seed's IDs from other providers, and RDP events that are not failures.
/// Rules must not fire on any of them.
pub fn near_misses() -> Vec<Event> {
    vec![
        // Event 1058 from Group Policy (a failed GPO read), not RemoteConnectionManager.
        event("Microsoft-Windows-GroupPolicy", 1058)
            .level(2)
            .build(),
        // 1057 and 2056 from other providers.
        event("Microsoft-Windows-GroupPolicy", 1057)
            .level(3)
            .build(),
        event("MSSQLSERVER", 2056)
            .qualifiers(16384)
            .level(4)
            .channel("Application")
            .build(),
        // 36870 / 36871 numbers from a provider that is not Schannel.
        event("Microsoft-Windows-Kernel-General", 36870)
            .level(4)
            .build(),
        // Schannel events that are everyday noise, not the seed's.
        event("Schannel", 36887)
            .level(2)
            .data("AlertDesc", "46")
            .build(),
        event("Schannel", 36888)
            .level(2)
            .data("AlertDesc", "40")
            .data("ErrorState", "1205")
            .build(),
        // RemoteConnectionManager events of a working server.
        event(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            261,
        )
        .channel("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational")
        .data("listenerName", "RDP-Tcp")
        .build(),
        event(
            "Microsoft-Windows-TerminalServices-RemoteConnectionManager",
            1149,
        )
        .channel("Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational")
        .data("Param1", "admin")
        .data("Param2", "")
        .data("Param3", "10.0.0.4")
        .build(),
    ]
}

/// `count` ordinary events from `seed`.
pub fn filler_events(seed: u64, count: usize) -> Vec<Event> {
    let mut filler = Filler::new(seed);
    (0..count).map(|_| filler.draw()).collect()
}

/// Buries `needles` among `count` ordinary events: filler one every `step` ending at
/// `end`, each needle placed where its own time falls (or at a random place, taking the
/// time there), record ids renumbered from 1 in the final order. The needles keep every
/// other field.
pub fn bury(
    needles: &[Event],
    count: usize,
    seed: u64,
    end: Timestamp,
    step: SignedDuration,
) -> Vec<Event> {
    let mut filler = Filler::new(seed);
    let span = step * i32::try_from(count).unwrap_or(i32::MAX);
    let start = end.checked_sub(span).unwrap_or(end);
    let mut out: Vec<Event> = (0..count)
        .map(|i| {
            let mut e = filler.draw();
            let offset = step * i32::try_from(i).unwrap_or(i32::MAX);
            e.time_created = start.checked_add(offset).ok();
            e
        })
        .collect();
    for needle in needles {
        let mut needle = needle.clone();
        let at = match needle.time_created {
            Some(t) => out.partition_point(|e| e.time_created.is_some_and(|et| et <= t)),
            None => {
                let at = filler.below(out.len() + 1);
                needle.time_created = out
                    .get(at)
                    .or_else(|| out.last())
                    .and_then(|e| e.time_created)
                    .or(Some(end));
                at
            }
        };
        out.insert(at, needle);
    }
    for (i, e) in out.iter_mut().enumerate() {
        e.record_id = Some(i as u64 + 1);
    }
    out
}
