/**
 * @module online/bytes
 * A growable byte buffer to write into and a bounds-checked reader, for the value codec, the
 * RESP batches and the memory store's log.
 */

export class ByteWriter {
  buf: Buffer;
  /** The same bytes as `buf`: DataView writes of numbers are much faster than Buffer's. */
  dv: DataView;
  pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.dv = new DataView(next.buffer, next.byteOffset, next.length);
  }

  u8(value: number): void {
    this.ensure(1);
    this.buf[this.pos++] = value;
  }

  u32be(value: number): void {
    this.ensure(4);
    this.dv.setUint32(this.pos, value);
    this.pos += 4;
  }

  f64le(value: number): void {
    this.ensure(8);
    this.dv.setFloat64(this.pos, value, true);
    this.pos += 8;
  }

  /** Unsigned LEB128. */
  varint(value: number): void {
    this.ensure(10);
    while (value >= 0x80) {
      this.buf[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.buf[this.pos++] = value;
  }

  bytes(value: Uint8Array, start = 0, end = value.length): void {
    this.ensure(end - start);
    // Short ranges byte by byte: `subarray` (or Buffer#copy, which makes one) is an object per call.
    if (start === 0 && end === value.length) {
      this.buf.set(value, this.pos);
    } else if (end - start <= 256) {
      const buf = this.buf;
      for (let i = start, at = this.pos; i < end; i++, at++) buf[at] = value[i] as number;
    } else {
      this.buf.set(value.subarray(start, end), this.pos);
    }
    this.pos += end - start;
  }

  /**
   * Text as UTF-8 without a length prefix; returns its byte length. ASCII (most keys) is copied
   * char by char, cheaper than a native call per short string.
   */
  text(text: string): number {
    const n = text.length;
    this.ensure(n);
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c >= 0x80) {
        const length = Buffer.byteLength(text, 'utf8');
        this.ensure(length);
        this.buf.write(text, at, length, 'utf8');
        this.pos = at + length;
        return length;
      }
      buf[at + i] = c;
    }
    this.pos = at + n;
    return n;
  }

  /** Text that is known to be ASCII (RESP headers, numbers). */
  ascii(text: string): void {
    this.ensure(text.length);
    this.pos += this.buf.write(text, this.pos, 'latin1');
  }

  /** UTF-8 text, length-prefixed with a varint. */
  utf8(text: string): void {
    const length = Buffer.byteLength(text, 'utf8');
    this.varint(length);
    this.ensure(length);
    this.pos += this.buf.write(text, this.pos, length, 'utf8');
  }

  /** The bytes written so far (a view, not a copy). */
  view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class TruncatedError extends Error {
  constructor() {
    super('truncated');
    this.name = 'TruncatedError';
  }
}

export class ByteReader {
  pos: number;
  readonly end: number;

  constructor(readonly buf: Buffer, start = 0, end = buf.length) {
    this.pos = start;
    this.end = end;
  }

  need(n: number): void {
    if (this.pos + n > this.end) throw new TruncatedError();
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u32be(): number {
    this.need(4);
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  f64le(): number {
    this.need(8);
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.u8();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 0x80;
      if (scale > 2 ** 49) throw new TruncatedError();
    }
  }

  bytes(n: number): Buffer {
    this.need(n);
    const value = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return value;
  }

  utf8(): string {
    const length = this.varint();
    this.need(length);
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }
}
