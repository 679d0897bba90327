// Scratch folders under the system's temporary directory that an interrupted run cannot leave
// for good: each is named `ec2ip-<label>-<pid>-XXXXXX` after the process that made it, and the
// next run (of this or of anything using these helpers) removes those whose process is gone.
// A signal handler cannot help against SIGKILL; this can.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NAME = /^ec2ip-.+-(\d+)-[A-Za-z0-9]{6}$/;

/**
 * Whether process `pid` exists (a process of another user counts).
 * @param {number} pid
 */
function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return /** @type {NodeJS.ErrnoException} */ (error).code === 'EPERM';
  }
}

/**
 * Removes the scratch folders of processes that no longer exist; returns their paths.
 * @param {string} [dir] the temporary directory (default os.tmpdir())
 * @returns {string[]}
 */
export function removeStaleScratch(dir = tmpdir()) {
  const removed = [];
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const pid = Number(NAME.exec(name)?.[1]);
    if (!pid || pid === process.pid || alive(pid)) continue;
    rmSync(join(dir, name), { recursive: true, force: true });
    removed.push(join(dir, name));
  }
  return removed;
}

let swept = false;

/**
 * A new folder `<tmp>/ec2ip-<label>-<pid>-XXXXXX`; the first call of a process also removes
 * the scratch folders left by dead ones. The caller removes its folder when done.
 * @param {string} label
 * @returns {string}
 */
export function scratchDir(label) {
  if (!swept) {
    swept = true;
    removeStaleScratch();
  }
  return mkdtempSync(join(tmpdir(), `ec2ip-${label}-${process.pid}-`));
}
