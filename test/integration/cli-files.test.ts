/**
 * The files ssh and PuTTY trust, written safely (issue #26): a value from AWS that is not a DNS
 * name is refused, no symlink is followed, ec2ip's own files and sessions are recognised exactly,
 * and a path with a line break is refused. Every refusal exits 2 and writes nothing. The CLI's
 * calls (the only ones through the audit here) are held to the read and connect policies
 * (infra/user-policy.json, user-policy-connect.json: `known-hosts` reads the console).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { encodeReg, renderReg, SESSIONS_KEY, unixName } from '../../scripts/cli/putty-sessions.js';
import { startProxy } from '../support/aws-proxy.js';
import { cli, tempDir } from '../support/cli.js';
import { useIamAudit, USER_POLICIES } from '../support/iam-audit.js';
import { createZone, putParameter, useMoto } from '../support/moto.js';
import { parseReg } from '../support/reg-file.js';
import { keygen } from '../support/sshd.js';

const WEB = 'i-0123456789abcdef0';

describe('the files ec2ip writes for ssh and PuTTY', () => {
  const aws = useMoto();
  const audit = useIamAudit('cli', { policies: [USER_POLICIES.read, USER_POLICIES.connect] });
  let home: string;
  let dir: string;
  let env: Record<string, string>;

  beforeEach(async () => {
    home = tempDir();
    dir = tempDir();
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    env = { HOME: home };
    await Promise.all([putParameter('/ec2ip/web/instance-id', WEB), putParameter('/ec2ip/web/public-ip', '198.51.100.20')]);
  });

  /** Every file under `root`, with its content, to show nothing was written. */
  const snapshot = (root: string): Record<string, string> => {
    const out: Record<string, string> = {};
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else if (e.isFile()) out[p] = readFileSync(p, 'utf8');
        else if (e.isSymbolicLink()) out[p] = '<link>';
      }
    };
    walk(root);
    return out;
  };

  describe('a hosted zone name from AWS', () => {
    it('is refused, naming the value and GetHostedZone, when an endpoint returns one with a line break', async () => {
      const zone = await createZone('example.com');
      const lie = 'example.com\n  ProxyCommand touch /tmp/ec2ip-pwned\n#';
      const proxy = await startProxy({
        ...audit.hooks,
        target: aws.endpoint,
        respond: ({ service, action }) =>
          service === 'route53' && action === 'GetHostedZone'
            ? {
                status: 200,
                headers: { 'content-type': 'text/xml' },
                body:
                  '<?xml version="1.0" encoding="UTF-8"?>\n<GetHostedZoneResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><HostedZone>' +
                  `<Id>/hostedzone/${zone}</Id><Name>${lie}.</Name><CallerReference>ref-1</CallerReference><Config><PrivateZone>false</PrivateZone></Config>` +
                  '<ResourceRecordSetCount>2</ResourceRecordSetCount></HostedZone><DelegationSet><NameServers><NameServer>ns-1.awsdns-01.org</NameServer></NameServers></DelegationSet></GetHostedZoneResponse>',
              }
            : undefined,
      });
      const saved = process.env.AWS_ENDPOINT_URL;
      process.env.AWS_ENDPOINT_URL = proxy.url;
      try {
        const output = join(dir, 'ec2ip.conf');
        for (const args of [
          ['ssh-config', '--output', output],
          ['ssh-config'],
          ['putty', '--format', 'unix', '--skip-host-keys', '--output', join(dir, 'putty')],
          ['putty', '--format', 'reg', '--skip-host-keys', '--output', join(dir, 'ec2ip.reg')],
        ]) {
          const ran = await cli(args, { ...env, HOSTED_ZONE_ID: zone });
          expect(ran.code, args.join(' ')).toBe(2);
          expect(ran.stdout).toBe('');
          expect(ran.stderr).toContain(`the public hosted zone ${zone} has the name ${JSON.stringify(lie.toLowerCase())} (from route53:GetHostedZone), which is not a DNS name`);
        }
        expect(readdirSync(dir)).toEqual([]);
        expect(proxy.requests.some((r) => r.action === 'GetHostedZone' && r.outcome === 'answered')).toBe(true);
      } finally {
        process.env.AWS_ENDPOINT_URL = saved;
        await proxy.stop();
      }
    });
  });

  describe('symbolic links', () => {
    it('known-hosts --output: a link to ~/.bashrc is refused, saying where it points and what to pass', async () => {
      const bashrc = join(home, '.bashrc');
      writeFileSync(bashrc, 'export PS1=x\n');
      const link = join(dir, 'known_hosts');
      symlinkSync(bashrc, link);
      const ran = await cli(['known-hosts', '--output', link], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(`${link} is a symbolic link to ${bashrc}; ec2ip never writes through a link`);
      expect(ran.stderr).toContain(`pass its real path: ${bashrc}`);
      expect(readFileSync(bashrc, 'utf8')).toBe('export PS1=x\n');
    });

    it('ssh-config --known-hosts and --output: a link is refused before either file is written', async () => {
      const target = join(home, 'empty');
      writeFileSync(target, '');
      symlinkSync(target, join(dir, 'known_hosts'));
      const kh = await cli(['ssh-config', '--known-hosts', join(dir, 'known_hosts'), '--output', join(dir, 'ec2ip.conf')], env);
      expect(kh.code).toBe(2);
      expect(kh.stderr).toContain('is a symbolic link to');
      expect(existsSync(join(dir, 'ec2ip.conf'))).toBe(false);
      expect(readFileSync(target, 'utf8')).toBe('');

      symlinkSync(target, join(dir, 'linked.conf'));
      const out = await cli(['ssh-config', '--output', join(dir, 'linked.conf')], env);
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`${join(dir, 'linked.conf')} is a symbolic link to ${target}`);
      expect(readFileSync(target, 'utf8')).toBe('');
    });

    it('ssh-config --output DIR/config through a folder linked to ~/.ssh is ~/.ssh/config, and refused', async () => {
      writeFileSync(join(home, '.ssh', 'config'), 'Host mine\n');
      symlinkSync(join(home, '.ssh'), join(dir, 'dotssh'));
      const before = snapshot(home);
      for (const args of [
        ['ssh-config', '--output', join(dir, 'dotssh', 'config')],
        ['ssh-config', '--known-hosts', join(dir, 'dotssh', 'config')],
        ['known-hosts', '--output', join(dir, 'dotssh', 'config')],
      ]) {
        const ran = await cli(args, env);
        expect(ran.code, args.join(' ')).toBe(2);
        expect(ran.stderr).toContain(`must not be ~/.ssh/config (${join(dir, 'dotssh', 'config')}, through a link, is ${join(home, '.ssh', 'config')})`);
      }
      expect(snapshot(home)).toEqual(before);
    });

    it('ssh-config refuses --known-hosts naming the --output file through a linked folder', async () => {
      mkdirSync(join(dir, 'real'));
      symlinkSync(join(dir, 'real'), join(dir, 'alias'));
      const ran = await cli(['ssh-config', '--output', join(dir, 'real', 'ec2ip.conf'), '--known-hosts', join(dir, 'alias', 'ec2ip.conf')], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('--known-hosts and --output must be two different files');
      expect(readdirSync(join(dir, 'real'))).toEqual([]);
    });

    it("known-hosts --output refuses the ssh config ec2ip ssh-config wrote", async () => {
      const config = join(dir, 'ec2ip.conf');
      expect((await cli(['ssh-config', '--output', config], env)).code).toBe(0);
      const written = readFileSync(config, 'utf8');
      const ran = await cli(['known-hosts', '--output', config], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(`--output ${config} is the file ec2ip ssh-config --output writes`);
      expect(readFileSync(config, 'utf8')).toBe(written);
    });

    it('putty --format unix: a linked sshhostkeys or session file is refused and no session is written', async () => {
      const target = join(home, 'empty');
      writeFileSync(target, '');
      const putty = join(dir, 'putty');
      mkdirSync(join(putty, 'sessions'), { recursive: true });
      symlinkSync(target, join(putty, 'sshhostkeys'));
      const keys = await cli(['putty', '--format', 'unix', '--skip-host-keys', '--output', putty], env);
      expect(keys.code).toBe(2);
      expect(keys.stderr).toContain(`${join(putty, 'sshhostkeys')} is a symbolic link to ${target}`);
      expect(readdirSync(join(putty, 'sessions'))).toEqual([]);

      const other = join(dir, 'putty2');
      mkdirSync(join(other, 'sessions'), { recursive: true });
      symlinkSync(target, join(other, 'sessions', 'ec2ip-web'));
      const session = await cli(['putty', '--format', 'unix', '--skip-host-keys', '--output', other], env);
      expect(session.code).toBe(2);
      expect(session.stderr).toContain(`${join(other, 'sessions', 'ec2ip-web')} is a symbolic link to ${target}`);
      expect(readFileSync(target, 'utf8')).toBe('');
      expect(readdirSync(other).sort()).toEqual(['sessions']);
      // A sessions folder that is a link to somewhere else.
      const third = join(dir, 'putty3');
      mkdirSync(join(home, 'elsewhere'));
      mkdirSync(third);
      symlinkSync(join(home, 'elsewhere'), join(third, 'sessions'));
      const folder = await cli(['putty', '--format', 'unix', '--skip-host-keys', '--output', third], env);
      expect(folder.code).toBe(2);
      expect(folder.stderr).toContain(`${join(third, 'sessions')} is a symbolic link to ${join(home, 'elsewhere')}`);
      expect(readdirSync(join(home, 'elsewhere'))).toEqual([]);
    });

    it('putty --format reg: a linked .reg file is refused', async () => {
      const target = join(home, 'empty');
      writeFileSync(target, '');
      symlinkSync(target, join(dir, 'ec2ip.reg'));
      const ran = await cli(['putty', '--format', 'reg', '--skip-host-keys', '--output', join(dir, 'ec2ip.reg')], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('is a symbolic link to');
      expect(readFileSync(target, 'utf8')).toBe('');
    });

    it('putty --convert-key: a dangling KEY.ppk link is refused, so puttygen writes the private key nowhere', async () => {
      await keygen(join(dir, 'work.pem'), 'ed25519');
      const elsewhere = join(home, 'stolen.ppk');
      symlinkSync(elsewhere, join(dir, 'work.ppk'));
      const ran = await cli(['putty', '--format', 'unix', '--skip-host-keys', '--convert-key', join(dir, 'work.pem'), '--output', join(dir, 'putty')], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain(`${join(dir, 'work.ppk')} is a symbolic link to ${elsewhere}`);
      expect(ran.stderr).toContain('It points at nothing that exists');
      expect(existsSync(elsewhere)).toBe(false);
      expect(existsSync(join(dir, 'putty'))).toBe(false);
    });
  });

  describe('paths with a line break', () => {
    it('ssh-config --output with a newline is refused and nothing is written', async () => {
      const evil = join(dir, 'x\nProxyCommand touch pwned');
      const ran = await cli(['ssh-config', '--output', evil], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('--output "');
      expect(ran.stderr).toContain('holds a line break or another control character');
      expect(readdirSync(dir)).toEqual([]);
    });
  });

  describe("recognising ec2ip's own files and sessions", () => {
    it('ssh-config --output: a file whose first line only starts like ec2ip\'s is not replaced', async () => {
      const file = join(dir, 'ec2ipsec.conf');
      const mine = '# Managed by ec2ipsec-tools: my VPN hosts\nHost vpn\n  HostName 192.0.2.1\n';
      writeFileSync(file, mine);
      const ran = await cli(['ssh-config', '--output', file], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('was not written by ec2ip');
      expect(readFileSync(file, 'utf8')).toBe(mine);
    });

    it('putty --format reg: a .reg file that mentions ec2ip\'s mark in a value is not replaced', async () => {
      const file = join(dir, 'mine.reg');
      const mine = 'Windows Registry Editor Version 5.00\r\n\r\n[HKEY_CURRENT_USER\\Software\\Mine]\r\n"Note"="; Managed by ec2ip is what it said"\r\n';
      writeFileSync(file, mine);
      const ran = await cli(['putty', '--format', 'reg', '--skip-host-keys', '--output', file], env);
      expect(ran.code).toBe(2);
      expect(ran.stderr).toContain('exists and was not written by ec2ip');
      expect(readFileSync(file, 'utf8')).toBe(mine);
    });

    it("putty --format reg: an edited session list does not make ec2ip delete the user's session", async () => {
      const file = join(dir, 'ec2ip.reg');
      const old = { name: 'ec2ip-old', settings: { HostName: '198.51.100.9', PortNumber: 22, Protocol: 'ssh' as const, LogHost: 'i-0fedcba9876543210' } };
      // A file ec2ip wrote, then its list edited to name the user's own session.
      const edited = renderReg([old], []).replace('; ec2ip sessions: ec2ip-old', '; ec2ip sessions: ec2ip-old MyProdServer ec2ip-never');
      writeFileSync(file, encodeReg(edited));
      const ran = await cli(['putty', '--format', 'reg', '--skip-host-keys', '--output', file], env);
      expect(ran.code, ran.stderr).toBe(0);
      const reg = parseReg(readFileSync(file));
      expect(reg.deleted).toEqual([`${SESSIONS_KEY}\\ec2ip-old`]);
      expect(Object.keys(reg.keys)).toEqual([`${SESSIONS_KEY}\\ec2ip-web`]);
    });

    it("putty --format unix --session-prefix m: the user's session mybox is neither removed nor replaced", async () => {
      const putty = join(dir, 'putty');
      mkdirSync(join(putty, 'sessions'), { recursive: true });
      const mybox = 'HostName=192.0.2.50\nUserName=me\n';
      writeFileSync(join(putty, 'sessions', 'mybox'), mybox);
      // Another of the user's sessions, named as ec2ip would name web's.
      const mweb = 'HostName=192.0.2.51\nLogHost=myweb\n';
      writeFileSync(join(putty, 'sessions', 'mweb'), mweb);
      const ran = await cli(['putty', '--format', 'unix', '--skip-host-keys', '--session-prefix', 'm', '--output', putty], env);
      expect(ran.code).toBe(1);
      expect(ran.stderr).toContain(`skipped session mweb: ${join(putty, 'sessions', 'mweb')} exists and ec2ip did not write it`);
      expect(readFileSync(join(putty, 'sessions', 'mybox'), 'utf8')).toBe(mybox);
      expect(readFileSync(join(putty, 'sessions', 'mweb'), 'utf8')).toBe(mweb);

      // With another instance published, ec2ip's session is written; web goes away: its session is removed, mybox stays.
      await Promise.all([putParameter('/ec2ip/db/instance-id', 'i-0aaaaaaaaaaaaaaaa'), putParameter('/ec2ip/db/public-ip', '198.51.100.21')]);
      expect((await cli(['putty', '--format', 'unix', '--skip-host-keys', '--session-prefix', 'm', '--output', putty], env)).code).toBe(1);
      expect(readFileSync(join(putty, 'sessions', 'mdb'), 'utf8')).toContain('HostName=198.51.100.21\n');
      await aws.ssm.send(new (await import('@aws-sdk/client-ssm')).DeleteParametersCommand({ Names: ['/ec2ip/db/instance-id', '/ec2ip/db/public-ip'] }));
      const after = await cli(['putty', '--format', 'unix', '--skip-host-keys', '--session-prefix', 'm', '--output', putty], env);
      expect(after.stderr).toContain('1 removed (mdb)');
      expect(readdirSync(join(putty, 'sessions')).sort()).toEqual(['mweb', 'mybox'].map(unixName));
      expect(readFileSync(join(putty, 'sessions', 'mybox'), 'utf8')).toBe(mybox);
    });
  });
});
