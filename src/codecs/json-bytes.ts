/**
 * JSON written as UTF-8 bytes into one growing buffer. Large answers (a 1,000-row records answer
 * is some 70,000 numbers) cost several times more as joined strings: every piece is a string,
 * the result is flattened, measured (Content-Length) and encoded again on the way to the socket.
 */
const MIN_CAPACITY = 64 * 1024;

/** Two ASCII digits per entry, "00".."99", for writing integers. */
const PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

export class JsonBytes {
  private buf: Buffer;
  private at = 0;

  constructor(capacity = MIN_CAPACITY) {
    // Never from Node's shared pool: the bytes may be moved to another thread (codecs/threads.ts).
    this.buf = Buffer.allocUnsafeSlow(Math.max(capacity, 16));
  }

  /** The bytes written so far (a view of the internal buffer; the writer must not be used after). */
  finish(): Buffer {
    return this.buf.subarray(0, this.at);
  }

  private reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  /** One ASCII byte (a bracket, a comma, a colon). */
  byte(b: number): void {
    if (this.at === this.buf.length) this.reserve(1);
    this.buf[this.at++] = b;
  }

  /** Text already in JSON form (a key with its quotes, `true`, a number's digits). */
  raw(s: string): void {
    const n = s.length;
    this.reserve(n * 3);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.at += buf.write(s, this.at, 'utf8');
        return;
      }
      buf[at++] = c;
    }
    this.at = at;
  }

  /** Text known to be ASCII (a number's digits). */
  private ascii(s: string): void {
    this.reserve(s.length);
    this.at += this.buf.write(s, this.at, 'latin1');
  }

  /** Pre-encoded bytes (a key written many times). */
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.at);
    this.at += b.length;
  }

  /** A number as JSON.stringify writes it (null for NaN and the infinities). */
  number(x: number): void {
    if (x === (x | 0)) this.int(x);
    else this.ascii(Number.isFinite(x) ? String(x) : 'null');
  }

  /** `[a,b,...]`: `count` numbers of `data` from `from` (the hot loop of a batch answer). */
  numberArray(data: ArrayLike<number>, from: number, count: number): void {
    this.byte(0x5b); // [
    for (let j = 0; j < count; j++) {
      // Room for the comma and the longest number text ("-1.2345678901234567e-308"): a write past a
      // Buffer's end is silently dropped, so every byte written here must have been reserved.
      this.reserve(26);
      if (j) this.buf[this.at++] = 0x2c; // ,
      this.number(data[from + j]);
    }
    this.byte(0x5d); // ]
  }

  /** A 32-bit integer's digits (-0 as 0, as String does). */
  private int(x: number): void {
    this.reserve(11);
    const buf = this.buf;
    if (x < 0) {
      buf[this.at++] = 45; // '-'
      if (x === -2147483648) { this.raw('2147483648'); return; }
      x = -x;
    }
    const digits = x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : x < 10000 ? 4 : x < 100000 ? 5 : x < 1000000 ? 6
      : x < 10000000 ? 7 : x < 100000000 ? 8 : x < 1000000000 ? 9 : 10;
    let end = this.at + digits;
    this.at = end;
    while (x >= 100) {
      const pair = (x % 100) * 2;
      x = (x / 100) | 0;
      buf[--end] = PAIRS[pair + 1];
      buf[--end] = PAIRS[pair];
    }
    if (x >= 10) {
      buf[--end] = PAIRS[x * 2 + 1];
      buf[--end] = PAIRS[x * 2];
    } else buf[--end] = 48 + x;
  }
}

/** A key's `"name":` bytes, to write once per row. */
export const keyBytes = (key: string): Buffer => Buffer.from(`${JSON.stringify(key)}:`, 'utf8');
