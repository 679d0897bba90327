/**
 * `--via ssm` and `--via eice`: the AWS CLI opens the tunnel and speaks on our stdin/stdout,
 * which it inherits untouched. The command lines are AWS's documented ones:
 * Session Manager's SSH document (`aws ssm start-session --target i-… --document-name
 * AWS-StartSSHSession --parameters portNumber=22`, which needs the Session Manager plugin)
 * and EC2 Instance Connect Endpoint (`aws ec2-instance-connect open-tunnel --instance-id i-…
 * --remote-port 22`, stdio mode without --local-port).
 */
import { spawn } from 'node:child_process';
import { CliError, EXIT } from './errors.js';
import { findOnPath } from './which.js';

export type Via = 'ssm' | 'eice';

/** The AWS CLI arguments for the tunnel, with the region and profile in use. */
export function tunnelArgs(via: Via, instanceId: string, port: number, { region, profile }: { region: string; profile?: string | undefined }): string[] {
  const command =
    via === 'ssm'
      ? ['ssm', 'start-session', '--target', instanceId, '--document-name', 'AWS-StartSSHSession', '--parameters', `portNumber=${port}`]
      : ['ec2-instance-connect', 'open-tunnel', '--instance-id', instanceId, '--remote-port', String(port)];
  return [...command, '--region', region, ...(profile ? ['--profile', profile] : [])];
}

/** The `aws` program; throws, saying how to install what is missing (and the plugin for ssm). */
export function requireTunnelTools(via: Via, env: Record<string, string | undefined>): string {
  const aws = findOnPath('aws', env);
  if (!aws) {
    throw new CliError(
      `--via ${via} runs the AWS CLI, and "aws" is not on PATH: install AWS CLI v2 (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html${via === 'eice' ? '; open-tunnel needs 2.12 or later' : ''})`,
      EXIT.failed,
    );
  }
  if (via === 'ssm' && !findOnPath('session-manager-plugin', env)) {
    throw new CliError(
      '--via ssm needs the Session Manager plugin for the AWS CLI, and "session-manager-plugin" is not on PATH: install it ' +
        '(https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html)',
      EXIT.failed,
    );
  }
  return aws;
}

/** Runs the tunnel with our stdio and resolves with its exit status. */
export function runTunnel(aws: string, args: string[], env: Record<string, string | undefined>): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(aws, args, { stdio: 'inherit', env: env as NodeJS.ProcessEnv, shell: process.platform === 'win32' && /\.(cmd|bat)$/i.test(aws) });
    child.once('error', (error) => reject(new CliError(`could not run ${aws}: ${error.message}`, EXIT.failed, { cause: error })));
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : EXIT.failed)));
  });
}
