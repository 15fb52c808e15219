// Reading a File/Blob in a worker without a fresh ArrayBuffer per slice: a BYOB stream
// reader fills one buffer that is handed back and reused, so reading a 1 GiB file leaves
// no garbage behind (FileReaderSync made a new ArrayBuffer per slice, freed only by GC:
// the renderer grew with the file). Imported by the wasm module's glue.

let spare = null;

// The reader of the read in progress. A pending read of `blob.stream()` is reachable only
// from itself (the promise handed to wasm does not hold it), so a full GC in the worker
// collected the stream and the read never settled: the analysis hung. Seen every time
// under performance.measureUserAgentSpecificMemory() (each sample is a full GC), which a
// GC at the wrong moment can do without it. Holding it here keeps it alive.
let reading = null;

/**
 * Reads bytes [start, end) of `blob`; resolves to a view over this module's reused buffer,
 * valid until the next call (the caller copies it). Shorter than asked only at the end of
 * the blob.
 */
export async function readRange(blob, start, end) {
  const want = Math.max(0, end - start);
  if (!spare || spare.byteLength < want) spare = new ArrayBuffer(Math.max(want, 1 << 20));
  let buf = spare;
  spare = null; // in use (and detached while the stream holds it)
  let filled = 0;
  const reader = blob.slice(start, end).stream().getReader({ mode: 'byob' });
  reading = reader;
  try {
    while (filled < want) {
      const { done, value } = await reader.read(new Uint8Array(buf, filled, want - filled));
      if (value) buf = value.buffer;
      if (done || !value) break;
      filled += value.byteLength;
    }
  } finally {
    reader.releaseLock();
    reading = null;
  }
  if (buf.byteLength === 0) buf = new ArrayBuffer(Math.max(want, 1 << 20)); // lost to a cancel
  spare = buf;
  return new Uint8Array(buf, 0, filled);
}
