/** EC2 GetConsoleOutput answers for tests: the recorded cloud-init console with chosen host keys. */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Answer } from './aws-proxy.js';

const RECORDED_CONSOLE = readFileSync(new URL('../events/constructed.console-output.cloud-init.txt', import.meta.url), 'utf8');

/** The recorded console output with the key lines of its KEYS block replaced by `publicKeys` (`type base64`). */
export function consoleWith(publicKeys: readonly string[]): string {
  return RECORDED_CONSOLE.replace(
    /(-----BEGIN SSH HOST KEY KEYS-----\n)[\s\S]*?(-----END SSH HOST KEY KEYS-----)/,
    (_, begin: string, end: string) => `${begin}${publicKeys.map((k) => `${k} root@ip-172-31-5-20.ec2.internal\n`).join('')}${end}`,
  );
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
