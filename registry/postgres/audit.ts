import type pg from 'pg';
import type { AuditEvent } from '../../domain/index.js';
import type { AuditFilter, AuditInput, AuditStore } from '../stores.js';
import { auditFromRow, pageBySeq } from './rows.js';

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
    const rows = await pageBySeq(
      this.pool,
      'audit_events',
      [
        ...(f.tenantId === null ? [['tenant_id IS NULL'] as [string]] : []),
        ...(f.tenantId ? [['tenant_id = ?', f.tenantId] as [string, unknown]] : []),
        ...(f.action ? [['action = ?', f.action] as [string, unknown]] : []),
        ...(f.actor ? [['actor = ?', f.actor] as [string, unknown]] : []),
        ...(f.outcome ? [['outcome = ?', f.outcome] as [string, unknown]] : []),
        ...(f.since ? [['at >= ?', f.since] as [string, unknown]] : []),
        ...(f.until ? [['at < ?', f.until] as [string, unknown]] : []),
      ],
      { afterSeq: f.afterSeq ?? 0, limit: f.limit },
    );
    return rows.map(auditFromRow);
  }
}
