/**
 * A cloud silo's database made ready for the application (dataplane/cloud-silo.ts), run on a real
 * Postgres server (the one started apart from Landlord where there is one) standing in for RDS and
 * Cloud SQL: `rds_iam` and Cloud SQL's IAM user are roles those services make, made here by hand.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { ensureDatabase, withClient, withDatabase } from '../../dataplane/connection.js';
import { prepareCloudSiloDatabase } from '../../dataplane/cloud-silo.js';
import { testStack } from '../support/stack.js';

const { migrationsDir } = loadConfig({});

describe("a cloud silo's database, prepared for the application", () => {
  const stack = testStack();
  const region = stack.externalRegion?.region ?? 'local-a';
  const serverUrl = stack.regionUrls[region]!;
  const suffix = randomBytes(3).toString('hex');
  const database = `cloud_silo_${suffix}`;
  const dbUrl = withDatabase(serverUrl, database);
  const roles: string[] = [];
  afterAll(async () => {
    await withClient(withDatabase(serverUrl, 'postgres'), async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      for (const role of roles) await c.query(`DROP ROLE IF EXISTS "${role}"`);
    });
  });

  const privileges = (role: string) =>
    withClient(dbUrl, async (c) => {
      const { rows } = await c.query(
        `SELECT has_table_privilege($1, 'public.app_users', 'SELECT,INSERT,UPDATE,DELETE') AS rows,
                has_table_privilege($1, 'public.app_users', 'TRUNCATE') AS truncate,
                has_table_privilege($1, 'public.app_migrations', 'SELECT') AS migrations,
                has_schema_privilege($1, 'public', 'CREATE') AS ddl,
                has_database_privilege($1, current_database(), 'CONNECT') AS connect,
                has_database_privilege('public', current_database(), 'CONNECT') AS public_connect`,
        [role],
      );
      return rows[0] as Record<string, boolean>;
    });

  it('runs the migrations and gives the RDS app user (IAM sign-in) read and write on the tables, nothing more', async () => {
    await ensureDatabase(serverUrl, database);
    const app = `app_${suffix}`;
    roles.push(app);
    await withClient(dbUrl, async (c) => {
      await c.query(
        `DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`,
      );
      await prepareCloudSiloDatabase(c, { provider: 'aws', appUser: app, migrationsDir });
      // Safe to run again (a retried activity).
      await prepareCloudSiloDatabase(c, { provider: 'aws', appUser: app, migrationsDir });
      const member = await c.query(`SELECT pg_has_role($1, 'rds_iam', 'MEMBER') AS iam`, [app]);
      expect(member.rows[0]).toEqual({ iam: true });
      const applied = await c.query('SELECT count(*)::int AS n FROM app_migrations');
      expect((applied.rows[0] as { n: number }).n).toBeGreaterThan(0);
      // A table a later migration creates is the application's to use too.
      await c.query('CREATE TABLE public.later_table (id int)');
      const later = await c.query(`SELECT has_table_privilege($1, 'public.later_table', 'INSERT') AS ok`, [
        app,
      ]);
      expect(later.rows[0]).toEqual({ ok: true });
    });
    expect(await privileges(app)).toEqual({
      rows: true,
      truncate: false,
      migrations: false,
      ddl: false,
      connect: true,
      public_connect: false,
    });
  });

  it("gives Cloud SQL's IAM user the same rights and creates no user of its own", async () => {
    const iamUser = `ll-globex-${suffix}@acme-landlord-prod.iam`;
    roles.push(iamUser);
    await withClient(dbUrl, async (c) => {
      await c.query(`CREATE ROLE "${iamUser}" LOGIN`);
      const before = await c.query('SELECT count(*)::int AS n FROM pg_roles');
      await prepareCloudSiloDatabase(c, { provider: 'gcp', appUser: iamUser, migrationsDir });
      const after = await c.query('SELECT count(*)::int AS n FROM pg_roles');
      expect(after.rows[0]).toEqual(before.rows[0]);
    });
    expect(await privileges(iamUser)).toMatchObject({
      rows: true,
      truncate: false,
      migrations: false,
      ddl: false,
    });
  });
});
