export * from './stores.js';
export { CURSOR_PATTERN, decodeCursor } from './cursor.js';
export { connectRegistry, PostgresRegistry } from './postgres/registry.js';
export { MemoryRegistry } from './memory.js';
export { HOLD_ID_PATTERN } from './legal-holds.js';
export { ERASURE_ID_PATTERN } from './erasures.js';
export { EXPORT_ID_PATTERN } from './exports.js';
