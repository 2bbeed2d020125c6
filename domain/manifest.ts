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
          /**
           * What erasing a subject does to its rows here (absent: `delete`). `anonymize` keeps the
           * rows, for what they mean to others, and clears `columns`, the subject key among them.
           */
          erasure: z
            .discriminatedUnion('mode', [
              z.strictObject({ mode: z.literal('delete') }),
              z.strictObject({
                mode: z.literal('anonymize'),
                columns: z.array(Identifier).min(1, 'anonymize needs at least one column to clear'),
              }),
            ])
            .optional(),
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
          /** Objects under `<prefix><subject>/` are about that data subject (absent: false). */
          subjectFolders: z.boolean().optional(),
        }),
      )
      .default([]),
  })
  .refine((m) => m.tables.some((t) => t.name === m.adminUser.table), {
    message: 'adminUser.table must be one of the manifest tables',
    path: ['adminUser', 'table'],
  })
  .superRefine((m, ctx) => {
    m.tables.forEach((t, i) => {
      const path = ['tables', i, 'erasure'];
      if (!t.erasure) return;
      if (!t.subjectKey) {
        ctx.addIssue({
          code: 'custom',
          message: `erasure applies to a table with a subjectKey; ${t.name} has none`,
          path,
        });
        return;
      }
      // No column at all is an issue of its own.
      if (t.erasure.mode !== 'anonymize' || t.erasure.columns.length === 0) return;
      const { columns } = t.erasure;
      // An anonymized row must no longer name its subject: else the erasure would find it again.
      if (!columns.includes(t.subjectKey))
        ctx.addIssue({
          code: 'custom',
          message: `anonymize columns of ${t.name} must include its subjectKey ${t.subjectKey}`,
          path: [...path, 'columns'],
        });
      if (columns.includes(t.tenantKey))
        ctx.addIssue({
          code: 'custom',
          message: `anonymize columns of ${t.name} must not include its tenantKey ${t.tenantKey}`,
          path: [...path, 'columns'],
        });
      if (new Set(columns).size !== columns.length)
        ctx.addIssue({
          code: 'custom',
          message: `anonymize columns of ${t.name} must not repeat`,
          path: [...path, 'columns'],
        });
    });
  })
  .refine(
    (m) => m.storage.every((a, i) => m.storage.every((b, j) => i === j || !b.prefix.startsWith(a.prefix))),
    {
      message: 'no storage prefix may lie within another (each object has one data class)',
      path: ['storage'],
    },
  );
export type DataPlaneManifest = z.infer<typeof DataPlaneManifest>;

/** How erasing a subject treats a manifest table's rows: deleted unless the manifest says anonymize. */
export type TableErasure = NonNullable<DataPlaneManifest['tables'][number]['erasure']>;

/** A table's erasure mode, with the manifest's default (delete) filled in. */
export const tableErasure = (table: DataPlaneManifest['tables'][number]): TableErasure =>
  table.erasure ?? { mode: 'delete' };
