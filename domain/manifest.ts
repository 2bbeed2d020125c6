import { z } from 'zod';

const Identifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lowercase SQL identifier');

/**
 * A key prefix of the tenant's object storage: lowercase path segments, each ending in `/`. The same
 * prefix names an S3 or GCS lifecycle rule's filter and a folder of the local target.
 */
const StoragePrefix = z
  .string()
  .max(128)
  .regex(
    /^([a-z0-9][a-z0-9_-]{0,62}\/)+$/,
    'lowercase path segments each ending in "/", e.g. "attachments/"',
  );

/** Retention classes; retention policies (a later issue) are keyed by these. */
export const DataClass = z.enum(['personal', 'business', 'content', 'telemetry']);
export type DataClass = z.infer<typeof DataClass>;

/** How the application lays out its tenant data: what onboarding, retention, erasure and backup read. */
export const DataPlaneManifest = z
  .strictObject({
    application: z.string().min(1),
    description: z.string().optional(),
    /** Folder of SQL migrations (node-pg-migrate naming), relative to the manifest. */
    migrationsDir: z.string().min(1),
    /** Where onboarding creates the tenant's first (admin) user. */
    adminUser: z.strictObject({
      table: Identifier,
      emailColumn: Identifier,
      roleColumn: Identifier,
      roleValue: z.string().min(1),
    }),
    tables: z
      .array(
        z.strictObject({
          name: Identifier,
          tenantKey: Identifier,
          timestampColumn: Identifier,
          dataClass: DataClass,
          /** Column naming the data subject (person) a row is about, for erasure. */
          subjectKey: Identifier.optional(),
        }),
      )
      .min(1),
    /**
     * The tenant's object storage, by key prefix: an object's data class is that of the prefix it
     * is under, and its age counts from when it was last written. Objects under no prefix are kept.
     */
    storage: z
      .array(
        z.strictObject({
          prefix: StoragePrefix,
          dataClass: DataClass,
        }),
      )
      .default([]),
  })
  .refine((m) => m.tables.some((t) => t.name === m.adminUser.table), {
    message: 'adminUser.table must be one of the manifest tables',
    path: ['adminUser', 'table'],
  })
  .refine(
    (m) => m.storage.every((a, i) => m.storage.every((b, j) => i === j || !b.prefix.startsWith(a.prefix))),
    {
      message: 'no storage prefix may lie within another (each object has one data class)',
      path: ['storage'],
    },
  );
export type DataPlaneManifest = z.infer<typeof DataPlaneManifest>;
