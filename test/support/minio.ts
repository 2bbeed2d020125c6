/**
 * A real S3-compatible server for the tests of the backup store's S3 path: MinIO, built by
 * `npm test`'s bootstrap (scripts/bootstrap.mjs), started on loopback with a data folder and
 * credentials of its own, and stopped (its folder removed) afterwards.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { PROJECT_ROOT } from '../../config/index.js';
import { freePort } from '../../scripts/servers/ports.js';

/** The MinIO binary `npm test`'s bootstrap resolved, or LANDLORD_MINIO. */
function minioBinary(): string {
  if (process.env.LANDLORD_MINIO) return process.env.LANDLORD_MINIO;
  const file = join(PROJECT_ROOT, '.tools', 'resolved.json');
  const resolved = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as { minio?: string }) : {};
  if (!resolved.minio || !existsSync(resolved.minio))
    throw new Error('MinIO is not installed: run `node scripts/bootstrap.mjs --test` (npm test does)');
  return resolved.minio;
}

export class MinioServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly folder: string,
    /** `http://127.0.0.1:<port>` */
    readonly endpoint: string,
    readonly credentials: { accessKeyId: string; secretAccessKey: string },
  ) {}

  /** Starts a server and waits until it is ready; `buckets` are created in it. */
  static async start(buckets: string[] = []): Promise<MinioServer> {
    const folder = mkdtempSync(join(tmpdir(), 'landlord-minio-'));
    const [port, consolePort] = [await freePort(), await freePort()];
    const credentials = {
      accessKeyId: `landlord${randomBytes(4).toString('hex')}`,
      secretAccessKey: randomBytes(16).toString('hex'),
    };
    const child = spawn(
      minioBinary(),
      [
        'server',
        '--quiet',
        '--address',
        `127.0.0.1:${port}`,
        '--console-address',
        `127.0.0.1:${consolePort}`,
        join(folder, 'data'),
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          HOME: folder,
          MINIO_ROOT_USER: credentials.accessKeyId,
          MINIO_ROOT_PASSWORD: credentials.secretAccessKey,
          // No web console; nothing but the S3 port, on loopback.
          MINIO_BROWSER: 'off',
          MINIO_UPDATE: 'off',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const server = new MinioServer(child, folder, `http://127.0.0.1:${port}`, credentials);
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`MinIO exited at start: ${stderr.slice(-2000)}`);
      const ready = await fetch(`${server.endpoint}/minio/health/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) break;
      if (Date.now() > deadline) {
        await server.stop();
        throw new Error(`MinIO was not ready within 30 s: ${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const client = server.client();
    for (const bucket of buckets) await client.send(new CreateBucketCommand({ Bucket: bucket }));
    client.destroy();
    return server;
  }

  /** A client of this server, as the backup store would make one with its endpoint configured. */
  client(): S3Client {
    return new S3Client({
      endpoint: this.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: this.credentials,
    });
  }

  /** Environment that points the AWS SDK's default chain at this server. */
  env(): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_S3: this.endpoint,
      AWS_ACCESS_KEY_ID: this.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.credentials.secretAccessKey,
      AWS_REGION: 'us-east-1',
    };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((r) => this.child.once('exit', r));
      this.child.kill('SIGTERM');
      const killed = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killed);
    }
    rmSync(this.folder, { recursive: true, force: true });
  }
}
