/**
 * Writing a file the CLI owns: only when its content changes, atomically, private to the user,
 * and never through a symbolic link.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readlink, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from './errors.js';

export interface WriteOptions {
  mode?: number;
  /** Called with the current content of an existing file; false refuses to replace it. */
  mayReplace?: (current: string) => boolean;
  /** How to read the current content for `mayReplace` (default UTF-8). */
  decode?: (bytes: Buffer) => string;
}

export type WriteOutcome = 'written' | 'unchanged' | 'refused';

/**
 * Writes `content` to `path` unless it already holds exactly that (then the file, its
 * mtime included, stays as it is). A write goes to a temporary file in the same folder
 * that is renamed over the target, so a reader never sees half a file. A symlink at `path`
 * is refused (UsageError), never followed: a link could send ssh's keys into ~/.bashrc.
 */
export async function writeFileIfChanged(path: string, content: string | Buffer, options: WriteOptions = {}): Promise<WriteOutcome> {
  const mode = options.mode ?? 0o600;
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const current = await readOwnFile(path);
  if (current?.equals(bytes)) {
    // chmod changes no content and no mtime; the file was just opened without following a link.
    if (((await lstat(path)).mode & 0o777) !== mode) await chmod(path, mode);
    return 'unchanged';
  }
  if (current !== undefined && current.length > 0 && options.mayReplace && !options.mayReplace((options.decode ?? ((b) => b.toString('utf8')))(current))) return 'refused';

  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    // `wx` is O_CREAT|O_EXCL, which fails on any existing name, a link included.
    await writeFile(temporary, bytes, { mode, flag: 'wx' });
    // The umask may have narrowed the mode; the file must be exactly `mode`.
    await chmod(temporary, mode);
    // rename replaces the name itself: a link planted since the check is replaced, not followed.
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return 'written';
}

/**
 * The content of the regular file at `path`, undefined when there is none; a symlink is
 * refused (UsageError naming where it points) and opened with O_NOFOLLOW, so a link planted
 * between the check and the read fails the read instead of being followed.
 */
export async function readOwnFile(path: string): Promise<Buffer | undefined> {
  await refuseLink(path);
  // Checked before opening too: opening a FIFO would wait for a writer.
  const info = await lstat(path).catch(() => undefined);
  if (info && !info.isFile()) throw notAFile(path);
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ELOOP') await refuseLink(path);
    throw error;
  }
  try {
    if (!(await handle.stat()).isFile()) throw notAFile(path);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

function notAFile(path: string): UsageError {
  return new UsageError(`${path} is not a regular file (a folder, a device or a pipe); ec2ip writes only plain files: pass the path of a file`);
}

/** Throws a UsageError when `path` is a symbolic link, saying where it points and what to pass instead. */
export async function refuseLink(path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  if (!info?.isSymbolicLink()) return;
  const target = await readlink(path).catch(() => '?');
  const real = await realpath(path).catch(() => undefined);
  throw new UsageError(
    `${path} is a symbolic link to ${target}; ec2ip never writes through a link (it could point anywhere). ` +
      (real ? `If that is the file you mean, pass its real path: ${real}` : `It points at nothing that exists: remove the link, or pass the path of a file of its own`),
  );
}

/**
 * `path` with every symlinked folder (and the file itself, if it exists) resolved, for
 * comparing two paths that may name one file (`DIR/config` through a link to ~/.ssh).
 */
export async function resolvedPath(path: string): Promise<string> {
  const absolute = resolve(path);
  try {
    return await realpath(absolute);
  } catch {
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(await resolvedPath(parent), basename(absolute));
  }
}

/** Throws a UsageError when `path` is, or resolves to, ~/.ssh/config: ec2ip never edits the user's own ssh config. */
export async function refuseSshConfig(path: string, flag: string, home: string): Promise<void> {
  const config = join(home, '.ssh', 'config');
  const resolved = await resolvedPath(path);
  if (resolve(path) === config || resolved === (await resolvedPath(config))) {
    throw new UsageError(
      `${flag} must not be ~/.ssh/config (${path}${resolved !== resolve(path) ? `, through a link, is ${resolved}` : ''}): ec2ip never edits that file; give it a file of its own (e.g. ~/.ssh/ec2ip.conf) and Include it from ~/.ssh/config`,
    );
  }
}
