// Measures one analysis in the page: from the moment the file input reports the chosen
// file (its `change` event) to the moment the results say done with the findings on screen,
// both taken inside the page (performance.now), so CDP latency is not counted. Also what
// the page reports (the worker's parse and diagnose ms, its wasm memory) and memory seen
// from outside:
// - the page's and the analysis worker's peak JS heap, sampled with
//   performance.measureUserAgentSpecificMemory() (which needs a cross-origin isolated page:
//   the site sends COOP/COEP headers; Chromium runs with ForceEagerMeasureMemory so each
//   sample is taken at once, not at the next GC);
// - the renderer process's peak resident memory (VmHWM, Linux), which also holds the wasm
//   memory and everything else the page and its workers use.
import { readFileSync, readdirSync } from 'node:fs';
import {
  launch,
  openPage,
  appReady,
  BASE_URL,
  chooseFiles,
  analysisFinished,
  findingIds,
  inputStatus,
  ANALYSIS_TIMEOUT,
} from './harness.mjs';

/** A Chromium for measuring (a fresh one per run: its renderer's peak is then this run's). */
export function launchForMeasuring() {
  return launch({ args: ['--enable-blink-features=ForceEagerMeasureMemory'] });
}

/**
 * Opens the page (at `path`, e.g. `?workers=1`) and waits for the app. The site is
 * cross-origin isolated (its COOP/COEP headers, staticwebapp.config.json), which the memory
 * sampler needs.
 */
export async function openMeasuredPage(browser, path = '') {
  const opened = await openPage(browser, path);
  await appReady(opened.page);
  return opened;
}

/**
 * Peak resident set (VmHWM) of the Chromium renderer processes this node process started
 * (its descendants), in bytes, on Linux; else null.
 */
function rendererPeakRss() {
  let procs;
  try {
    procs = readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .map((pid) => {
        try {
          const status = readFileSync(`/proc/${pid}/status`, 'latin1');
          return {
            pid: Number(pid),
            ppid: Number(status.match(/PPid:\s+(\d+)/)?.[1]),
            hwm: Number(status.match(/VmHWM:\s+(\d+) kB/)?.[1] ?? 0) * 1024,
            renderer: readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes('--type=renderer'),
          };
        } catch {
          return null; // the process ended while being read
        }
      })
      .filter(Boolean);
  } catch {
    return null;
  }
  const ours = new Set([process.pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (!ours.has(p.pid) && ours.has(p.ppid)) {
        ours.add(p.pid);
        grew = true;
      }
    }
  }
  const peaks = procs.filter((p) => p.renderer && ours.has(p.pid)).map((p) => p.hwm);
  return peaks.length ? Math.max(...peaks) : null;
}

/** In the page: the timing hooks and, when it is isolated, the memory sampler. */
function instrument(sample) {
  window.__rdpfix = {
    chosenAt: null,
    shownAt: null,
    hashedAt: null,
    sampling: sample,
    page: 0,
    worker: 0,
  };
  const m = window.__rdpfix;
  document.addEventListener(
    'change',
    (e) => {
      if (e.target instanceof HTMLInputElement && e.target.type === 'file') {
        m.chosenAt = performance.now();
      }
    },
    { capture: true, once: true },
  );
  const observer = new MutationObserver(() => {
    const results = document.querySelector('[data-testid="results"]');
    const state = results?.getAttribute('data-state');
    if (m.chosenAt === null || !['done', 'error', 'cancelled'].includes(state)) return;
    m.shownAt ??= performance.now();
    if (results.getAttribute('data-hashing') !== 'true') {
      m.hashedAt = performance.now();
      observer.disconnect();
    }
  });
  observer.observe(document.body, {
    subtree: true,
    childList: true,
    attributes: true,
    attributeFilter: ['data-state', 'data-hashing'],
  });
  if (!sample || !self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) {
    m.page = null;
    m.worker = null;
    return;
  }
  (async () => {
    while (m.sampling) {
      const sample = await performance.measureUserAgentSpecificMemory();
      let page = 0;
      let worker = 0;
      for (const b of sample.breakdown) {
        if (!b.types.includes('JavaScript')) continue;
        for (const a of b.attribution) {
          if (a.scope === 'Window') page += b.bytes;
          if (a.scope === 'DedicatedWorkerGlobalScope') worker += b.bytes;
        }
      }
      m.page = Math.max(m.page, page);
      m.worker = Math.max(m.worker, worker);
    }
  })();
}

/**
 * Chooses `file` in a page opened by `openMeasuredPage` and measures until it is done. With
 * `sampleMemory`, the JS heaps are sampled throughout; each sample is a full garbage
 * collection in the page and its workers, which slows the analysis: time it without.
 * `settleMs`: how long the page has been open before the file is chosen (a person takes
 * longer than that; the page starts its analysis worker when it loads).
 */
export async function measureAnalysis(
  page,
  file,
  { timeout = ANALYSIS_TIMEOUT, sampleMemory = true, settleMs = 0 } = {},
) {
  if (settleMs > 0) await page.waitForTimeout(settleMs);
  await page.evaluate(instrument, sampleMemory);
  await chooseFiles(page, [file]);
  const state = await analysisFinished(page, timeout);
  await page.waitForFunction(() => window.__rdpfix.hashedAt !== null, null, { timeout: 10_000 });
  const m = await page.evaluate(() => {
    window.__rdpfix.sampling = false;
    return window.__rdpfix;
  });
  const rows = await inputStatus(page);
  const findings = await findingIds(page);
  const sum = (k) => rows.reduce((s, r) => s + (Number.isFinite(r[k]) ? r[k] : 0), 0);
  const max = (k) => (rows.length ? Math.max(...rows.map((r) => r[k] || 0)) : null);
  return {
    state,
    findings,
    events: sum('events'),
    chosen_to_findings_ms: Math.round((m.shownAt - m.chosenAt) * 10) / 10,
    // The logs' SHA-256 digests (which only a signed plan needs) follow the findings.
    chosen_to_hashed_ms: Math.round((m.hashedAt - m.chosenAt) * 10) / 10,
    parse_ms: sum('parseMs'),
    spent_ms: rows.reduce((s, r) => {
      for (const [k, v] of Object.entries(r.spent ?? {})) s[k] = Math.round(((s[k] ?? 0) + v) * 10) / 10;
      return s;
    }, {}),
    diagnose_ms: max('diagnoseMs'),
    wasm_memory_bytes: max('wasmMemoryBytes'),
    page_js_heap_peak_bytes: m.page,
    worker_js_heap_peak_bytes: m.worker,
    renderer_peak_rss_bytes: rendererPeakRss(),
  };
}
