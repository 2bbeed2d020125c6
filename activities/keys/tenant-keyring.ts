/**
 * Tenants' data keys: made on first use, kept in the registry only as the KEK wrapped them, and
 * unwrapped in this process for the moment they are used (no cache: a destroyed key is refused at
 * once, by every worker). Destroying a tenant's key is crypto-shredding: what it sealed stays
 * unreadable, and nothing makes the tenant another key.
 */
import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { LandlordError } from '../../domain/index.js';
import type { TenantKeyDestruction, TenantKeyInfo } from '../../domain/index.js';
import type { StoredTenantKey, TenantKeyStore } from '../../registry/index.js';
import type { KeyEncryptionKey } from './key-encryption-key.js';

const DEK_BYTES = 32;

/** A tenant's data key, unwrapped: for this process's memory only, never to be returned or logged. */
export interface OpenedTenantKey {
  keyId: string;
  key: Buffer;
}

const infoOf = ({ wrapped: _wrapped, ...info }: StoredTenantKey): TenantKeyInfo => info;

/** Makes, opens and destroys tenants' data keys over the registry's store and a KEK. */
export class TenantKeyring {
  private readonly store: TenantKeyStore;
  private readonly kek: KeyEncryptionKey;
  /** Every KEK this keyring unwraps with, by id: the current one, and earlier ones still at hand. */
  private readonly keks: Map<string, KeyEncryptionKey>;

  constructor({
    store,
    kek,
    previous = [],
  }: {
    store: TenantKeyStore;
    /** Wraps new keys, and unwraps the keys it wrapped. */
    kek: KeyEncryptionKey;
    /** KEKs that wrapped keys before `kek` was configured (the local one, once a KMS key is set). */
    previous?: KeyEncryptionKey[];
  }) {
    this.store = store;
    this.kek = kek;
    this.keks = new Map([...previous, kek].map((k) => [k.id, k]));
  }

  /** The tenant's key: made and recorded on the first call; later and racing calls get that same key. */
  async ensure(tenantId: string): Promise<TenantKeyInfo> {
    const existing = await this.store.get(tenantId);
    if (existing) return infoOf(existing);
    const dek = randomBytes(DEK_BYTES);
    try {
      const wrapped = await this.kek.wrap(dek, { tenantId });
      return await this.store.create({
        tenantId,
        keyId: `tkey_${randomBytes(10).toString('hex')}`,
        kekId: this.kek.id,
        wrapped,
      });
    } finally {
      dek.fill(0);
    }
  }

  /** What may be shown of the tenant's key, if it has one. */
  async info(tenantId: string): Promise<TenantKeyInfo | undefined> {
    const stored = await this.store.get(tenantId);
    return stored && infoOf(stored);
  }

  /**
   * The tenant's key, unwrapped. Makes none: a tenant without a key has sealed nothing yet (call
   * `ensure` before sealing). A destroyed key is `TenantKeyDestroyed`.
   */
  async open(tenantId: string): Promise<OpenedTenantKey> {
    const stored = await this.store.get(tenantId);
    if (!stored) throw new LandlordError('NotFound', `tenant ${tenantId} has no data key`);
    if (stored.destroyedAt !== undefined || stored.wrapped === undefined)
      throw new LandlordError(
        'TenantKeyDestroyed',
        `the data key of tenant ${tenantId} was destroyed${stored.destroyedAt ? ` at ${stored.destroyedAt}` : ''}: what it sealed cannot be read`,
        { tenantId, keyId: stored.keyId },
      );
    const kek = this.keks.get(stored.kekId);
    if (!kek)
      throw new LandlordError(
        'Misconfigured',
        `the data key of tenant ${tenantId} is wrapped by ${stored.kekId}, which this worker does not have ` +
          `(it has ${[...this.keks.keys()].join(', ')}): configure LANDLORD_KMS_KEY and LANDLORD_SECRET as when the key was made`,
      );
    const key = await kek.unwrap(stored.wrapped, { tenantId });
    if (key.length !== DEK_BYTES) {
      key.fill(0);
      throw new LandlordError(
        'Misconfigured',
        `the data key of tenant ${tenantId} unwrapped to no AES-256 key`,
      );
    }
    return { keyId: stored.keyId, key };
  }

  /**
   * The key a sealed file's header names, provided it is the tenant's key: what `openStream`
   * (./sealed-file.ts) resolves keys with.
   */
  async keyFor(header: { tenantId: string; keyId: string }): Promise<Buffer> {
    const { keyId, key } = await this.open(header.tenantId);
    if (keyId === header.keyId) return key;
    key.fill(0);
    throw new LandlordError(
      'SealedFileInvalid',
      `the file was sealed with key ${header.keyId}, which is not tenant ${header.tenantId}'s key ${keyId}`,
    );
  }

  /** Destroys the tenant's key for good (crypto-shredding): `destroyed` now, `already`, or `unknown`. */
  async destroy(tenantId: string, destroyedBy: string): Promise<TenantKeyDestruction> {
    return this.store.destroy(tenantId, destroyedBy);
  }

  /**
   * A data subject as the tenant's registry records may name it (ledger, erasure list): an
   * HMAC-SHA256 under a key derived from the tenant's data key, in hex. Stable per tenant,
   * unrelated across tenants, and unrecomputable once the key is destroyed. Makes the tenant's key
   * on first use (pool tenants onboarded before keys existed).
   */
  async subjectHmac(tenantId: string, subject: string): Promise<string> {
    return this.withSubjectHmac(tenantId, async (hmac) => hmac(subject));
  }

  /**
   * Runs `work` with the tenant's subject HMAC (as subjectHmac computes it) at hand, the key
   * opened once: what matching many subjects takes (a restore comparing its rows' subjects with
   * the erasure list). The derived key is wiped when `work` ends.
   */
  async withSubjectHmac<T>(
    tenantId: string,
    work: (hmac: (subject: string) => string) => Promise<T>,
  ): Promise<T> {
    await this.ensure(tenantId);
    const { key } = await this.open(tenantId);
    const macKey = Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'landlord subject hmac', 32));
    key.fill(0);
    try {
      return await work((subject) => createHmac('sha256', macKey).update(subject, 'utf8').digest('hex'));
    } finally {
      macKey.fill(0);
    }
  }
}
