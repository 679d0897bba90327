/**
 * Best-effort event delivery to the built handler, as EventBridge and SQS do it: events
 * wait in a pool, go out in any order, directly (one event per invocation, retried twice on
 * a thrown error, like an asynchronous Lambda invocation) or in SQS batches (the items in
 * `batchItemFailures` come back, up to `maxReceives` times, then go to the DLQ).
 */
import type { SQSBatchResponse } from 'aws-lambda';
import { sqsRecord } from './events.js';
import type { Handler } from './moto.js';
import { captureStdout } from './output.js';

/** The source of every random choice, so a run can be replayed (fast-check's `gen`, or a seeded PRNG). */
export interface Chooser {
  /** An integer in [min, max]. */
  int(min: number, max: number): number;
}

/** A Chooser over a seeded PRNG (mulberry32). */
export function seeded(seed: number): Chooser {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { int: (min, max) => min + Math.floor(next() * (max - min + 1)) };
}

interface Pending {
  event: unknown;
  /** How many times it has been handed to the handler. */
  receives: number;
  label: string;
}

export interface BusOptions {
  /** Deliveries of one SQS message before it goes to the DLQ. */
  maxReceives?: number;
  /** Invocations of a direct event (1 + Lambda's 2 retries). */
  maxDirectAttempts?: number;
  /** `direct`, `sqs` or `mixed` (each delivery picks one). */
  transport?: 'direct' | 'sqs' | 'mixed';
}

export interface Invocation {
  transport: 'direct' | 'sqs';
  labels: string[];
  /** The handler's answer, or the message of what it threw. */
  outcome: unknown;
  threw: boolean;
  lines: Record<string, unknown>[];
}

export class EventBus {
  private pool: Pending[] = [];
  /** Every invocation, in order: what a failing run prints. */
  readonly invocations: Invocation[] = [];
  /** Messages that gave up (what the DLQ or the on-failure destination would hold). */
  readonly deadLetters: { label: string; event: unknown }[] = [];
  private readonly maxReceives: number;
  private readonly maxDirect: number;
  private readonly transport: 'direct' | 'sqs' | 'mixed';

  constructor(
    private readonly handler: Handler,
    private readonly choose: Chooser,
    options: BusOptions = {},
  ) {
    this.maxReceives = options.maxReceives ?? 10;
    this.maxDirect = options.maxDirectAttempts ?? 3;
    this.transport = options.transport ?? 'mixed';
  }

  get pending(): number {
    return this.pool.length;
  }

  /** Adds `copies` copies of an event (0 drops it, 2 or more duplicate it). */
  publish(event: unknown, copies: number, label: string): void {
    for (let i = 0; i < copies; i++) this.pool.push({ event: structuredClone(event), receives: 0, label });
  }

  /** Delivers about `count` pending events, picked at random, in random-sized invocations. */
  async deliver(count: number): Promise<void> {
    let left = Math.min(count, this.pool.length);
    while (left > 0 && this.pool.length > 0) {
      const transport = this.transport === 'mixed' ? (this.choose.int(0, 1) === 0 ? 'direct' : 'sqs') : this.transport;
      const size = transport === 'direct' ? 1 : this.choose.int(1, Math.min(10, this.pool.length));
      const items: Pending[] = [];
      for (let i = 0; i < size; i++) items.push(this.pool.splice(this.choose.int(0, this.pool.length - 1), 1)[0] as Pending);
      left -= size;
      await (transport === 'direct' ? this.direct(items[0] as Pending) : this.sqs(items));
    }
  }

  /** Delivers until the pool is empty: every redelivery included (each has a bounded number of tries). */
  async drain(): Promise<void> {
    for (let guard = 0; this.pool.length > 0; guard++) {
      if (guard > 10_000) throw new Error('the event pool never drained');
      await this.deliver(this.pool.length);
    }
  }

  /** Invokes the handler with one event outside the pool (a scheduled reconcile, say). */
  async invoke(event: unknown, label: string): Promise<Invocation> {
    const { result, lines, threw } = await capture(() => this.handler(structuredClone(event)));
    const inv: Invocation = { transport: 'direct', labels: [label], outcome: result, threw, lines };
    this.invocations.push(inv);
    return inv;
  }

  private async direct(item: Pending): Promise<void> {
    item.receives++;
    const inv = await this.invoke(item.event, item.label);
    if (!inv.threw) return;
    if (item.receives < this.maxDirect) this.pool.push(item);
    else this.deadLetters.push({ label: item.label, event: item.event });
  }

  private async sqs(items: Pending[]): Promise<void> {
    for (const item of items) item.receives++;
    const records = items.map((item) => sqsRecord(item.event, { receiveCount: item.receives }));
    const { result, lines, threw } = await capture(() => this.handler({ Records: records }));
    this.invocations.push({ transport: 'sqs', labels: items.map((i) => i.label), outcome: result, threw, lines });
    const failed = threw
      ? new Set(records.map((r) => r.messageId))
      : new Set(((result as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    records.forEach((record, i) => {
      const item = items[i] as Pending;
      if (!failed.has(record.messageId)) return;
      if (item.receives < this.maxReceives) this.pool.push(item);
      else this.deadLetters.push({ label: item.label, event: item.event });
    });
  }

  /** A compact history for a failure message. */
  describe(last = 40): string {
    return this.invocations
      .slice(-last)
      .map((inv) => {
        const problems = inv.lines.filter((l) => l.level === 'WARN' || l.level === 'ERROR').map((l) => `    ${l.level} ${l.message}: ${String(l.reason ?? l.instanceId ?? '')}`);
        return [`  ${inv.transport} [${inv.labels.join(', ')}] → ${inv.threw ? `threw ${String(inv.outcome)}` : JSON.stringify(inv.outcome)}`, ...problems].join('\n');
      })
      .join('\n');
  }
}

async function capture(work: () => Promise<unknown>): Promise<{ result: unknown; lines: Record<string, unknown>[]; threw: boolean }> {
  try {
    const { result, lines } = await captureStdout(work);
    return { result, lines, threw: false };
  } catch (error) {
    const lines = ((error as { lines?: Record<string, unknown>[] }).lines ?? []) as Record<string, unknown>[];
    return { result: error instanceof Error ? `${error.name}: ${error.message}` : String(error), lines, threw: true };
  }
}
