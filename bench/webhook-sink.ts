/**
 * A loopback webhook receiver that answers 204 at once and counts distinct deliveries, so the
 * benchmark pays for real notification delivery and can check that every one arrived.
 */
import { createServer } from 'node:http';

export class WebhookSink {
  private readonly keys = new Set<string>();
  private readonly server = createServer((req, res) => {
    req.resume();
    req.once('end', () => {
      this.keys.add(String(req.headers['idempotency-key']));
      res.writeHead(204).end();
    });
  });
  url = '';

  /** Distinct deliveries (by idempotency key) received so far. */
  get deliveries(): number {
    return this.keys.size;
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/hooks`;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
