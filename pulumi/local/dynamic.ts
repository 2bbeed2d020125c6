/**
 * Dynamic resources of the `local` target. Pulumi serializes a dynamic provider's functions into
 * the stack; ours are thin delegates that load the real implementation (providers.ts) by absolute
 * path through tsx inside the provider host, so nothing but two strings is serialized.
 */
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import type { LocalProviderKind } from './providers.js';

const IMPLEMENTATION = fileURLToPath(new URL('./providers.ts', import.meta.url));

function delegateTo(kind: LocalProviderKind): pulumi.dynamic.ResourceProvider {
  const implementation = IMPLEMENTATION;
  const load = async () => {
    // Runs in the provider host (CommonJS), where `require` exists; tsx compiles the TypeScript.
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- serialized: `require` is all the host has
    const tsx = require('tsx/cjs/api');
    return tsx.require(implementation, implementation).localProviders[kind];
  };
  return {
    create: async (inputs) => (await load()).create(inputs),
    read: async (id, props) => (await load()).read(id, props),
    diff: async (id, olds, news) => (await load()).diff(id, olds, news),
    update: async (id, olds, news) => (await load()).update(id, olds, news),
    delete: async (id, props) => (await load()).delete(id, props),
  };
}

type In<T> = { [K in keyof T]: pulumi.Input<T[K]> };

export class PostgresRole extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly password: pulumi.Output<string>;
  constructor(
    name: string,
    args: In<{ serverUrl: string; name: string; connectionLimit: number }>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      delegateTo('role'),
      name,
      { ...args, password: undefined },
      { ...opts, additionalSecretOutputs: ['password', 'serverUrl'] },
    );
  }
}

export class PostgresDatabase extends pulumi.dynamic.Resource {
  declare readonly name: pulumi.Output<string>;
  declare readonly owner: pulumi.Output<string>;
  constructor(
    name: string,
    args: In<{ serverUrl: string; name: string; tenantRole: string; owner: string; ownerPassword: string }>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(delegateTo('database'), name, args, {
      ...opts,
      additionalSecretOutputs: ['serverUrl', 'ownerPassword'],
    });
  }
}

export class ApplicationMigrations extends pulumi.dynamic.Resource {
  declare readonly applied: pulumi.Output<string[]>;
  constructor(
    name: string,
    args: In<{
      serverUrl: string;
      database: string;
      /** Who applies them: the silo's owner. */
      role: string;
      password: string;
      /** Who may then use the tables. */
      tenantRole: string;
      migrationsDir: string;
      checksum: string;
    }>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(
      delegateTo('migrations'),
      name,
      { ...args, applied: undefined },
      { ...opts, additionalSecretOutputs: ['serverUrl', 'password'] },
    );
  }
}

export class StorageFolder extends pulumi.dynamic.Resource {
  declare readonly path: pulumi.Output<string>;
  constructor(name: string, args: In<{ path: string }>, opts?: pulumi.CustomResourceOptions) {
    super(delegateTo('folder'), name, args, opts);
  }
}

export class DataEncryptionKey extends pulumi.dynamic.Resource {
  declare readonly keyId: pulumi.Output<string>;
  declare readonly key: pulumi.Output<string>;
  declare readonly fingerprint: pulumi.Output<string>;
  constructor(name: string, args: In<{ keyId: string }>, opts?: pulumi.CustomResourceOptions) {
    super(
      delegateTo('dataKey'),
      name,
      { ...args, key: undefined, fingerprint: undefined },
      { ...opts, additionalSecretOutputs: ['key'] },
    );
  }
}
