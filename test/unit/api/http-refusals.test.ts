import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { operationCount, useApiHarness } from './api-harness.js';

const api = useApiHarness();

/** Sends raw bytes (what no well-behaved client library would send) and reads the whole answer. */
function sendRaw(request: string | Buffer, { endAfterWrite = true } = {}): Promise<string> {
  const url = new URL(api().baseUrl);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname, () => {
      socket.write(request);
      if (endAfterWrite) socket.end();
    });
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

/** Status line, headers and parsed body of a raw answer. */
function parse(answer: string) {
  const [head, ...rest] = answer.split('\r\n\r\n');
  const [statusLine, ...headerLines] = head!.split('\r\n');
  const headers = Object.fromEntries(
    headerLines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(statusLine!.split(' ')[1]), headers, body: JSON.parse(rest.join('\r\n\r\n')) };
}

const problem = (kebab: string) => `https://landlord.dev/problems/${kebab}`;

describe('requests Node itself refuses get a problem document', () => {
  it.each([
    [
      'a 20 KB query string',
      `GET /v1/tenants?tier=${'x'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
      431,
      'header-fields-too-large',
    ],
    [
      'a control character in a header',
      'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x01b\r\n\r\n',
      400,
      'malformed-request',
    ],
    [
      'a chunked body with a bad chunk size',
      'POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
      400,
      'malformed-request',
    ],
    [
      'both Content-Length and chunked',
      'POST /v1/tenants HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
      400,
      'malformed-request',
    ],
    ['not HTTP at all', 'HELLO there\r\n\r\n', 400, 'malformed-request'],
  ])('%s → %i', async (_name, raw, status, kind) => {
    const answer = parse(await sendRaw(raw));
    expect(answer.status).toBe(status);
    expect(answer.headers['content-type']).toBe('application/problem+json');
    expect(answer.body).toMatchObject({ type: problem(kind), status });
    expect(answer.body.requestId).toBe(answer.headers['x-request-id']);
    expect(await operationCount(api().store)).toBe(0);
  });

  it('a body shorter than its Content-Length → 408 once the request time is up', async () => {
    const raw =
      'POST /v1/tenants HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ' +
      api().keys.admin +
      '\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"name":';
    const answer = parse(await sendRaw(raw, { endAfterWrite: false }));
    expect(answer.status).toBe(408);
    expect(answer.body).toMatchObject({ type: problem('request-timeout'), status: 408 });
    expect(api().lifecycle.calls).toEqual([]);
  });
});
