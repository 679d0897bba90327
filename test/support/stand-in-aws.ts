/**
 * Stand-ins for the AWS CLI's tunnels, which cannot run here (they need AWS's Session Manager
 * and EC2 Instance Connect Endpoint services): an `aws` program that accepts exactly AWS's
 * documented command lines for them, logs its argv, and relays stdin/stdout to the local
 * sshd on the port the command names, as the real tunnel would to the instance.
 *
 *   aws ssm start-session --target i-… --document-name AWS-StartSSHSession --parameters portNumber=22
 *     (docs.aws.amazon.com/cli/latest/reference/ssm/start-session; the SSH document's
 *     parameter is portNumber; the CLI needs session-manager-plugin on PATH, and says
 *     "SessionManagerPlugin is not found" without it)
 *   aws ec2-instance-connect open-tunnel --instance-id i-… --remote-port 22
 *     (docs.aws.amazon.com/cli/latest/reference/ec2-instance-connect/open-tunnel; without
 *     --local-port it tunnels over stdin/stdout)
 *
 * Global options (--region R, --profile P) may come anywhere, as with the real CLI.
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const AWS = String.raw`#!/usr/bin/env node
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const argv = process.argv.slice(2);
fs.appendFileSync(process.env.STAND_IN_LOG, JSON.stringify(argv) + '\n');
const globals = {};
const rest = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--region' || argv[i] === '--profile') globals[argv[i]] = argv[++i];
  else rest.push(argv[i]);
}
const shapes = {
  ssm: ['ssm', 'start-session', '--target', /^i-[0-9a-f]{8,17}$/, '--document-name', 'AWS-StartSSHSession', '--parameters', /^portNumber=\d+$/],
  eice: ['ec2-instance-connect', 'open-tunnel', '--instance-id', /^i-[0-9a-f]{8,17}$/, '--remote-port', /^\d+$/],
};
const kind = rest[0] === 'ssm' ? 'ssm' : rest[0] === 'ec2-instance-connect' ? 'eice' : undefined;
const shape = kind && shapes[kind];
const fits = shape && rest.length === shape.length && shape.every((s, i) => (typeof s === 'string' ? s === rest[i] : s.test(rest[i])));
if (!fits || !globals['--region']) {
  process.stderr.write('aws: error: the stand-in accepts only the documented tunnel command lines, with --region; got: ' + argv.join(' ') + '\n');
  process.exit(252);
}
if (kind === 'ssm') {
  const found = (process.env.PATH || '').split(path.delimiter).some((d) => fs.existsSync(path.join(d, 'session-manager-plugin')));
  if (!found) {
    process.stderr.write('\nSessionManagerPlugin is not found. Please refer to SessionManager Documentation here: http://docs.aws.amazon.com/console/systems-manager/session-manager-plugin-not-found\n');
    process.exit(255);
  }
}
const port = Number(kind === 'ssm' ? rest[7].slice('portNumber='.length) : rest[5]);
const socket = net.connect({ host: process.env.STAND_IN_TARGET, port, allowHalfOpen: true });
const out = fs.createWriteStream('', { fd: 1 });
socket.on('connect', () => {
  process.stdin.pipe(socket);
  socket.pipe(out);
});
socket.on('error', (e) => {
  process.stderr.write('stand-in tunnel: ' + e.message + '\n');
  process.exit(1);
});
socket.on('close', () => process.exit(0));
`;

/** Writes the stand-ins into `dir` (`aws`, and `session-manager-plugin` when `plugin`); returns dir for PATH. */
export function writeStandInAws(dir: string, { plugin = true }: { plugin?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'aws'), AWS);
  chmodSync(join(dir, 'aws'), 0o755);
  if (plugin) {
    // Only its presence matters: the stand-in aws relays by itself.
    writeFileSync(join(dir, 'session-manager-plugin'), '#!/bin/sh\necho "session-manager-plugin stand-in: run by aws, not by hand" >&2\nexit 1\n');
    chmodSync(join(dir, 'session-manager-plugin'), 0o755);
  }
  return dir;
}
