/**
 * A stub DNS server on 127.0.0.1 (UDP) for the delegation check of `ec2ip doctor`: it answers
 * NS queries for the zones it is given, NXDOMAIN for any other name, and never forwards, so a
 * test never asks the real internet. Answers are built as RFC 1035 messages.
 */
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface DnsStub {
  /** `127.0.0.1:<port>`, for `--dns-server`. */
  address: string;
  /** Zone (lower case, no trailing dot) → the NS names to answer with. */
  zones: Map<string, string[]>;
  /** The names asked for, in order. */
  queries: string[];
  stop(): Promise<void>;
}

function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').split('.').filter(Boolean);
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])), Buffer.from([0])]);
}

/** The question's name and where the question ends (after QTYPE and QCLASS). */
function readQuestion(msg: Buffer): { name: string; type: number; end: number } {
  const labels: string[] = [];
  let at = 12;
  while (msg[at] !== 0) {
    const length = msg[at] ?? 0;
    labels.push(msg.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at + 1), end: at + 5 };
}

export async function startDnsStub(zones: Record<string, string[]> = {}): Promise<DnsStub> {
  const socket = createSocket('udp4');
  const stub: DnsStub = { address: '', zones: new Map(Object.entries(zones)), queries: [], stop: () => new Promise((r) => socket.close(() => r())) };
  socket.on('message', (msg, peer) => {
    const q = readQuestion(msg);
    stub.queries.push(q.name);
    const servers = stub.zones.get(q.name);
    const answers = q.type === 2 && servers ? servers : [];
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // the query's id
    // QR, AA, RD copied, RA; RCODE 3 (NXDOMAIN) for a name it does not know.
    header.writeUInt16BE(0x8400 | (msg.readUInt16BE(2) & 0x0100) | 0x0080 | (servers ? 0 : 3), 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const records = answers.map((ns) => {
      const rdata = encodeName(ns);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(2, 2); // NS
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(172800, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    socket.send(Buffer.concat([header, msg.subarray(12, q.end), ...records]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  stub.address = `127.0.0.1:${(socket.address() as AddressInfo).port}`;
  return stub;
}
