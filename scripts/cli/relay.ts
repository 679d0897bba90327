/**
 * Bytes between the SSH client (stdin/stdout) and the instance (a TCP socket) until both
 * directions are done, with half-close passed on each way: the client's end of input becomes a
 * FIN to the instance, and the instance's FIN closes stdout, while the other direction keeps
 * flowing. scp, sftp, rsync and port forwards rely on it.
 */
import { closeSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';

/** Resolves when both directions have ended; rejects with the first error of either side. */
export function relay(socket: Socket, input: Readable, output: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending = 2;
    let failed = false;
    const done = () => {
      if (--pending === 0 && !failed) resolve();
    };
    const fail = (error: Error) => {
      if (failed) return;
      failed = true;
      input.unpipe(socket);
      socket.unpipe(output);
      socket.destroy();
      reject(error);
    };
    // The client's end of input ends the socket (pipe's default): a FIN to the instance, with
    // our side still reading (the socket is allowHalfOpen).
    input.pipe(socket);
    // pipe() never ends process.stdout: end it here, once what the instance sent is written.
    socket.pipe(output, { end: false });
    socket.once('end', () => output.end());
    input.once('end', done);
    output.once('finish', () => {
      // process.stdout never closes its descriptor, and the client reads EOF only once fd 1 is
      // closed: close it by hand (nothing is written to stdout after this).
      if (output === process.stdout) closeSync(1);
      done();
    });
    socket.once('error', fail);
    input.once('error', fail);
    output.once('error', (error: NodeJS.ErrnoException) => {
      // The client went away while the instance still talked: nothing more to deliver.
      if (error.code === 'EPIPE') {
        socket.destroy();
        resolve();
      } else fail(error);
    });
    // The instance closed the connection outright (RST after our FIN is normal teardown).
    socket.once('close', () => {
      if (pending > 0 && !failed) {
        input.unpipe(socket);
        resolve();
      }
    });
  });
}
