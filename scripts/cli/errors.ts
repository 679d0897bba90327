/** Errors of the CLI: each carries the exit code the entry file ends with. */

/** Exit codes (SPEC "The CLI"). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A failure to report as one line on stderr, then exit with `exitCode`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failed,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}

/** Bad flags or configuration: exit 2. */
export class UsageError extends CliError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, EXIT.usage, options);
    this.name = 'UsageError';
  }
}
