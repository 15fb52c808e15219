// The privacy promise holds because of the Content-Security-Policy: a request to another
// origin and an inline script are blocked. Checked in the browser against a real listening
// server on another origin (so "blocked" cannot be a network failure), with the CSP from
// the `<meta>` tag alone (any static host) and with the header `cargo xtask test` also sends.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { launch, openPage, appReady, BASE_URL, ROOT } from './harness.mjs';

let browser;
let other;
let otherHits = [];

before(async () => {
  browser = await launch();
  // Another origin that would answer, and allows any origin to read it (CORS): only the
  // page's CSP can stop the request.
  other = createServer((req, res) => {
    otherHits.push(req.url);
    res.writeHead(200, {
      'Access-Control-Allow-Origin': '*',
      'Content-Type': 'text/javascript',
    });
    res.end('globalThis.__foreignScriptRan = true;');
  });
  await new Promise((ok) => other.listen(0, '127.0.0.1', ok));
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => other?.close(ok));
});

const otherOrigin = () => `http://127.0.0.1:${other.address().port}`;

/** Records every CSP violation the page reports, from the start of the document. */
async function watchViolations(page) {
  await page.evaluate(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__violations.push({ directive: e.effectiveDirective, blocked: e.blockedURI }),
    );
  });
}

const violations = (page) => page.evaluate(() => window.__violations);

/**
 * Closes a page `open` opened. With `metaOnly` every request goes through the route that
 * strips the header: one still in flight as the context closes (the worker fetching its
 * module) would fail in `route.fulfill` after the test ended, an unhandled rejection that
 * fails the file. Unrouted first, such errors are dropped.
 */
async function close(page) {
  await page.unrouteAll({ behavior: 'ignoreErrors' });
  await page.context().close();
}

/**
 * Opens the page; with `metaOnly` the server's CSP header is stripped from every response,
 * leaving the `<meta>` tag as the only policy.
 */
async function open(metaOnly) {
  const opened = await openPage(browser, 'about:blank');
  const { page } = opened;
  if (metaOnly) {
    await page.route('**/*', async (route) => {
      const response = await route.fetch();
      const headers = { ...response.headers() };
      delete headers['content-security-policy'];
      await route.fulfill({ response, headers });
    });
  }
  const response = await page.goto(BASE_URL);
  await appReady(page);
  await watchViolations(page);
  opened.cspHeader = response.headers()['content-security-policy'];
  return opened;
}

for (const metaOnly of [true, false]) {
  const how = metaOnly ? 'the <meta> CSP alone' : 'the <meta> CSP and the header';

  test(`${how} blocks fetch, images and scripts from another origin`, async () => {
    const { page, cspHeader } = await open(metaOnly);
    otherHits = [];
    assert.equal(cspHeader === undefined, metaOnly, `CSP header: ${cspHeader}`);
    const outcome = await page.evaluate(async (url) => {
      const fetched = await fetch(`${url}/fetch`).then(
        (r) => `fetched ${r.status}`,
        (e) => `rejected: ${e.name}`,
      );
      const image = await new Promise((ok) => {
        const img = new Image();
        img.onload = () => ok('loaded');
        img.onerror = () => ok('blocked');
        img.src = `${url}/image.png`;
      });
      const script = await new Promise((ok) => {
        const s = document.createElement('script');
        s.src = `${url}/script.js`;
        s.onload = () => ok('loaded');
        s.onerror = () => ok('blocked');
        document.head.append(s);
      });
      const beacon = navigator.sendBeacon(`${url}/beacon`, 'x');
      return { fetched, image, script, beacon, ran: globalThis.__foreignScriptRan === true };
    }, otherOrigin());
    assert.equal(outcome.fetched, 'rejected: TypeError');
    assert.equal(outcome.image, 'blocked');
    assert.equal(outcome.script, 'blocked');
    assert.equal(outcome.ran, false);
    // Let anything that slipped through reach the other server before counting.
    await page.waitForTimeout(300);
    assert.deepEqual(otherHits, [], 'the other origin was reached');
    const directives = (await violations(page)).map((v) => v.directive);
    for (const d of ['connect-src', 'img-src', 'script-src-elem']) {
      assert.ok(directives.includes(d), `no ${d} violation in ${JSON.stringify(directives)}`);
    }
    await close(page);
  });

  test(`${how} blocks inline script, inline handlers and eval`, async () => {
    const { page } = await open(metaOnly);
    const outcome = await page.evaluate(async () => {
      const s = document.createElement('script');
      s.textContent = 'window.__inlineRan = true;';
      document.body.append(s);
      const img = document.createElement('img');
      img.setAttribute('onerror', 'window.__handlerRan = true');
      img.src = 'data:image/png;base64,AAAA';
      document.body.append(img);
      const link = document.createElement('a');
      link.href = 'javascript:window.__urlRan=true';
      document.body.append(link);
      link.click();
      // eval from a timer callback: DevTools lets code it evaluates itself call eval, so
      // the attempt must run later, as the page's own code would.
      const evaluated = await new Promise((ok) =>
        setTimeout(() => {
          try {
            ok(eval('1 + 1'));
          } catch (e) {
            ok(e.name);
          }
        }, 0),
      );
      setTimeout('window.__timerRan = true', 0);
      await new Promise((ok) => setTimeout(ok, 200));
      return {
        inline: window.__inlineRan === true,
        handler: window.__handlerRan === true,
        url: window.__urlRan === true,
        timer: window.__timerRan === true,
        evaluated,
      };
    });
    assert.deepEqual(outcome, {
      inline: false,
      handler: false,
      url: false,
      timer: false,
      evaluated: 'EvalError',
    });
    const directives = (await violations(page)).map((v) => v.directive);
    assert.ok(directives.includes('script-src-elem'), JSON.stringify(directives));
    assert.ok(directives.includes('script-src-attr'), JSON.stringify(directives));
    await close(page);
  });
}

test('the header file and the <meta> tag state the same policy', () => {
  const html = readFileSync(join(ROOT, 'static/index.html'), 'utf8');
  const meta = html.match(/http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i);
  assert.ok(meta, 'index.html has no CSP <meta> tag');
  const config = JSON.parse(readFileSync(join(ROOT, 'static/staticwebapp.config.json'), 'utf8'));
  const header = config.globalHeaders['Content-Security-Policy'];
  const directives = (csp) =>
    new Map(
      csp
        .split(';')
        .map((d) => d.trim())
        .filter(Boolean)
        .map((d) => [d.split(/\s+/)[0], d]),
    );
  const [m, h] = [directives(meta[1]), directives(header)];
  // frame-ancestors only works as a header (browsers ignore it in <meta>).
  h.delete('frame-ancestors');
  assert.deepEqual([...m.entries()].sort(), [...h.entries()].sort());
  assert.equal(m.get('default-src'), "default-src 'none'");
  assert.ok(!/'unsafe-inline'|'unsafe-eval'|\*/.test(meta[1]), meta[1]);
});

// The site's headers (staticwebapp.config.json, also sent by `cargo xtask serve`) make it
// cross-origin isolated: its own process, no cross-origin window can hold a reference to
// it, and performance.measureUserAgentSpecificMemory() works (the benchmark's memory).
test('the page is cross-origin isolated by the headers the site ships', async () => {
  const { page, problems } = await openPage(browser);
  await appReady(page);
  assert.equal(await page.evaluate(() => self.crossOriginIsolated), true);
  assert.deepEqual(problems, []);
  await page.context().close();
});
