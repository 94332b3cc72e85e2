/**
 * @module online/redis-batch
 * Builds the wire bytes (RESP) of one write command for a batch of rows directly into one
 * buffer: a plain `MSETNX` (the fast path for keys that are all new) or an `EVALSHA write-lww`.
 * A batch carries thousands of arguments; handing them to ioredis one by one costs the client
 * about 3 µs per row (argument flattening and per-argument buffers), which is what held naive
 * pipelines at ~200k rows/s. Written here it costs a few hundred nanoseconds.
 */
import type { ByteWriter } from './bytes.ts';
import { EntityKeySet, KeySeen } from './entity-key-set.ts';
import type { EncodedRows } from './value-codec.ts';

/** One batch of a `write` call: rows `start..end`. */
export interface BatchSlice {
  readonly start: number;
  readonly end: number;
}

/**
 * The command a batch goes out as: `MSETNX key value …` (writes all rows when every key is
 * absent, else nothing), or the write script with its flags (see lua/write-lww.lua).
 */
export type BatchCommand = { readonly kind: 'msetnx' } | { readonly kind: 'evalsha'; readonly sha: string; readonly flags: string };

const seen = new Set<string>();

/** Whether an entity key repeats within `entityKeys[start..end)`. */
export function repeatsKey(entityKeys: readonly string[], start: number, end: number): boolean {
  seen.clear();
  try {
    for (let i = start; i < end; i++) {
      const key = entityKeys[i] as string;
      if (seen.has(key)) return true;
      seen.add(key);
    }
    return false;
  } finally {
    seen.clear();
  }
}

const callKeys = new EntityKeySet();

/**
 * Whether the first `count` entity keys are all different (entity-key-set.ts: hashes in an
 * open-addressing table; a `Set` of the 50 000 keys of a materialization batch cost several
 * times as much). A false "no" is possible at odds of about count² / 2^64, and only sends the
 * call through the script.
 */
export function distinctKeys(entityKeys: readonly string[], count: number): boolean {
  callKeys.clear(count);
  for (let i = 0; i < count; i++) if (callKeys.add(entityKeys[i] as string) === KeySeen.Repeat) return false;
  return true;
}

/** `$<length>\r\n`, digits written in place (no string per header). */
function bulkHeader(w: ByteWriter, length: number): void {
  w.ensure(24);
  const buf = w.buf;
  buf[w.pos++] = 0x24; // $
  let digits = 1;
  for (let rest = length; rest >= 10; rest = Math.floor(rest / 10)) digits++;
  for (let i = digits - 1, rest = length; i >= 0; i--, rest = Math.floor(rest / 10)) buf[w.pos + i] = 48 + (rest % 10);
  w.pos += digits;
  buf[w.pos++] = 13;
  buf[w.pos++] = 10;
}

function crlf(w: ByteWriter): void {
  w.ensure(2);
  w.buf[w.pos++] = 13;
  w.buf[w.pos++] = 10;
}

/** UTF-8 byte length of a string; ASCII (most keys) without a native call. */
function utf8Length(text: string): number {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 0x80) return Buffer.byteLength(text, 'utf8');
  return text.length;
}

/**
 * The value key `keyPrefix + entityKey + '}'` as a bulk string. Keys are taken for ASCII, whose
 * byte length is their length, and written in one pass; at the first other character the key
 * is written again the general way (a length pass first cost ~50 ms per 1M keys).
 */
function bulkKey(w: ByteWriter, keyPrefix: Buffer, prefixView: DataView, entityKey: string): void {
  const start = w.pos;
  const n = entityKey.length;
  bulkHeader(w, keyPrefix.length + n + 1);
  copyBytes(w, keyPrefix, prefixView, 0, keyPrefix.length);
  w.ensure(n + 3);
  const buf = w.buf;
  let at = w.pos;
  for (let i = 0; i < n; i++) {
    const c = entityKey.charCodeAt(i);
    if (c >= 0x80) {
      w.pos = start;
      bulkHeader(w, keyPrefix.length + utf8Length(entityKey) + 1);
      w.bytes(keyPrefix);
      w.text(entityKey);
      w.ensure(3);
      at = w.pos;
      break;
    }
    buf[at++] = c;
  }
  const out = w.buf;
  out[at++] = 0x7d; // }
  out[at++] = 13;
  out[at++] = 10;
  w.pos = at;
}

/**
 * Copies `from..to` of `src` (a view of `bytes`) into `w`. Values of up to a few hundred bytes go
 * 4 bytes at a time through DataViews: for 1M values of 91 bytes a byte loop cost ~0.25 s of the
 * materialization's main thread, `set(subarray)` half that (an object per call), this a quarter.
 */
function copyBytes(w: ByteWriter, bytes: Buffer, src: DataView, from: number, to: number): void {
  w.ensure(to - from);
  if (to - from > 256) {
    w.bytes(bytes, from, to);
    return;
  }
  const dv = w.dv;
  let at = w.pos;
  let i = from;
  for (; i + 4 <= to; i += 4, at += 4) dv.setInt32(at, src.getInt32(i, true), true);
  for (; i < to; i++, at++) dv.setUint8(at, src.getUint8(i));
  w.pos = at;
}

function bulkValue(w: ByteWriter, encoded: EncodedRows, src: DataView, i: number): void {
  const from = i === 0 ? 0 : (encoded.ends[i - 1] as number);
  const to = encoded.ends[i] as number;
  bulkHeader(w, to - from);
  copyBytes(w, encoded.bytes, src, from, to);
  crlf(w);
}

/**
 * The command for rows `slice` of a write: `MSETNX key value …`, or `EVALSHA sha n key… flags
 * value… [px…]`. The value key of row i is `keyPrefix + entityKeys[i] + '}'`; `expiresInMs[i]`
 * is its PX (only for the script, and only with flag `x`), or the array is null. Returns a view of
 * `w`'s bytes: `w` must not be written again until the command has been sent.
 */
export function writeBatchCommand(
  w: ByteWriter, command: BatchCommand, keyPrefix: Buffer, entityKeys: readonly string[], encoded: EncodedRows,
  expiresInMs: Float64Array | null, slice: BatchSlice,
): Buffer {
  const { start, end } = slice;
  const n = end - start;
  const src = new DataView(encoded.bytes.buffer, encoded.bytes.byteOffset, encoded.bytes.length);
  const prefixView = new DataView(keyPrefix.buffer, keyPrefix.byteOffset, keyPrefix.length);
  w.pos = 0;
  if (command.kind === 'msetnx') {
    w.ascii(`*${1 + 2 * n}\r\n$6\r\nMSETNX\r\n`);
    for (let i = start; i < end; i++) {
      bulkKey(w, keyPrefix, prefixView, entityKeys[i] as string);
      bulkValue(w, encoded, src, i);
    }
    return w.view();
  }
  const { sha, flags } = command;
  const expiring = expiresInMs !== null && flags.includes('x');
  w.ascii(`*${4 + n * (expiring ? 3 : 2)}\r\n$7\r\nEVALSHA\r\n$${sha.length}\r\n${sha}\r\n$${String(n).length}\r\n${n}\r\n`);
  for (let i = start; i < end; i++) bulkKey(w, keyPrefix, prefixView, entityKeys[i] as string);
  w.ascii(`$${flags.length}\r\n${flags}\r\n`);
  for (let i = start; i < end; i++) bulkValue(w, encoded, src, i);
  if (expiring) {
    for (let i = start; i < end; i++) {
      const px = String(expiresInMs[i]);
      w.ascii(`$${px.length}\r\n${px}\r\n`);
    }
  }
  return w.view();
}
