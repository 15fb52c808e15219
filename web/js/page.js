// The few browser APIs the page uses through promises: the signing key (WebCrypto Ed25519,
// non-extractable, kept in IndexedDB) and the clipboard. Imported by the wasm module's glue;
// nothing here runs at import time (the analysis worker imports it too).

const DB_NAME = 'rdpfix';
const STORE = 'keys';
const KEY_ID = 'signing-key';

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

async function openDb() {
  const req = indexedDB.open(DB_NAME, 1);
  req.onupgradeneeded = () => req.result.createObjectStore(STORE);
  return request(req);
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    const tx = db.transaction(STORE, mode);
    const result = await request(fn(tx.objectStore(STORE)));
    await new Promise((resolve, reject) => {
      tx.oncomplete = resolve;
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error);
    });
    return result;
  } finally {
    db.close();
  }
}

/** The stored key: `{ kind: 'webcrypto', publicRaw }` or `{ kind: 'fallback', seed }`, or null. */
export async function loadKey() {
  const stored = await withStore('readonly', (s) => s.get(KEY_ID));
  if (!stored) return null;
  if (stored.kind === 'webcrypto') return { kind: 'webcrypto', publicRaw: new Uint8Array(stored.publicRaw) };
  return { kind: 'fallback', seed: new Uint8Array(stored.seed) };
}

/** Creates a non-extractable Ed25519 key with WebCrypto, stores it, returns its raw public key. */
export async function createWebCryptoKey() {
  const pair = await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify']);
  const publicRaw = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
  await withStore('readwrite', (s) => s.put({ kind: 'webcrypto', privateKey: pair.privateKey, publicRaw }, KEY_ID));
  return publicRaw;
}

/** Keeps the fallback key's seed (the page's wasm signs with it). */
export async function storeFallbackSeed(seed) {
  await withStore('readwrite', (s) => s.put({ kind: 'fallback', seed: new Uint8Array(seed) }, KEY_ID));
}

/** Forgets the stored key. */
export async function deleteKey() {
  await withStore('readwrite', (s) => s.delete(KEY_ID));
}

/** Signs `bytes` with the stored WebCrypto key; returns the 64-byte signature. */
export async function signWebCrypto(bytes) {
  const stored = await withStore('readonly', (s) => s.get(KEY_ID));
  if (!stored || stored.kind !== 'webcrypto') throw new Error('no WebCrypto signing key is stored in this browser');
  return new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, stored.privateKey, bytes));
}

/** Copies text with the Clipboard API. */
export async function copyText(text) {
  await navigator.clipboard.writeText(text);
}
