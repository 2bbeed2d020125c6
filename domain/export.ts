/**
 * Tenant exports (docs/erasure-and-offboarding.md): one archive per export holding every manifest
 * table of the tenant as JSON Lines, with a manifest of row counts and checksums, sealed with the
 * tenant's data key (activities/keys/sealed-file.ts). Destroying that key leaves the archive
 * unreadable. No Node built-ins, no zod: workflow code imports this module.
 */

/** The one archive layout there is: a tar of `<table>.jsonl` files and `manifest.json`. */
export const EXPORT_FORMAT = 'tar+jsonl';

/** One table of an export: its rows, and the SHA-256 (hex) of its `<table>.jsonl` file. */
export interface ExportedTable {
  name: string;
  rows: number;
  sha256: string;
}

/** A tenant's export as the registry records it: where to find it is its id and tenant. */
export interface TenantExport {
  /** `export_` and 16 hex characters, derived from the operation that made it. */
  id: string;
  tenantId: string;
  operationId: string;
  /** When its rows were read (the manifest's `exportedAt`). */
  createdAt: string;
  /** The tenant data key it is sealed with. */
  keyId: string;
  format: typeof EXPORT_FORMAT;
  /** Size of the sealed file, in bytes. */
  bytes: number;
  /** SHA-256 (hex) of the sealed file. */
  sha256: string;
  /** The application's latest migration applied in the tenant's database when it was exported. */
  schemaVersion: string;
  tables: ExportedTable[];
  /** When its counts and checksums were first found to match the archive; absent until then. */
  verifiedAt?: string;
}
