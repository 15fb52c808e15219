// Browser benchmark of one .evtx file: from choosing it in the page's file input to the
// findings on screen, in Debian's headless Chromium. Not run by `cargo xtask test`;
// `cargo xtask bench` calls it. Prints one JSON line (see measure.mjs for each figure):
//   {"file", "bytes", "state", "findings", "events", "chosen_to_findings_ms", "chosen_to_hashed_ms", "parse_ms",
//    "diagnose_ms", "wasm_memory_bytes", "page_js_heap_peak_bytes",
//    "worker_js_heap_peak_bytes", "renderer_peak_rss_bytes", "chromium"}
//
//   RDPFIX_URL=http://127.0.0.1:8080/ RDPFIX_CHROMIUM=/usr/bin/chromium \
//     node tests/browser/bench.mjs <file.evtx> [query]
// `query`: the page's query string, e.g. `?workers=1` (how many workers parse the file).
// A fresh browser per pass, so the renderer's peak memory is this run's.
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { launchForMeasuring, openMeasuredPage, measureAnalysis } from './measure.mjs';

const file = process.argv[2];
if (!file) {
  console.error('usage: node tests/browser/bench.mjs <file.evtx>  (env RDPFIX_URL, RDPFIX_CHROMIUM)');
  process.exit(2);
}
const path = resolve(file);
const query = process.argv[3] ?? '';
const timeout = Number(process.env.RDPFIX_BENCH_TIMEOUT_MS ?? 30 * 60_000);
// Two fresh browsers: one timed (nothing else running in the page), one with the JS heap
// sampler (whose full collections would slow the timed run). The page is left open for a
// second before the file is chosen, as it is before a person has picked one.
const SETTLE_MS = 1000;
async function once(sampleMemory) {
  const browser = await launchForMeasuring();
  try {
    const { page, problems } = await openMeasuredPage(browser, query);
    const result = await measureAnalysis(page, path, { timeout, sampleMemory, settleMs: SETTLE_MS });
    return { result, problems, chromium: browser.version() };
  } finally {
    await browser.close();
  }
}
const timed = await once(false);
const sampled = await once(true);
const peak = (a, b) => (a === null || b === null ? (a ?? b) : Math.max(a, b));
console.log(
  JSON.stringify({
    file: path,
    query,
    bytes: statSync(path).size,
    ...timed.result,
    page_js_heap_peak_bytes: sampled.result.page_js_heap_peak_bytes,
    worker_js_heap_peak_bytes: sampled.result.worker_js_heap_peak_bytes,
    renderer_peak_rss_bytes: peak(timed.result.renderer_peak_rss_bytes, sampled.result.renderer_peak_rss_bytes),
    sampled_chosen_to_findings_ms: sampled.result.chosen_to_findings_ms,
    chromium: timed.chromium,
    problems: [...timed.problems, ...sampled.problems],
  }),
);
process.exitCode = timed.result.state === 'done' && sampled.result.state === 'done' ? 0 : 1;
