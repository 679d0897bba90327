/**
 * The `ec2ip` command line: finds the command and runs it. Commands are loaded on demand
 * so `ec2ip get` does not pay for the deploy code.
 */
import { ConfigError } from '../../functions/core/errors.js';
import { CliError, EXIT, UsageError } from './errors.js';
import type { Io } from './io.js';

/** A command: parses its own arguments and returns an exit code or throws a CliError. */
export type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { summary: string; load: () => Promise<Command> }> = {
  get: { summary: 'print one value of an instance (its public IP by default)', load: async () => (await import('../commands/get.js')).get },
  list: { summary: 'list the published instances: addresses, state, hostname', load: async () => (await import('../commands/list.js')).list },
  'ssh-config': { summary: 'Host blocks for ssh and VS Code Remote-SSH (HostKeyAlias = instance id)', load: async () => (await import('../commands/ssh-config.js')).sshConfig },
  putty: { summary: 'PuTTY sessions (.reg for Windows, or ~/.putty) with verified host keys', load: async () => (await import('../commands/putty.js')).putty },
  'known-hosts': { summary: 'verified SSH host keys from each instance\'s console, for known_hosts', load: async () => (await import('../commands/known-hosts.js')).knownHosts },
  doctor: { summary: 'check the deployed stack end to end: ok / warn / FAIL with the fix', load: async () => (await import('../commands/doctor.js')).doctor },
  plan: { summary: 'show what a reconcile would change; writes nothing', load: async () => (await import('../commands/plan.js')).plan },
  reconcile: { summary: 'bring every record and parameter up to date now', load: async () => (await import('../commands/reconcile.js')).reconcile },
  deploy: { summary: 'build and deploy the stack (change set, live events, outputs)', load: async () => (await import('../commands/deploy.js')).deploy },
  demo: { summary: 'the whole flow against a local AWS emulator (npm start)', load: async () => (await import('../commands/demo.js')).demo },
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
