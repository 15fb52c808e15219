//! A Security log under an RDP brute-force attack, as a public-facing VM has one: ~90%
//! failed logons (4625, logon type 3 or 10, from thousands of addresses, four failure
//! statuses), successful logons (4624) and logoffs (4634) between them. The records are
//! templated binary XML with typed values (SIDs, hex status codes, GUIDs) written by the
//! tests' `.evtx` writer, the way Windows writes them.

use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp};
use std::io::Write;
use testkit::evtx_writer::{DataLayout, DataType, EventBuilder, EvtxWriter, Record, event};

use super::{CHUNK_SIZE, FILE_HEADER_SIZE, Made, u64_at};

const PROVIDER: &str = "Microsoft-Windows-Security-Auditing";
const COMPUTER: &str = "web-vm-01";
/// Events written per batch before its last (partly filled) chunk is written again.
const BATCH: u64 = 2_000;

/// A number fixed by `i` and `salt` (splitmix64): any event can be made on its own.
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xD1B5_4A32_D192_ED03));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<'a>(i: u64, salt: u64, from: &[&'a str]) -> &'a str {
    let n = from.len().max(1) as u64;
    from.get(usize::try_from(mix(i, salt) % n).unwrap_or(0))
        .copied()
        .unwrap_or("")
}

/// One of 4,000 attacking addresses, a few of them far busier than the rest.
fn address(i: u64) -> String {
    let heavy = mix(i, 1).is_multiple_of(4);
    let n = if heavy {
        mix(i, 2) % 16
    } else {
        mix(i, 2) % 4_000
    };
    let h = mix(n, 3);
    format!(
        "{}.{}.{}.{}",
        45 + h % 150,
        (h >> 8) % 256,
        (h >> 16) % 256,
        1 + (h >> 24) % 254
    )
}

const USERS: [&str; 14] = [
    "administrator",
    "Administrator",
    "ADMIN",
    "admin",
    "user",
    "test",
    "azureuser",
    "guest",
    "sql",
    "backup",
    "support",
    "scanner",
    "user1",
    "Administrateur",
];
/// Failure reason, status, sub-status.
const FAILURES: [(&str, &str, &str); 6] = [
    ("%%2313", "0xc000006d", "0xc000006a"),
    ("%%2313", "0xc000006d", "0xc000006a"),
    ("%%2313", "0xc000006d", "0xc0000064"),
    ("%%2307", "0xc0000234", "0x0"),
    ("%%2308", "0xc000015b", "0x0"),
    ("%%2310", "0xc0000072", "0x0"),
];
const WORKSTATIONS: [&str; 6] = ["-", "-", "WIN-8H2J4KQ1", "kali", "DESKTOP-1N3B4", "Test"];

/// Event `i` (record id `i + 1`), 150 ms after the one before.
pub fn record(i: u64, start: Timestamp) -> Record {
    let time = start
        .checked_add(SignedDuration::from_millis(
            i64::try_from(i).unwrap_or(0).saturating_mul(150),
        ))
        .unwrap_or(start);
    let roll = mix(i, 0) % 100;
    let base = |id: u16| {
        event(PROVIDER, id)
            .channel("Security")
            .computer(COMPUTER)
            .level(0)
            .record_id(i + 1)
            .time(time)
    };
    let logon_id = format!("0x{:x}", 0x1_0000 + mix(i, 9) % 0x100_0000);
    let (event, types) = if roll < 90 {
        let (reason, status, sub) = pick_failure(i);
        let rdp = mix(i, 5).is_multiple_of(3); // logon type 10 (no NLA) for a third
        let port = if rdp {
            (1024 + mix(i, 6) % 60_000).to_string()
        } else {
            "0".to_owned()
        };
        let e = base(4625)
            .data("SubjectUserSid", "S-1-0-0")
            .data("SubjectUserName", "-")
            .data("SubjectDomainName", "-")
            .data("SubjectLogonId", "0x0")
            .data("TargetUserSid", "S-1-0-0")
            .data("TargetUserName", pick(i, 7, &USERS))
            .data("TargetDomainName", if rdp { "WEB-VM-01" } else { "" })
            .data("Status", status)
            .data("FailureReason", reason)
            .data("SubStatus", sub)
            .data("LogonType", if rdp { "10" } else { "3" })
            .data("LogonProcessName", if rdp { "User32 " } else { "NtLmSsp " })
            .data(
                "AuthenticationPackageName",
                if rdp { "Negotiate" } else { "NTLM" },
            )
            .data("WorkstationName", pick(i, 8, &WORKSTATIONS))
            .data("TransmittedServices", "-")
            .data("LmPackageName", "-")
            .data("KeyLength", "0")
            .data("ProcessId", if rdp { "0x4c8" } else { "0x0" })
            .data(
                "ProcessName",
                if rdp {
                    "C:\\Windows\\System32\\svchost.exe"
                } else {
                    "-"
                },
            )
            .data("IpAddress", &address(i))
            .data("IpPort", &port)
            .build();
        use DataType::*;
        let types = vec![
            Sid, Str, Str, Hex64, Sid, Str, Str, Hex32, Str, Hex32, U32, Str, Str, Str, Str, Str,
            U32, Hex64, Str, Str, Str,
        ];
        (e, types)
    } else if roll < 98 {
        let e = base(4624)
            .data("SubjectUserSid", "S-1-5-18")
            .data("SubjectUserName", "WEB-VM-01$")
            .data("SubjectDomainName", "WORKGROUP")
            .data("SubjectLogonId", "0x3e7");
        let e = admin(e, &logon_id)
            .data(
                "LogonType",
                if mix(i, 10).is_multiple_of(2) {
                    "10"
                } else {
                    "3"
                },
            )
            .data("LogonProcessName", "User32 ")
            .data("AuthenticationPackageName", "Negotiate")
            .data("WorkstationName", "WEB-VM-01")
            .data("LogonGuid", "{00000000-0000-0000-0000-000000000000}")
            .data("TransmittedServices", "-")
            .data("LmPackageName", "-")
            .data("KeyLength", "0")
            .data("ProcessId", "0x4c8")
            .data("ProcessName", "C:\\Windows\\System32\\svchost.exe")
            .data("IpAddress", "198.51.100.20")
            .data("IpPort", "0")
            .data("ImpersonationLevel", "%%1833")
            .data("RestrictedAdminMode", "%%1843")
            .data("TargetOutboundUserName", "-")
            .data("TargetOutboundDomainName", "-")
            .data("VirtualAccount", "%%1843")
            .data("TargetLinkedLogonId", "0x0")
            .data("ElevatedToken", "%%1842")
            .build();
        use DataType::*;
        let types = vec![
            Sid, Str, Str, Hex64, Sid, Str, Str, Hex64, U32, Str, Str, Str, Guid, Str, Str, U32,
            Hex64, Str, Str, Str, Str, Str, Str, Str, Str, Hex64, Str,
        ];
        (e, types)
    } else {
        let e = admin(base(4634), &logon_id).data("LogonType", "10").build();
        use DataType::*;
        (e, vec![Sid, Str, Str, Hex64, U32])
    };
    Record {
        event,
        layout: DataLayout::Typed(types),
    }
}

/// The VM's administrator, the one account that logs on.
fn admin(e: EventBuilder, logon_id: &str) -> EventBuilder {
    e.data(
        "TargetUserSid",
        "S-1-5-21-3623811015-3361044348-30300820-500",
    )
    .data("TargetUserName", "azureadmin")
    .data("TargetDomainName", "WEB-VM-01")
    .data("TargetLogonId", logon_id)
}

fn pick_failure(i: u64) -> (&'static str, &'static str, &'static str) {
    let n = FAILURES.len() as u64;
    FAILURES
        .get(usize::try_from(mix(i, 4) % n).unwrap_or(0))
        .copied()
        .unwrap_or(("%%2313", "0xc000006d", "0xc000006a"))
}

/// Writes `chunks` full chunks of the attack log behind a file header. Events are
/// written in batches; each batch's last chunk, partly filled, is made again with the
/// next batch, so every chunk but the file's last is as full as Windows fills it.
pub fn write(chunks: u64, out: &mut impl Write) -> Result<Made> {
    let start: Timestamp = "2026-11-20T03:00:00Z".parse().context("start time")?;
    let count = u16::try_from(chunks)
        .ok()
        .filter(|n| *n > 0)
        .context("an .evtx file holds 1 to 65,535 chunks")?;
    let mut body: Vec<u8> = Vec::with_capacity(CHUNK_SIZE * chunks as usize);
    let mut header = Vec::new();
    let mut written = 0u64;
    let mut next = 0u64; // the first event of the next batch
    let mut records = 0u64;
    while written < chunks {
        let mut writer = EvtxWriter::new();
        writer.extend((next..next + BATCH).map(|i| record(i, start)));
        let bytes = writer.to_bytes().context("writing the attack log")?;
        if header.is_empty() {
            header = bytes.get(..FILE_HEADER_SIZE).unwrap_or_default().to_vec();
        }
        let made: Vec<&[u8]> = bytes
            .get(FILE_HEADER_SIZE..)
            .unwrap_or_default()
            .chunks_exact(CHUNK_SIZE)
            .collect();
        for chunk in made.iter().take(made.len().saturating_sub(1).max(1)) {
            if written == chunks {
                break;
            }
            body.extend_from_slice(chunk);
            written += 1;
            // Record ids are event index + 1: the chunk's last record id (offset 16).
            records = u64_at(chunk, 16);
            next = records;
        }
    }
    out.write_all(&super::file_header(&header, count, records + 1))?;
    out.write_all(&body)?;
    out.flush()?;
    Ok(Made {
        chunks,
        records,
        bytes: (FILE_HEADER_SIZE + body.len()) as u64,
    })
}
