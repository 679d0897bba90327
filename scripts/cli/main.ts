/**
 * The `ec2ip` command line: finds the command and runs it.
 *
 * The commands are imported statically, although only one runs. In the single-file bundle
 * esbuild makes of this, a dynamic import() wraps every module it reaches for lazy
 * initialisation, and wrapped modules of the SDK are no longer tree-shaken: the EC2 client
 * alone then brings all its schemas (0.9 MB of a 2 MB bundle), which every run compiles.
 * Static imports let esbuild drop them (0.86 MB in all), and evaluating the commands' modules
 * costs less than compiling what they would drop: `ec2ip proxy`, which runs on every ssh
 * connection, went from 0.4 s to 0.18 s of CPU (bench: `npm run bench -- --only connect`).
 * Keep it so: no import() anywhere in the CLI's code.
 */
import { ConfigError } from '../../functions/core/errors.js';
import { CliError, EXIT, UsageError } from './errors.js';
import type { Io } from './io.js';
import { code } from '../commands/code.js';
import { demo } from '../commands/demo.js';
import { doctor } from '../commands/doctor.js';
import { deploy } from '../commands/deploy.js';
import { get } from '../commands/get.js';
import { knownHosts } from '../commands/known-hosts.js';
import { list } from '../commands/list.js';
import { plan } from '../commands/plan.js';
import { proxy } from '../commands/proxy.js';
import { putty } from '../commands/putty.js';
import { reconcile } from '../commands/reconcile.js';
import { ssh } from '../commands/ssh.js';
import { sshConfig } from '../commands/ssh-config.js';
import { start, stop } from '../commands/start.js';

/** A command: parses its own arguments and returns an exit code or throws a CliError. */
export type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  get: { summary: 'print one value of an instance (its public IP by default)', load: async () => get },
  list: { summary: 'list the published instances: addresses, state, hostname', load: async () => list },
  'ssh-config': { summary: 'Host blocks for ssh and VS Code Remote-SSH (HostKeyAlias = instance id)', load: async () => sshConfig },
  putty: { summary: 'PuTTY sessions (.reg for Windows, or ~/.putty) with verified host keys', load: async () => putty },
  ssh: { summary: 'ssh to an instance through ec2ip proxy (--start starts it), with its verified host keys', load: async () => ssh },
  proxy: { summary: 'ProxyCommand / PuTTY local proxy: resolve at connect time, start if asked, relay', load: async () => proxy },
  start: { summary: 'start an instance (--wait: until its new address answers)', load: async () => start },
  stop: { summary: 'stop an instance (--wait: until it is stopped)', load: async () => stop },
  code: { summary: 'open VS Code Remote-SSH on an instance', load: async () => code },
  'known-hosts': { summary: 'verified SSH host keys (recorded at first boot, the console, or --via ssm), for known_hosts', load: async () => knownHosts },
  doctor: { summary: 'check the deployed stack end to end: ok / warn / FAIL with the fix', load: async () => doctor },
  plan: { summary: 'show what a reconcile would change; writes nothing', load: async () => plan },
  reconcile: { summary: 'bring every record and parameter up to date now', load: async () => reconcile },
  deploy: { summary: 'build and deploy the stack (change set, live events, outputs)', load: async () => deploy },
  demo: { summary: 'the whole flow against a local AWS emulator (npm start)', load: async () => demo },
};

declare const EC2IP_VERSION: string | undefined;

/** The package version, inlined by the build (scripts/esbuild/options.mjs); the unbundled source (tests) has none. */
export const VERSION = typeof EC2IP_VERSION === 'string' ? EC2IP_VERSION : '0.0.0-source';

export const HELP = `ec2ip: stable hostnames and SSM parameters for EC2 instances whose IP changes

Usage: ec2ip <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`)
  .join('\n')}

Run \`ec2ip <command> --help\` for a command's options; \`ec2ip --version\` prints the version.
Exit codes: 0 ok, 1 not found or failed, 2 usage or configuration error.
`;

/** Runs the CLI and returns the exit code; never exits the process itself. */
export async function main(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(HELP);
    return name ? EXIT.ok : EXIT.usage;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout(`${VERSION}\n`);
    return EXIT.ok;
  }
  const command = COMMANDS[name];
  try {
    if (!command) throw new UsageError(`unknown command "${name}"; run \`ec2ip --help\` for the list`);
    return await (await command.load())(args, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`ec2ip ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    // A setting read outside loadContext (deploy's SPOKE_EXTERNAL_ID): still a configuration error.
    if (error instanceof ConfigError) {
      io.stderr(`ec2ip ${name}: ${error.message}\n`);
      return EXIT.usage;
    }
    io.stderr(`ec2ip ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.failed;
  }
}
