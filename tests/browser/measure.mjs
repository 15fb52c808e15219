// Measures one analysis in the page: from the moment the file input reports the chosen
// file (its `change` event) to the moment the results say done with the findings on screen,
// both taken inside the page (performance.now), so CDP latency is not counted. Also what
// the page reports (the worker's parse and diagnose ms, its wasm memory) and memory seen
// from outside: the page's peak JS heap (CDP Performance.getMetrics, sampled), the
// worker's (performance.memory in the worker, where Chromium exposes it) and the renderer
// process's peak resident memory (VmHWM, Linux).
import { readFileSync, readdirSync } from 'node:fs';
import {
  appReady,
  chooseFiles,
  analysisFinished,
  findingIds,
  inputStatus,
  ANALYSIS_TIMEOUT,
} from './harness.mjs';

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

/**
 * Chooses `file` in a page already open and ready, and measures until the results are done.
 * Open a fresh browser per measurement for the renderer's peak to mean this run only.
 */
export async function measureAnalysis(page, file, { timeout = ANALYSIS_TIMEOUT } = {}) {
  await appReady(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  let pageHeapPeak = 0;
  let workerHeapPeak = null;
  const workers = new Set();
  page.on('worker', (w) => workers.add(w));
  for (const w of page.workers()) workers.add(w);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const { metrics } = await cdp.send('Performance.getMetrics');
        const used = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
        pageHeapPeak = Math.max(pageHeapPeak, used);
        for (const w of workers) {
          const heap = await w
            .evaluate(() => globalThis.performance?.memory?.usedJSHeapSize ?? null)
            .catch(() => null);
          if (heap !== null) workerHeapPeak = Math.max(workerHeapPeak ?? 0, heap);
        }
      } catch {
        // The page navigated or closed.
      }
      await new Promise((ok) => setTimeout(ok, 100));
    }
  })();

  await page.evaluate(() => {
    window.__rdpfixChosenAt = null;
    window.__rdpfixShownAt = null;
    document.addEventListener(
      'change',
      (e) => {
        if (e.target instanceof HTMLInputElement && e.target.type === 'file') {
          window.__rdpfixChosenAt = performance.now();
        }
      },
      { capture: true, once: true },
    );
    const done = () => {
      const r = document.querySelector('[data-testid="results"]');
      const state = r?.getAttribute('data-state');
      if (window.__rdpfixChosenAt !== null && ['done', 'error', 'cancelled'].includes(state)) {
        window.__rdpfixShownAt = performance.now();
        return true;
      }
      return false;
    };
    const observer = new MutationObserver(() => {
      if (done()) observer.disconnect();
    });
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
  await chooseFiles(page, [file]);
  const state = await analysisFinished(page, timeout);
  await page.waitForFunction(() => window.__rdpfixShownAt !== null, null, { timeout: 10_000 });
  sampling = false;
  await sampler;
  const [chosenAt, shownAt] = await page.evaluate(() => [
    window.__rdpfixChosenAt,
    window.__rdpfixShownAt,
  ]);
  const rows = await inputStatus(page);
  const findings = await findingIds(page);
  await cdp.detach().catch(() => {});
  const sum = (k) => rows.reduce((s, r) => s + (Number.isFinite(r[k]) ? r[k] : 0), 0);
  return {
    state,
    findings,
    events: sum('events'),
    chosen_to_findings_ms: Math.round((shownAt - chosenAt) * 10) / 10,
    parse_ms: sum('parseMs'),
    diagnose_ms: rows.length ? Math.max(...rows.map((r) => r.diagnoseMs || 0)) : null,
    wasm_memory_bytes: rows.length ? Math.max(...rows.map((r) => r.wasmMemoryBytes || 0)) : null,
    page_js_heap_peak_bytes: pageHeapPeak,
    worker_js_heap_peak_bytes: workerHeapPeak,
    renderer_peak_rss_bytes: rendererPeakRss(),
  };
}
