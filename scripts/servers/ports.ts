import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * The ports the kernel hands to outgoing connections (Linux's ip_local_port_range). A port picked
 * from among them can be taken by any client socket between the check and the server's bind —
 * the test run's many Postgres connections and replication workers make that likely — so free
 * ports are picked below them when there is room.
 */
function ephemeralRange(): [number, number] | undefined {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return low && high ? [low, high] : undefined;
  } catch {
    return undefined;
  }
}

/** Lowest port picked outside the ephemeral range: above the well-known and common service ports. */
const LOWEST = 20_000;

/** A port the kernel picks (within the ephemeral range) that was free a moment ago. */
function kernelPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A TCP port on loopback that was free a moment ago, outside the ephemeral range when it can be. */
export async function freePort(): Promise<number> {
  const range = ephemeralRange();
  if (!range || range[0] - LOWEST < 1_000) return kernelPort();
  for (let tries = 0; tries < 50; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (range[0] - LOWEST));
    if (await isFree(port)) return port;
  }
  return kernelPort();
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The first of `size` consecutive loopback ports that were all free a moment ago. */
export async function freePortRange(size: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base + size > 65535) continue;
    const free = await Promise.all(Array.from({ length: size }, (_, i) => isFree(base + i)));
    if (free.every(Boolean)) return base;
  }
}
