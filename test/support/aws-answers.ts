/**
 * Answers AWS gives that moto cannot: an instance's console output (moto's has no cloud-init
 * block) and Systems Manager Run Command's (moto runs nothing). Shaped as the services send
 * them: EC2's query-protocol XML with the output base64-encoded (GetConsoleOutput), SSM's
 * JSON 1.1 (SendCommand, GetCommandInvocation), for the test proxy's `respond` hook.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Answer } from './aws-proxy.js';

const RECORDED_CONSOLE = readFileSync(new URL('../events/constructed.console-output.cloud-init.txt', import.meta.url), 'utf8');
const BLOCK = /(-----BEGIN SSH HOST KEY KEYS-----\n)[\s\S]*?(-----END SSH HOST KEY KEYS-----)/;

/** The recorded console output with the key lines of its KEYS block replaced by `publicKeys`. */
export function consoleWith(publicKeys: readonly string[]): string {
  return RECORDED_CONSOLE.replace(BLOCK, (_, begin: string, end: string) => `${begin}${publicKeys.map((k) => `${k} root@ip-172-31-5-20.ec2.internal\n`).join('')}${end}`);
}

/** The recorded console output as it is before cloud-init prints the keys (or after a stop/start): no KEYS block. */
export function consoleWithoutKeys(): string {
  return RECORDED_CONSOLE.replace(BLOCK, '').replace(/ec2: #+\nec2: -----BEGIN SSH HOST KEY FINGERPRINTS-----[\s\S]*?ec2: #+\n/, '');
}

/** The key lines (`type base64`) of the recorded console output. */
export function recordedConsoleKeys(): string[] {
  const block = BLOCK.exec(RECORDED_CONSOLE)?.[0] ?? '';
  return block.split('\n').filter((l) => /^(ssh-|ecdsa-)/.test(l)).map((l) => l.split(' ').slice(0, 2).join(' '));
}

/** EC2's GetConsoleOutput answer, in AWS's XML, for an instance whose console printed `output`. */
export function consoleAnswer(instanceId: string, output: string): Answer {
  return {
    status: 200,
    headers: { 'content-type': 'text/xml;charset=UTF-8' },
    body:
      '<?xml version="1.0" encoding="UTF-8"?>\n<GetConsoleOutputResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">' +
      `<requestId>${randomUUID()}</requestId><instanceId>${instanceId}</instanceId><timestamp>2024-12-02T09:14:30.000Z</timestamp>` +
      `<output>${Buffer.from(output).toString('base64')}</output></GetConsoleOutputResponse>`,
  };
}

function ssmJson(status: number, body: unknown): Answer {
  return { status, headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() }, body: JSON.stringify(body) };
}

/** SSM's answer to SendCommand: the command, Pending. `request` is the SendCommand body (JSON). */
export function sendCommandAnswer(commandId: string, request: string): Answer {
  const input = JSON.parse(request) as { InstanceIds: string[]; DocumentName: string; Comment?: string; TimeoutSeconds?: number; Parameters: Record<string, string[]> };
  const now = Date.now() / 1000;
  return ssmJson(200, {
    Command: {
      CommandId: commandId,
      DocumentName: input.DocumentName,
      DocumentVersion: '$DEFAULT',
      Comment: input.Comment ?? '',
      ExpiresAfter: now + 3600,
      Parameters: input.Parameters,
      InstanceIds: input.InstanceIds,
      Targets: [],
      RequestedDateTime: now,
      Status: 'Pending',
      StatusDetails: 'Pending',
      OutputS3Region: 'us-east-1',
      OutputS3BucketName: '',
      OutputS3KeyPrefix: '',
      MaxConcurrency: '50',
      MaxErrors: '0',
      TargetCount: input.InstanceIds.length,
      CompletedCount: 0,
      ErrorCount: 0,
      DeliveryTimedOutCount: 0,
      ServiceRole: '',
      NotificationConfig: { NotificationArn: '', NotificationEvents: [], NotificationType: '' },
      CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
      TimeoutSeconds: input.TimeoutSeconds ?? 3600,
    },
  });
}

/** SSM's answer to GetCommandInvocation for an AWS-RunShellScript run with this status and output. */
export function commandInvocationAnswer(commandId: string, instanceId: string, status: 'Pending' | 'InProgress' | 'Success' | 'Failed', stdout = '', stderr = ''): Answer {
  const done = status === 'Success' || status === 'Failed';
  return ssmJson(200, {
    CommandId: commandId,
    InstanceId: instanceId,
    Comment: '',
    DocumentName: 'AWS-RunShellScript',
    DocumentVersion: '$DEFAULT',
    PluginName: 'aws:runShellScript',
    ResponseCode: status === 'Success' ? 0 : done ? 1 : -1,
    ExecutionStartDateTime: done ? '2024-12-02T09:20:01.104Z' : '',
    ExecutionElapsedTime: done ? 'PT0.031S' : '',
    ExecutionEndDateTime: done ? '2024-12-02T09:20:01.104Z' : '',
    Status: status,
    StatusDetails: status === 'InProgress' ? 'InProgress' : status,
    StandardOutputContent: done ? stdout : '',
    StandardOutputUrl: '',
    StandardErrorContent: done ? stderr : '',
    StandardErrorUrl: '',
    CloudWatchOutputConfig: { CloudWatchLogGroupName: '', CloudWatchOutputEnabled: false },
  });
}

/** SSM's error answer (HTTP 400, JSON 1.1), e.g. `InvalidInstanceId` for an instance that is not a managed node. */
export function ssmError(type: string, message: string): Answer {
  return ssmJson(400, { __type: type, message });
}

/** What AWS-RunShellScript prints for ec2ip's host-key commands on an instance with these key files. */
export function runCommandOutput(publicKeyLines: readonly string[]): string {
  return `-----BEGIN EC2IP HOST KEYS-----\n${publicKeyLines.map((l) => `${l}\n\n`).join('')}-----END EC2IP HOST KEYS-----\n`;
}
