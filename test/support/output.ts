/** Captures what the code under test writes to stdout (its JSON log and EMF lines). */

export interface Captured<T> {
  result: T;
  lines: Record<string, unknown>[];
}

/** Runs `work` while collecting stdout's JSON lines; other output passes through. */
export async function captureStdout<T>(work: () => Promise<T>): Promise<Captured<T>> {
  const lines: Record<string, unknown>[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    let all = true;
    for (const line of text.split('\n').filter(Boolean)) {
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        all = false;
      }
    }
    return all ? true : (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  try {
    const result = await work();
    return { result, lines };
  } catch (error) {
    (error as { lines?: unknown }).lines = lines;
    throw error;
  } finally {
    process.stdout.write = original;
  }
}
