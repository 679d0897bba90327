/**
 * Counters published as CloudWatch Embedded Metric Format: one JSON line per invocation
 * that CloudWatch turns into metrics, with no API call and no extra latency.
 */

export const METRIC_NAMES = ['Published', 'Deleted', 'Refused', 'Conflicts', 'Retried', 'Malformed', 'Reconciled', 'ElasticIpAttached', 'ElasticIpProblems', 'SpokesUnreachable', 'RetryDelayNotSet', 'HostKeysRecorded', 'HostKeysGivenUp', 'HostKeysMismatch'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export class Metrics {
  private readonly counts = new Map<MetricName, number>();

  constructor(
    private readonly namespace: string,
    private readonly service: string,
  ) {}

  add(name: MetricName, count = 1): void {
    if (count > 0) this.counts.set(name, (this.counts.get(name) ?? 0) + count);
  }

  get(name: MetricName): number {
    return this.counts.get(name) ?? 0;
  }

  /** Writes the EMF line (if anything was counted) and clears the counters. */
  flush(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`), now = Date.now()): void {
    if (this.counts.size === 0) return;
    const names = [...this.counts.keys()];
    const line = {
      _aws: {
        Timestamp: now,
        CloudWatchMetrics: [{ Namespace: this.namespace, Dimensions: [['Service']], Metrics: names.map((Name) => ({ Name, Unit: 'Count' })) }],
      },
      Service: this.service,
      ...Object.fromEntries(this.counts),
    };
    this.counts.clear();
    write(JSON.stringify(line));
  }
}
