import type { Registry } from '../registry/index.js';

/** Fixed id of the admin key given by LANDLORD_ADMIN_KEY. */
export const ENV_ADMIN_KEY_ID = 'key_env_admin';

/**
 * Makes sure an admin can get in: LANDLORD_ADMIN_KEY, when set, is an admin key from the first
 * start; otherwise, when no admin key exists yet, one is created and its secret returned (once).
 */
export async function bootstrapAdminKey(
  store: Registry,
  adminKey: string | undefined,
): Promise<string | undefined> {
  if (adminKey) {
    await store.apiKeys.ensureAdmin(ENV_ADMIN_KEY_ID, adminKey);
    return undefined;
  }
  if (await store.apiKeys.hasActiveAdmin()) return undefined;
  const { secret } = await store.apiKeys.create({
    name: 'first admin',
    role: 'admin',
    createdBy: 'landlord start',
  });
  return secret;
}
