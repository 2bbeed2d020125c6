import pg from 'pg';
import { EndWaiters } from '../waiters.js';
import type { ErrorInfo, OperationSnapshot, StepProgress } from '../../domain/index.js';
import type { OperationFilter, OperationStore } from '../stores.js';
import { operationFromRow } from './rows.js';

/** The channel the registry's trigger notifies with an operation's id when it stops running. */
export const OPERATION_ENDED_CHANNEL = 'landlord_operation_ended';

export class PostgresOperationStore implements OperationStore {
  private readonly ended = new EndWaiters();
  /** A connection of its own that LISTENs, opened by the first wait; dropped on any error. */
  private listener: Promise<pg.Client> | undefined;

  constructor(private readonly pool: pg.Pool) {}

  private listen(): void {
    if (this.listener) return;
    const client = new pg.Client({
      connectionString: this.pool.options.connectionString,
      application_name: 'landlord-listen',
    });
    const drop = () => {
      if (this.listener === opened) this.listener = undefined;
      void client.end().catch(() => undefined);
    };
    client.on('error', drop);
    client.on('end', drop);
    client.on('notification', (n) => n.payload && this.ended.wake(n.payload));
    const opened = client
      .connect()
      .then(() => client.query(`LISTEN ${OPERATION_ENDED_CHANNEL}`))
      .then(() => client);
    opened.catch(drop);
    this.listener = opened;
  }

  async waitUntilEnded(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    this.listen();
    // Registered before the check: an end between the two wakes it.
    await this.ended.wait(
      id,
      timeoutMs,
      async () => {
        await this.listener?.catch(() => undefined);
        const { rows } = await this.pool.query('SELECT status FROM operations WHERE id = $1', [id]);
        return rows[0]?.status !== 'running';
      },
      { signal },
    );
  }

  async close(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    await listener?.then((c) => c.end()).catch(() => undefined);
  }

  async upsert(op: OperationSnapshot): Promise<void> {
    await this.pool.query(
      `INSERT INTO operations (id, tenant_id, kind, status, run, steps, actor, input, error, created_at, updated_at,
         finished_at, version, result, approval)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
       ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, run = EXCLUDED.run, steps = EXCLUDED.steps,
         error = EXCLUDED.error, updated_at = EXCLUDED.updated_at, finished_at = EXCLUDED.finished_at,
         version = EXCLUDED.version, result = EXCLUDED.result, approval = EXCLUDED.approval
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
        op.approval ? JSON.stringify(op.approval) : null,
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

  /** The operation with live attempt counts merged in from failed attempts of running steps. */
  async get(id: string): Promise<OperationSnapshot | undefined> {
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

  async list({ status, tenantId, kind, limit }: OperationFilter): Promise<OperationSnapshot[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (condition: string, value: unknown) => {
      args.push(value);
      where.push(condition.replace('?', `$${args.length}`));
    };
    if (status === 'waiting-approval') {
      where.push(`status = 'running'`, `steps @> '[{"status": "waiting-approval"}]'`);
    } else if (status) add('status = ?', status);
    if (tenantId) add('tenant_id = ?', tenantId);
    if (kind) add('kind = ?', kind);
    args.push(limit);
    const { rows } = await this.pool.query(
      `SELECT * FROM operations ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY updated_at DESC, id DESC LIMIT $${args.length}`,
      args,
    );
    return rows.map(operationFromRow);
  }

  async listForTenant(tenantId: string): Promise<OperationSnapshot[]> {
    const { rows } = await this.pool.query(
      'SELECT * FROM operations WHERE tenant_id = $1 ORDER BY created_at',
      [tenantId],
    );
    return rows.map(operationFromRow);
  }
}
