/**
 * The shell environment of one build. Buildspec version 0.2 runs the commands of every phase in one shell
 * environment (https://docs.aws.amazon.com/codebuild/latest/userguide/build-env-ref-cmd.html: "we recommend that you
 * use version 0.2, which solves this issue" of commands relying on the state of earlier ones): a variable a command
 * sets, exports or unsets, the directory it changes to and the options it sets (`set -e`, `-u`, `-x`, `-f`, `-v`,
 * `-o pipefail`) carry over to the next command and the next phase.
 *
 * Each command runs as its own process of the buildspec's shell (`/bin/sh` by default, or `bash`) that restores that
 * environment from a state file before the command and saves it again on its way out (an EXIT trap, so `exit 3` or
 * a failure under `set -e` ends only that command and keeps what ran before it). Assignments are exported
 * (`set -a`), so commands' children see them too; shell functions do not carry over. Commands read /dev/null.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { killGroup } from '../../shared/procs';

export interface CommandResult {
  /** The exit status (128 + n when a signal n ended it). */
  status: number;
}

// $1 state file, $2 command file, $3 CODEBUILD_BUILD_SUCCEEDING. POSIX sh: runs under dash and bash alike.
const WRAPPER = `__cb_state=$1
__cb_cmd=$2
__cb_succeeding=$3
set --
. "$__cb_state" || exit 199
cd -- "$__CB_PWD" 2>/dev/null || cd -- "$CODEBUILD_SRC_DIR" || exit 199
export CODEBUILD_BUILD_SUCCEEDING="$__cb_succeeding"
__cb_save() {
  __cb_rc=$?
  __cb_flags=$-
  { set +axeuv; } 2>/dev/null
  __cb_pf=off
  if set -o 2>/dev/null | grep -q '^pipefail[[:space:]]*on'; then __cb_pf=on; fi
  export __CB_PWD="$PWD" __CB_FLAGS="$__cb_flags" __CB_PIPEFAIL="$__cb_pf"
  export -p > "$__cb_state.tmp" && mv -f "$__cb_state.tmp" "$__cb_state"
  exit "$__cb_rc"
}
trap __cb_save EXIT
case "\${__CB_FLAGS:-}" in *e*) set -e ;; esac
case "\${__CB_FLAGS:-}" in *u*) set -u ;; esac
case "\${__CB_FLAGS:-}" in *f*) set -f ;; esac
case "\${__CB_FLAGS:-}" in *v*) set -v ;; esac
if [ "\${__CB_PIPEFAIL:-}" = on ]; then set -o pipefail 2>/dev/null; fi
case "\${__CB_FLAGS:-}" in *x*) set -x ;; esac
set -a
. "$__cb_cmd"
`;

/** `'…'` quoting for sh. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export class BuildShell {
  private readonly state: string;
  private readonly wrapper: string;
  private readonly shellBin: string;
  private count = 0;
  private child: { pid: number } | undefined;
  private stopped = false;

  constructor(
    private readonly dir: string,
    srcDir: string,
    env: Record<string, string>,
    shell: '/bin/sh' | 'bash',
    private readonly line: (text: string) => void,
  ) {
    fs.mkdirSync(dir, { recursive: true });
    this.shellBin = shell === 'bash' ? '/bin/bash' : '/bin/sh';
    this.state = path.join(dir, 'shell-state');
    this.wrapper = path.join(dir, 'run-command.sh');
    fs.writeFileSync(this.wrapper, WRAPPER);
    const lines = Object.entries({ ...env, CODEBUILD_SRC_DIR: srcDir, __CB_PWD: srcDir }).map(
      ([k, v]) => `export ${k}=${shQuote(v)}`,
    );
    fs.writeFileSync(this.state, `${lines.join('\n')}\n`);
  }

  /** Runs one buildspec command to its end; its output goes to the build log line by line. */
  run(command: string, succeeding: boolean): Promise<CommandResult> {
    const file = path.join(this.dir, `command-${++this.count}.sh`);
    fs.writeFileSync(file, `${command}\n`);
    return this.spawn([this.wrapper, this.state, file, succeeding ? '1' : '0'], true);
  }

  /** The values of `names` in the build's shell now (unset names are left out). */
  async read(names: string[]): Promise<Record<string, string>> {
    const out = path.join(this.dir, 'read-variables');
    const script = [
      `. ${shQuote(this.state)}`,
      ...names.map((n) => `if [ -n "\${${n}+x}" ]; then printf '%s=%s\\0' ${n} "$${n}"; fi`),
    ].join('\n');
    fs.writeFileSync(path.join(this.dir, 'read-variables.sh'), script);
    const fd = fs.openSync(out, 'w');
    try {
      await new Promise<void>((resolve, reject) => {
        const child = spawn(this.shellBin, [path.join(this.dir, 'read-variables.sh')], {
          env: {},
          stdio: ['ignore', fd, 'ignore'],
        });
        child.on('error', reject);
        child.on('close', () => resolve());
      });
    } finally {
      fs.closeSync(fd);
    }
    const values: Record<string, string> = {};
    for (const entry of fs.readFileSync(out, 'utf8').split('\0').filter(Boolean)) {
      const eq = entry.indexOf('=');
      values[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return values;
  }

  /** Kills the running command and everything it started; later commands are refused. */
  stop(): void {
    this.stopped = true;
    if (this.child) killGroup(this.child.pid, 'SIGKILL');
  }

  private spawn(args: string[], logOutput: boolean): Promise<CommandResult> {
    return new Promise((resolve, reject) => {
      if (this.stopped) return reject(new Error('the build was stopped'));
      // An empty environment: the state file holds all of it (so an `unset` in the buildspec stays unset).
      const child = spawn(this.shellBin, args, { env: {}, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
      this.child = child.pid ? { pid: child.pid } : undefined;
      const feed = (stream: NodeJS.ReadableStream): void => {
        let rest = '';
        stream.setEncoding('utf8');
        stream.on('data', (chunk: string) => {
          const parts = (rest + chunk).split('\n');
          rest = parts.pop() ?? '';
          if (logOutput) for (const p of parts) this.line(p);
        });
        stream.on('end', () => {
          if (rest && logOutput) this.line(rest);
        });
      };
      feed(child.stdout);
      feed(child.stderr);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        this.child = undefined;
        if (this.stopped) return reject(new Error('the build was stopped'));
        const n = signal ? 128 + os.constants.signals[signal] : (code ?? 1);
        resolve({ status: n });
      });
    });
  }
}
