/**
 * Errors of ec2ip. A transient error goes back for a retry (an SQS item failure or a
 * thrown error); a permanent one is logged once and acknowledged.
 */

/** A configuration value is missing or wrong; the function cannot start. */
export class ConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** An input event is not one ec2ip can read: logged once, then sent on to the DLQ. */
export class MalformedEventError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MalformedEventError';
  }
}

/** Something that may succeed later: throttling, a 5xx, a read that lags the event. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/** A hub's ListStackInstances call failed: `name` is the service's error code. */
export class StackSetQueryError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = code || 'StackSetQueryError';
  }
}

/** The message of any thrown value, for a log line. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message;
  return String(error);
}

/**
 * A hub cannot reach one of its spokes (the role is missing, access denied, the region
 * disabled): that spoke's items go back for a retry and its records stay; the others go on.
 */
export class SpokeUnreachableError extends Error {
  constructor(
    message: string,
    readonly account: string,
    readonly region: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SpokeUnreachableError';
  }
}
