/** CPU and memory of one Linux process from /proc: its own, not its parent's or children's. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  return ticksPerSecond;
}

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at state; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks();
}

/** Resident memory now and at its peak (VmRSS, VmHWM), in bytes. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** A sampling window's result: CPU as a share of one core, and RSS (mean of samples, max sample, kernel peak). */
export interface Usage {
  cpuCores: number;
  rssMean: number;
  rssMax: number;
  rssPeak: number;
  seconds: number;
}

/** Samples `pid` every `everyMs` for `seconds` and averages CPU over the whole window. */
export async function sampleUsage(pid: number, seconds: number, everyMs = 1000): Promise<Usage> {
  const cpu0 = cpuSeconds(pid);
  const t0 = Date.now();
  const rss: number[] = [];
  while (Date.now() - t0 < seconds * 1000) {
    rss.push(memory(pid).rss);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  const elapsed = (Date.now() - t0) / 1000;
  return {
    cpuCores: (cpuSeconds(pid) - cpu0) / elapsed,
    rssMean: rss.reduce((a, b) => a + b, 0) / Math.max(1, rss.length),
    rssMax: Math.max(...rss),
    rssPeak: memory(pid).peak,
    seconds: elapsed,
  };
}

/** A process's resident memory: anonymous vs file-backed (smaps_rollup), and its largest anonymous mappings. */
export function residentBreakdown(pid: number): { anon: number; file: number; topAnon: number[] } {
  const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (text: string, key: string) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
  const rss = kb(rollup, 'Rss');
  const anon = kb(rollup, 'Anonymous');
  // Per mapping: an anonymous mapping has no path after its inode; glibc's malloc arenas are 64 MiB ones.
  const topAnon: number[] = [];
  for (const block of fs.readFileSync(`/proc/${pid}/smaps`, 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const header = block.slice(0, block.indexOf('\n')).trim().split(/\s+/);
    if (header.length <= 5 || header[5] === '[heap]') topAnon.push(kb(block, 'Anonymous'));
  }
  topAnon.sort((a, b) => b - a);
  return { anon, file: rss - anon, topAnon: topAnon.slice(0, 8) };
}
