import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { siloDatabaseName } from '../../activities/pool/index.js';
import { siloNames } from '../../domain/index.js';
import { createProvisioningActivities } from '../../activities/provisioning/index.js';
import { inspectLocalSilo } from '../../pulumi/local/providers.js';
import { localSiloNames } from '../../pulumi/local/tenant-silo.js';
import type { OperationSnapshot, SiloSpec, TenantRecord } from '../../domain/index.js';
import { pulumiEnvironment } from '../../workers/provisioning.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { listStacks } from '../support/pulumi-cli.js';
import { testStack } from '../support/stack.js';

describe('silo onboarding through the Pulumi Automation API', () => {
  let h: Harness;
  beforeAll(async () => {
    // The data worker starts a DR standby's replication.
    h = await Harness.create({ provisioning: true, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  const objectsRoot = () => join(h.config.dataDir, 'objects');
  const pulumiEnv = () => pulumiEnvironment(h.config, testStack().secret);

  async function onboardSilo(id: string, tier: string): Promise<OperationSnapshot> {
    const res = await h.api('POST', '/v1/tenants', {
      role: 'sales',
      body: { name: `Silo ${id}`, tier, region: 'local-a', adminEmail: `owner@${id}.test`, id },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return h.waitForOperation(res.body!.id as string, 300_000);
  }

  it('onboards an enterprise tenant with stacks in its region and its DR partner', async () => {
    const id = uniqueTenantId('ent');
    const op = await onboardSilo(id, 'enterprise');
    expect(op.status, JSON.stringify(op.error)).toBe('succeeded');
    expect(op.steps.map((s) => s.name)).toEqual([
      'validate',
      'record-tenant',
      'provision-standby',
      'provision-primary',
      'create-admin-user',
      'start-replication',
      'notify-invite',
      'notify-ready',
      'activate',
    ]);
    expect(op.steps.find((s) => s.name === 'start-replication')?.status).toBe('succeeded');
    // The standby streams from the primary, measured, and its tenant role cannot log in.
    const replication = await h.store.replication.get(id);
    expect(replication).toMatchObject({ source: 'local-a', target: 'local-b', state: 'streaming' });
    expect(replication!.lagMs).toBeGreaterThanOrEqual(0);

    const tenant = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
    expect(tenant).toMatchObject({
      status: 'active',
      deploymentModel: 'silo',
      region: 'local-a',
      drRegion: 'local-b',
    });
    const stacks = (tenant.resources.silo as { stacks: Record<string, Record<string, unknown>> }).stacks;
    expect(Object.keys(stacks).sort()).toEqual(['local-a', 'local-b']);
    expect(stacks['local-a']).toMatchObject({
      provider: 'local',
      role: 'primary',
      database: `silo_${id.replaceAll('-', '_')}`,
    });
    // Secrets stay in the stack: no password or key in the registry or the API.
    const everything = JSON.stringify([tenant, op]);
    expect(everything).not.toMatch(/password|"key"/i);

    for (const region of ['local-a', 'local-b']) {
      const names = localSiloNames(id, objectsRoot(), region);
      expect(await inspectLocalSilo(testStack().regionUrls[region]!, names)).toEqual({
        database: true,
        role: true,
        folder: true,
      });
    }
    // The application schema is in both silos, owned by the silo's owner role, of which the tenant's
    // role owns nothing and may only use the tables; the admin user is in the primary.
    const silo = new pg.Client({
      connectionString: h.directory.serverDatabaseUrl('local-a', siloDatabaseName(id)),
    });
    await silo.connect();
    try {
      const owner = await silo.query(`SELECT tableowner FROM pg_tables WHERE tablename = 'app_users'`);
      expect(owner.rows).toEqual([{ tableowner: siloNames(id).owner }]);
      const ownedByTenant = await silo.query(
        `SELECT count(*)::int AS n FROM pg_class WHERE relowner = $1::regrole`,
        [siloDatabaseName(id)],
      );
      expect(ownedByTenant.rows).toEqual([{ n: 0 }]);
      const rights = await silo.query(
        `SELECT has_table_privilege($1, 'app_users', 'SELECT, INSERT, UPDATE, DELETE') AS dml,
                has_table_privilege($1, 'app_users', 'TRUNCATE') AS truncate,
                has_table_privilege($1, 'app_migrations', 'SELECT') AS migrations`,
        [siloDatabaseName(id)],
      );
      expect(rights.rows).toEqual([{ dml: true, truncate: false, migrations: false }]);
      const users = await silo.query('SELECT tenant_id, email, role FROM app_users');
      expect(users.rows).toEqual([{ tenant_id: id, email: `owner@${id}.test`, role: 'owner' }]);
    } finally {
      await silo.end();
    }
    expect(listStacks(h)).toEqual(
      expect.arrayContaining([`landlord-silo/${id}.local-a`, `landlord-silo/${id}.local-b`]),
    );
  });

  it('reports drift: a resource removed outside Pulumi shows on the operation and the tenant', async () => {
    const id = uniqueTenantId('drift');
    expect((await onboardSilo(id, 'premium')).status).toBe('succeeded');
    const check = async () => {
      const res = await h.api('POST', `/v1/tenants/${id}/drift-check`, { role: 'operator' });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      return h.waitForOperation(res.body!.id as string, 120_000);
    };
    const clean = await check();
    expect(clean.status, JSON.stringify(clean.error)).toBe('succeeded');
    expect(clean.result).toEqual({ drift: [] });

    // Someone deletes the tenant's storage folder by hand.
    rmSync(localSiloNames(id, objectsRoot(), 'local-a').folder, { recursive: true });
    const drifted = await check();
    expect(drifted.status).toBe('succeeded');
    const found = (drifted.result as { drift: { name: string; change: string }[] }).drift;
    expect(found).toEqual([expect.objectContaining({ name: `${id}-objects` })]);
    const tenant = (await h.api('GET', `/v1/tenants/${id}`)).body as unknown as TenantRecord;
    expect(tenant.drift).toMatchObject({ operationId: drifted.id, resources: [{ name: `${id}-objects` }] });
    expect(tenant.status).toBe('active');

    // A pool tenant has no stacks to check.
    const poolTenant = uniqueTenantId('pooldrift');
    await h.onboard({ id: poolTenant });
    const refused = await h.api('POST', `/v1/tenants/${poolTenant}/drift-check`, { role: 'operator' });
    expect(refused.status).toBe(409);
    expect(refused.body!.detail).toMatch(/silo tenant/);
  });

  it('provisions two tenants at once on one worker', async () => {
    const ids = [uniqueTenantId('two'), uniqueTenantId('two')];
    const ops = await Promise.all(ids.map((id) => onboardSilo(id, 'premium')));
    expect(ops.map((o) => o.status)).toEqual(['succeeded', 'succeeded']);
    for (const id of ids) {
      expect(
        await inspectLocalSilo(
          testStack().regionUrls['local-a']!,
          localSiloNames(id, objectsRoot(), 'local-a'),
        ),
      ).toEqual({
        database: true,
        role: true,
        folder: true,
      });
    }
    expect(listStacks(h)).toEqual(expect.arrayContaining(ids.map((id) => `landlord-silo/${id}.local-a`)));
  });

  it('destroys a provisioned silo: database, role, folder and key are gone', async () => {
    const id = uniqueTenantId('gone');
    expect((await onboardSilo(id, 'premium')).status).toBe('succeeded');
    const region = h.config.catalog.regions.find((r) => r.id === 'local-a')!;
    const spec: SiloSpec = {
      tenantId: id,
      tier: 'premium',
      region,
      role: 'primary',
      backupRetentionDays: 35,
      deletionProtection: false,
      labels: {},
    };
    const activities = createProvisioningActivities({
      store: h.store,
      settings: {
        pulumi: pulumiEnv(),
        dataDir: h.config.dataDir,
        regionServerUrls: h.config.postgres.regionUrls,
        migrationsDir: h.config.migrationsDir,
        secret: testStack().secret,
      },
    });
    await new MockActivityEnvironment().run(activities.destroySilo, { spec });
    expect(
      await inspectLocalSilo(
        testStack().regionUrls['local-a']!,
        localSiloNames(id, objectsRoot(), 'local-a'),
      ),
    ).toEqual({
      database: false,
      role: false,
      folder: false,
    });
    // The stack, and with it the data key (a secret only the stack's state held), is gone.
    expect(listStacks(h)).not.toContain(`landlord-silo/${id}.local-a`);
  });
});
