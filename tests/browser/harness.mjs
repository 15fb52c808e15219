// Shared setup for the browser tests: launches Debian's Chromium through playwright-core
// (no browser download) against the page `cargo xtask test` serves, and the page's agreed
// test hooks (data-testid / data-finding-id / data-sample) in one place.
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BASE_URL = process.env.RDPFIX_URL ?? 'http://127.0.0.1:8080/';
export const ARTIFACTS = process.env.RDPFIX_ARTIFACTS ?? join(tmpdir(), 'rdpfix-artifacts');
/** The repository root (`cargo xtask test` passes it; else two levels above this file). */
export const ROOT =
  process.env.RDPFIX_ROOT ?? resolve(dirname(fileURLToPath(import.meta.url)), '../..');
mkdirSync(ARTIFACTS, { recursive: true });

/** The built site (`cargo xtask test` passes the `dist/` it built). */
export const DIST = process.env.RDPFIX_DIST ?? join(ROOT, 'dist');

/** A path under `tests/fixtures/`. */
export const fixture = (rel) => join(ROOT, 'tests/fixtures', rel);
/** One of the page's own sample logs, as shipped in `static/samples/`. */
export const sampleFile = (name) => join(ROOT, 'static/samples', name);

/** The samples the page offers, with the one finding each must yield (none: healthy). */
export const SAMPLES = [
  { name: 'rdp-cert-keys', expected: ['rdp-cert-keys'] },
  { name: 'rdp-tls-disabled', expected: ['rdp-tls-disabled'] },
  { name: 'rdp-broker-renamed', expected: ['rdp-broker-renamed'] },
  { name: 'healthy', expected: [] },
];

/** How long an analysis of a test file may take before a test gives up (not a benchmark). */
export const ANALYSIS_TIMEOUT = 120_000;

/**
 * Starts a fresh headless Chromium (playwright gives it a new empty profile) with no
 * network chatter of its own; `args`: more command-line switches.
 */
export async function launch({ args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.RDPFIX_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      ...args,
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * Opens the page and collects what went wrong in it: uncaught errors, console errors and
 * CSP violations, so a test can assert there were none. `requests` lists every URL the page
 * asked for, to prove nothing went anywhere but the page's own origin.
 * `options.clipboard` grants clipboard read/write to the page's origin (for copy buttons).
 * The page's service worker (the offline copy) is blocked unless `options.serviceWorkers`
 * is 'allow': a page it controls would answer from its cache, past the test's routes.
 * `options.base`: another server than `BASE_URL` (see `serveDir`).
 */
export async function openPage(browser, path = '', options = {}) {
  const base = options.base ?? BASE_URL;
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 900 },
    serviceWorkers: options.serviceWorkers ?? 'block',
  });
  if (options.clipboard) {
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
      origin: new URL(base).origin,
    });
  }
  // Scripts run in the page before its own (`options.init`: functions).
  for (const init of options.init ?? []) await context.addInitScript(init);
  const page = await context.newPage();
  const problems = [];
  const requests = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`);
  });
  context.on('request', (r) => requests.push(r.url()));
  // Routes that must hold from the first request (the page starts its analysis worker as
  // it loads): [[pattern, handler], …].
  for (const [pattern, handler] of options.routes ?? []) await page.route(pattern, handler);
  await page.goto(new URL(path, base).href);
  return { page, problems, requests, context };
}

/**
 * One browser for the tests of a file (started before them, closed after them); returns
 * `open(options)`, which opens the page in a fresh context (`openPage` options, plus `path`)
 * and waits for the app.
 */
export function browserPerFile() {
  let browser;
  before(async () => {
    browser = await launch();
  });
  after(async () => {
    await browser?.close();
  });
  return async (options = {}) => {
    const opened = await openPage(browser, options.path ?? '', options);
    await appReady(opened.page);
    return opened;
  };
}

/** Waits for the Yew app to render. */
export async function appReady(page) {
  await page.getByTestId('app-ready').waitFor({ state: 'attached', timeout: 60_000 });
}

/** The page's real `<input type="file" multiple>` inside the drop zone. */
export function fileInput(page) {
  return page.getByTestId('drop-zone').locator('input[type="file"]');
}

/** Chooses files through the file input, as a user picking them in the file dialog. */
export async function chooseFiles(page, paths) {
  await fileInput(page).setInputFiles(paths);
}

/**
 * Waits until the analysis has finished (`data-state` done, error or cancelled; when done,
 * also the logs' SHA-256 digests that follow the findings) and returns that state.
 */
export async function analysisFinished(page, timeout = ANALYSIS_TIMEOUT) {
  const state = await page.waitForFunction(
    () => {
      const r = document.querySelector('[data-testid="results"]');
      const s = r?.getAttribute('data-state');
      if (s === 'done' && r.getAttribute('data-hashing') === 'true') return null;
      return ['done', 'error', 'cancelled'].includes(s) ? s : null;
    },
    null,
    { timeout },
  );
  return state.jsonValue();
}

/**
 * Starts an analysis with `trigger` (a click, choosing files) and waits until it has
 * finished; returns the final state. It first sees the results go to `running`, so the state
 * of an earlier analysis is never taken for this one's.
 */
export async function analyse(page, trigger, timeout = ANALYSIS_TIMEOUT) {
  await page.evaluate(() => {
    window.__rdpfixStarted = false;
    const observer = new MutationObserver(() => {
      const r = document.querySelector('[data-testid="results"]');
      if (r?.getAttribute('data-state') === 'running') {
        window.__rdpfixStarted = true;
        observer.disconnect();
      }
    });
    observer.observe(document.body, {
      subtree: true,
      childList: true,
      attributes: true,
      attributeFilter: ['data-state'],
    });
  });
  await trigger();
  await page.waitForFunction(() => window.__rdpfixStarted, null, { timeout });
  return analysisFinished(page, timeout);
}

/** The ids of the finding cards on screen, sorted. */
export async function findingIds(page) {
  const ids = await page
    .locator('[data-finding-id]')
    .evaluateAll((els) => els.map((e) => e.getAttribute('data-finding-id')));
  return [...new Set(ids)].sort();
}

/** The per-input status rows, as the page's data attributes say them. */
export async function inputStatus(page) {
  return page.getByTestId('input-status').evaluateAll((rows) =>
    rows.map((r) => ({
      text: r.textContent,
      format: r.getAttribute('data-format'),
      events: Number(r.getAttribute('data-events')),
      skipped: Number(r.getAttribute('data-skipped')),
      errors: Number(r.getAttribute('data-errors')),
      sha256: r.getAttribute('data-sha256'),
      parseMs: Number(r.getAttribute('data-parse-ms')),
      diagnoseMs: Number(r.getAttribute('data-diagnose-ms')),
      wasmMemoryBytes: Number(r.getAttribute('data-wasm-memory-bytes')),
      spent: r.hasAttribute('data-spent') ? JSON.parse(r.getAttribute('data-spent')) : null,
    })),
  );
}

/** The texts of every `data-testid="error"` element on screen. */
export async function errorTexts(page) {
  return page.getByTestId('error').allTextContents();
}

/**
 * Clicks the copy button that belongs to the element `testid` (the nearest enclosing
 * element holding a button) and returns what landed on the clipboard. The page must have
 * been opened with `{ clipboard: true }`.
 */
export async function copyFrom(page, testid) {
  const button = page
    .getByTestId(testid)
    .locator('xpath=ancestor::*[.//button][1]')
    .getByRole('button', { name: /copy/i })
    .first();
  // A sentinel first, so an old clipboard content cannot pass for the copied text.
  await page.evaluate(() => navigator.clipboard.writeText('(nothing copied yet)'));
  await button.click();
  await page.waitForFunction(
    async () => (await navigator.clipboard.readText()) !== '(nothing copied yet)',
    null,
    { timeout: 10_000, polling: 100 },
  );
  return page.evaluate(() => navigator.clipboard.readText());
}

/** Saves a full-page screenshot as a test artifact. */
export async function screenshot(page, name) {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Every requested URL that is not on the page's own origin. */
export function foreignRequests(requests) {
  const origin = new URL(BASE_URL).origin;
  return requests.filter((u) => {
    const url = new URL(u);
    return url.origin !== origin && url.protocol !== 'data:' && url.protocol !== 'blob:';
  });
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
};

/**
 * Serves `dir` on a loopback port as a host that sends no headers of its own would (GitHub
 * Pages, an Azure Storage static website): `Content-Type` and `Content-Length` only — no
 * CSP, no COOP/COEP, no nosniff. Files are read at each request, so a test may change them.
 * Returns `{ url, close(), hits }`; `hits` lists the paths asked for.
 */
export async function serveDir(dir) {
  const hits = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    hits.push(path);
    let file = normalize(join(dir, path));
    try {
      if (!file.startsWith(dir + sep) && file !== dir) throw new Error('outside');
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const body = readFileSync(file);
      res.writeHead(200, {
        'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
        'Content-Length': body.length,
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    url: `http://127.0.0.1:${server.address().port}/`,
    hits,
    close: () => {
      server.closeAllConnections();
      return new Promise((ok) => server.close(ok));
    },
  };
}
