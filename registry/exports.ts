/** What both registries share about tenant exports: how their ids look. */

/** An export's id: `export_` and 16 hex characters (derived from its operation, activities/data/export.ts). */
export const EXPORT_ID_PATTERN = /^export_[0-9a-f]{16}$/;
