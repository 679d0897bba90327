/**
 * Setup file of every project, run in each test worker before each test file:
 * - the folders of test/support/temp.ts `tempFolder` (and so of `tempDir()`, `scratch()`, …) go
 *   when the file ends. Hooks run in stack order, so this `afterAll`, registered before the
 *   file's own, runs after them (a stopped sshd's log is written by then);
 * - the worker ends when the vitest that started it is gone, however it ended (SIGKILL
 *   included): vitest stops its workers with a signal, so the end of the IPC channel means
 *   nobody is left to wait for this one. Its sshd servers end with it (test/support/sshd.ts).
 */
import { afterAll } from 'vitest';
import { removeTempFolders } from './temp.js';

afterAll(() => removeTempFolders());

// Once per process: a worker can run several files, each running this file.
const WATCHING = Symbol.for('ec2ip.exit-with-vitest');
const flags = globalThis as { [WATCHING]?: true };
if (process.connected && !flags[WATCHING]) {
  flags[WATCHING] = true;
  process.once('disconnect', () => {
    removeTempFolders();
    process.exit(1);
  });
}
