import { transitionRefusal } from '../../workflows/operation-kinds.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import {
  checkPlacement,
  CreateTenantRequest,
  DataPlaneManifest,
  findUnsafeText,
  holdActive,
  holdCovers,
  LandlordError,
  PolicyCatalog,
  slugFromName,
  stepNames,
  StoredText,
  tableErasure,
  TENANT_ID_PATTERN,
  tierChangeRefusal,
  unsafeTextReason,
} from '../../domain/index.js';
import type { LegalHold, Region, TierPolicy } from '../../domain/index.js';

const shipped = loadConfig({}).catalog;

/** The verdict of checkPlacement as data: the placement, or the PolicyViolation's message and field. */
function placementOf(
  spec: { tier: string; region: string; residency?: string },
  catalog: PolicyCatalog = shipped,
) {
  try {
    const placement = checkPlacement(catalog, spec);
    return { tier: placement.tier.id, region: placement.region.id, drRegion: placement.drRegion?.id };
  } catch (err) {
    if (!(err instanceof LandlordError)) throw err;
    return { kind: err.kind, message: err.message, field: err.detail?.field };
  }
}

const tier = (id: string, overrides: Partial<TierPolicy> = {}): TierPolicy => ({
  id,
  description: id,
  deploymentModel: 'pool',
  dr: { enabled: false, rpo: '1h', rto: '4h' },
  backup: { cadence: '24h', retentionDays: 7 },
  apiQuota: { requestsPerMinute: 100 },
  offboarding: { graceDays: 30 },
  database: { connectionLimit: 10 },
  ...overrides,
});
const region = (id: string, overrides: Partial<Region> = {}): Region => ({
  id,
  provider: 'local',
  cloudRegion: 'local',
  residency: 'EU',
  ...overrides,
});
const catalogIssues = (catalog: unknown) => {
  const parsed = PolicyCatalog.safeParse(catalog);
  return parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
};

describe('slugFromName', () => {
  it.each([
    ['Acme Corp', 'acme-corp'],
    ['Café Müller & Söhne', 'cafe-muller-sohne'],
    ['Ångström Labs', 'angstrom-labs'],
    ['  --Hello,   World!!  ', 'hello-world'],
    ['3M Company', 'm-company'],
    ['Ｆｕｌｌｗｉｄｔｈ', 'fullwidth'],
  ])('%j becomes %j', (name, slug) => {
    expect(slugFromName(name)).toBe(slug);
  });

  it.each(['', '   ', '!!!', '€ & £', '1234', '日本語', '---'])(
    '%j has nothing usable and gives undefined',
    (name) => {
      expect(slugFromName(name)).toBeUndefined();
    },
  );

  it('pads names shorter than three characters', () => {
    expect(slugFromName('A')).toBe('a-co');
    expect(slugFromName('AB')).toBe('ab-co');
    expect(slugFromName('x!')).toBe('x-co');
  });

  it('cuts long names to 40 characters without a trailing hyphen', () => {
    const slug = slugFromName('The Extraordinarily Long-Named International Holding Company of Everything');
    expect(slug).toBe('the-extraordinarily-long-named-internati');
    expect(slug).toHaveLength(40);
    // A cut that lands right after a word leaves no dangling hyphen.
    expect(slugFromName(`${'a'.repeat(39)} bcd`)).toBe('a'.repeat(39));
  });

  it('always yields an id that matches TENANT_ID_PATTERN, or undefined', () => {
    // A fixed-seed generator: the same names on every run, so a failure can be reproduced.
    let seed = 42;
    const next = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31);
    const alphabet = 'aZ09 -_.!&éÜßøñ日€\u0301\t';
    for (let i = 0; i < 2000; i++) {
      const name = Array.from({ length: next() % 60 }, () => alphabet[next() % alphabet.length]).join('');
      const slug = slugFromName(name);
      if (slug !== undefined) expect(slug, `slug of ${JSON.stringify(name)}`).toMatch(TENANT_ID_PATTERN);
    }
  });
});

describe('checkPlacement with the shipped catalog', () => {
  it('places a pool tier in its region without DR', () => {
    expect(placementOf({ tier: 'basic', region: 'local-a' })).toEqual({
      tier: 'basic',
      region: 'local-a',
      drRegion: undefined,
    });
  });

  it('gives a DR tier its partner region', () => {
    expect(placementOf({ tier: 'enterprise', region: 'local-a' })).toEqual({
      tier: 'enterprise',
      region: 'local-a',
      drRegion: 'local-b',
    });
    // The shipped cloud regions name no network: a silo there is refused until one is configured.
    expect(placementOf({ tier: 'enterprise', region: 'aws-eu-west-1', residency: 'EU' })).toMatchObject({
      kind: 'PolicyViolation',
      message: expect.stringContaining('region "aws-eu-west-1" has no network in regions.json'),
    });
  });

  it('refuses an unknown tier and lists the known ones', () => {
    expect(placementOf({ tier: 'platinum', region: 'local-a' })).toEqual({
      kind: 'PolicyViolation',
      message: 'unknown tier "platinum"; known tiers: basic, standard, premium, enterprise',
      field: 'tier',
    });
  });

  it('refuses an unknown region and lists the known ones', () => {
    const verdict = placementOf({ tier: 'basic', region: 'mars-1' });
    expect(verdict).toMatchObject({ kind: 'PolicyViolation', field: 'region' });
    expect(verdict.message).toBe(
      'unknown region "mars-1"; known regions: local-a, local-b, aws-us-east-1, aws-eu-west-1, gcp-europe-west1, aws-eu-central-1, gcp-europe-west4',
    );
  });

  it('refuses a residency the region does not keep data in', () => {
    expect(placementOf({ tier: 'basic', region: 'aws-us-east-1', residency: 'EU' })).toEqual({
      kind: 'PolicyViolation',
      message: 'region "aws-us-east-1" keeps data in US, but residency EU was requested',
      field: 'residency',
    });
  });

  it('refuses a DR tier in a region without a DR partner', () => {
    expect(placementOf({ tier: 'enterprise', region: 'aws-us-east-1' })).toEqual({
      kind: 'PolicyViolation',
      message: 'tier "enterprise" needs disaster recovery, but region "aws-us-east-1" has no DR partner',
      field: 'region',
    });
  });
});

describe('checkPlacement with tier restrictions', () => {
  const catalog = PolicyCatalog.parse({
    tiers: [
      tier('eu-only', { allowedRegions: ['eu-1'] }),
      tier('local-only', { allowedProviders: ['local'] }),
    ],
    regions: [region('eu-1'), region('us-1', { provider: 'aws', residency: 'US' })],
  });

  it('refuses a region the tier is not offered in, naming the allowed ones', () => {
    expect(placementOf({ tier: 'eu-only', region: 'us-1' }, catalog)).toEqual({
      kind: 'PolicyViolation',
      message: 'tier "eu-only" is not offered in region "us-1"; allowed: eu-1',
      field: 'region',
    });
    expect(placementOf({ tier: 'eu-only', region: 'eu-1' }, catalog)).toMatchObject({ region: 'eu-1' });
  });

  it('refuses a provider the tier is not offered on', () => {
    expect(placementOf({ tier: 'local-only', region: 'us-1' }, catalog)).toEqual({
      kind: 'PolicyViolation',
      message: 'tier "local-only" is not offered on provider "aws"',
      field: 'region',
    });
    expect(placementOf({ tier: 'local-only', region: 'eu-1' }, catalog)).toMatchObject({ region: 'eu-1' });
  });
});

describe('PolicyCatalog', () => {
  it('accepts the shipped catalog', () => {
    expect(catalogIssues(shipped)).toEqual([]);
  });

  it('refuses duplicate tier ids', () => {
    expect(catalogIssues({ tiers: [tier('basic'), tier('basic')], regions: [region('eu-1')] })).toEqual([
      { path: 'tiers', message: 'duplicate tier basic' },
    ]);
  });

  it('refuses duplicate region ids', () => {
    expect(
      catalogIssues({
        tiers: [tier('basic')],
        regions: [region('eu-1'), region('eu-1', { cloudRegion: 'other' })],
      }),
    ).toEqual([{ path: 'regions', message: 'duplicate region eu-1' }]);
  });

  it('refuses a DR partner that is unknown or the region itself', () => {
    expect(
      catalogIssues({ tiers: [tier('basic')], regions: [region('eu-1', { drPartner: 'eu-9' })] }),
    ).toEqual([{ path: 'regions.0.drPartner', message: 'DR partner eu-9 is not another known region' }]);
    expect(
      catalogIssues({
        tiers: [tier('basic')],
        regions: [region('eu-1'), region('eu-2', { drPartner: 'eu-2' })],
      }),
    ).toEqual([{ path: 'regions.1.drPartner', message: 'DR partner eu-2 is not another known region' }]);
  });

  it('refuses a DR partner that keeps data under another residency', () => {
    expect(
      catalogIssues({
        tiers: [tier('basic')],
        regions: [region('eu-1', { drPartner: 'us-1' }), region('us-1', { residency: 'US' })],
      }),
    ).toEqual([{ path: 'regions.0.drPartner', message: 'DR partner us-1 keeps data in US, not EU' }]);
  });

  it('refuses a tier restricted to an unknown region', () => {
    expect(
      catalogIssues({
        tiers: [tier('basic', { allowedRegions: ['eu-1', 'nowhere'] })],
        regions: [region('eu-1')],
      }),
    ).toEqual([{ path: 'tiers.0.allowedRegions', message: 'unknown region nowhere' }]);
  });
});

describe('transitionRefusal', () => {
  it.each([
    ['onboard', 'absent', undefined],
    ['suspend', 'active', undefined],
    ['resume', 'suspended', undefined],
    ['onboard', 'active', 'the tenant already exists'],
    ['onboard', 'failed', 'the tenant already exists'],
    ['suspend', 'absent', 'the tenant does not exist'],
    ['resume', 'absent', 'the tenant does not exist'],
    ['suspend', 'suspended', 'the tenant is already suspended'],
    ['resume', 'active', 'the tenant is already active'],
    ['suspend', 'failed', 'a failed tenant cannot be suspended; it must be active'],
    ['suspend', 'provisioning', 'a provisioning tenant cannot be suspended; it must be active'],
    ['resume', 'failed', 'a failed tenant cannot be resumed; it must be suspended'],
  ] as const)('%s from %s: %j', (kind, status, refusal) => {
    expect(transitionRefusal(kind, status)).toBe(refusal);
  });
});

describe('tier changes', () => {
  it('are refused unless the tenant is active', () => {
    expect(transitionRefusal('change-tier', 'active')).toBeUndefined();
    expect(transitionRefusal('change-tier', 'suspended')).toBe(
      'a suspended tenant cannot be moved to another tier; it must be active',
    );
  });

  it.each([
    [{ tier: 'basic', deploymentModel: 'pool' }, 'basic', 'pool', 'InvalidTransition'],
    [{ tier: 'basic', deploymentModel: 'pool' }, 'standard', 'pool', undefined],
    [{ tier: 'basic', deploymentModel: 'pool' }, 'premium', 'silo', undefined],
    [{ tier: 'premium', deploymentModel: 'silo' }, 'basic', 'pool', 'PolicyViolation'],
    [{ tier: 'premium', deploymentModel: 'silo' }, 'enterprise', 'silo', 'PolicyViolation'],
  ] as const)('from %j to %s (%s): %s', (tenant, tier, model, type) => {
    expect(tierChangeRefusal(tenant, tier, model)?.type).toBe(type);
  });

  it('move data only into a silo, standby first for DR tiers', () => {
    expect(stepNames('change-tier', { deploymentModel: 'pool', dr: false })).toEqual([
      'validate',
      'switch-routing',
    ]);
    const toSilo = stepNames('change-tier', { deploymentModel: 'silo', dr: true });
    expect(toSilo.slice(0, 4)).toEqual([
      'validate',
      'provision-standby',
      'provision-primary',
      'freeze-writes',
    ]);
    expect(stepNames('change-tier', { deploymentModel: 'silo', dr: false })).not.toContain(
      'provision-standby',
    );
    expect(toSilo.indexOf('verify-data')).toBeLessThan(toSilo.indexOf('switch-routing'));
    expect(toSilo.indexOf('switch-routing')).toBeLessThan(toSilo.indexOf('remove-pool-data'));
  });
});

describe('CreateTenantRequest', () => {
  const valid = { name: '  Acme  ', tier: 'basic', region: 'local-a', adminEmail: 'owner@acme.test' };
  const problems = (body: unknown) => {
    const parsed = CreateTenantRequest.safeParse(body);
    return parsed.success ? [] : parsed.error.issues.map((i) => `${i.code}:${i.path.join('.')}`);
  };

  it('accepts a minimal request and trims the name', () => {
    expect(CreateTenantRequest.parse(valid)).toEqual({ ...valid, name: 'Acme' });
  });

  it('accepts every optional field', () => {
    const full = {
      ...valid,
      id: 'acme-eu',
      residency: 'EU',
      features: { betaReports: true },
      labels: { 'team.io/owner': 'sales-emea' },
    };
    expect(problems(full)).toEqual([]);
  });

  it('refuses unknown fields rather than dropping them', () => {
    expect(problems({ ...valid, plan: 'gold' })).toEqual(['unrecognized_keys:']);
  });

  it.each([
    ['a blank name', { name: '   ' }, 'too_small:name'],
    ['a bad email', { adminEmail: 'not-an-email' }, 'invalid_format:adminEmail'],
    ['an id that is not a slug', { id: 'Acme_Corp' }, 'invalid_format:id'],
    ['a too short id', { id: 'ab' }, 'invalid_format:id'],
    ['a lowercase residency', { residency: 'eu' }, 'invalid_format:residency'],
    ['a feature flag that is not a boolean', { features: { beta: 'yes' } }, 'invalid_type:features.beta'],
    ['an uppercase label key', { labels: { Owner: 'x' } }, 'invalid_key:labels.Owner'],
  ])('refuses %s', (_, patch, problem) => {
    expect(problems({ ...valid, ...patch })).toEqual([problem]);
  });

  it('refuses a missing required field', () => {
    expect(problems({ ...valid, tier: undefined })).toEqual(['invalid_type:tier']);
  });
});

describe('text the registry can store', () => {
  it('finds NUL, lone surrogates and __proto__ keys anywhere, with their paths', () => {
    expect(
      findUnsafeText({
        name: 'Nul\u0000Corp',
        fine: 'emoji 😀 and ünïcode',
        labels: JSON.parse('{"__proto__": {"x": "y"}, "ok": "\\udc00"}'),
        list: ['a', '\ud800b'],
      }),
    ).toEqual([
      { path: ['name'], message: expect.stringContaining('NUL') },
      { path: ['labels', '__proto__'], message: expect.stringContaining('__proto__') },
      { path: ['labels', 'ok'], message: expect.stringContaining('surrogate') },
      { path: ['list', 1], message: expect.stringContaining('surrogate') },
    ]);
    expect(findUnsafeText({ a: ['b', { c: 'd' }], n: 1, z: null })).toEqual([]);
  });

  it('states the same rule as a schema pattern', () => {
    expect(StoredText.safeParse('emoji 😀').success).toBe(true);
    for (const bad of ['a\u0000', '\ud800', 'x\udc00y'])
      expect(StoredText.safeParse(bad).success).toBe(false);
    for (const bad of ['a\u0000', '\ud800', 'x\udc00y']) expect(unsafeTextReason(bad)).toBeDefined();
  });
});

describe('text checks on hostile shapes', () => {
  it('reports a value nested too deep instead of exhausting the stack', () => {
    const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
    expect(findUnsafeText(deep)).toEqual([
      { path: Array(32).fill(0), message: 'nests deeper than 32 levels' },
    ]);
  });

  it('reports at most 20 findings', () => {
    expect(findUnsafeText(Array.from({ length: 1000 }, () => '\u0000'))).toHaveLength(20);
  });
});

describe('legal holds', () => {
  const hold = (change: Partial<LegalHold> = {}): LegalHold => ({
    id: 'hold_0a1b2c3d4e5f6071',
    tenantId: 'acme',
    reason: 'case',
    createdAt: '2026-01-01T00:00:00.000Z',
    createdBy: 'key_legal',
    ...change,
  });
  const at = '2026-06-01T00:00:00.000Z';

  it('hold the whole tenant without a scope, and only what they name with one', () => {
    expect(holdCovers(hold(), { dataClass: 'telemetry' }, at)).toBe(true);
    expect(holdCovers(hold(), {}, at)).toBe(true);
    const narrow = hold({ dataClasses: ['telemetry'], subjects: ['user-7'] });
    expect(holdCovers(narrow, { dataClass: 'telemetry' }, at)).toBe(true);
    expect(holdCovers(narrow, { dataClass: 'content', subject: 'user-7' }, at)).toBe(true);
    expect(holdCovers(narrow, { dataClass: 'content', subject: 'user-8' }, at)).toBe(false);
    expect(holdCovers(narrow, { dataClass: 'content' }, at)).toBe(false);
  });

  it('end when released or when their until passes', () => {
    expect(holdCovers(hold({ releasedAt: '2026-05-01T00:00:00.000Z' }), {}, at)).toBe(false);
    expect(holdCovers(hold({ until: '2026-05-31T23:59:59.999Z' }), {}, at)).toBe(false);
    expect(holdCovers(hold({ until: '2026-06-02T00:00:00.000Z' }), {}, at)).toBe(true);
    expect(holdActive(hold({ until: at }), at)).toBe(false);
  });
});

describe('the data-plane manifest', () => {
  const shippedManifest = loadConfig({}).manifest;
  /** The shipped manifest as written, with `change` made to a copy of it. */
  const edited = (
    change: (m: { tables: Record<string, unknown>[]; storage: Record<string, unknown>[] }) => void,
  ) => {
    const m = structuredClone(shippedManifest) as unknown as Parameters<typeof change>[0];
    change(m);
    return m;
  };
  const issues = (manifest: unknown) => {
    const parsed = DataPlaneManifest.safeParse(manifest);
    return parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  };
  const table = (m: { tables: Record<string, unknown>[] }, name: string) =>
    m.tables.find((t) => t.name === name)!;

  it('ships documents anonymized on erasure, other subject tables deleted, and subject folders under exports/', () => {
    const byName = (name: string) => shippedManifest.tables.find((t) => t.name === name)!;
    expect(tableErasure(byName('documents'))).toEqual({ mode: 'anonymize', columns: ['author_id'] });
    expect(tableErasure(byName('app_users'))).toEqual({ mode: 'delete' });
    expect(tableErasure(byName('activity_log'))).toEqual({ mode: 'delete' });
    expect(shippedManifest.storage.filter((a) => a.subjectFolders).map((a) => a.prefix)).toEqual([
      'exports/',
    ]);
    expect(issues(shippedManifest)).toEqual([]);
  });

  it('takes erasure only on a table with a subject key', () => {
    const m = edited((m) => {
      table(m, 'projects').erasure = { mode: 'delete' };
    });
    expect(issues(m)).toEqual([
      {
        path: 'tables.1.erasure',
        message: 'erasure applies to a table with a subjectKey; projects has none',
      },
    ]);
  });

  it('refuses anonymize columns that are empty, miss the subject key, hold the tenant key or repeat', () => {
    const anonymizing = (columns: string[]) =>
      edited((m) => {
        table(m, 'documents').erasure = { mode: 'anonymize', columns };
      });
    expect(issues(anonymizing([]))).toEqual([
      { path: 'tables.2.erasure.columns', message: 'anonymize needs at least one column to clear' },
    ]);
    expect(issues(anonymizing(['title']))).toEqual([
      {
        path: 'tables.2.erasure.columns',
        message: 'anonymize columns of documents must include its subjectKey author_id',
      },
    ]);
    expect(issues(anonymizing(['author_id', 'tenant_id']))).toEqual([
      {
        path: 'tables.2.erasure.columns',
        message: 'anonymize columns of documents must not include its tenantKey tenant_id',
      },
    ]);
    expect(issues(anonymizing(['author_id', 'author_id']))).toEqual([
      { path: 'tables.2.erasure.columns', message: 'anonymize columns of documents must not repeat' },
    ]);
    expect(issues(anonymizing(['author_id', 'title']))).toEqual([]);
  });

  it('refuses an unknown erasure mode, columns on delete, and a subjectFolders that is not a boolean', () => {
    const paths = (m: unknown) => issues(m).map((i) => i.path);
    expect(
      paths(
        edited((m) => {
          table(m, 'documents').erasure = { mode: 'shred' };
        }),
      ),
    ).toEqual(['tables.2.erasure.mode']);
    expect(
      paths(
        edited((m) => {
          table(m, 'documents').erasure = { mode: 'delete', columns: ['author_id'] };
        }),
      ),
    ).toEqual(['tables.2.erasure']);
    expect(
      paths(
        edited((m) => {
          m.storage[1]!.subjectFolders = 'yes';
        }),
      ),
    ).toEqual(['storage.1.subjectFolders']);
  });
});
