/** Writing a file the CLI owns: only when its content changes, atomically, private to the user. */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, realpath, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

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
 * that is renamed over the target, so a reader never sees half a file. A symlink is
 * followed, so the link stays a link.
 */
export async function writeFileIfChanged(path: string, content: string | Buffer, options: WriteOptions = {}): Promise<WriteOutcome> {
  const mode = options.mode ?? 0o600;
  const target = await realpath(path).catch(() => path);
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  const current = await readFile(target).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  if (current?.equals(bytes)) {
    // chmod changes no content and no mtime.
    if (((await stat(target)).mode & 0o777) !== mode) await chmod(target, mode);
    return 'unchanged';
  }
  if (current !== undefined && current.length > 0 && options.mayReplace && !options.mayReplace((options.decode ?? ((b) => b.toString('utf8')))(current))) return 'refused';

  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  const temporary = join(dirname(target), `.${basename(target)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temporary, bytes, { mode, flag: 'wx' });
    // The umask may have narrowed the mode; the file must be exactly `mode`.
    await chmod(temporary, mode);
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return 'written';
}
