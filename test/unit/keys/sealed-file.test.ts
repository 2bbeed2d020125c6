import { randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  localKek,
  openStream,
  readSealedHeader,
  SEALED_MAGIC,
  sealStream,
  TenantKeyring,
} from '../../../activities/keys/index.js';
import type { SealedHeader } from '../../../activities/keys/index.js';
import { MemoryRegistry } from '../../../registry/index.js';

const KEY = randomBytes(32);
const KEY_ID = 'tkey_0123456789abcdef0123';

/** Collects a stream's output. */
async function drain(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part as Buffer));
  return Buffer.concat(parts);
}

/** `data` sealed, written in pieces of `piece` bytes as a producer would. */
async function seal(data: Buffer, piece = 10_000, options: { chunk?: number; key?: Buffer } = {}) {
  const pieces = Array.from({ length: Math.ceil(data.length / piece) }, (_, i) =>
    data.subarray(i * piece, (i + 1) * piece),
  );
  return drain(
    Readable.from(pieces).pipe(
      sealStream({ tenantId: 'acme', keyId: KEY_ID, key: options.key ?? KEY, ...options }),
    ),
  );
}

/** `sealed` opened with `key`, fed in pieces of `piece` bytes. */
async function open(sealed: Buffer, key: Buffer | (() => Promise<Buffer>) = KEY, piece = 7_000) {
  const seen: SealedHeader[] = [];
  const pieces = Array.from({ length: Math.ceil(sealed.length / piece) }, (_, i) =>
    sealed.subarray(i * piece, (i + 1) * piece),
  );
  const opened = Readable.from(pieces).pipe(
    openStream(async (header) => {
      seen.push(header);
      return typeof key === 'function' ? key() : key;
    }),
  );
  return { plaintext: await drain(opened), headers: seen };
}

/** The byte offsets where each chunk of a sealed file starts, and where its body starts. */
function chunksOf(sealed: Buffer): { body: number; starts: number[] } {
  const body = sealed.indexOf(0x0a, SEALED_MAGIC.length) + 1;
  const starts: number[] = [];
  for (let at = body; at < sealed.length; at += 4 + (sealed.readUInt32BE(at) & 0x7fffffff) + 16)
    starts.push(at);
  return { body, starts };
}

describe('sealed files', () => {
  it.each([
    ['empty', 0],
    ['small', 100],
    ['exactly two chunks', 2 * 65_536],
    ['200 KiB over four chunks', 200 * 1024],
  ])('round-trip: %s', async (_name, size) => {
    const data = randomBytes(size);
    const sealed = await seal(data);
    expect(sealed.subarray(0, SEALED_MAGIC.length).toString()).toBe('LLSEAL1\n');
    expect(chunksOf(sealed).starts).toHaveLength(Math.max(1, Math.ceil(size / 65_536)));
    if (size >= 32) expect(sealed.includes(data.subarray(0, 32))).toBe(false);
    const { plaintext, headers } = await open(sealed);
    expect(plaintext.equals(data)).toBe(true);
    expect(headers).toEqual([
      {
        v: 1,
        alg: 'AES-256-GCM',
        tenantId: 'acme',
        keyId: KEY_ID,
        chunk: 65_536,
        noncePrefix: expect.stringMatching(/^[A-Za-z0-9+/]{11}=$/),
      },
    ]);
  });

  it('names its tenant and key in a header a reader can get first, from bytes or from a stream it leaves whole', async () => {
    const data = randomBytes(150_000);
    const sealed = await seal(data);
    expect(await readSealedHeader(sealed)).toMatchObject({ tenantId: 'acme', keyId: KEY_ID });
    const dir = mkdtempSync(join(tmpdir(), 'sealed-'));
    try {
      const file = join(dir, 'export.llseal');
      writeFileSync(file, sealed);
      const stream = createReadStream(file, { highWaterMark: 64 });
      expect(await readSealedHeader(stream)).toMatchObject({ tenantId: 'acme', keyId: KEY_ID });
      expect((await drain(stream.pipe(openStream(async () => KEY)))).equals(data)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await expect(readSealedHeader(Buffer.from('PK\x03\x04 a zip'))).rejects.toThrow(/does not start as one/);
  });

  it('refuses a flipped byte anywhere: in the header, a length, a ciphertext, a tag', async () => {
    const sealed = await seal(randomBytes(200 * 1024));
    const { body, starts } = chunksOf(sealed);
    const at = [
      SEALED_MAGIC.length + 20, // the header's JSON
      starts[1]! + 2, // a chunk's length
      starts[1]! + 100, // its ciphertext
      starts[2]! - 1, // its tag
      sealed.length - 1, // the final chunk's tag
    ];
    for (const offset of at) {
      const tampered = Buffer.from(sealed);
      tampered[offset] ^= 0x01;
      await expect(open(tampered), `byte ${offset}`).rejects.toMatchObject({ kind: 'SealedFileInvalid' });
    }
    expect(body).toBeGreaterThan(SEALED_MAGIC.length);
  });

  it('refuses a file cut short (its final chunk dropped, or mid-chunk), or with anything after its end', async () => {
    const sealed = await seal(randomBytes(200 * 1024));
    const { starts } = chunksOf(sealed);
    await expect(open(sealed.subarray(0, starts.at(-1)))).rejects.toThrow(
      /before its final one: it was cut short/,
    );
    await expect(open(sealed.subarray(0, sealed.length - 5))).rejects.toThrow(/cut short/);
    await expect(open(sealed.subarray(0, 20))).rejects.toThrow(/ends before its header does/);
    await expect(open(Buffer.concat([sealed, Buffer.from([0])]))).rejects.toThrow(
      /goes on after its final chunk/,
    );
    // The final flag cannot be moved either: a file of full chunks cut after one is no file.
    const whole = await seal(randomBytes(2 * 65_536));
    await expect(open(whole.subarray(0, chunksOf(whole).starts[1]))).rejects.toThrow(/cut short/);
  });

  it('refuses chunks reordered, or a header from another file', async () => {
    const data = randomBytes(200 * 1024);
    const sealed = await seal(data);
    const { body, starts } = chunksOf(sealed);
    const swapped = Buffer.concat([
      sealed.subarray(0, starts[1]),
      sealed.subarray(starts[2], starts[3]),
      sealed.subarray(starts[1], starts[2]),
      sealed.subarray(starts[3]),
    ]);
    await expect(open(swapped)).rejects.toThrow(/chunk 1 failed authentication/);
    // The same data sealed again with the same key: the other file's header does not fit this body.
    const other = await seal(data);
    const otherBody = chunksOf(other).body;
    await expect(open(Buffer.concat([other.subarray(0, otherBody), sealed.subarray(body)]))).rejects.toThrow(
      /chunk 0 failed authentication/,
    );
  });

  it('refuses another key', async () => {
    const sealed = await seal(randomBytes(1000));
    await expect(open(sealed, randomBytes(32))).rejects.toThrow(/chunk 0 failed authentication/);
  });

  it("cannot be read once the tenant's key is destroyed (crypto-shredding)", async () => {
    const registry = new MemoryRegistry();
    const keyring = new TenantKeyring({
      store: registry.tenantKeys,
      kek: localKek('a-master-secret-of-at-least-32-characters'),
    });
    const { keyId } = await keyring.ensure('acme');
    const { key } = await keyring.open('acme');
    const data = randomBytes(5000);
    const sealed = await drain(Readable.from([data]).pipe(sealStream({ tenantId: 'acme', keyId, key })));
    const resolve = async () => keyring.keyFor(await readSealedHeader(sealed));
    expect((await open(sealed, resolve)).plaintext.equals(data)).toBe(true);
    await keyring.destroy('acme', 'key_admin');
    await expect(open(sealed, resolve)).rejects.toMatchObject({ kind: 'TenantKeyDestroyed' });
  });
});
