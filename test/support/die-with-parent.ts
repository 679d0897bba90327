/** Child processes of a test that end when the test's process is gone, however it ended. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * A python3, found once (the child's own environment may have no PATH): the system's first,
 * since the step needs only the standard library and a version manager's shim costs a shell.
 */
const PYTHON = (() => {
  for (const dir of ['/usr/bin', ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)]) {
    try {
      accessSync(join(dir, 'python3'), constants.X_OK);
      return join(dir, 'python3');
    } catch {
      // Not here.
    }
  }
  return undefined;
})();

// PR_SET_PDEATHSIG is 1; the parent check covers a parent that died before prctl ran. A
// program that cannot be run exits 127 with the reason, as a shell would.
const STEP = [
  'import ctypes, os, signal, sys',
  'ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)',
  'os.getppid() == int(sys.argv[1]) or sys.exit(1)',
  'try:',
  '    os.execvp(sys.argv[2], sys.argv[2:])',
  'except OSError as error:',
  '    sys.stderr.write(f"{sys.argv[2]}: {error.strerror}\\n")',
  '    sys.exit(127)',
].join('\n');

/**
 * `command args` run so that it gets SIGTERM when this process is gone, even by SIGKILL: on
 * Linux a tiny python3 step sets PR_SET_PDEATHSIG and then becomes the command (exec keeps
 * the pid, so the child is the command itself, and signals sent to it reach the command).
 * A program cannot be made to watch a pipe, and a killed test worker runs no teardown.
 * Elsewhere, or without python3, the command runs as it is.
 */
export function dieWithParent(command: string, args: string[]): [string, string[]] {
  if (process.platform !== 'linux' || !PYTHON) return [command, args];
  return [PYTHON, ['-c', STEP, String(process.pid), command, ...args]];
}
