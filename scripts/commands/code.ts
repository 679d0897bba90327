/**
 * `ec2ip code NAME [DIR]`: opens VS Code Remote-SSH on the instance (`code --remote
 * ssh-remote+NAME DIR`). VS Code connects through your ssh config, so the Host block must be
 * there: `ec2ip ssh-config --proxy --start --output …` writes it, and then connecting starts
 * a stopped instance.
 */
import { spawn } from 'node:child_process';
import { parseName } from '../cli/connect-options.js';
import { CliError, EXIT, UsageError } from '../cli/errors.js';
import type { Io } from '../cli/io.js';
import { parse } from '../cli/options.js';
import { findOnPath } from '../cli/which.js';

export const HELP = `Usage: ec2ip code NAME [DIR]

Opens VS Code Remote-SSH on the host NAME of your ssh config, in DIR on the
instance (default: VS Code's choice, your home there). Write the Host blocks once
with

  ec2ip ssh-config --proxy --start --user ec2-user --identity-file ~/.ssh/work.pem \\
    --known-hosts ~/.ssh/ec2ip_known_hosts --output ~/.ssh/ec2ip.conf

so that connecting starts a stopped instance and waits for it. Needs VS Code's
"code" command on PATH (VS Code: "Shell Command: Install 'code' command in PATH")
and the Remote - SSH extension.
`;

export async function code(args: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(args, {}, 2);
  if (values.help) {
    io.stdout(HELP);
    return EXIT.ok;
  }
  const name = parseName(positionals[0], 'ec2ip code NAME [DIR]');
  const dir = positionals[1];
  if (dir !== undefined && (dir === '' || !dir.startsWith('/') || /[\0-\x1f]/.test(dir))) throw new UsageError(`DIR "${dir}" must be an absolute path on the instance, e.g. /home/ec2-user/project`);
  const program = findOnPath('code', io.env);
  if (!program) {
    throw new CliError('"code" is not on PATH: in VS Code run "Shell Command: Install \'code\' command in PATH" (macOS), or reinstall VS Code with "Add to PATH" (Windows, Linux)', EXIT.failed);
  }
  const codeArgs = ['--remote', `ssh-remote+${name}`, ...(dir ? [dir] : [])];
  return new Promise((done, fail) => {
    const child = spawn(program, codeArgs, { stdio: 'inherit', env: io.env as NodeJS.ProcessEnv, shell: process.platform === 'win32' && /\.(cmd|bat)$/i.test(program) });
    child.once('error', (error) => fail(new CliError(`could not run ${program}: ${error.message}`, EXIT.failed, { cause: error })));
    child.once('exit', (status, signal) => done(status ?? (signal ? 128 : EXIT.failed)));
  });
}
