/**
 * SQL access to the registry database. Workflow projections write through it (via activities),
 * the API reads through it. Writes are idempotent upserts; nothing here throws SQL text upwards.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runner } from 'node-pg-migrate';
import type {
  ApiKeyRecord,
  AuditEvent,
  ErrorInfo,
  OperationSnapshot,
  Role,
  StepProgress,
  TenantRecord,
  TenantStatus,
} from '../../domain/index.js';

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

export interface TenantFilter {
  tier?: string;
  region?: string;
  status?: TenantStatus;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

/** An audit event to append: the stored event less what the registry assigns, plus its dedup key. */
export type AuditInput = Omit<AuditEvent, 'seq' | 'at' | 'detail'> & {
  /** Makes a retried append a no-op. */
  eventKey: string;
  detail?: Record<string, unknown>;
};

export type IdempotencyBegin =
  | { state: 'new' }
  | { state: 'replay'; status: number; headers: Record<string, string>; body: unknown }
  | { state: 'mismatch' }
  | { state: 'in-flight' };

/** How long an Idempotency-Key may stay in flight before its request is taken for lost. */
export const IN_FLIGHT_STALE_MS = 5 * 60_000;

const iso = (v: Date | null | undefined): string | undefined => (v ? v.toISOString() : undefined);
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * A page cursor: the last tenant's creation time in microseconds since the epoch and its id,
 * `<microseconds>.<id>`. Every string of this form is a position in the list, so the format is all
 * a client can get wrong; the OpenAPI document states it.
 */
export const CURSOR_PATTERN = /^(0|[1-9][0-9]{0,15})\.([a-z][a-z0-9-]{2,39})$/;

/** Returns undefined for a string that is not a cursor. */
export function decodeCursor(cursor: string): { micros: string; id: string } | undefined {
  const match = CURSOR_PATTERN.exec(cursor);
  return match ? { micros: match[1]!, id: match[2]! } : undefined;
}

type Row = Record<string, unknown>;

function tenantFromRow(r: Row): TenantRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    tier: r.tier as string,
    region: r.region as string,
    ...(r.dr_region ? { drRegion: r.dr_region as string } : {}),
    ...(r.residency ? { residency: r.residency as string } : {}),
    deploymentModel: r.deployment_model as 'pool' | 'silo',
    status: r.status as TenantStatus,
    ...(r.status_reason ? { statusReason: r.status_reason as string } : {}),
    adminEmail: r.admin_email as string,
    features: r.features as Record<string, boolean>,
    labels: r.labels as Record<string, string>,
    resources: r.resources as Record<string, unknown>,
    ...(r.read_only ? { readOnly: r.read_only as TenantRecord['readOnly'] } : {}),
    ...(r.drift ? { drift: r.drift as TenantRecord['drift'] } : {}),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    version: Number(r.version),
  };
}

function operationFromRow(r: Row): OperationSnapshot {
  return {
    id: r.id as string,
    tenantId: r.tenant_id as string,
    kind: r.kind as OperationSnapshot['kind'],
    status: r.status as OperationSnapshot['status'],
    run: r.run as number,
    steps: r.steps as OperationSnapshot['steps'],
    actor: r.actor as OperationSnapshot['actor'],
    input: r.input as Record<string, unknown>,
    ...(r.error ? { error: r.error as OperationSnapshot['error'] } : {}),
    createdAt: iso(r.created_at as Date)!,
    updatedAt: iso(r.updated_at as Date)!,
    ...(r.finished_at ? { finishedAt: iso(r.finished_at as Date)! } : {}),
    ...(r.result ? { result: r.result as Record<string, unknown> } : {}),
    version: Number(r.version),
  };
}

function apiKeyFromRow(r: Row): ApiKeyRecord {
  return {
    id: r.id as string,
    name: r.name as string,
    role: r.role as Role,
    createdBy: r.created_by as string,
    createdAt: iso(r.created_at as Date)!,
    ...(r.revoked_at ? { revokedAt: iso(r.revoked_at as Date)! } : {}),
    ...(r.last_used_at ? { lastUsedAt: iso(r.last_used_at as Date)! } : {}),
  };
}

export class RegistryStore {
  constructor(readonly pool: pg.Pool) {}

  static connect(connectionString: string, max = 10): RegistryStore {
    const pool = new pg.Pool({ connectionString, max, application_name: 'landlord' });
    // An idle client losing its server must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    return new RegistryStore(pool);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Applies pending registry migrations; safe to run from several processes at once. */
  async migrate(): Promise<void> {
    await runner({
      databaseUrl: this.pool.options.connectionString!,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'registry_migrations',
      advisoryLockMode: 'wait',
      log: () => undefined,
    } as Parameters<typeof runner>[0]);
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  // --- projections written by workflows -------------------------------------------------------

  async upsertTenant(t: TenantRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO tenants (id, name, tier, region, dr_region, residency, deployment_model, status, status_reason,
         admin_email, features, labels, resources, created_at, updated_at, version, drift, read_only)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18)
       ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, tier = EXCLUDED.tier, region = EXCLUDED.region,
         dr_region = EXCLUDED.dr_region, residency = EXCLUDED.residency, deployment_model = EXCLUDED.deployment_model,
         status = EXCLUDED.status, status_reason = EXCLUDED.status_reason, admin_email = EXCLUDED.admin_email,
         features = EXCLUDED.features, labels = EXCLUDED.labels, resources = EXCLUDED.resources,
         updated_at = EXCLUDED.updated_at, version = EXCLUDED.version, drift = EXCLUDED.drift,
         read_only = EXCLUDED.read_only
       WHERE tenants.version < EXCLUDED.version`,
      [
        t.id,
        t.name,
        t.tier,
        t.region,
        t.drRegion ?? null,
        t.residency ?? null,
        t.deploymentModel,
        t.status,
        t.statusReason ?? null,
        t.adminEmail,
        JSON.stringify(t.features),
        JSON.stringify(t.labels),
        JSON.stringify(t.resources),
        t.createdAt,
        t.updatedAt,
        t.version,
        t.drift ? JSON.stringify(t.drift) : null,
        t.readOnly ? JSON.stringify(t.readOnly) : null,
      ],
    );
  }

  async upsertOperation(op: OperationSnapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO operations (id, tenant_id, kind, status, run, steps, actor, input, error, created_at, updated_at,
         finished_at, version, result)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, run = EXCLUDED.run, steps = EXCLUDED.steps,
         error = EXCLUDED.error, updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at,
         version = EXCLUDED.version, result = EXCLUDED.result
       WHERE operations.version < EXCLUDED.version`,
      [
        op.id,
        op.tenantId,
        op.kind,
        op.status,
        op.run,
        JSON.stringify(op.steps),
        JSON.stringify(op.actor),
        JSON.stringify(op.input),
        op.error ? JSON.stringify(op.error) : null,
        op.createdAt,
        op.updatedAt,
        op.finishedAt ?? null,
        op.version,
        op.result ? JSON.stringify(op.result) : null,
      ],
    );
  }

  async recordStepFailure(
    operationId: string,
    run: number,
    step: string,
    attempt: number,
    error: ErrorInfo,
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO operation_step_failures (operation_id, run, step, attempt, error) VALUES ($1,$2,$3,$4,$5)
       ON CONFLICT DO NOTHING`,
      [operationId, run, step, attempt, JSON.stringify(error)],
    );
  }

  /** Latest progress of a long step; the API shows it on the step while it runs. */
  async recordStepProgress(
    operationId: string,
    run: number,
    step: string,
    progress: StepProgress,
  ): Promise<void> {
    await this.pool.query(
      `INSERT INTO operation_step_progress (operation_id, run, step, done, total, current) VALUES ($1,$2,$3,$4,$5,$6)
       ON CONFLICT (operation_id, run, step) DO UPDATE SET done = EXCLUDED.done, total = EXCLUDED.total,
         current = EXCLUDED.current, at = now()`,
      [operationId, run, step, progress.done, progress.total, progress.current ?? null],
    );
  }

  async appendAudit(e: AuditInput): Promise<void> {
    await this.pool.query(
      `INSERT INTO audit_events (event_key, tenant_id, operation_id, actor, actor_role, request_id, action, outcome, detail)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) ON CONFLICT (event_key) DO NOTHING`,
      [
        e.eventKey,
        e.tenantId ?? null,
        e.operationId ?? null,
        e.actor,
        e.actorRole ?? null,
        e.requestId ?? null,
        e.action,
        e.outcome,
        JSON.stringify(e.detail ?? {}),
      ],
    );
  }

  // --- reads --------------------------------------------------------------------------------------

  async getTenant(id: string): Promise<TenantRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM tenants WHERE id = $1', [id]);
    return rows[0] ? tenantFromRow(rows[0]) : undefined;
  }

  /** Keyset pagination on (created_at, id): stable while tenants are added. */
  async listTenants(f: TenantFilter): Promise<{ items: TenantRecord[]; nextCursor?: string }> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.tier) add('tier = ?', f.tier);
    if (f.region) add('region = ?', f.region);
    if (f.status) add('status = ?', f.status);
    const after = f.cursor ? decodeCursor(f.cursor) : undefined;
    if (after) {
      args.push(after.micros, after.id);
      where.push(
        `(created_at, id) > (to_timestamp(0) + $${args.length - 1}::bigint * interval '1 microsecond', $${args.length})`,
      );
    }
    args.push(f.limit + 1);
    const { rows } = await this.pool.query(
      `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS cursor_micros
       FROM tenants ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at, id LIMIT $${args.length}`,
      args,
    );
    const items = rows.slice(0, f.limit).map(tenantFromRow);
    const last = rows.length > f.limit ? rows[f.limit - 1] : undefined;
    return last ? { items, nextCursor: `${last.cursor_micros as string}.${last.id as string}` } : { items };
  }

  /** The operation with live attempt counts merged in from failed attempts of running steps. */
  async getOperation(id: string): Promise<OperationSnapshot | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM operations WHERE id = $1', [id]);
    if (!rows[0]) return undefined;
    const op = operationFromRow(rows[0]);
    if (op.status === 'running' && op.steps.some((s) => s.status === 'running')) {
      const failures = await this.pool.query(
        `SELECT step, max(attempt) AS attempt, (array_agg(error ORDER BY attempt DESC))[1] AS error
         FROM operation_step_failures WHERE operation_id = $1 AND run = $2 GROUP BY step`,
        [id, op.run],
      );
      for (const f of failures.rows) {
        const step = op.steps.find((s) => s.name === f.step && s.status === 'running');
        if (step && step.attempts <= f.attempt) {
          step.attempts = f.attempt + 1;
          step.error = f.error as ErrorInfo;
        }
      }
      const progress = await this.pool.query(
        'SELECT step, done, total, current FROM operation_step_progress WHERE operation_id = $1 AND run = $2',
        [id, op.run],
      );
      for (const p of progress.rows) {
        const step = op.steps.find((s) => s.name === p.step && s.status === 'running');
        if (step)
          step.progress = { done: p.done, total: p.total, ...(p.current ? { current: p.current } : {}) };
      }
    }
    return op;
  }

  async listTenantOperations(tenantId: string): Promise<OperationSnapshot[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM operations WHERE tenant_id = $1 ORDER BY created_at',
      [tenantId],
    );
    return rows.map(operationFromRow);
  }

  async listAuditEvents(
    tenantId: string,
    { limit, afterSeq = 0 }: { limit: number; afterSeq?: number },
  ): Promise<AuditEvent[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM audit_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [tenantId, afterSeq, limit],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      at: iso(r.at)!,
      ...(r.tenant_id ? { tenantId: r.tenant_id } : {}),
      ...(r.operation_id ? { operationId: r.operation_id } : {}),
      actor: r.actor,
      ...(r.actor_role ? { actorRole: r.actor_role } : {}),
      ...(r.request_id ? { requestId: r.request_id } : {}),
      action: r.action,
      outcome: r.outcome,
      detail: r.detail,
    }));
  }

  // --- API keys -----------------------------------------------------------------------------------

  /** Creates a key and returns its secret; the secret is shown once and only its hash is kept. */
  async createApiKey(input: {
    name: string;
    role: Role;
    createdBy: string;
  }): Promise<{ key: ApiKeyRecord; secret: string }> {
    const id = `key_${randomBytes(8).toString('hex')}`;
    const secret = `llk_${randomBytes(32).toString('base64url')}`;
    const { rows } = await this.pool.query(
      `INSERT INTO api_keys (id, name, role, secret_hash, created_by) VALUES ($1,$2,$3,$4,$5) RETURNING *`,
      [id, input.name, input.role, sha256(secret), input.createdBy],
    );
    return { key: apiKeyFromRow(rows[0]), secret };
  }

  /** Makes `secret` a valid admin key under a fixed id (used for LANDLORD_ADMIN_KEY); idempotent. */
  async ensureAdminKey(id: string, secret: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO api_keys (id, name, role, secret_hash, created_by) VALUES ($1, $1, 'admin', $2, 'landlord')
       ON CONFLICT (id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash, revoked_at = NULL, role = 'admin'`,
      [id, sha256(secret)],
    );
  }

  async hasActiveAdminKey(): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT 1 FROM api_keys WHERE role = 'admin' AND revoked_at IS NULL LIMIT 1`,
    );
    return rows.length > 0;
  }

  async authenticate(secret: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.pool.query(
      `UPDATE api_keys SET last_used_at = now() WHERE secret_hash = $1 AND revoked_at IS NULL RETURNING *`,
      [sha256(secret)],
    );
    return rows[0] ? apiKeyFromRow(rows[0]) : undefined;
  }

  async listApiKeys(): Promise<ApiKeyRecord[]> {
    const { rows } = await this.pool.query('SELECT * FROM api_keys ORDER BY created_at, id');
    return rows.map(apiKeyFromRow);
  }

  /** Revokes a key: `revoked` now, `already` revoked before, or `unknown`. */
  async revokeApiKey(id: string): Promise<'revoked' | 'already' | 'unknown'> {
    const { rows } = await this.pool.query<{ was_active: boolean }>(
      `UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now())
       FROM (SELECT id, revoked_at IS NULL AS was_active FROM api_keys WHERE id = $1 FOR UPDATE) old
       WHERE k.id = old.id RETURNING old.was_active`,
      [id],
    );
    if (!rows[0]) return 'unknown';
    return rows[0].was_active ? 'revoked' : 'already';
  }

  // --- Idempotency-Key ----------------------------------------------------------------------------

  /**
   * Claims `key` for a request, or says how it was used. A key still in flight after
   * `IN_FLIGHT_STALE_MS` belongs to an API process that died mid-request (no request waits that
   * long for its workflow): the same request may claim it again.
   */
  async beginIdempotent(principal: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    const inserted = await this.pool.query(
      `INSERT INTO idempotency_keys (principal, key, request_hash) VALUES ($1,$2,$3)
       ON CONFLICT (principal, key) DO UPDATE SET created_at = now()
       WHERE idempotency_keys.response_status IS NULL AND idempotency_keys.request_hash = EXCLUDED.request_hash
         AND idempotency_keys.created_at < now() - make_interval(secs => $4)`,
      [principal, key, requestHash, IN_FLIGHT_STALE_MS / 1000],
    );
    if ((inserted.rowCount ?? 0) > 0) return { state: 'new' };
    const { rows } = await this.pool.query(
      'SELECT * FROM idempotency_keys WHERE principal = $1 AND key = $2',
      [principal, key],
    );
    const row = rows[0];
    if (!row) return this.beginIdempotent(principal, key, requestHash);
    if (row.request_hash !== requestHash) return { state: 'mismatch' };
    if (row.response_status === null) return { state: 'in-flight' };
    return {
      state: 'replay',
      status: row.response_status,
      headers: row.response_headers ?? {},
      body: row.response_body,
    };
  }

  async completeIdempotent(
    principal: string,
    key: string,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE idempotency_keys SET response_status = $3, response_headers = $4, response_body = $5, completed_at = now()
       WHERE principal = $1 AND key = $2`,
      [principal, key, status, JSON.stringify(headers), JSON.stringify(body)],
    );
  }

  /** Forgets a key whose request failed on our side, so the client may try again with it. */
  async abandonIdempotent(principal: string, key: string): Promise<void> {
    await this.pool.query(
      'DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND response_status IS NULL',
      [principal, key],
    );
  }
}
