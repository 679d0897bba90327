/**
 * The one fault test/support/aws-proxy.ts does not inject: the request reaches AWS and is
 * applied, but its answer is lost (the connection drops on the way back), so the client
 * sees a failure for a change that happened and its retry meets the changed state. Sits
 * in front of moto (or of the fault proxy) and forwards everything; the first `count`
 * requests of the listed actions have their answers dropped.
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { actionOf, readBody, serviceOf } from './aws-proxy.js';

export interface LostAnswerProxy {
  url: string;
  /** `service:action` of each answer dropped. */
  readonly dropped: string[];
  /** Drops the answers of the next `count` requests of these actions (e.g. `ChangeResourceRecordSets`). */
  dropAnswers(actions: readonly string[], count: number): void;
  stop(): Promise<void>;
}

export async function startLostAnswerProxy(target: string): Promise<LostAnswerProxy> {
  const upstream = new URL(target);
  const agent = new Agent({ keepAlive: true });
  const sockets = new Set<Socket>();
  const dropped: string[] = [];
  let rule: { actions: readonly string[]; count: number } = { actions: [], count: 0 };

  const server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const service = serviceOf(req.headers.authorization);
      const action = actionOf(service, req, body);
      const drop = rule.count > 0 && rule.actions.includes(action);
      if (drop) rule.count--;
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent }, (answer) => {
        if (drop) {
          // Applied upstream; the client never hears of it.
          answer.resume();
          answer.once('end', () => {
            dropped.push(`${service}:${action}`);
            req.socket.destroy();
          });
          return;
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      forward.once('error', (error) => {
        if (!res.headersSent) res.writeHead(502);
        res.end(`lost-answer-proxy: ${error.message}`);
      });
      forward.end(body);
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    dropped,
    dropAnswers(actions, count) {
      rule = { actions, count };
    },
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

