//! The bodies of the `cargo fuzz` targets (`fuzz/fuzz_targets/<name>.rs` calls
//! `testkit::fuzz::<name>`), one per parser of untrusted input. Each must return normally
//! on any bytes: a panic is a bug in `analyzer`. The native test `tests/fuzz_seeds.rs`
//! replays every target's seed corpus (`fuzz/seeds/<name>/`) through the same functions,
//! so CI exercises them without nightly.
//!
//! Steered targets read the input as it is, then behind a prefix that makes the format
//! sniffer pick their format, so mutations reach that parser's depths. The targets take the
//! paths real diagnoses take: a [`Session`] (whose sink asks for
//! [`Details::Checked`](analyzer::input::Details)) as `fixer diagnose` and the page run it,
//! the chunk-range API the page splits a `.evtx` with, the paste box's whole pipeline.
//! `cargo xtask fuzz` runs them under an allocation cap ([`crate::alloc`]).

use crate::evtx_writer::seal_chunks;
use analyzer::diagnose::{DiagnoseOptions, Session, computer_choices};
use analyzer::envelope::{
    PreparedPlan, PublicKey, SecretKey, TokenReader, TrustEntry, receive, token,
};
use analyzer::evidence_block::find_blocks;
use analyzer::input::{
    EventSink, EventSpare, EvtxMerge, InputReport, no_progress, parse_evtx_chunks,
    parse_evtx_chunks_reusing, read_any, read_bytes, read_seekable,
};
use analyzer::plan::{PlanId, PlanParams, Proposal, powershell};
use analyzer::rules::Catalog;
use std::io::Cursor;
use std::sync::OnceLock;

/// A target's body: any bytes in, nothing out, never a panic.
pub type Body = fn(&[u8]);

/// Every target: its name (the `fuzz_targets/` file and the seeds folder) and its body.
pub const TARGETS: &[(&str, Body)] = &[
    ("channel_paste", channel_paste),
    ("evidence_block", evidence_block),
    ("config_snapshot", config_snapshot),
    ("plan_envelope", plan_envelope),
    ("input_sniff", input_sniff),
    ("archive", archive),
    ("evtx", evtx),
    ("evtx_chunks", evtx_chunks),
    ("collector_shard", collector_shard),
    ("paste", paste),
    ("wevtutil_text", wevtutil_text),
    ("xml", xml),
    ("csv", csv),
    ("format_list", format_list),
    ("table", table),
    ("fix_token", fix_token),
    ("registry_hive", registry_hive),
];

fn read(data: &[u8]) -> InputReport {
    read_bytes("fuzz", data, &mut Vec::new(), &mut no_progress)
}

fn read_prefixed(prefix: &[u8], data: &[u8]) -> InputReport {
    read(&prefixed(prefix, data))
}

fn prefixed(prefix: &[u8], data: &[u8]) -> Vec<u8> {
    let mut text = prefix.to_vec();
    text.extend_from_slice(data);
    text
}

/// A session as `fixer diagnose` and the page start one; the catalog is parsed once.
fn session() -> Session {
    static CATALOG: OnceLock<Option<Catalog>> = OnceLock::new();
    match CATALOG.get_or_init(|| Catalog::builtin().ok()) {
        Some(catalog) => Session::with_catalog(catalog.clone()),
        None => Session::new(),
    }
}

/// Pasted text as Run Command and Serial Console return it: `az` JSON (whole or cut),
/// `Invoke-AzVMRunCommand` listings, SAC captures with prompts; the first byte picks the
/// wrapping. Proptests of the same: `analyzer/tests/channel_props.rs`.
pub fn channel_paste(data: &[u8]) {
    const PREFIXES: [&[u8]; 4] = [
        b"{\"value\": [{\"code\": \"ComponentStatus/StdOut/succeeded\", \"message\": \"",
        b"Value[0]        :\r\n  Code          : ComponentStatus/StdOut/succeeded\r\n  Message       : ",
        b"SAC>cmd\r\nC:\\Windows\\system32>",
        b"",
    ];
    let (choice, rest) = data.split_first().unwrap_or((&3, &[]));
    let prefix = PREFIXES
        .get(usize::from(*choice) % PREFIXES.len())
        .copied()
        .unwrap_or_default();
    read_prefixed(prefix, rest);
}

/// `RDPFIX-EVIDENCE` blocks: finding and decoding them, and the reader around them.
/// Proptests of the same: `analyzer/tests/evidence_block_props.rs`.
pub fn evidence_block(data: &[u8]) {
    // Head starts: most inputs should reach past the marker, many past the checksum to the
    // announced length.
    for head in [
        b"RDPFIX-EVIDENCE v1: 1 events, 0 left out\n".as_slice(),
        b"RDPFIX-EVIDENCE v1: 1 events, 0 left out\nsha256 0123456789abcdef, ",
    ] {
        let text = prefixed(head, data);
        let _ = find_blocks(&String::from_utf8_lossy(&text), "fuzz");
        read(&text);
    }
    read(data);
}

/// `RDPFIX-CONFIG` snapshots: finding and reading blocks, the reader around them, and the
/// configuration conditions of the catalog checked against what was read (a session's
/// diagnosis). Proptests of the same: `analyzer/tests/config_snapshot_props.rs`.
pub fn config_snapshot(data: &[u8]) {
    // Head starts, so that most inputs reach the body's lines and the rules that read them.
    for head in [
        b"RDPFIX-CONFIG v1 host=fuzz at=2026-11-20T09:41:07Z os=20348\n".as_slice(),
        b"RDPFIX-CONFIG v1 host=fuzz os=9600\nrdp ".as_slice(),
    ] {
        let text = prefixed(head, data);
        let _ = analyzer::config::find_snapshots(&String::from_utf8_lossy(&text), "fuzz");
        let mut s = session();
        s.add_bytes("fuzz", &text, &mut analyzer::input::no_progress);
        let _ = s.finish(&DiagnoseOptions::default());
    }
    read(data);
}

/// Plan input as the fixer reads it (a fix token, a plan file, a whole fix command)
/// through every check that needs no host; key texts. Never accepts anything not signed
/// by the trusted key. Proptests of the same: `analyzer/tests/envelope_props.rs`.
pub fn plan_envelope(data: &[u8]) {
    let key = crate::plans::key(7);
    let store = vec![TrustEntry {
        public_key: key.public_key(),
        label: "fuzz".into(),
        expires_at: None,
        revoked: false,
    }];
    let now: jiff::Timestamp = "2026-03-01T12:00:00Z".parse().unwrap_or_default();
    if let Ok(received) = receive(data) {
        let _ = received.envelope().to_json();
        if let Ok(verified) = received
            .check_payload_type()
            .and_then(|r| r.check_key(&store, now))
            .and_then(|k| k.verify_signature())
            .and_then(|s| s.parse())
        {
            // Only reachable with a signature from the fuzz key: the fuzzer cannot forge one.
            let _ = verified.check_computer(["fuzz"]);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<PublicKey>();
        let _ = SecretKey::from_file_text(text);
    }
}

/// Any bytes through format recognition, in memory and as a seekable source (the page's
/// `Blob`, the fixer's files).
pub fn input_sniff(data: &[u8]) {
    read(data);
    let _ = read_seekable(
        "fuzz",
        Cursor::new(data),
        data.len() as u64,
        &mut Vec::new(),
        &mut no_progress,
    );
}

/// Zip archives: the central directory (or, when it is damaged, the local headers one
/// after the other), each member through the normal readers, the checks against path tricks,
/// bombs and damage. Read alone, and into a session as the page and `fixer diagnose` read
/// an archive; also with a length that disagrees with the bytes.
pub fn archive(data: &[u8]) {
    for len in [data.len() as u64, (data.len() as u64).saturating_mul(2)] {
        let _ = read_any(
            "fuzz.zip",
            Cursor::new(data),
            len,
            &mut Vec::new(),
            &mut no_progress,
        );
    }
    let mut diagnosis = session();
    diagnosis.add_seekable(
        "fuzz.zip",
        Cursor::new(data),
        data.len() as u64,
        &mut no_progress,
    );
    let _ = diagnosis.finish(&DiagnoseOptions::default());
}

/// Binary `.evtx`: file header, chunks, records, BinXML, damage reports. Seeds are whole
/// small files; the reader goes chunk by chunk through `read_seekable`. A length that
/// disagrees with the bytes (a file that grew or shrank while read) is tried too.
pub fn evtx(data: &[u8]) {
    for len in [data.len() as u64, (data.len() as u64).saturating_mul(2), 0] {
        let _ = read_seekable(
            "fuzz.evtx",
            Cursor::new(data),
            len,
            &mut Vec::new(),
            &mut no_progress,
        );
    }
    // As every diagnosis reads: the rules' sink counts what no rule lists. Mutated chunks
    // fail their CRC32s and go to the `evtx` crate; sealed again, they reach the walk.
    let mut sealed = data.to_vec();
    seal_chunks(&mut sealed);
    for bytes in [data, &sealed] {
        let mut diagnosis = session();
        diagnosis.add_seekable(
            "fuzz.evtx",
            Cursor::new(bytes),
            bytes.len() as u64,
            &mut no_progress,
        );
        let _ = diagnosis.finish(&DiagnoseOptions::default());
    }
}

/// A `.evtx` as the page reads it (`web/src/split.rs`): [`EvtxMerge`] checks the header,
/// [`parse_evtx_chunks`] parses batches of chunks (1 to 16, from the input's length) with
/// the session's `Details`, the parts are merged in order into the session, the tail and
/// the report go last. The chunks' CRC32s are sealed first (see `evtx`), so mutations reach
/// the walk. Seeds are whole small files, as for `evtx`.
pub fn evtx_chunks(data: &[u8]) {
    let mut sealed = data.to_vec();
    seal_chunks(&mut sealed);
    let data = sealed.as_slice();
    let batch = (data.len() % 16) as u64 + 1;
    let len = data.len() as u64;
    let mut diagnosis = session();
    let shape;
    let report = {
        let mut sink = diagnosis.input_sink();
        let mut progress = no_progress;
        let head = data.get(..4096).unwrap_or(data);
        let mut merge = EvtxMerge::new("fuzz.evtx", head, len, &mut sink, &mut progress);
        let layout = merge.layout();
        let details = merge.details();
        shape = (layout, details.clone());
        let mut merged = true;
        let mut from = 0;
        while merged && from < layout.chunks {
            let to = (from + batch).min(layout.chunks);
            // Each batch's bytes alone, as a reader hands them over.
            let start = layout.chunk_offset(from);
            let at =
                |offset: u64| usize::try_from(offset).map_or(data.len(), |o| o.min(data.len()));
            let bytes = data
                .get(at(start)..at(layout.chunk_offset(to)))
                .unwrap_or_default();
            parse_evtx_chunks(
                bytes,
                start,
                &layout,
                from..to,
                "fuzz.evtx",
                &details,
                &mut |part| {
                    let go = merge.push(part);
                    merged &= go.is_continue();
                    go
                },
            );
            from = to;
        }
        let (at, n) = layout.tail();
        let tail = usize::try_from(at)
            .ok()
            .zip(usize::try_from(at.saturating_add(n)).ok())
            .and_then(|(a, b)| data.get(a..b))
            .unwrap_or_default();
        merge.finish(tail, None)
    };
    diagnosis.add_report(report);
    let _ = diagnosis.finish(&DiagnoseOptions::default());
    // The template definitions a reader finds again in later chunks change nothing: every
    // chunk parsed by one reader after all the others gives what a fresh reader gives.
    {
        let (layout, details) = shape;
        let parts = |shared: bool| -> Vec<String> {
            let mut spare = EventSpare::default();
            let mut parts = Vec::new();
            for chunk in 0..layout.chunks {
                if !shared {
                    spare = EventSpare::default();
                }
                let start = layout.chunk_offset(chunk);
                let bytes = usize::try_from(start)
                    .ok()
                    .and_then(|s| data.get(s..))
                    .unwrap_or_default();
                parse_evtx_chunks_reusing(
                    bytes,
                    start,
                    &layout,
                    chunk..chunk + 1,
                    "fuzz.evtx",
                    &details,
                    &mut spare,
                    &mut |part| {
                        parts.push(serde_json::to_string(&part).unwrap_or_default());
                        std::ops::ControlFlow::Continue(())
                    },
                );
            }
            parts
        };
        assert_eq!(
            parts(true),
            parts(false),
            "a definition found again read otherwise"
        );
    }
}

/// A page's parsing helper's answer taken in (`web/src/split.rs`): the bytes loaded into a
/// shard of a session's sink (`Shard::load`) and absorbed — twice, as two stripes would be
/// — then the diagnosis. Seeds are shards a helper wrote (`Shard::to_bytes`).
pub fn collector_shard(data: &[u8]) {
    let mut diagnosis = session();
    {
        let mut sink = diagnosis.input_sink();
        for _ in 0..2 {
            if let Some(mut shard) = sink.shard()
                && shard.load(data).is_ok()
            {
                sink.absorb(&mut *shard);
            }
        }
    }
    let _ = diagnosis.finish(&DiagnoseOptions::default());
}

/// The paste box's whole pipeline (`web/src/worker.rs` and the fix panel): pasted text (a
/// JavaScript string, so UTF-8) read into a session, the diagnosis, the computers a plan
/// may name and each one's plan identity, the proposal, the plan and its PowerShell preview.
/// Seeds are pastes: evidence blocks, Run Command output, text exports.
pub fn paste(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut diagnosis = session();
    diagnosis.add_bytes("pasted text", text.as_bytes(), &mut no_progress);
    let found = diagnosis.finish(&DiagnoseOptions::default());
    let proposal = Proposal::for_diagnosis(diagnosis.catalog(), &found);
    for choice in computer_choices(&found) {
        let params = PlanParams::for_diagnosis_on(
            &found,
            Some(&choice.name),
            jiff::Timestamp::UNIX_EPOCH,
            PlanId::from_random([0; 16]),
        );
        if let (Ok(proposal), Ok(params)) = (&proposal, params)
            && let Ok(plan) = proposal.to_plan(&params)
            && let Ok(prepared) = PreparedPlan::new(&plan)
        {
            let _ = powershell::render(prepared.plan(), prepared.steps());
        }
    }
}

/// `wevtutil qe /f:text` and label-and-value text in any language (Event Viewer copies,
/// the article's rendering).
pub fn wevtutil_text(data: &[u8]) {
    read(data);
    read_prefixed(
        b"Event[0]:\r\n  Log Name: System\r\n  Source: Schannel\r\n  Date: 2024-05-14T09:27:01.023\r\n  Event ID: ",
        data,
    );
}

/// `wevtutil /f:xml`, `/f:RenderedXml` and Event Viewer's saved XML.
pub fn xml(data: &[u8]) {
    read(data);
    read_prefixed(
        b"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='",
        data,
    );
    read_prefixed(b"<?xml version=\"1.0\"?><Events><Event><System>", data);
}

/// Event Viewer CSV / tab-delimited and PowerShell `Export-Csv`.
pub fn csv(data: &[u8]) {
    read(data);
    read_prefixed(
        b"Level,Date and Time,Source,Event ID,Task Category\r\n",
        data,
    );
    read_prefixed(
        b"#TYPE System.Diagnostics.Eventing.Reader.EventLogRecord\r\n\"Message\",\"Id\",\"ProviderName\",\"TimeCreated\"\r\n",
        data,
    );
}

/// PowerShell `Get-WinEvent | Format-List`.
pub fn format_list(data: &[u8]) {
    read(data);
    read_prefixed(
        b"\r\nTimeCreated  : 5/14/2024 9:27:01 AM\r\nProviderName : Schannel\r\nId           : ",
        data,
    );
}

/// PowerShell's table of `Get-WinEvent` objects: as it is, under the default view's group
/// line and header, and under chosen columns whose first is right-aligned.
pub fn table(data: &[u8]) {
    read(data);
    read_prefixed(
        b"   ProviderName: Schannel\r\n\r\nTimeCreated                      Id LevelDisplayName Message\r\n\
          -----------                      -- ---------------- -------\r\n",
        data,
    );
    read_prefixed(
        b"   Id ProviderName TimeCreated          Message\r\n   -- ------------ -----------          -------\r\n",
        data,
    );
}

/// The fix token alone (`rdpfix1.<N>.<DATA>`: length, base64url, checksum, inflate) and the
/// line-by-line paste reader.
pub fn fix_token(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = token::decode(&text);
    let _ = token::decode(&format!("rdpfix1.{text}"));
    let mut reader = TokenReader::new();
    for line in text.lines() {
        let _ = reader.push(line);
    }
}

/// Offline registry hives: the base block's checks, the walk over the hive bins, cells,
/// subkey and value lists, values and big data, into a snapshot and a session's diagnosis
/// (a SYSTEM and a SOFTWARE hive joined). The input is read as a whole file, and as the
/// hive bins behind a valid base block (the fixtures' SYSTEM header, its bins' size set to
/// the input's and resealed), so mutations reach the cells; then as the SOFTWARE hive beside
/// a good SYSTEM hive. Each diagnosis' plan offer is made: the disk a plan may be for reads
/// the computer name, control set and MachineGuid the hives hold. Each is also read whole
/// (`hive::tree::read_tree`) and written back. Proptests of the same:
/// `analyzer/tests/hive_props.rs`.
pub fn registry_hive(data: &[u8]) {
    static SOFTWARE: OnceLock<Vec<u8>> = OnceLock::new();
    let software = SOFTWARE.get_or_init(|| crate::hive_writer::software(|_| {}).write().bytes);
    let behind = crate::hive_writer::behind_base_block(data);
    for hive in [data, behind.as_slice()] {
        input_sniff(hive);
        let mut s = session();
        s.add_seekable(
            "SYSTEM",
            Cursor::new(hive),
            hive.len() as u64,
            &mut no_progress,
        );
        s.add_bytes("SOFTWARE", software, &mut no_progress);
        let d = s.finish(&DiagnoseOptions::default());
        // The disk a plan may be for: the SYSTEM hive's name and control set.
        let _ = analyzer::diagnose::PlanOffer::for_diagnosis(s.catalog(), &d);
        // Read whole, as the fixer's simulated disk loads a hive, and written back.
        if let Ok(tree) = analyzer::input::hive::tree::read_tree(hive) {
            let _ = tree.writer().write();
        }
    }
    // As the SOFTWARE hive beside a good SYSTEM hive: its MachineGuid names the disk.
    static SYSTEM: OnceLock<Vec<u8>> = OnceLock::new();
    let system = SYSTEM.get_or_init(|| crate::hive_writer::system(1, |_| {}).write().bytes);
    let mut s = session();
    s.add_bytes("SYSTEM", system, &mut no_progress);
    s.add_bytes("SOFTWARE", data, &mut no_progress);
    let d = s.finish(&DiagnoseOptions::default());
    let _ = analyzer::diagnose::PlanOffer::for_diagnosis(s.catalog(), &d);
}
