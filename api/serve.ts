/**
 * The HTTP server around the express app. Requests Node's own parser refuses never reach express
 * (a header too large, a bad header character, a broken chunked body, a body that stops short);
 * they get a problem document here too, rather than Node's empty answer.
 */
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Express } from 'express';
import { ERROR_KINDS } from '../domain/index.js';
import type { ErrorKind } from '../domain/index.js';
import { problemType } from './http-problem.js';

/** What Node's parser said, as an error kind and a detail a client can act on. */
function refusal(code: string | undefined): { kind: ErrorKind; detail: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { kind: 'HeaderFieldsTooLarge', detail: 'the request line and headers exceed 16 KiB' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { kind: 'RequestTimeout', detail: 'the request was not received in full in time' };
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return { kind: 'MalformedRequest', detail: 'the request body is not framed correctly' };
    default:
      return { kind: 'MalformedRequest', detail: 'the request is not valid HTTP/1.1' };
  }
}

/** Writes a problem document for a request Node refused, then closes the connection. */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  // A response already under way on this connection (Node's own handler checks the same).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const { kind, detail } = refusal(err.code);
  const { status, title } = ERROR_KINDS[kind];
  const requestId = randomUUID();
  const body = JSON.stringify({ type: problemType(kind), title, status, detail, instance: '/', requestId });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

export interface ServerOptions {
  /** How long a request (headers and body) may take to arrive before it is answered 408. */
  requestTimeoutMs?: number;
}

/** An HTTP server for the app: problem documents for refused requests, bounded request times. */
export function createApiServer(app: Express, { requestTimeoutMs = 30_000 }: ServerOptions = {}): Server {
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(20_000, requestTimeoutMs),
      // How often Node looks for requests past their time; its default (30 s) would double the wait.
      connectionsCheckingInterval: Math.min(1_000, requestTimeoutMs / 2),
    },
    app,
  );
  server.on('clientError', answerClientError);
  return server;
}

/** Listens on `host:port` (0: any free port); resolves with the server once it listens. */
export function listen(
  app: Express,
  port: number,
  host: string,
  options: ServerOptions = {},
): Promise<Server> {
  const server = createApiServer(app, options);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
