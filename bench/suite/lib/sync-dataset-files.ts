/** A deterministic many-small-files dataset for the data-sync bench, in the `<channel>/...` layout syncData reads. */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** A few object sizes (bytes), cycled over the objects: typical of shard indexes, small shards and metadata files. */
export const SIZES = [200, 1_000, 4_000, 16_000];

/** Bytes of object `i`, version `v`: a SHA-256 stream, so content is incompressible and stable across runs. */
function content(i: number, size: number, v: number): Buffer {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update(`object-${i}-v${v}`).digest();
  for (let off = 0; off < size; off += block.length) {
    block.copy(out, off);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

/** Relative path of object `i`: 90 % under train/ in 100-object shards, 10 % under val/. */
export function relPath(i: number, count: number): string {
  const valFrom = Math.floor(count * 0.9);
  const name = `obj-${String(i).padStart(6, '0')}.bin`;
  return i < valFrom ? `train/shard-${String(Math.floor(i / 100)).padStart(4, '0')}/${name}` : `val/${name}`;
}

/** Writes `count` objects under `root`; returns their total size in bytes. */
export function writeDataset(root: string, count: number): number {
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    const file = path.join(root, relPath(i, count));
    const size = SIZES[i % SIZES.length] as number;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content(i, size, 1));
    bytes += size;
  }
  return bytes;
}

/**
 * Rewrites `changed` objects spread over the dataset: half keep their size with new bytes (only a checksum or a
 * newer mtime can tell), half grow by 100 bytes. Returns the relative paths changed.
 */
export function changeDataset(root: string, count: number, changed: number): string[] {
  const step = Math.max(1, Math.floor(count / changed));
  const out: string[] = [];
  for (let k = 0; k < changed && k * step < count; k++) {
    const i = k * step;
    const rel = relPath(i, count);
    const size = (SIZES[i % SIZES.length] as number) + (k % 2 === 0 ? 0 : 100);
    fs.writeFileSync(path.join(root, rel), content(i, size, 2));
    out.push(rel);
  }
  return out;
}
