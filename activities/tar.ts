/**
 * Just enough of the tar format (POSIX ustar, with PAX records for long names) to write reproducible archives and
 * to read any archive `tar` or Python's tarfile writes, streaming: a model.tar.gz can be gigabytes, so entries are
 * never held in memory. Writing is deterministic by construction: the caller's order, fixed owners and mtimes, and a
 * gzip header without a timestamp and with a fixed OS byte.
 */
import { createGzip, createGunzip } from 'node:zlib';
import { PassThrough, type Readable } from 'node:stream';

const BLOCK = 512;
/** Fixed mtime of every entry written here (2000-01-01, the build context's zip uses the same). */
export const FIXED_MTIME_S = 946684800;

/** A file to write into an archive. */
export interface TarFileEntry {
  /** POSIX path inside the archive, no leading slash. */
  name: string;
  size: number;
  executable: boolean;
  /** The file's bytes, streamed. */
  open: () => AsyncIterable<Buffer>;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function paxRecord(key: string, value: string): Buffer {
  // "<len> <key>=<value>\n" where <len> counts the whole record, itself included.
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return Buffer.from(`${len}${body}`, 'utf8');
}

function header(name: string, size: number, mode: number, type: string): Buffer {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(FIXED_MTIME_S, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write(type, 156, 'ascii');
  h.write('ustar\u000000', 257, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The header block(s) of one regular file: ustar when the name fits in 100 bytes, else a PAX `path` record first. */
export function fileHeader(name: string, size: number, executable: boolean): Buffer {
  const mode = executable ? 0o755 : 0o644;
  if (Buffer.byteLength(name) <= 100 && /^[\x20-\x7e]*$/.test(name)) return header(name, size, mode, '0');
  const pax = paxRecord('path', name);
  const short = `PaxHeaders/${Buffer.from(name)
    .subarray(-80)
    .toString('latin1')
    .replace(/[^\x20-\x7e]/g, '_')}`;
  return Buffer.concat([
    header(short.slice(0, 100), pax.length, 0o644, 'x'),
    pax,
    padding(pax.length),
    header(short.slice(0, 100), size, mode, '0'),
  ]);
}

/** The two zero blocks that end an archive. */
export const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK);

/** Writes `entries` (their bytes, with headers and padding) as tar blocks; checks each file's size as it goes. */
export async function* tarBlocks(entries: Iterable<TarFileEntry>): AsyncGenerator<Buffer> {
  for (const e of entries) {
    yield fileHeader(e.name, e.size, e.executable);
    let written = 0;
    for await (const chunk of e.open()) {
      written += chunk.length;
      if (written > e.size) break;
      yield chunk;
    }
    if (written !== e.size)
      throw new Error(`${e.name} changed while it was archived (${written} bytes, expected ${e.size})`);
    yield padding(e.size);
  }
}

/**
 * gzip without a timestamp (Node writes none) and with OS byte 255 ("unknown"), so every platform makes the same bytes.
 */
export function deterministicGzip(source: AsyncIterable<Buffer>): Readable {
  const gzip = createGzip({ level: 9 });
  const out = new PassThrough();
  let first = true;
  gzip.on('data', (chunk: Buffer) => {
    if (first && chunk.length >= 10) {
      chunk[9] = 0xff;
      first = false;
    }
    if (!out.write(chunk)) gzip.pause();
  });
  out.on('drain', () => gzip.resume());
  gzip.on('end', () => out.end());
  gzip.on('error', (err) => out.destroy(err));
  void (async () => {
    try {
      for await (const chunk of source) {
        if (!gzip.write(chunk)) await new Promise((resolve) => gzip.once('drain', resolve));
      }
      gzip.end();
    } catch (err) {
      out.destroy(err as Error);
      gzip.destroy();
    }
  })();
  return out;
}

/** Reads exactly the bytes asked for from a chunked stream. */
export class ByteReader {
  private buffered: Buffer[] = [];
  private length = 0;
  private done = false;
  private readonly it: AsyncIterator<Buffer>;

  constructor(source: AsyncIterable<Buffer>) {
    this.it = source[Symbol.asyncIterator]();
  }

  private async fill(n: number): Promise<void> {
    while (this.length < n && !this.done) {
      const next = await this.it.next();
      if (next.done) this.done = true;
      else {
        this.buffered.push(next.value);
        this.length += next.value.length;
      }
    }
  }

  /** Up to `max` bytes (fewer only at the end of the stream); empty at the end. */
  private joined(): Buffer {
    return this.buffered.length === 1 ? (this.buffered[0] as Buffer) : Buffer.concat(this.buffered);
  }

  async chunk(max: number): Promise<Buffer> {
    await this.fill(1);
    const all = this.joined();
    const out = all.subarray(0, Math.min(max, all.length));
    const rest = all.subarray(out.length);
    this.buffered = rest.length ? [rest] : [];
    this.length = rest.length;
    return out;
  }

  /** True when the stream has no more bytes. */
  async atEnd(): Promise<boolean> {
    await this.fill(1);
    return this.length === 0;
  }

  /** Exactly `n` bytes, or an error naming the truncation. */
  async exactly(n: number): Promise<Buffer> {
    await this.fill(n);
    if (this.length < n) throw new Error(`archive is truncated (wanted ${n} more bytes, got ${this.length})`);
    const all = this.joined();
    const rest = all.subarray(n);
    this.buffered = rest.length ? [rest] : [];
    this.length = rest.length;
    return all.subarray(0, n);
  }
}

function field(h: Buffer, offset: number, length: number): string {
  const raw = h.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? length : nul).toString('utf8');
}

function numeric(h: Buffer, offset: number, length: number): number {
  const raw = h.subarray(offset, offset + length);
  // GNU base-256 for values that do not fit in octal (files over 8 GiB).
  if ((raw[0] as number) & 0x80) {
    let v = (raw[0] as number) & 0x7f;
    for (const b of raw.subarray(1)) v = v * 256 + b;
    return v;
  }
  const text = raw.toString('ascii').replace(/\0.*$/s, '').trim();
  return text ? parseInt(text, 8) : 0;
}

function paxPath(body: Buffer): string | undefined {
  let path: string | undefined;
  let at = 0;
  while (at < body.length) {
    const space = body.indexOf(0x20, at);
    if (space < 0) break;
    const len = Number(body.subarray(at, space).toString('ascii'));
    if (!(len > 0)) break;
    const record = body.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0 && record.slice(0, eq) === 'path') path = record.slice(eq + 1);
    at += len;
  }
  return path;
}

/** One member of an archive as read: its path, type, mode and size, and the raw blocks of its header. */
export interface TarMember {
  name: string;
  /** The typeflag: '0' file, '5' directory, '2' symlink, ... */
  type: string;
  mode: number;
  size: number;
  /** The member's header blocks, preceding PAX/GNU long-name blocks included, exactly as read. */
  headerBlocks: Buffer;
}

/** True for a regular file member. */
export const isRegularFile = (m: TarMember) => m.type === '0' || m.type === '\0' || m.type === '7';

/**
 * Walks an archive. For each member, `onMember` returns `skip`, or a sink that receives the member's data blocks
 * (padding included) in chunks; headers are the caller's to copy (`headerBlocks`) or rewrite.
 */
export async function walkTar(
  source: AsyncIterable<Buffer>,
  onMember: (m: TarMember) => Promise<'skip' | ((chunk: Buffer) => Promise<void>)>,
): Promise<number> {
  const r = new ByteReader(source);
  let members = 0;
  let pending: Buffer[] = [];
  let longName: string | undefined;
  for (;;) {
    if (await r.atEnd()) break;
    const block = await r.exactly(BLOCK);
    if (block.every((b) => b === 0)) break;
    const type = String.fromCharCode(block[156] || 48);
    const size = numeric(block, 124, 12);
    const dataLength = Math.ceil(size / BLOCK) * BLOCK;
    if (type === 'x' || type === 'L' || type === 'g') {
      const body = await r.exactly(dataLength);
      pending.push(block, body);
      if (type === 'L') longName = body.subarray(0, size).toString('utf8').replace(/\0+$/, '');
      if (type === 'x') longName = paxPath(body.subarray(0, size)) ?? longName;
      continue;
    }
    const prefix = field(block, 345, 155);
    const short = field(block, 0, 100);
    const name = longName ?? (prefix ? `${prefix}/${short}` : short);
    const mode = numeric(block, 100, 8);
    const member: TarMember = { name, type, mode, size, headerBlocks: Buffer.concat([...pending, block]) };
    pending = [];
    longName = undefined;
    members++;
    // Links and directories carry no data even when a size is written.
    let left = isRegularFile(member) ? dataLength : 0;
    const sink = await onMember(member);
    while (left > 0) {
      const chunk = await r.chunk(Math.min(left, 1 << 20));
      if (chunk.length === 0) throw new Error(`archive is truncated inside ${name}`);
      left -= chunk.length;
      if (sink !== 'skip') await sink(chunk);
    }
  }
  return members;
}

/** Decompresses a gzip stream. */
export function gunzip(source: Readable): Readable {
  const g = createGunzip();
  source.on('error', (err) => g.destroy(err));
  return source.pipe(g);
}
