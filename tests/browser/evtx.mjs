// Large `.evtx` files from real content, for the large-file test and benchmarks: the 64 KiB
// chunks of real logs repeated, then the chunks of a log whose newest events are the ones
// to find (e.g. a page sample), under one rewritten file header (chunk count, last chunk
// number, next record id, CRC32). The records stay byte-for-byte real, only repeated.
//
//   node tests/browser/evtx.mjs <out.evtx> <MiB> [<filler.evtx> [<tail.evtx>]]
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HEADER = 4096;
const CHUNK = 64 * 1024;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC32 (IEEE), as the EVTX file header's checksum uses. */
export function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The chunks of an .evtx file that carry the chunk signature. */
export function chunksOf(path) {
  const bytes = readFileSync(path);
  if (bytes.subarray(0, 8).toString('latin1') !== 'ElfFile\0') {
    throw new Error(`${path} is not an .evtx file`);
  }
  const chunks = [];
  for (let at = HEADER; at + CHUNK <= bytes.length; at += CHUNK) {
    const chunk = bytes.subarray(at, at + CHUNK);
    if (chunk.subarray(0, 8).toString('latin1') === 'ElfChnk\0') chunks.push(chunk);
  }
  if (chunks.length === 0) throw new Error(`${path} has no chunks`);
  return { header: bytes.subarray(0, HEADER), chunks };
}

/**
 * Writes `out`: `filler`'s chunks repeated to about `bytes`, then every chunk of `tail`.
 * Returns the file's size and chunk count.
 */
export function makeLargeEvtx({ out, bytes, filler, tail }) {
  const f = chunksOf(filler);
  const t = chunksOf(tail);
  const repeats = Math.max(0, Math.ceil((bytes - HEADER) / CHUNK) - t.chunks.length);
  const count = repeats + t.chunks.length;
  if (count > 0xffff) throw new Error(`${count} chunks do not fit the header's 16-bit count`);
  const header = Buffer.from(t.header);
  header.writeBigUInt64LE(0n, 8);
  header.writeBigUInt64LE(BigInt(count - 1), 16);
  header.writeUInt16LE(count, 42);
  header.writeUInt32LE(0, 120); // clean: not dirty, not full
  header.writeUInt32LE(crc32(header.subarray(0, 120)), 124);
  const fd = openSync(out, 'w');
  try {
    writeSync(fd, header);
    for (let i = 0; i < repeats; i++) writeSync(fd, f.chunks[i % f.chunks.length]);
    for (const chunk of t.chunks) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
  return { bytes: HEADER + count * CHUNK, chunks: count };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [out, mib, filler, tail] = process.argv.slice(2);
  if (!out || !mib) {
    console.error('usage: node evtx.mjs <out.evtx> <MiB> [<filler.evtx> [<tail.evtx>]]');
    process.exit(2);
  }
  const root = join(fileURLToPath(import.meta.url), '../../..');
  const made = makeLargeEvtx({
    out,
    bytes: Number(mib) * 1024 * 1024,
    filler: filler ?? join(root, 'tests/fixtures/corpus/system.evtx'),
    tail: tail ?? join(root, 'static/samples/rdp-cert-keys.evtx'),
  });
  console.log(JSON.stringify({ out, ...made }));
}
