import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, PROJECT_ROOT } from '../../config/index.js';
import { effectiveRetention, tenantRetentionProblems } from '../../domain/index.js';

/** The ConfigError loadConfig throws for `env`; fails the test if it does not throw one. */
function configErrorOf(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('loadConfig accepted an invalid configuration');
}

describe('loadConfig from the environment', () => {
  it('starts with defaults from an empty environment', () => {
    const config = loadConfig({});
    expect(config.api).toEqual({
      host: '127.0.0.1',
      port: 8080,
      workflowTimeoutMs: 10_000,
      idempotencyTtlMs: 24 * 3_600_000,
    });
    expect(config.dataDir).toBe(join(PROJECT_ROOT, '.data'));
    expect(config.logLevel).toBe('info');
    expect(config.adminKey).toBeUndefined();
    expect(config.secret).toBeUndefined();
    expect(config.temporal).toMatchObject({ namespace: 'default', tls: false, port: 7233, uiPort: 8233 });
    expect(config.temporal.address).toBeUndefined();
    expect(config.taskQueues).toEqual({
      lifecycle: 'landlord-lifecycle',
      provisioning: 'landlord-provisioning',
      data: 'landlord-data',
    });
    expect(config.postgres).toEqual({
      regionUrls: {},
      embeddedBasePort: 54320,
      embeddedHome: '/var/lib/landlord',
    });
    expect(config.webhooks).toEqual({ urls: [] });
    expect(config.catalog.tiers.map((t) => t.id)).toEqual(['basic', 'standard', 'premium', 'enterprise']);
    expect(config.catalog.regions.map((r) => r.id)).toContain('local-a');
    expect(config.manifest.tables.length).toBeGreaterThan(0);
    expect(config.migrationsDir).toBe(join(PROJECT_ROOT, 'config', 'application', 'migrations'));
  });

  it('reads values, booleans, URL lists and region URLs', () => {
    const config = loadConfig({
      PORT: '9000',
      LANDLORD_TEMPORAL_TLS: 'yes',
      LANDLORD_TEMPORAL_ADDRESS: 'temporal.example:7233',
      LANDLORD_TASK_QUEUE_PREFIX: 'acme',
      LANDLORD_WEBHOOK_URLS: ' https://a.example/hook , https://b.example/hook ,',
      LANDLORD_WEBHOOK_SECRET: 'webhook-secret-0123',
      LANDLORD_REGION_LOCAL_B_URL: 'postgres://127.0.0.1:5432/postgres',
    });
    expect(config.api.port).toBe(9000);
    expect(config.temporal).toMatchObject({ tls: true, address: 'temporal.example:7233' });
    expect(config.taskQueues.lifecycle).toBe('acme-lifecycle');
    expect(config.webhooks).toEqual({
      urls: ['https://a.example/hook', 'https://b.example/hook'],
      secret: 'webhook-secret-0123',
    });
    expect(config.postgres.regionUrls).toEqual({ 'local-b': 'postgres://127.0.0.1:5432/postgres' });
  });

  it('turns TLS on for Temporal Cloud API keys', () => {
    expect(loadConfig({ LANDLORD_TEMPORAL_API_KEY: 'key' }).temporal).toMatchObject({
      tls: true,
      apiKey: 'key',
    });
  });

  it('reads the restore verification Schedule: on, daily, a tenth; and refuses a share outside 0..1', () => {
    expect(loadConfig({}).drVerification).toEqual({ schedule: true, every: '24h', share: 0.1 });
    expect(
      loadConfig({
        LANDLORD_DR_VERIFY_SCHEDULE: 'false',
        LANDLORD_DR_VERIFY_EVERY: '30m',
        LANDLORD_DR_VERIFY_SHARE: '0.25',
      }).drVerification,
    ).toEqual({ schedule: false, every: '30m', share: 0.25 });
    expect(loadConfig({ LANDLORD_DR_VERIFY_SHARE: '1' }).drVerification.share).toBe(1);
    for (const share of ['1.5', '-0.1', '', 'half', '0x1', '.5'])
      expect(configErrorOf({ LANDLORD_DR_VERIFY_SHARE: share }).message).toMatch(
        /LANDLORD_DR_VERIFY_SHARE: a share from 0 to 1/,
      );
    expect(configErrorOf({ LANDLORD_DR_VERIFY_EVERY: '1d' }).message).toMatch(/LANDLORD_DR_VERIFY_EVERY/);
  });

  it('names every bad key in one ConfigError', () => {
    const error = configErrorOf({
      PORT: 'abc',
      LANDLORD_TEMPORAL_TLS: 'maybe',
      LANDLORD_WEBHOOK_URLS: 'https://ok.example/hook,not-a-url',
      LANDLORD_REGION_NOWHERE_URL: 'postgres://x',
      LANDLORD_ADMIN_KEY: 'short',
      LANDLORD_LOG_LEVEL: 'loud',
    });
    const keys = [
      'PORT',
      'LANDLORD_TEMPORAL_TLS',
      'LANDLORD_WEBHOOK_URLS',
      'LANDLORD_REGION_NOWHERE_URL',
      'LANDLORD_ADMIN_KEY',
      'LANDLORD_LOG_LEVEL',
    ];
    for (const key of keys) expect(error.message).toMatch(new RegExp(`^  - ${key}(\\.\\d+)?: `, 'm'));
    expect(error.problems).toHaveLength(keys.length);
    expect(error.message).toContain('LANDLORD_ADMIN_KEY: must be at least 24 characters');
    expect(error.message).toContain('LANDLORD_REGION_NOWHERE_URL: no region "nowhere"');
  });

  it('needs a TLS key with a TLS certificate', () => {
    expect(configErrorOf({ LANDLORD_TEMPORAL_TLS_CERT: '/etc/cert.pem' }).problems).toEqual([
      'LANDLORD_TEMPORAL_TLS_KEY: required with LANDLORD_TEMPORAL_TLS_CERT',
    ]);
  });

  it('still checks the TLS certificate and key pair when another variable is bad', () => {
    const error = configErrorOf({ PORT: 'abc', LANDLORD_TEMPORAL_TLS_CERT: '/etc/cert.pem' });
    expect(error.problems).toEqual([
      expect.stringMatching(/^PORT: /),
      'LANDLORD_TEMPORAL_TLS_KEY: required with LANDLORD_TEMPORAL_TLS_CERT',
    ]);
  });

  it('refuses a region URL that is not a URL', () => {
    expect(configErrorOf({ LANDLORD_REGION_LOCAL_A_URL: 'localhost 5432' }).problems).toEqual([
      'LANDLORD_REGION_LOCAL_A_URL: must be a URL',
    ]);
  });
});

describe('loadConfig from a config folder', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  /** A copy of config/ in a temporary folder, changed by `edit`. */
  function configDir(edit: (dir: string) => void): string {
    const dir = mkdtempSync(join(tmpdir(), 'landlord-config-'));
    dirs.push(dir);
    cpSync(join(PROJECT_ROOT, 'config'), dir, { recursive: true });
    edit(dir);
    return dir;
  }
  const editJson = (file: string, change: (json: Record<string, unknown[]>) => void) => {
    const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown[]>;
    change(json);
    writeFileSync(file, JSON.stringify(json));
  };

  it('loads an unchanged copy, with migrations beside its manifest', () => {
    const dir = configDir(() => undefined);
    const config = loadConfig({ LANDLORD_CONFIG_DIR: dir });
    expect(config.catalog).toEqual(loadConfig({}).catalog);
    expect(config.migrationsDir).toBe(join(dir, 'application', 'migrations'));
  });

  it('names the file with broken JSON', () => {
    const dir = configDir((d) => writeFileSync(join(d, 'tiers.json'), '{ "tiers": [ { "id": "basic", } ] }'));
    const error = configErrorOf({ LANDLORD_CONFIG_DIR: dir });
    expect(error.problems[0]).toMatch(new RegExp(`^${join(dir, 'tiers.json')}: .*JSON`));
    for (const problem of error.problems)
      expect(problem).toMatch(new RegExp(`^${join(dir, 'tiers.json')}: `));
  });

  it('names the file and path of an invalid field', () => {
    const dir = configDir((d) =>
      editJson(join(d, 'regions.json'), (json) => {
        (json.regions[1] as Record<string, unknown>).provider = 'azure';
      }),
    );
    const error = configErrorOf({ LANDLORD_CONFIG_DIR: dir });
    expect(error.problems).toEqual([
      expect.stringMatching(new RegExp(`^${join(dir, 'regions.json')}\\.regions\\.1\\.provider: `)),
    ]);
  });

  it('names the file and path of a manifest problem', () => {
    const dir = configDir((d) =>
      editJson(join(d, 'application', 'manifest.json'), (json) => {
        (json.adminUser as unknown as Record<string, unknown>).table = 'no_such_table';
      }),
    );
    const error = configErrorOf({ LANDLORD_CONFIG_DIR: dir });
    expect(error.problems).toEqual([
      `${join(dir, 'application', 'manifest.json')}.adminUser.table: adminUser.table must be one of the manifest tables`,
    ]);
  });

  it('refuses storage prefixes that are not folders or lie within each other', () => {
    const manifest = (d: string) => join(d, 'application', 'manifest.json');
    const withStorage = (storage: unknown) =>
      configDir((d) =>
        editJson(manifest(d), (json) => {
          json.storage = storage as unknown[];
        }),
      );
    const nested = withStorage([
      { prefix: 'attachments/', dataClass: 'content' },
      { prefix: 'attachments/private/', dataClass: 'personal' },
    ]);
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: nested }).problems).toEqual([
      `${manifest(nested)}.storage: no storage prefix may lie within another (each object has one data class)`,
    ]);
    for (const prefix of ['attachments', '../up/', 'a//b/', '/root/', 'Upper/'])
      expect(
        configErrorOf({ LANDLORD_CONFIG_DIR: withStorage([{ prefix, dataClass: 'content' }]) }).problems.join(
          '\n',
        ),
        prefix,
      ).toMatch(/storage\.0\.prefix: lowercase path segments/);
  });

  it('names a data class only the storage has when it has no retention policy', () => {
    const dir = configDir((d) => {
      editJson(join(d, 'application', 'manifest.json'), (json) => {
        json.tables = json.tables!.filter((t) => (t as { dataClass: string }).dataClass !== 'telemetry');
      });
      editJson(join(d, 'retention.json'), (json) => {
        delete (json as unknown as { dataClasses: Record<string, unknown> }).dataClasses.telemetry;
      });
    });
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: dir }).problems).toEqual([
      `${join(dir, 'retention.json')}: dataClasses.telemetry: the manifest has data of class "telemetry" but no policy for it`,
    ]);
  });

  it('names the missing file', () => {
    const dir = configDir((d) => rmSync(join(d, 'regions.json')));
    const { problems } = configErrorOf({ LANDLORD_CONFIG_DIR: dir });
    expect(problems[0]).toBe(
      `${join(dir, 'regions.json')}: ENOENT: no such file or directory, open '${join(dir, 'regions.json')}'`,
    );
    for (const problem of problems) expect(problem).toMatch(new RegExp(`^${join(dir, 'regions.json')}: `));
  });

  const withUnknownTierRegion = () =>
    configDir((d) =>
      editJson(join(d, 'tiers.json'), (json) => {
        (json.tiers[0] as Record<string, unknown>).allowedRegions = ['local-a', 'atlantis'];
      }),
    );
  const withForeignDrPartner = () =>
    configDir((d) =>
      editJson(join(d, 'regions.json'), (json) => {
        (json.regions[0] as Record<string, unknown>).drPartner = 'aws-us-east-1';
      }),
    );

  it('stops start-up naming each retention policy problem: a class without policy, an unknown class or tier, bounds', () => {
    const dir = configDir((d) =>
      editJson(join(d, 'retention.json'), (json) => {
        const classes = (json as unknown as { dataClasses: Record<string, unknown> }).dataClasses;
        delete classes.telemetry;
        classes.biometric = { days: 10 };
        classes.content = { days: 30, minDays: 60, tiers: { platinum: { days: 5 } } };
      }),
    );
    const file = join(dir, 'retention.json');
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: dir }).problems.sort()).toEqual(
      [
        `${file}: dataClasses.telemetry: the manifest has data of class "telemetry" but no policy for it`,
        `${file}: dataClasses.biometric: no table or storage prefix of the manifest has data class "biometric"`,
        `${file}: dataClasses.content.tiers.platinum: unknown tier "platinum"`,
        `${file}: dataClasses.content: days is below minDays`,
      ].sort(),
    );
    const bad = configDir((d) =>
      editJson(join(d, 'retention.json'), (json) => {
        (json as unknown as { dataClasses: Record<string, unknown> }).dataClasses.content = { days: 1.5 };
      }),
    );
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: bad }).problems.join('\n')).toMatch(/dataClasses\.content/);
    for (const [schedule, reason] of [
      [{ cron: '0 25 * * *' }, /schedule.*not a cron expression: Constraint error/],
      [{ cron: 'at two' }, /schedule/],
      [{ every: '0m' }, /schedule/],
    ] as const) {
      const dir = configDir((d) =>
        editJson(join(d, 'retention.json'), (json) => {
          (json as unknown as { schedule: unknown }).schedule = schedule;
        }),
      );
      expect(configErrorOf({ LANDLORD_CONFIG_DIR: dir }).problems.join('\n')).toMatch(reason);
    }
    const misspelt = configDir((d) =>
      editJson(join(d, 'retention.json'), (json) => {
        (json as unknown as { dataClasses: Record<string, unknown> }).dataClasses.telemetry = {
          days: 90,
          tier: { basic: { days: 30 } },
        };
      }),
    );
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: misspelt }).problems.join('\n')).toMatch(
      /dataClasses\.telemetry/,
    );
  });

  it('takes the shipped retention policy: defaults, tier overrides and forever', () => {
    const { retention } = loadConfig({});
    expect(retention.schedule).toEqual({ cron: '0 2 * * *' });
    expect(effectiveRetention(retention, 'basic')).toEqual(
      expect.arrayContaining([
        { dataClass: 'telemetry', days: 30, source: 'tier', tenantBounds: { minDays: 7, maxDays: 30 } },
        { dataClass: 'business', source: 'default', tenantBounds: { minDays: 365, maxDays: 3650 } },
        {
          dataClass: 'personal',
          days: 1095,
          source: 'default',
          tenantBounds: { minDays: 30, maxDays: 1095 },
        },
      ]),
    );
    expect(effectiveRetention(retention, 'basic', { telemetry: { days: 14 } })).toContainEqual(
      expect.objectContaining({ dataClass: 'telemetry', days: 14, source: 'tenant' }),
    );
    // A choice made under another tier, outside what this one allows, is not applied, and says so.
    expect(effectiveRetention(retention, 'basic', { telemetry: { days: 60 } })).toContainEqual(
      expect.objectContaining({
        dataClass: 'telemetry',
        days: 30,
        source: 'tier',
        tenantChoiceIgnored: { days: 60 },
      }),
    );
    expect(
      tenantRetentionProblems(retention, 'basic', { telemetry: { days: 31 }, dna: { days: 5 } }),
    ).toEqual([
      'dataClasses.telemetry.days: tier "basic" allows 7 to 30 days, not 31',
      'dataClasses.dna: unknown data class; known: personal, business, content, telemetry',
    ]);
  });

  it('names the path of a tier restricted to an unknown region', () => {
    const error = configErrorOf({ LANDLORD_CONFIG_DIR: withUnknownTierRegion() });
    expect(error.problems).toEqual([
      expect.stringMatching(/\btiers\.0\.allowedRegions: unknown region atlantis$/),
    ]);
  });

  it('names the path of a DR partner with another residency', () => {
    const error = configErrorOf({ LANDLORD_CONFIG_DIR: withForeignDrPartner() });
    expect(error.problems).toEqual([
      expect.stringMatching(/\bregions\.0\.drPartner: DR partner aws-us-east-1 keeps data in US, not EU$/),
    ]);
  });

  it('names the file of a tier restricted to an unknown region', () => {
    const dir = withUnknownTierRegion();
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: dir }).problems).toEqual([
      `${join(dir, 'tiers.json')}.tiers.0.allowedRegions: unknown region atlantis`,
    ]);
  });

  it('names the file of a DR partner with another residency', () => {
    const dir = withForeignDrPartner();
    expect(configErrorOf({ LANDLORD_CONFIG_DIR: dir }).problems).toEqual([
      `${join(dir, 'regions.json')}.regions.0.drPartner: DR partner aws-us-east-1 keeps data in US, not EU`,
    ]);
  });

  it('reports a bad config folder together with a bad environment value', () => {
    const dir = configDir((d) => writeFileSync(join(d, 'regions.json'), 'not json'));
    const error = configErrorOf({ LANDLORD_CONFIG_DIR: dir, PORT: '70000' });
    expect(error.message).toMatch(/^ {2}- PORT: /m);
    expect(error.message).toContain(join(dir, 'regions.json'));
  });
});
