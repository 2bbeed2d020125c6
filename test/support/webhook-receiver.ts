/**
 * A real HTTP webhook receiver on loopback: records every delivery, checks its signature, and can
 * be told to fail or to hold requests (to catch a worker mid-delivery).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface Delivery {
  idempotencyKey: string;
  event: string;
  body: { id: string; type: string; tenantId: string; operationId: string; data: Record<string, unknown> };
  signatureValid: boolean;
}

export class WebhookReceiver {
  readonly deliveries: Delivery[] = [];
  /** Status to answer with; 204 unless a test says otherwise. */
  status = 204;
  /** While set, requests are held open until `release()`. */
  private holding = false;
  private held: (() => void)[] = [];
  private waiters: (() => void)[] = [];
  private readonly server = createServer((req, res) => void this.handle(req, res));
  url = '';

  constructor(readonly secret: string) {}

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const r of this.held.splice(0)) r();
  }

  /** Resolves once at least `count` requests (held or answered) have arrived. */
  async waitForRequests(count: number, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.deliveries.length < count) {
      if (Date.now() > deadline)
        throw new Error(`only ${this.deliveries.length} of ${count} webhook requests arrived`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 100);
      });
    }
  }

  /** Deliveries de-duplicated by idempotency key, as a careful receiver would process them. */
  uniqueDeliveries(): Delivery[] {
    return [...new Map(this.deliveries.map((d) => [d.idempotencyKey, d])).values()];
  }

  private verify(header: string | undefined, raw: string): boolean {
    const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
    if (!match) return false;
    const expected = createHmac('sha256', this.secret).update(`${match[1]}.${raw}`).digest();
    return timingSafeEqual(expected, Buffer.from(match[2]!, 'hex'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    this.deliveries.push({
      idempotencyKey: String(req.headers['idempotency-key']),
      event: String(req.headers['x-landlord-event']),
      body: JSON.parse(raw) as Delivery['body'],
      signatureValid: this.verify(req.headers['x-landlord-signature'] as string | undefined, raw),
    });
    for (const w of this.waiters.splice(0)) w();
    if (this.holding) await new Promise<void>((r) => this.held.push(r));
    if (!res.destroyed) res.writeHead(this.status).end();
  }
}
