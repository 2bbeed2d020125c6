import { describe, expect, it } from 'vitest';
import { OPERATION_KINDS as KINDS, stepNames } from '../../domain/index.js';
import type { Actor, OperationKind, TenantRecord } from '../../domain/index.js';
import { routeTable } from '../../api/routes/route-table.js';
import {
  OPERATION_TABLE,
  retryRefusal,
  statusAfter,
  transitionRefusal,
} from '../../workflows/operation-kinds.js';
import type { TenantFacts } from '../../workflows/operation-kinds.js';

const actor: Actor = { principal: 'key_1', role: 'operator', requestId: 'r1' };
const facts = (change: Partial<TenantFacts> = {}): TenantFacts => ({
  tenantId: 'acme-corp',
  status: 'active',
  queued: [],
  ...change,
});

describe('the operation table', () => {
  it('has an entry for every kind of operation, and nothing else', () => {
    expect(Object.keys(OPERATION_TABLE).sort()).toEqual([...KINDS].sort());
  });

  it('gives each kind the permission of the route that asks for it', () => {
    const routeOf: Record<OperationKind, [string, string]> = {
      onboard: ['post', '/v1/tenants'],
      suspend: ['post', '/v1/tenants/{id}/suspend'],
      resume: ['post', '/v1/tenants/{id}/resume'],
      'drift-check': ['post', '/v1/tenants/{id}/drift-check'],
      'change-tier': ['patch', '/v1/tenants/{id}'],
      'set-retention': ['put', '/v1/tenants/{id}/retention'],
      'apply-retention': ['post', '/v1/retention/runs'],
      'sync-storage-rules': ['post', '/v1/tenants/{id}/storage-rules'],
      'erase-subject': ['post', '/v1/tenants/{id}/erasures'],
      offboard: ['post', '/v1/tenants/{id}/offboard'],
      backup: ['post', '/v1/tenants/{id}/backups'],
      restore: ['post', '/v1/tenants/{id}/restore'],
      failover: ['post', '/v1/tenants/{id}/failover'],
      failback: ['post', '/v1/tenants/{id}/failback'],
      'region-failover': ['post', '/v1/regions/{id}/failover'],
      drill: ['post', '/v1/tenants/{id}/drills'],
      'region-drill': ['post', '/v1/regions/{id}/drills'],
    };
    for (const kind of KINDS) {
      const [method, path] = routeOf[kind];
      const route = routeTable.find((r) => r.method === method && r.path === path);
      expect(route?.permission, kind).toBe(OPERATION_TABLE[kind].permission);
    }
  });

  it('shows the steps the domain names, for pool and silo plans', () => {
    const silo = { deploymentModel: 'silo' as const, dr: true };
    const spec = { id: 'acme-corp' } as never;
    expect(
      OPERATION_TABLE.onboard.steps({ kind: 'onboard', actor, spec, plan: silo }).map((s) => s.name),
    ).toEqual(stepNames('onboard', silo));
    expect(
      OPERATION_TABLE['change-tier']
        .steps({ kind: 'change-tier', actor, tier: 'premium', plan: silo })
        .map((s) => s.name),
    ).toEqual(stepNames('change-tier', silo));
    for (const kind of ['suspend', 'resume', 'drift-check'] as const)
      expect(OPERATION_TABLE[kind].steps({ kind, actor } as never).every((s) => s.status === 'pending')).toBe(
        true,
      );
  });

  it('lets one backup wait its turn behind the one running, and refuses a third', () => {
    const tenant = { deploymentModel: 'pool', tier: 'basic' } as never;
    const backup = { kind: 'backup' as const, actor };
    const refusal = (queued: OperationKind[]) =>
      OPERATION_TABLE.backup.refusal?.(
        backup,
        facts({ tenant, queued: queued.map((kind) => ({ kind }) as never) }),
      );
    expect(refusal([])).toBeUndefined();
    // The running one may have just recorded its end: a backup asked now is not refused for it.
    expect(refusal(['backup'])).toBeUndefined();
    expect(refusal(['change-tier', 'suspend'])).toBeUndefined();
    expect(refusal(['backup', 'backup'])).toEqual({
      type: 'InvalidTransition',
      message: 'another backup of this tenant is already waiting its turn',
    });
    expect(refusal(['change-tier', 'backup'])?.type).toBe('InvalidTransition');
    expect(OPERATION_TABLE.backup.refusal?.(backup, facts({ status: 'absent' }))?.message).toBe(
      'the tenant is still being onboarded',
    );
    expect(transitionRefusal('backup', 'offboarding')).toMatch(/cannot be backed up/);
  });

  it('judges a request against the status the queue leads to', () => {
    expect(statusAfter('absent', ['onboard', 'suspend'])).toBe('suspended');
    expect(statusAfter('active', ['drift-check', 'change-tier'])).toBe('active');
    expect(transitionRefusal('resume', statusAfter('active', ['suspend']))).toBeUndefined();
    expect(transitionRefusal('suspend', statusAfter('active', ['suspend']))).toBe(
      'the tenant is already suspended',
    );
  });

  it('retries an onboarding from failed, and nothing else from where its own run left it', () => {
    expect(retryRefusal('onboard', 'failed')).toBeUndefined();
    expect(transitionRefusal('onboard', 'failed')).toBe('the tenant already exists');
    expect(retryRefusal('suspend', 'suspended')).toBe('the tenant is already suspended');
  });

  it('refuses what a kind needs beyond statuses, with the kind of error to report', () => {
    const pool = { deploymentModel: 'pool', tier: 'basic' } as never;
    expect(
      OPERATION_TABLE['drift-check'].refusal?.({ kind: 'drift-check', actor }, facts({ tenant: pool })),
    ).toMatchObject({ type: 'InvalidTransition' });
    const silo = { deploymentModel: 'silo', tier: 'enterprise' } as never;
    const sync = { kind: 'sync-storage-rules' as const, actor };
    expect(OPERATION_TABLE['sync-storage-rules'].refusal?.(sync, facts({ tenant: pool }))).toMatchObject({
      type: 'InvalidTransition',
      message: expect.stringMatching(/pool/),
    });
    expect(OPERATION_TABLE['sync-storage-rules'].refusal?.(sync, facts({ tenant: silo }))).toBeUndefined();
    // A pool tenant whose move into a silo is queued takes it: it runs after the move.
    const moving = {
      tenant: pool,
      queued: [{ kind: 'change-tier', input: { plan: { deploymentModel: 'silo', dr: true } } } as never],
    };
    expect(OPERATION_TABLE['sync-storage-rules'].refusal?.(sync, facts(moving))).toBeUndefined();
    expect(transitionRefusal('sync-storage-rules', 'suspended')).toBeUndefined();
    // Retention waits for a queued or running onboarding (whose end a just-replayed worker may not
    // have taken in when it validates); with none, there is nothing to keep or delete.
    const retention = { kind: 'apply-retention' as const, actor, retention: { runId: 'r' } as never };
    const onboardingQueued = { status: 'absent' as const, queued: [{ kind: 'onboard' } as never] };
    expect(OPERATION_TABLE['apply-retention'].refusal?.(retention, facts(onboardingQueued))).toBeUndefined();
    expect(
      OPERATION_TABLE['apply-retention'].refusal?.(retention, facts({ status: 'absent' })),
    ).toMatchObject({
      type: 'InvalidTransition',
    });
    const move = {
      kind: 'change-tier' as const,
      actor,
      tier: 'basic',
      plan: { deploymentModel: 'pool' as const, dr: false },
    };
    expect(OPERATION_TABLE['change-tier'].refusal?.(move, facts())).toEqual({
      type: 'InvalidTransition',
      message: 'the tenant is still being onboarded',
    });
    expect(OPERATION_TABLE['change-tier'].refusal?.(move, facts({ tenant: pool }))?.message).toBe(
      'the tenant is already on tier "basic"',
    );
    // Asked for while the onboarding is queued or running (the moment it shows succeeded, say):
    // judged against what the onboarding was asked for.
    const onboarding = {
      status: 'absent' as const,
      spec: { id: 'acme-corp', tier: 'basic' } as never,
      plan: { deploymentModel: 'pool' as const, dr: false },
    };
    expect(
      OPERATION_TABLE['change-tier'].refusal?.({ ...move, tier: 'pro' }, facts(onboarding)),
    ).toBeUndefined();
    expect(OPERATION_TABLE['change-tier'].refusal?.(move, facts(onboarding))?.message).toBe(
      'the tenant is already on tier "basic"',
    );
    const siloOnboarding = { ...onboarding, plan: { deploymentModel: 'silo' as const, dr: false } };
    expect(
      OPERATION_TABLE['change-tier'].refusal?.({ ...move, tier: 'pro' }, facts(siloOnboarding)),
    ).toMatchObject({ type: 'PolicyViolation' });
    expect(
      OPERATION_TABLE['drift-check'].refusal?.({ kind: 'drift-check', actor }, facts(siloOnboarding)),
    ).toBeUndefined();
    expect(OPERATION_TABLE['change-tier'].malformed?.({ ...move, tier: '' }, facts())).toBe(
      'a tier change needs the tier and its plan',
    );
    expect(
      OPERATION_TABLE.onboard.malformed?.(
        { kind: 'onboard', actor, spec: { id: 'other-corp' } as never },
        facts(),
      ),
    ).toBe('onboarding needs the spec of this tenant');
  });
});

describe('a tenant a restore moved into its partner region', () => {
  const tenant = (change: Partial<TenantRecord> = {}): TenantRecord => ({
    id: 'acme-corp',
    name: 'Acme',
    tier: 'basic',
    region: 'local-a',
    deploymentModel: 'pool',
    status: 'active',
    adminEmail: 'a@acme.example',
    features: {},
    labels: {},
    resources: {},
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
    version: 1,
    ...change,
  });
  const moved = tenant({ activeRegion: 'local-b', recoveryRegion: 'local-b' });
  const home = tenant({ recoveryRegion: 'local-b' });
  const restore = (region: string) =>
    OPERATION_TABLE.restore.refusal!(
      { kind: 'restore', actor, backupId: 'backup_0a1b2c3d4e5f6071', region },
      facts({ tenant: moved }),
    );
  const tierChange = (t: TenantRecord, tier: string, deploymentModel: 'pool' | 'silo', dr = false) =>
    OPERATION_TABLE['change-tier'].refusal!(
      { kind: 'change-tier', actor, tier, plan: { deploymentModel, dr } },
      facts({ tenant: t }),
    );

  it('comes home by a restore, not a failback, and moves tier only from home', () => {
    expect(restore('local-a')).toBeUndefined();
    expect(restore('local-b')).toBeUndefined();
    const failback = OPERATION_TABLE.failback.refusal!({ kind: 'failback', actor }, facts({ tenant: moved }));
    expect(failback?.message).toContain('"region": "local-a"');
    expect(tierChange(moved, 'standard', 'pool')?.message).toContain(
      'POST /v1/tenants/acme-corp/restore with "region": "local-a"',
    );
    // Home again, its partner store stays: a pool move is fine, a move that builds other stores is not.
    expect(tierChange(home, 'standard', 'pool')).toBeUndefined();
    expect(tierChange(home, 'premium', 'silo')?.message).toContain('keeps a store in local-b');
  });

  it('refuses a restore into another region for a tenant with a standby', () => {
    const refused = OPERATION_TABLE.restore.refusal!(
      { kind: 'restore', actor, backupId: 'backup_0a1b2c3d4e5f6071', region: 'local-b' },
      facts({ tenant: tenant({ tier: 'enterprise', deploymentModel: 'silo', drRegion: 'local-b' }) }),
    );
    expect(refused?.message).toContain('failover');
  });
});
