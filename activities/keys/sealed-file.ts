/**
 * Sealed files: exports and backups encrypted with their tenant's data key, as a stream.
 *
 *   LLSEAL1\n
 *   {"v":1,"alg":"AES-256-GCM","tenantId":…,"keyId":…,"chunk":65536,"noncePrefix":…}\n
 *   chunk*: uint32 BE (plaintext length, top bit set on the final chunk) ‖ ciphertext ‖ 16-byte tag
 *
 * Each file is sealed under its own key, HKDF-SHA256(data key, salt = noncePrefix), so that files
 * sealed with one data key never share a (key, nonce) pair. Chunk n is AES-256-GCM with the nonce
 * noncePrefix ‖ uint32 BE n and the associated data SHA-256(header bytes) ‖ uint32 BE n ‖ final
 * flag: a changed header or chunk, chunks reordered or taken from another file, a file cut short
 * before its final chunk, or anything after it, all fail. A reader gets each chunk only once its
 * tag checked, but must still take the output as valid only when the stream ends without error.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { Transform } from 'node:stream';
import type { Readable, TransformCallback } from 'node:stream';
import { LandlordError } from '../../domain/index.js';

/** The first bytes of every sealed file. */
export const SEALED_MAGIC = Buffer.from('LLSEAL1\n', 'latin1');
/** Plaintext bytes per chunk that sealStream writes. */
export const SEALED_CHUNK_BYTES = 65_536;

/** What a sealed file's header says: enough to find its key before reading further. */
export interface SealedHeader {
  v: 1;
  alg: 'AES-256-GCM';
  tenantId: string;
  keyId: string;
  chunk: number;
  /** 8 random bytes, base64: the salt of the file's key and the first part of each nonce. */
  noncePrefix: string;
}

const NONCE_PREFIX_BYTES = 8;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const FINAL = 0x8000_0000;
const LAST_COUNTER = 0xffff_ffff;
/** A header line longer than this is no header of ours (and is not buffered further). */
const MAX_HEADER_LINE = 4096;
/** The largest chunk a reader accepts, so that a forged length cannot make it buffer without bound. */
const MAX_CHUNK = 1 << 20;

const invalid = (message: string) => new LandlordError('SealedFileInvalid', `sealed file: ${message}`);

function fileKey(key: Buffer, noncePrefix: Buffer): Buffer {
  if (key.length !== KEY_BYTES) throw new Error('a sealed file takes a 32-byte (AES-256) key');
  return Buffer.from(hkdfSync('sha256', key, noncePrefix, 'landlord sealed file v1', KEY_BYTES));
}

const nonceOf = (prefix: Buffer, counter: number) => {
  const nonce = Buffer.alloc(NONCE_PREFIX_BYTES + 4);
  prefix.copy(nonce);
  nonce.writeUInt32BE(counter, NONCE_PREFIX_BYTES);
  return nonce;
};

const associatedData = (headerHash: Buffer, counter: number, final: boolean) => {
  const aad = Buffer.alloc(headerHash.length + 5);
  headerHash.copy(aad);
  aad.writeUInt32BE(counter, headerHash.length);
  aad[headerHash.length + 4] = final ? 1 : 0;
  return aad;
};

function checkedHeader(value: unknown): SealedHeader {
  const h = value as Partial<Record<keyof SealedHeader, unknown>> | null;
  if (typeof h !== 'object' || h === null || Array.isArray(h)) throw invalid('its header is not an object');
  if (h.v !== 1) throw invalid(`version ${JSON.stringify(h.v)} is not one this reader knows`);
  if (h.alg !== 'AES-256-GCM') throw invalid(`cipher ${JSON.stringify(h.alg)} is not AES-256-GCM`);
  if (typeof h.tenantId !== 'string' || h.tenantId === '') throw invalid('its header names no tenant');
  if (typeof h.keyId !== 'string' || h.keyId === '') throw invalid('its header names no key');
  if (typeof h.chunk !== 'number' || !Number.isInteger(h.chunk) || h.chunk < 1 || h.chunk > MAX_CHUNK)
    throw invalid(`chunk size ${JSON.stringify(h.chunk)} is out of bounds`);
  if (typeof h.noncePrefix !== 'string' || Buffer.from(h.noncePrefix, 'base64').length !== NONCE_PREFIX_BYTES)
    throw invalid('its nonce prefix is not 8 bytes of base64');
  return {
    v: 1,
    alg: 'AES-256-GCM',
    tenantId: h.tenantId,
    keyId: h.keyId,
    chunk: h.chunk,
    noncePrefix: h.noncePrefix,
  };
}

/**
 * The header at the start of `bytes` and its length in bytes, or undefined while `bytes` is too
 * short to hold all of it; throws when it is no sealed file's header.
 */
function parseHeader(bytes: Buffer): { header: SealedHeader; length: number } | undefined {
  const magic = bytes.subarray(0, SEALED_MAGIC.length);
  if (!magic.equals(SEALED_MAGIC.subarray(0, magic.length))) throw invalid('it does not start as one');
  if (bytes.length < SEALED_MAGIC.length) return undefined;
  const end = bytes.indexOf(0x0a, SEALED_MAGIC.length);
  if (end < 0) {
    if (bytes.length - SEALED_MAGIC.length > MAX_HEADER_LINE) throw invalid('its header line does not end');
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.subarray(SEALED_MAGIC.length, end).toString('utf8'));
  } catch {
    throw invalid('its header is not JSON');
  }
  return { header: checkedHeader(json), length: end + 1 };
}

class SealTransform extends Transform {
  private readonly headerBytes: Buffer;
  private readonly headerHash: Buffer;
  private readonly prefix: Buffer;
  private readonly key: Buffer;
  private pending = Buffer.alloc(0);
  private counter = 0;
  private started = false;

  constructor(
    { tenantId, keyId, key }: { tenantId: string; keyId: string; key: Buffer },
    private readonly chunk: number,
  ) {
    super();
    this.prefix = randomBytes(NONCE_PREFIX_BYTES);
    this.key = fileKey(key, this.prefix);
    const header: SealedHeader = {
      v: 1,
      alg: 'AES-256-GCM',
      tenantId,
      keyId,
      chunk,
      noncePrefix: this.prefix.toString('base64'),
    };
    this.headerBytes = Buffer.concat([SEALED_MAGIC, Buffer.from(`${JSON.stringify(header)}\n`, 'utf8')]);
    this.headerHash = createHash('sha256').update(this.headerBytes).digest();
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.push(this.headerBytes);
  }

  private seal(plaintext: Buffer, final: boolean): void {
    if (this.counter > LAST_COUNTER) throw new Error('a sealed file holds at most 2^32 chunks');
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceOf(this.prefix, this.counter), {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(associatedData(this.headerHash, this.counter, final));
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE((plaintext.length | (final ? FINAL : 0)) >>> 0);
    this.push(Buffer.concat([length, ciphertext, cipher.getAuthTag()]));
    this.counter++;
  }

  override _transform(data: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.start();
      this.pending = Buffer.concat([
        this.pending,
        Buffer.isBuffer(data) ? data : Buffer.from(data, encoding),
      ]);
      // A full chunk is sealed only once more follows: the last one must carry the final flag.
      let at = 0;
      while (this.pending.length - at > this.chunk) {
        this.seal(this.pending.subarray(at, at + this.chunk), false);
        at += this.chunk;
      }
      this.pending = this.pending.subarray(at);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      this.start();
      this.seal(this.pending, true);
      this.key.fill(0);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

class OpenTransform extends Transform {
  private pending = Buffer.alloc(0);
  private header?: SealedHeader;
  private headerHash?: Buffer;
  private prefix?: Buffer;
  private key?: Buffer;
  private counter = 0;
  private ended = false;

  constructor(private readonly resolveKey: (header: SealedHeader) => Promise<Buffer>) {
    super();
  }

  private async readHeader(): Promise<boolean> {
    const parsed = parseHeader(this.pending);
    if (!parsed) return false;
    const headerBytes = this.pending.subarray(0, parsed.length);
    this.headerHash = createHash('sha256').update(headerBytes).digest();
    this.prefix = Buffer.from(parsed.header.noncePrefix, 'base64');
    this.pending = this.pending.subarray(parsed.length);
    const key = await this.resolveKey(parsed.header);
    this.key = fileKey(key, this.prefix);
    this.header = parsed.header;
    return true;
  }

  /** Opens every whole chunk buffered. */
  private openChunks(): void {
    const header = this.header!;
    for (;;) {
      if (this.pending.length === 0) return;
      if (this.ended) throw invalid('it goes on after its final chunk');
      if (this.pending.length < 4) return;
      const word = this.pending.readUInt32BE(0);
      const final = (word & FINAL) !== 0;
      const length = word & ~FINAL;
      if (length > header.chunk)
        throw invalid(`chunk ${this.counter} claims ${length} bytes, more than the header's ${header.chunk}`);
      const size = 4 + length + TAG_BYTES;
      if (this.pending.length < size) return;
      const decipher = createDecipheriv('aes-256-gcm', this.key!, nonceOf(this.prefix!, this.counter), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(associatedData(this.headerHash!, this.counter, final));
      decipher.setAuthTag(this.pending.subarray(4 + length, size));
      let plaintext: Buffer;
      try {
        plaintext = Buffer.concat([decipher.update(this.pending.subarray(4, 4 + length)), decipher.final()]);
      } catch {
        throw invalid(
          `chunk ${this.counter} failed authentication: the file was changed or reordered, ` +
            'or the key is not the one it was sealed with',
        );
      }
      this.pending = this.pending.subarray(size);
      this.counter++;
      this.ended = final;
      this.push(plaintext);
    }
  }

  override _transform(data: Buffer | string, encoding: BufferEncoding, done: TransformCallback): void {
    this.pending = Buffer.concat([this.pending, Buffer.isBuffer(data) ? data : Buffer.from(data, encoding)]);
    const work = async () => {
      if (!this.header && !(await this.readHeader())) return;
      this.openChunks();
    };
    work().then(
      () => done(),
      (err: unknown) => done(err as Error),
    );
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.header) throw invalid('it ends before its header does');
      if (!this.ended)
        throw invalid(`it ends after ${this.counter} chunks, before its final one: it was cut short`);
      this.key?.fill(0);
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/**
 * A stream that seals what is written to it with the tenant's data key (`key`, unwrapped, whose id
 * `keyId` goes into the header); `chunk` only for tests of the format.
 */
export function sealStream({
  tenantId,
  keyId,
  key,
  chunk = SEALED_CHUNK_BYTES,
}: {
  tenantId: string;
  keyId: string;
  key: Buffer;
  chunk?: number;
}): Transform {
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > MAX_CHUNK)
    throw new Error(`a sealed file's chunk is 1 to ${MAX_CHUNK} bytes`);
  return new SealTransform({ tenantId, keyId, key }, chunk);
}

/**
 * A stream that opens a sealed file written to it, with the key `resolveKey` finds for its header
 * (TenantKeyring.keyFor: a destroyed key fails it with TenantKeyDestroyed). Anything wrong with
 * the file fails it with SealedFileInvalid.
 */
export function openStream(resolveKey: (header: SealedHeader) => Promise<Buffer>): Transform {
  return new OpenTransform(resolveKey);
}

/** Reads `source` up to the end of its header; takes nothing away from a stream. */
async function headerOfStream(source: Readable): Promise<SealedHeader> {
  const taken: Buffer[] = [];
  try {
    for (;;) {
      const parsed = parseHeader(Buffer.concat(taken));
      if (parsed) return parsed.header;
      const data = source.read() as Buffer | string | null;
      if (data !== null) {
        taken.push(Buffer.isBuffer(data) ? data : Buffer.from(data));
        continue;
      }
      if (source.readableEnded) throw invalid('it ends before its header does');
      await new Promise<void>((resolve, reject) => {
        const settle = () => {
          source.off('readable', settle).off('end', settle).off('error', fail);
          resolve();
        };
        const fail = (err: Error) => {
          source.off('readable', settle).off('end', settle).off('error', fail);
          reject(err);
        };
        source.on('readable', settle).on('end', settle).on('error', fail);
      });
    }
  } finally {
    // Put back what was read, so that the stream can go on to openStream from its first byte.
    if (taken.length > 0 && !source.readableEnded) source.unshift(Buffer.concat(taken));
  }
}

/**
 * The header of a sealed file (its tenant and key id), from the file's bytes or from a stream,
 * which is left as it was: pipe it to openStream afterwards.
 */
export async function readSealedHeader(source: Buffer | Readable): Promise<SealedHeader> {
  if (!Buffer.isBuffer(source)) return headerOfStream(source);
  const parsed = parseHeader(source);
  if (!parsed) throw invalid('it ends before its header does');
  return parsed.header;
}
