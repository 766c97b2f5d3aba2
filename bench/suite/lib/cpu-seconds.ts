/** CPU seconds (user + system) of processes, for benches whose wall times a shared, busy machine inflates. */
import { execFile } from 'node:child_process';
import fs from 'node:fs';

/** CPU seconds a running process has used so far, from /proc/<pid>/stat (Linux), or NaN when unreadable. */
export function procCpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15 (clock ticks, 100 per second).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) / 100;
  } catch {
    return NaN;
  }
}

/** CPU seconds this Node process has used so far. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Output and CPU seconds of a command run to completion (through bash's `times`, so no extra tool is needed). */
export function execWithCpu(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ stdout: string; cpuS: number }> {
  return new Promise((resolve, reject) =>
    execFile(
      'bash',
      ['-c', '"$@"; rc=$?; times >&2; exit $rc', 'bash', command, ...args],
      { env, maxBuffer: 256 * 2 ** 20 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${command} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.456s".
        const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s\s*$/.exec(stderr);
        const cpuS = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : NaN;
        resolve({ stdout, cpuS });
      },
    ),
  );
}
