// Reading a File/Blob in a worker, and handing what was read to the hashing helper.
// Imported by the wasm module's glue; nothing runs at import time.
//
// Reads go through a BYOB stream reader into 1 MiB buffers that are reused, so reading a
// 1 GiB file leaves no garbage behind (FileReaderSync made a new ArrayBuffer per slice,
// freed only by GC: the renderer grew with the file). Reads are mostly in order (the header,
// then batch after batch, then the tail), so the stream of the last read stays open and the
// next read that starts where it stopped (or a little before) goes on with it: the browser
// reads ahead while the worker parses. A new stream per 1 MiB read cost a round trip to the
// browser process each (measured: 100 MiB in 330–530 ms against 130–150 ms through one
// stream, headless Chromium 156 on the 2-core machine).
//
// With 4 cores or more, the file's SHA-256 is computed beside the parsing by a helper
// worker (the same `worker.js`, named 'hash', handed this worker's compiled wasm module):
// once the analysis worker has copied a read's bytes into wasm, the buffer is transferred
// to the helper, which hashes it and transfers it back. The file is read once; at most MAX_LENT buffers
// are out with the helper (a read waits for one to come back), so memory stays flat.

const SIZE = 1 << 20;
const MAX_LENT = 8;
const pool = [];
let last = null; // the buffer holding the last read's bytes, until the next read or hashLendLast
let lent = 0;
let waiting = []; // reads waiting for a buffer to come back

// The stream being read and where it stands: { blob, reader, pos }. Holding the reader here
// also keeps a pending read alive: a read of `blob.stream()` reachable only from itself
// (the promise handed to wasm does not hold it) was collected by a full GC in the worker and
// never settled, hanging the analysis. Seen every time under
// performance.measureUserAgentSpecificMemory() (each sample is a full GC).
let open = null;

// The stream also keeps the last bytes it gave (`kept`, at most KEPT, ending at `pos`): a read
// that starts a little before where the stream stands takes those from here and goes on
// with the same stream. The first batch of a .evtx starts at 4,096, right after the 4,104
// bytes read to tell the format; a new stream there cost a round trip to the browser
// process before the parsing could start.
const KEPT = 64;

function streamAt(blob, start) {
  if (open && open.blob === blob && start <= open.pos && open.pos - start <= open.kept.length) {
    return open;
  }
  readDone();
  const reader = blob.slice(start).stream().getReader({ mode: 'byob' });
  open = { blob, reader, pos: start, kept: new Uint8Array(0) };
  return open;
}

// A buffer for a read of `want` bytes at once, or null when the read must wait for one.
function takeBufferNow(want) {
  if (want > SIZE) return new ArrayBuffer(want);
  const mine = last;
  last = null;
  if (mine && mine.byteLength === SIZE) return mine;
  if (pool.length) return pool.pop();
  if (lent >= MAX_LENT) return null;
  return new ArrayBuffer(SIZE);
}

function takeBuffer(want) {
  return takeBufferNow(want) ?? new Promise((resolve) => waiting.push(resolve));
}

function bufferBack(buf) {
  lent -= 1;
  if (!(buf instanceof ArrayBuffer) || buf.byteLength !== SIZE) return;
  const next = waiting.shift();
  if (next) {
    next(buf);
  } else {
    pool.push(buf);
  }
}

/**
 * Reads bytes [start, end) of `blob`; resolves to a view over a reused buffer, valid until
 * the next call or `hashLendLast` (the caller copies it). Shorter than asked only at the end of
 * the blob.
 */
export function readRange(blob, start, end) {
  const want = Math.max(0, end - start);
  // The stream is asked at once when a buffer is free (a read started ahead of the
  // parsing then goes on while the worker parses).
  const buf = takeBufferNow(want);
  return buf ? fill(blob, start, want, buf) : takeBuffer(want).then((b) => fill(blob, start, want, b));
}

async function fill(blob, start, want, buf) {
  const s = streamAt(blob, start);
  // The bytes before where the stream stands, from those it gave last.
  const behind = s.pos - start;
  let filled = Math.min(behind, want);
  if (filled > 0) {
    const from = s.kept.length - behind;
    new Uint8Array(buf, 0, filled).set(s.kept.subarray(from, from + filled));
  }
  try {
    while (filled < want) {
      const { done, value } = await s.reader.read(new Uint8Array(buf, filled, want - filled));
      if (value) buf = value.buffer;
      if (done || !value) break;
      filled += value.byteLength;
    }
  } catch (err) {
    if (open === s) open = null;
    throw err;
  }
  if (start + filled > s.pos) {
    s.pos = start + filled;
    // What the stream gave last, ending where it now stands (none if the buffer was lost).
    s.kept = buf.byteLength
      ? new Uint8Array(buf, Math.max(0, filled - KEPT), Math.min(filled, KEPT)).slice()
      : new Uint8Array(0);
  }
  if (buf.byteLength === 0) buf = new ArrayBuffer(Math.max(want, SIZE)); // lost to a cancel
  last = buf;
  return new Uint8Array(buf, 0, filled);
}

/** Closes the stream left open by the last read (when the file is done with). */
export function readDone() {
  if (open) {
    open.reader.cancel().catch(() => {});
    open = null;
  }
}

// --- the hashing helper --------------------------------------------------------------

let helper = null;
const answers = new Map(); // id -> { resolve, reject, answer }
let nextId = 0;

function helperGone(message) {
  helper = null;
  for (const a of answers.values()) a.reject(new Error(message));
  answers.clear();
  // Buffers out with it are lost: reads waiting for one get a new one.
  lent = 0;
  const w = waiting;
  waiting = [];
  for (const next of w) next(new ArrayBuffer(SIZE));
}

function startHelper() {
  const worker = new Worker(new URL('worker.js', self.location.href), { type: 'module', name: 'hash' });
  worker.onmessage = (e) => {
    const d = e.data ?? {};
    if (d.back) {
      bufferBack(d.back);
      return;
    }
    const a = answers.get(d.id);
    if (!a) return;
    answers.delete(d.id);
    if (typeof d.sha256 === 'string') a.resolve({ sha256: d.sha256, busyMs: d.busyMs ?? 0 });
    else a.reject(new Error(d.error ?? 'the hashing worker gave no answer'));
  };
  worker.onerror = (e) => {
    e.preventDefault();
    worker.terminate();
    if (helper === worker) helperGone('the hashing worker stopped');
  };
  return worker;
}

/**
 * Starts a SHA-256 on the helper (started on first use with `module`, this worker's wasm
 * module); returns its id, or -1 (the caller hashes after parsing) where no helper can
 * start or, with `hashing` 'auto', where the machine has fewer than 4 cores: on 2 a helper
 * only competes with the parsing and the browser's reading of the file.
 */
export function hashBegin(module, hashing) {
  if (hashing === 'auto' && (self.navigator?.hardwareConcurrency ?? 2) < 4) return -1;
  try {
    helper ??= startHelper();
  } catch {
    return -1;
  }
  nextId += 1;
  const id = nextId;
  let a;
  const answer = new Promise((resolve, reject) => (a = { resolve, reject }));
  answer.catch(() => {}); // a failure is read by hashEnd's caller, if it gets that far
  answers.set(id, { ...a, answer });
  helper.postMessage({ id, begin: true, module });
  return id;
}

/** Hands the last read's buffer (its first `len` bytes) to the helper for hash `id`. */
export function hashLendLast(id, len) {
  if (!helper || !answers.has(id) || !last) return false;
  const buf = last;
  last = null;
  lent += 1;
  helper.postMessage({ id, bytes: buf, len }, [buf]);
  return true;
}

/** Hands a copy of `bytes` (a fresh Uint8Array) to the helper for hash `id`. */
export function hashGive(id, bytes) {
  if (!helper || !answers.has(id)) return false;
  helper.postMessage({ id, bytes: bytes.buffer, len: bytes.length, copy: true }, [bytes.buffer]);
  return true;
}

/**
 * Ends hash `id`: the helper reads what it was not handed, from byte `from` to the end of
 * `blob`, itself; resolves to `{ sha256 (lowercase hex), busyMs (the helper's time) }`.
 */
export function hashEnd(id, blob, from) {
  const a = answers.get(id);
  if (!helper || !a) return Promise.reject(new Error('the hashing worker is gone'));
  helper.postMessage({ id, end: true, blob, from });
  return a.answer;
}

// --- the parsing helpers -------------------------------------------------------------
//
// A large .evtx is parsed by several workers (web/src/split.rs): this worker lends stripes
// of its chunks to parsing helpers (the same `worker.js`, named 'parse', handed the compiled
// wasm module), each of which reads its stripe from the file itself (its own stream) and
// posts the stripe's parsed parts and what a shard of its own session collected of their
// events (bytes: split.rs's `Stripe`); this worker merges every part in file order and
// absorbs each shard after its parts.
// Helpers are nested in this worker, so ending it (the page's Cancel) ends them too.

const parsers = []; // { worker, keys: Set of stripe keys out with it }
const parsed = new Map(); // key -> Uint8Array (the parts) | null (the helper failed)
const started = new Set(); // keys a helper has begun on
const waiters = new Map(); // key -> resolve, for parseWait

function settle(key, value) {
  parsed.set(key, value);
  const resolve = waiters.get(key);
  if (resolve) {
    waiters.delete(key);
    resolve();
  }
}

function startParser(module) {
  const worker = new Worker(new URL('worker.js', self.location.href), { type: 'module', name: 'parse' });
  const p = { worker, keys: new Set() };
  worker.onmessage = (e) => {
    const d = e.data ?? {};
    if (d.started) {
      if (p.keys.has(d.key)) started.add(d.key);
      return;
    }
    started.delete(d.key);
    if (!p.keys.delete(d.key)) return; // taken back (parseTakeBack)
    settle(d.key, d.parts ? new Uint8Array(d.parts) : null);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    worker.terminate();
    const at = parsers.indexOf(p);
    if (at >= 0) parsers.splice(at, 1);
    // Its stripes come back as failures (parsed here instead).
    for (const key of p.keys) settle(key, null);
    p.keys.clear();
  };
  worker.postMessage({ module });
  return p;
}

/**
 * Makes sure `want` parsing helpers run (started with `module`, this worker's wasm module);
 * returns how many do (fewer where a worker cannot start).
 */
export function parseHelpers(module, want) {
  while (parsers.length < want) {
    try {
      parsers.push(startParser(module));
    } catch {
      break;
    }
  }
  return parsers.length;
}

/** Stripes out with the helpers, not yet answered. */
export function parseOut() {
  return parsers.reduce((n, p) => n + p.keys.size, 0);
}

/**
 * Hands the least busy helper `blob` and `job` (a JSON string: what split.rs's
 * `parse_stripe` reads) under `key`. False when no helper runs.
 */
export function parseSend(key, blob, job) {
  if (!parsers.length) return false;
  const p = parsers.reduce((a, b) => (b.keys.size < a.keys.size ? b : a));
  p.keys.add(key);
  p.worker.postMessage({ key, blob, job });
  return true;
}

/**
 * The answer for `key` once it is in (and forgotten here): the stripe's bytes, or null where
 * the helper failed; undefined while it is not in.
 */
export function parseTake(key) {
  if (!parsed.has(key)) return undefined;
  const value = parsed.get(key);
  parsed.delete(key);
  return value;
}

/** Whether a helper has begun on `key` (or answered it). */
export function parseStarted(key) {
  return started.has(key) || parsed.has(key);
}

/**
 * Takes `key` back from its helper, which has not begun on it: the helper skips it, and
 * whatever it answers is dropped.
 */
export function parseTakeBack(key) {
  for (const p of parsers) {
    if (p.keys.delete(key)) p.worker.postMessage({ skip: key });
  }
  started.delete(key);
  parsed.delete(key);
  waiters.delete(key);
}

/** Resolves once the answer for `key` is in. */
export function parseWait(key) {
  if (parsed.has(key)) return Promise.resolve();
  return new Promise((resolve) => waiters.set(key, resolve));
}
