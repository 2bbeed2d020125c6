import type pg from 'pg';
import type { AuditEvent } from '../../domain/index.js';
import type { AuditFilter, AuditInput, AuditStore } from '../stores.js';
import { auditFromRow } from './rows.js';

export class PostgresAuditStore implements AuditStore {
  constructor(private readonly pool: pg.Pool) {}

  async append(e: AuditInput): Promise<void> {
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

  async list(f: AuditFilter): Promise<AuditEvent[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      args.push(value);
      where.push(sql.replace('?', `$${args.length}`));
    };
    if (f.tenantId === null) where.push('tenant_id IS NULL');
    else if (f.tenantId !== undefined) add('tenant_id = ?', f.tenantId);
    if (f.action) add('action = ?', f.action);
    if (f.actor) add('actor = ?', f.actor);
    if (f.outcome) add('outcome = ?', f.outcome);
    if (f.since) add('at >= ?', f.since);
    if (f.until) add('at < ?', f.until);
    add('seq > ?', f.afterSeq ?? 0);
    args.push(f.limit);
    const { rows } = await this.pool.query(
      `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY seq LIMIT $${args.length}`,
      args,
    );
    return rows.map(auditFromRow);
  }
}
