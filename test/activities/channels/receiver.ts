import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the receiver saw it. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What the receiver answers; `hang` never answers, to provoke a client timeout. */
export type Answer = { status: number; body?: string; headers?: Record<string, string> } | 'hang';

/** A real HTTP server on 127.0.0.1 that records every request and answers with `respond`. */
export interface Receiver {
  base: string;
  received: ReceivedRequest[];
  respond: (req: ReceivedRequest) => Answer;
  close(): Promise<void>;
}

/** Starts a {@link Receiver} on a free port; answers 204 until told otherwise. */
export async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    base: '',
    received: [],
    respond: () => ({ status: 204 }),
    close: async () => {
      // Hanging requests keep their sockets open; close() alone would wait for them forever.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const request: ReceivedRequest = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body };
      receiver.received.push(request);
      const answer = receiver.respond(request);
      if (answer === 'hang') return;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return receiver;
}

/** The rejection of `promise`, or a failure if it resolved. */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
