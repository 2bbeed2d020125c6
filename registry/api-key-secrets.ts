/** API key secrets, the same for every registry: `llk_` + 256 random bits; only a SHA-256 is kept. */
import { createHash, randomBytes } from 'node:crypto';

/** What the registry keeps of a secret: keys are 256-bit random, so a fast hash is enough. */
export const secretHash = (secret: string) => createHash('sha256').update(secret).digest('hex');

/** A new key's id and secret. */
export const newApiKey = () => ({
  id: `key_${randomBytes(8).toString('hex')}`,
  secret: `llk_${randomBytes(32).toString('base64url')}`,
});
