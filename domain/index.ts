export * from './errors.js';
export * from './tenant.js';
export * from './policy.js';
export * from './operation.js';
export * from './lifecycle.js';
export * from './manifest.js';
export * from './auth.js';
export * from './silo.js';
