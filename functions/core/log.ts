/** Structured JSON logs, one line each, that CloudWatch Logs reads as fields. */
import type { LogLevel } from './types.js';

export type Level = LogLevel;
export type Fields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger whose lines all carry `fields` (the request id, say). */
  child(fields: Fields): Logger;
}

const ORDER: Record<Level, number> = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 };

/**
 * A logger writing JSON lines from `level` up (INFO by default; the Lambda's comes from
 * LOG_LEVEL, read by config.ts); `write` is replaceable so tests can read the lines.
 */
export function createLogger(base: Fields = {}, options: { level?: Level; write?: (line: string) => void } = {}): Logger {
  const threshold = ORDER[options.level ?? 'INFO'];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: Level, message: string, fields?: Fields) => {
    if (ORDER[level] < threshold) return;
    write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...base, ...fields }, replacer));
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARN', m, f),
    error: (m, f) => emit('ERROR', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, { ...options, write }),
  };
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (value instanceof Set) return [...value];
  if (value instanceof Map) return Object.fromEntries(value);
  return value;
}
