/**
 * Temporary folders for tests, removed when the test file ends, passed or failed: every folder
 * `tempFolder` makes is recorded, and test/support/setup-worker.ts (a setup file of every
 * project) removes them in an `afterAll` of the file's root suite, after the file's own hooks.
 * A worker killed before that leaves them; they carry its pid, and the next run removes them
 * (scripts/package/scratch.mjs).
 */
import { rmSync } from 'node:fs';
import { scratchDir } from '../../scripts/package/scratch.mjs';

const made: string[] = [];

/** A new folder `<tmp>/ec2ip-<label>-<pid>-XXXXXX`, removed when the test file ends. */
export function tempFolder(label: string): string {
  const dir = scratchDir(label);
  made.push(dir);
  return dir;
}

/** Removes every folder `tempFolder` made so far (the setup file calls it after each test file). */
export function removeTempFolders(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
