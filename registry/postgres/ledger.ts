import type pg from 'pg';
import { LEDGER_GENESIS } from '../../domain/index.js';
import type { LedgerEntry, LedgerKind, LedgerRecord, LedgerVerification } from '../../domain/index.js';
import { ledgerEntryOf, ledgerHash, sameEntryOrThrow, verifyLedger } from '../ledger.js';
import type { LedgerFilter, LedgerStore } from '../stores.js';
import { iso, pageBySeq } from './rows.js';
import type { Row } from './rows.js';

function ledgerFromRow(r: Row): LedgerRecord {
  const optional = (key: string, value: unknown) =>
    value === null || value === undefined ? {} : { [key]: value };
  return {
    kind: r.kind as LedgerKind,
    tenantId: r.tenant_id as string,
    region: r.region as string,
    ...optional('database', r.database_name),
    target: r.target as string,
    ...optional('dataClass', r.data_class),
    count: Number(r.count),
    unit: r.unit as LedgerRecord['unit'],
    ...optional('policy', r.policy),
    ...optional('runId', r.run_id),
    ...optional('operationId', r.operation_id),
    requestedBy: r.requested_by as string,
    ...optional('subjectHmac', r.subject_hmac),
    ...(r.deleted_at ? { deletedAt: iso(r.deleted_at as Date)! } : {}),
    recordKey: r.record_key as string,
    seq: Number(r.seq),
    at: iso(r.at as Date)!,
    prevHash: r.prev_hash as string,
    hash: r.hash as string,
  };
}

/** The lock every append takes (the insert trigger takes it too), so links never fork. */
const APPEND_LOCK = `SELECT pg_advisory_xact_lock(hashtext('landlord.ledger_records'))`;

export class PostgresLedgerStore implements LedgerStore {
  constructor(private readonly pool: pg.Pool) {}

  async append(given: LedgerEntry): Promise<LedgerRecord> {
    const entry = ledgerEntryOf(given);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(APPEND_LOCK);
      const existing = await client.query('SELECT * FROM ledger_records WHERE record_key = $1', [
        entry.recordKey,
      ]);
      if (existing.rows[0]) {
        await client.query('COMMIT');
        const record = ledgerFromRow(existing.rows[0] as Row);
        sameEntryOrThrow(record, entry);
        return record;
      }
      const last = await client.query('SELECT seq, hash FROM ledger_records ORDER BY seq DESC LIMIT 1');
      const previous = last.rows[0] as { seq: string; hash: string } | undefined;
      const record = {
        ...entry,
        seq: Number(previous?.seq ?? 0) + 1,
        at: new Date().toISOString(),
        prevHash: previous?.hash ?? LEDGER_GENESIS,
      } as Omit<LedgerRecord, 'hash'>;
      const linked: LedgerRecord = { ...record, hash: ledgerHash(record) };
      await client.query(
        `INSERT INTO ledger_records (seq, at, kind, tenant_id, region, database_name, target, data_class, count,
           unit, policy, run_id, operation_id, requested_by, subject_hmac, record_key, prev_hash, hash, deleted_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19)`,
        [
          linked.seq,
          linked.at,
          linked.kind,
          linked.tenantId,
          linked.region,
          linked.database ?? null,
          linked.target,
          linked.dataClass ?? null,
          linked.count,
          linked.unit,
          linked.policy === undefined ? null : JSON.stringify(linked.policy),
          linked.runId ?? null,
          linked.operationId ?? null,
          linked.requestedBy,
          linked.subjectHmac ?? null,
          linked.recordKey,
          linked.prevHash,
          linked.hash,
          linked.deletedAt ?? null,
        ],
      );
      await client.query('COMMIT');
      return linked;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async list(f: LedgerFilter): Promise<LedgerRecord[]> {
    const rows = await pageBySeq(
      this.pool,
      'ledger_records',
      [
        ...(f.tenantId ? [['tenant_id = ?', f.tenantId] as [string, unknown]] : []),
        ...(f.kind ? [['kind = ?', f.kind] as [string, unknown]] : []),
        ...(f.from ? [['at >= ?', f.from] as [string, unknown]] : []),
        ...(f.to ? [['at < ?', f.to] as [string, unknown]] : []),
      ],
      { afterSeq: f.afterSeq ?? 0, limit: f.limit },
    );
    return rows.map((r) => ledgerFromRow(r as Row));
  }

  verify(): Promise<LedgerVerification> {
    return verifyLedger((afterSeq, limit) => this.list({ afterSeq, limit }));
  }
}
