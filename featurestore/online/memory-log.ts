/**
 * @module online/memory-log
 * The memory store's append-only log, `online.log` under its folder, shared by every process
 * that opens the folder.
 *
 * ```
 * file     "LRDONL1\n" then records
 * record   u32be body length, u32be crc32(body), body
 * body     u8 1 (put), project, view, varint n, n × (entityKey, f64le expireAt (0: never), varint length, value)
 *          u8 2 (clear), project                       (text: varint length + UTF-8)
 * ```
 *
 * A write appends one record, so a `write` call lands whole or not at all. Appends and
 * compactions happen under a lock file (file-lock.ts) after catching up with the log, so records
 * never interleave and a writer always decides last-write-wins against the latest state. Readers
 * take no lock: they read new complete records since their last offset and stop at an incomplete
 * or damaged one, which is either being written (read again later) or was left by a writer that
 * died midway; the next writer, holding the lock, truncates such a tail before appending.
 * Compaction rewrites the live entries to a temporary file and renames it over the log; other
 * processes notice the new inode and reload.
 */
import { open, rename, stat, unlink } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { ByteReader, ByteWriter, TruncatedError } from './bytes.ts';
import { ioError } from './file-lock.ts';

export const LOG_MAGIC = Buffer.from('LRDONL1\n', 'latin1');
const PUT = 1;
const CLEAR = 2;
const FRAME = 8;

export interface LogEntry {
  readonly entityKey: string;
  readonly expireAt: number;
  readonly value: Buffer;
}

/** What replaying the log does to the store's state. */
export interface LogSink {
  reset(): void;
  put(project: string, view: string, entityKey: string, value: Buffer, expireAt: number): void;
  clear(project: string): void;
}

function frame(w: ByteWriter, bodyStart: number): Buffer {
  const body = w.buf.subarray(bodyStart, w.pos);
  w.buf.writeUInt32BE(body.length, bodyStart - FRAME);
  w.buf.writeUInt32BE(crc32(body), bodyStart - 4);
  return w.view();
}

/** A put record of one view's entries. */
export function putRecord(project: string, view: string, entries: readonly LogEntry[], w = new ByteWriter(64 + entries.length * 64)): Buffer {
  w.pos = FRAME;
  w.u8(PUT);
  w.utf8(project);
  w.utf8(view);
  w.varint(entries.length);
  for (const entry of entries) {
    w.utf8(entry.entityKey);
    w.f64le(entry.expireAt);
    w.varint(entry.value.length);
    w.bytes(entry.value);
  }
  return frame(w, FRAME);
}

export function clearRecord(project: string): Buffer {
  const w = new ByteWriter(64);
  w.pos = FRAME;
  w.u8(CLEAR);
  w.utf8(project);
  return frame(w, FRAME);
}

/** Applies the complete, intact records of `buf` from `start`; returns where they end. */
export function replay(buf: Buffer, start: number, sink: LogSink): number {
  let at = start;
  while (at + FRAME <= buf.length) {
    const length = buf.readUInt32BE(at);
    const end = at + FRAME + length;
    if (end > buf.length) break;
    const body = buf.subarray(at + FRAME, end);
    if (crc32(body) !== buf.readUInt32BE(at + 4)) break;
    const r = new ByteReader(buf, at + FRAME, end);
    try {
      const kind = r.u8();
      if (kind === PUT) {
        const project = r.utf8();
        const view = r.utf8();
        const n = r.varint();
        for (let i = 0; i < n; i++) {
          const entityKey = r.utf8();
          const expireAt = r.f64le();
          // A copy, so the entry does not pin the whole chunk read from disk.
          const value = Buffer.from(r.bytes(r.varint()));
          sink.put(project, view, entityKey, value, expireAt);
        }
      } else if (kind === CLEAR) {
        sink.clear(r.utf8());
      }
    } catch (error) {
      if (error instanceof TruncatedError) break; // cannot happen with a matching crc, but never throw on bad bytes
      throw error;
    }
    at = end;
  }
  return at;
}

/** One process's view of the log file: which file (inode) it has read, and how far. */
export class LogFile {
  readonly path: string;
  #ino: number | null = null;
  #offset = 0;

  constructor(path: string) {
    this.path = path;
  }

  /**
   * Applies what other processes appended since the last call (everything, after a compaction
   * replaced the file). With `repair` (only under the lock) a damaged tail is cut off.
   */
  async catchUp(sink: LogSink, repair: boolean): Promise<void> {
    const known = await stat(this.path).catch((error: unknown) => {
      if ((error as { code?: unknown }).code === 'ENOENT') return null;
      throw ioError(this.path, error);
    });
    if (known === null) {
      if (this.#ino !== null) { sink.reset(); this.#ino = null; this.#offset = 0; }
      return;
    }
    if (known.ino === this.#ino && known.size === this.#offset) return;
    const handle = await open(this.path, repair ? 'r+' : 'r').catch((error: unknown) => { throw ioError(this.path, error); });
    try {
      const info = await handle.stat();
      if (info.ino !== this.#ino || info.size < this.#offset) {
        sink.reset();
        this.#ino = info.ino;
        this.#offset = 0;
      }
      const from = this.#offset;
      const length = info.size - from;
      if (length <= 0) return;
      const chunk = Buffer.allocUnsafe(length);
      let read = 0;
      while (read < length) {
        const { bytesRead } = await handle.read(chunk, read, length - read, from + read);
        if (bytesRead === 0) break;
        read += bytesRead;
      }
      const data = chunk.subarray(0, read);
      let start = 0;
      if (from === 0) {
        if (data.length < LOG_MAGIC.length) {
          if (repair) await handle.truncate(0);
          return;
        }
        if (!data.subarray(0, LOG_MAGIC.length).equals(LOG_MAGIC)) throw ioError(this.path, new Error('not a Larder online log'));
        start = LOG_MAGIC.length;
      }
      const end = replay(data, start, sink);
      this.#offset = from + end;
      if (repair && end < data.length) await handle.truncate(this.#offset);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'LARDER_E_IO') throw error;
      throw ioError(this.path, error);
    } finally {
      await handle.close();
    }
  }

  /** Appends records; call under the lock, right after `catchUp(sink, true)`. */
  async append(records: Buffer): Promise<void> {
    const handle = await open(this.path, 'a').catch((error: unknown) => { throw ioError(this.path, error); });
    try {
      const info = await handle.stat();
      let data = records;
      if (info.size === 0) data = Buffer.concat([LOG_MAGIC, records]);
      else if (info.ino !== this.#ino || info.size !== this.#offset) {
        throw ioError(this.path, new Error('the log changed while locked'));
      }
      let written = 0;
      while (written < data.length) {
        const { bytesWritten } = await handle.write(data, written, data.length - written);
        written += bytesWritten;
      }
      this.#ino = info.ino;
      this.#offset = info.size + data.length;
    } finally {
      await handle.close();
    }
  }

  get size(): number {
    return this.#offset;
  }

  /** Replaces the log with `records` (compaction); call under the lock. */
  async rewrite(records: Iterable<Buffer>): Promise<void> {
    const temp = `${this.path}.${process.pid}.${Date.now()}.tmp`;
    const handle = await open(temp, 'w').catch((error: unknown) => { throw ioError(temp, error); });
    let size = 0;
    try {
      for (const data of [LOG_MAGIC, ...records]) {
        let written = 0;
        while (written < data.length) {
          const { bytesWritten } = await handle.write(data, written, data.length - written);
          written += bytesWritten;
        }
        size += data.length;
      }
      await handle.sync();
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      throw ioError(temp, error);
    }
    await handle.close();
    await rename(temp, this.path).catch(async (error: unknown) => {
      await unlink(temp).catch(() => undefined);
      throw ioError(this.path, error);
    });
    this.#ino = (await stat(this.path)).ino;
    this.#offset = size;
  }
}
