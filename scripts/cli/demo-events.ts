/** The events AWS would deliver to the Lambda, built for `ec2ip demo`: EC2 state changes in an SQS batch, and the schedule. */
import { randomUUID } from 'node:crypto';

const ACCOUNT = '123456789012';

/** An "EC2 Instance State-change Notification" as EventBridge writes it. */
export function stateChangeEvent(instanceId: string, state: string, region: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'EC2 Instance State-change Notification',
    source: 'aws.ec2',
    account: ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:ec2:${region}:${ACCOUNT}:instance/${instanceId}`],
    detail: { 'instance-id': instanceId, state },
  };
}

/** The schedule's "Scheduled Event": a full reconcile. */
export function scheduledEvent(region: string) {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: ACCOUNT,
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${ACCOUNT}:rule/ec2ip-reconcile`],
    detail: {},
  };
}

/** An SQS batch with one message per event, as the deployed queue hands them to the Lambda. */
export function sqsBatch(events: readonly unknown[], region: string) {
  return {
    Records: events.map((event) => {
      const sent = String(Date.now());
      return {
        messageId: randomUUID(),
        receiptHandle: randomUUID(),
        body: JSON.stringify(event),
        attributes: { ApproximateReceiveCount: '1', SentTimestamp: sent, SenderId: 'AROAEVENTBRIDGE', ApproximateFirstReceiveTimestamp: sent },
        messageAttributes: {},
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: `arn:aws:sqs:${region}:${ACCOUNT}:ec2ip-events`,
        awsRegion: region,
      };
    }),
  };
}
