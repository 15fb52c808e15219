// The analysis worker: the same wasm module as the page, loaded in a module worker, so
// parsing and diagnosis never block the page. Requests are queued until the module is ready;
// a crash is reported to the page in words (the page also listens for the worker's errors).
//
// The same script, named 'hash', is the analysis worker's helper (js/read.js): handed the
// compiled module with its first message, it hashes the buffers it is lent, in order, and
// lends them back, so the file's SHA-256 is computed beside the parsing.
//
// Named 'parse', it is one of the analysis worker's parsing helpers (js/read.js): handed the
// compiled module with its first message, it reads and parses each stripe of a .evtx's
// chunks it is given and posts the stripe's parts, and what its session's shard collected of
// their events, for the analysis worker to merge.
import init, {
  worker_analyse, worker_warm, hash_begin, hash_update, hash_end, parse_stripe, parse_warm,
} from './pkg/web.js';

const helper = self.name === 'hash' || self.name === 'parse';
// The analysis worker makes its session (the catalog parsed) before a request comes.
let ready = helper
  ? null
  : init({ module_or_path: new URL('./pkg/web_bg.wasm', import.meta.url) }).then(() => worker_warm());

const describe = (err) => (err && err.message ? err.message : `${err}`);

// Milliseconds the helper spent on each hash (reported with its answer).
const busy = new Map();

async function helperStep(d) {
  const t0 = performance.now();
  try {
    if (d.begin) {
      ready ??= init({ module_or_path: d.module });
      await ready;
      hash_begin(d.id);
    } else if (d.bytes) {
      await ready;
      hash_update(d.id, new Uint8Array(d.bytes, 0, d.len));
      busy.set(d.id, (busy.get(d.id) ?? 0) + performance.now() - t0);
    } else if (d.end) {
      await ready;
      const sha256 = await hash_end(d.id, d.blob, d.from);
      const busyMs = (busy.get(d.id) ?? 0) + performance.now() - t0;
      busy.delete(d.id);
      self.postMessage({ id: d.id, sha256, busyMs });
    }
  } catch (err) {
    self.postMessage({ id: d.id, error: describe(err) });
  } finally {
    if (d.bytes && !d.copy) self.postMessage({ back: d.bytes }, [d.bytes]);
  }
}

// Stripes the analysis worker took back before this helper began on them.
const skipped = new Set();

async function parseStep(d) {
  if (d.module) {
    // The session its stripes are observed in is made before the first stripe comes.
    ready = init({ module_or_path: d.module }).then(() => parse_warm());
    return;
  }
  if (skipped.delete(d.key)) return;
  self.postMessage({ key: d.key, started: true });
  try {
    await ready;
    const parts = await parse_stripe(d.blob, d.job);
    self.postMessage({ key: d.key, parts: parts.buffer }, [parts.buffer]);
  } catch (err) {
    self.postMessage({ key: d.key, error: describe(err) });
  }
}

// A helper's messages are handled one after the other, in order.
let steps = Promise.resolve();

self.onmessage = async (event) => {
  const data = event.data;
  if (self.name === 'hash') {
    steps = steps.then(() => helperStep(data));
    return;
  }
  if (self.name === 'parse') {
    if (data.skip !== undefined) skipped.add(data.skip);
    else steps = steps.then(() => parseStep(data));
    return;
  }
  try {
    await ready;
    await worker_analyse(data);
  } catch (err) {
    self.postMessage(JSON.stringify({
      kind: 'failed',
      crashed: true,
      message: `the analysis stopped: ${describe(err)}`,
    }));
  }
};
