/**
 * Ending with the npm that started us. `npm start`, `npm run test:integration` and `npm run
 * bench` run their step as npm ← sh -c ← node: when npm alone is SIGKILLed, the shell is
 * reparented and keeps running, so a process watching only its direct parent never notices
 * and the step (with its emulator and sshd) runs on to its end. Linux only (/proc); elsewhere
 * nothing is watched.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

/** A process as /proc tells it: its parent, and its start time (so a reused pid is not taken for it). */
interface Proc {
  ppid: number;
  start: string;
  state: string;
}

function proc(pid: number): Proc | undefined {
  try {
    // After "pid (comm) ": state, ppid, … starttime is the 20th field from there.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ').pop()?.split(' ') ?? [];
    return { state: fields[0] ?? '', ppid: Number(fields[1]), start: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/** npm (or npx) by its command line: its title ("npm run bench") or node running npm-cli.js. */
export function isNpmCommandLine(argv: string[]): boolean {
  const first = basename(argv[0]?.split(' ')[0] ?? '');
  if (first === 'npm' || first === 'npx') return true;
  return /^node(js)?$/.test(first) && /(^|[\\/])np[mx](-cli\.js)?$/.test(argv[1] ?? '');
}

function commandLine(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

/**
 * The nearest npm among this process's ancestors, found by walking /proc up from the parent;
 * `null` when the walk reached the top without one, `undefined` when it could not tell.
 */
export function npmAncestor(start = process.ppid): { pid: number; start: string } | null | undefined {
  if (process.platform !== 'linux') return undefined;
  let pid = start;
  for (let depth = 0; depth < 64 && pid > 0; depth++) {
    const info = proc(pid);
    if (!info) return undefined;
    if (isNpmCommandLine(commandLine(pid))) return { pid, start: info.start };
    pid = info.ppid;
  }
  return pid > 0 ? undefined : null;
}

/**
 * Calls `onGone` (once) within about half a second after the npm this process runs under is
 * gone, however it ended; returns the unref'd timer to clear, or undefined when nothing is
 * watched (not under npm, not Linux). `env` tells whether npm started us at all: if npm ran
 * the script (npm_lifecycle_event set, npm_execpath npm's own) but no npm is left above us,
 * it was killed before we started (during the build step before us), and `onGone` runs at once.
 */
export function onNpmGone(onGone: () => void, env: Record<string, string | undefined>): NodeJS.Timeout | undefined {
  const npm = npmAncestor();
  if (npm === undefined) return undefined;
  const byNpm = Boolean(env.npm_lifecycle_event) && /np[mx]-cli\.js$/.test(env.npm_execpath ?? '');
  if (npm === null && !byNpm) return undefined;
  const gone = () => {
    if (npm === null) return true;
    const now = proc(npm.pid);
    return !now || now.start !== npm.start || now.state === 'Z';
  };
  const timer = setInterval(() => {
    if (!gone()) return;
    clearInterval(timer);
    onGone();
  }, 500);
  timer.unref();
  return timer;
}
