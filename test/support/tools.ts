/** The command-line tools some tests run, found where the machine has them. */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const INSTALL_HINT: Record<string, string> = {
  sshd: 'apt-get install openssh-server (.ci/run installs it)',
  ssh: 'apt-get install openssh-client (.ci/run installs it)',
  'ssh-keygen': 'apt-get install openssh-client (.ci/run installs it)',
  plink: 'apt-get install putty-tools (.ci/run installs it)',
  puttygen: 'apt-get install putty-tools (.ci/run installs it)',
  aws: 'the AWS CLI: apt-get install awscli, or pip install awscli (.ci/run installs it)',
};

/** The path of `name` on PATH (and, for sshd, the sbin folders a user's PATH may lack); throws with the install command. */
export function requireTool(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin'].filter(Boolean);
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // Not here.
    }
  }
  throw new Error(`${name} is not installed, and the tests need it: ${INSTALL_HINT[name] ?? `install ${name}`}`);
}
