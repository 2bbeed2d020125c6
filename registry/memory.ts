/**
 * The registry in memory: the same contract as the Postgres one (test/support/registry-contract.ts
 * runs against both), for API tests and pure tests that must not need a server. Not for
 * production: nothing survives the process.
 */
import type {
  ApiKeyRecord,
  AuditEvent,
  ErasureCount,
  ErasureListEntry,
  ErasureRequest,
  ErrorInfo,
  LedgerEntry,
  LedgerRecord,
  LedgerVerification,
  LegalHold,
  OperationSnapshot,
  ReplicationStatus,
  RetentionRun,
  RetentionRunRequest,
  RetentionTenantPart,
  Role,
  StepProgress,
  TenantBackup,
  TenantExport,
  TenantKeyDestruction,
  TenantKeyInfo,
  TenantRecord,
  VerificationResult,
  VerificationRun,
  VerificationRunDetail,
  VerificationRunRequest,
} from '../domain/index.js';
import { addPart, emptyTotals, LEDGER_GENESIS } from '../domain/index.js';
import { decodeCursor, encodeCursor, microsOf } from './cursor.js';
import { erasureView, newErasureId } from './erasures.js';
import type { StoredErasure } from './erasures.js';
import { newHoldId } from './legal-holds.js';
import { ledgerEntryOf, ledgerHash, sameEntryOrThrow, verifyLedger } from './ledger.js';
import { DEFAULT_IDEMPOTENCY } from './stores.js';
import type {
  ApiKeyStore,
  BackupStore,
  NewBackup,
  AuditFilter,
  AuditInput,
  LedgerFilter,
  LedgerStore,
  LegalHoldStore,
  NewErasure,
  PlaceHold,
  AuditStore,
  ErasureStore,
  ExportStore,
  IdempotencyBegin,
  IdempotencySettings,
  IdempotencyStore,
  OperationStore,
  Registry,
  ReplicationStore,
  RetentionRunStore,
  NewExport,
  NewTenantKey,
  OperationFilter,
  StoredTenantKey,
  TenantFilter,
  TenantKeyStore,
  TenantStore,
  VerificationStore,
} from './stores.js';
import { newApiKey, secretHash } from './api-key-secrets.js';
import { EndWaiters } from './waiters.js';

const copy = <T>(value: T): T => structuredClone(value);
/** As Postgres keeps them: microsecond precision, UTC. */
const now = () => new Date().toISOString();

class MemoryTenantStore implements TenantStore {
  readonly rows = new Map<string, TenantRecord>();

  async upsert(t: TenantRecord): Promise<void> {
    const existing = this.rows.get(t.id);
    if (existing && existing.version >= t.version) return;
    this.rows.set(t.id, copy(existing ? { ...t, createdAt: existing.createdAt } : t));
  }

  async get(id: string): Promise<TenantRecord | undefined> {
    const row = this.rows.get(id);
    return row && copy(row);
  }

  async list(f: TenantFilter): Promise<{ items: TenantRecord[]; nextCursor?: string }> {
    const after = f.cursor ? decodeCursor(f.cursor) : undefined;
    const key = (t: TenantRecord) => [microsOf(t.createdAt), t.id] as const;
    const before = (a: readonly [bigint, string], b: readonly [bigint, string]) =>
      a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]);
    const matching = [...this.rows.values()]
      .filter((t) => (!f.tier || t.tier === f.tier) && (!f.region || t.region === f.region))
      .filter((t) => !f.status || t.status === f.status)
      .filter((t) => !after || before([BigInt(after.micros), after.id], key(t)))
      .sort((a, b) => (before(key(a), key(b)) ? -1 : before(key(b), key(a)) ? 1 : 0));
    const items = matching.slice(0, f.limit).map(copy);
    const last = matching.length > f.limit ? items.at(-1) : undefined;
    return last ? { items, nextCursor: encodeCursor(microsOf(last.createdAt), last.id) } : { items };
  }
}

class MemoryOperationStore implements OperationStore {
  readonly rows = new Map<string, OperationSnapshot>();
  private readonly failures = new Map<string, { attempt: number; error: ErrorInfo }>();
  private readonly progress = new Map<string, StepProgress>();

  async upsert(op: OperationSnapshot): Promise<void> {
    const existing = this.rows.get(op.id);
    if (existing && existing.version >= op.version) return;
    // As the SQL upsert: what an operation was asked to do never changes.
    const { tenantId, kind, actor, input, createdAt } = existing ?? op;
    this.rows.set(op.id, copy({ ...op, tenantId, kind, actor, input, createdAt }));
    if (op.status !== 'running') this.ended.wake(op.id);
  }

  private readonly ended = new EndWaiters();

  async waitUntilEnded(id: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await this.ended.wait(id, timeoutMs, async () => this.rows.get(id)?.status !== 'running', { signal });
  }

  async list({ status, tenantId, kind, limit }: OperationFilter): Promise<OperationSnapshot[]> {
    const waiting = (op: OperationSnapshot) =>
      op.status === 'running' && op.steps.some((s) => s.status === 'waiting-approval');
    return [...this.rows.values()]
      .filter((op) => (status === 'waiting-approval' ? waiting(op) : !status || op.status === status))
      .filter((op) => (!tenantId || op.tenantId === tenantId) && (!kind || op.kind === kind))
      .sort((a, b) => b.updatedAt.localeCompare(a.updatedAt) || b.id.localeCompare(a.id))
      .slice(0, limit)
      .map((op) => copy(op));
  }

  async recordStepFailure(
    operationId: string,
    run: number,
    step: string,
    attempt: number,
    error: ErrorInfo,
  ): Promise<void> {
    const key = `${operationId}/${run}/${step}`;
    const known = this.failures.get(key);
    if (!known || known.attempt < attempt) this.failures.set(key, { attempt, error: copy(error) });
  }

  async recordStepProgress(
    operationId: string,
    run: number,
    step: string,
    progress: StepProgress,
  ): Promise<void> {
    this.progress.set(`${operationId}/${run}/${step}`, copy(progress));
  }

  async get(id: string): Promise<OperationSnapshot | undefined> {
    const stored = this.rows.get(id);
    if (!stored) return undefined;
    const op = copy(stored);
    if (op.status !== 'running') return op;
    for (const step of op.steps) {
      if (step.status !== 'running') continue;
      const failure = this.failures.get(`${id}/${op.run}/${step.name}`);
      if (failure && step.attempts <= failure.attempt) {
        step.attempts = failure.attempt + 1;
        step.error = copy(failure.error);
      }
      const progress = this.progress.get(`${id}/${op.run}/${step.name}`);
      if (progress) step.progress = copy(progress);
    }
    return op;
  }

  async listForTenant(tenantId: string): Promise<OperationSnapshot[]> {
    return [...this.rows.values()]
      .filter((o) => o.tenantId === tenantId)
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0))
      .map(copy);
  }
}

class MemoryAuditStore implements AuditStore {
  readonly events: (AuditEvent & { eventKey: string })[] = [];

  async append(e: AuditInput): Promise<void> {
    if (this.events.some((x) => x.eventKey === e.eventKey)) return;
    const { eventKey, detail, ...rest } = copy(e);
    this.events.push({ ...rest, eventKey, seq: this.events.length + 1, at: now(), detail: detail ?? {} });
  }

  async list(f: AuditFilter): Promise<AuditEvent[]> {
    return this.events
      .filter((e) =>
        f.tenantId === null ? !e.tenantId : f.tenantId === undefined || e.tenantId === f.tenantId,
      )
      .filter((e) => (!f.action || e.action === f.action) && (!f.actor || e.actor === f.actor))
      .filter((e) => !f.outcome || e.outcome === f.outcome)
      .filter((e) => (!f.since || e.at >= f.since) && (!f.until || e.at < f.until))
      .filter((e) => e.seq > (f.afterSeq ?? 0))
      .slice(0, f.limit)
      .map(({ eventKey: _key, ...e }) => copy(e));
  }
}

class MemoryLedgerStore implements LedgerStore {
  /** The chain, in order; exposed so tests can tamper with it as a superuser could. */
  readonly records: LedgerRecord[] = [];

  async append(given: LedgerEntry): Promise<LedgerRecord> {
    const entry = ledgerEntryOf(given);
    const existing = this.records.find((r) => r.recordKey === entry.recordKey);
    if (existing) {
      sameEntryOrThrow(existing, entry);
      return copy(existing);
    }
    const last = this.records.at(-1);
    const record = {
      ...entry,
      seq: (last?.seq ?? 0) + 1,
      at: now(),
      prevHash: last?.hash ?? LEDGER_GENESIS,
    };
    const linked = { ...record, hash: ledgerHash(record) };
    this.records.push(linked);
    return copy(linked);
  }

  async list(f: LedgerFilter): Promise<LedgerRecord[]> {
    return this.records
      .filter((r) => (!f.tenantId || r.tenantId === f.tenantId) && (!f.kind || r.kind === f.kind))
      .filter((r) => (!f.from || r.at >= f.from) && (!f.to || r.at < f.to))
      .filter((r) => r.seq > (f.afterSeq ?? 0))
      .slice(0, f.limit)
      .map(copy);
  }

  verify(): Promise<LedgerVerification> {
    return verifyLedger((afterSeq, limit) => this.list({ afterSeq, limit }));
  }
}

class MemoryLegalHoldStore implements LegalHoldStore {
  private readonly holds: LegalHold[] = [];

  async place(hold: PlaceHold): Promise<LegalHold> {
    const placed: LegalHold = { ...copy(hold), id: newHoldId(), createdAt: now() };
    this.holds.push(placed);
    return copy(placed);
  }

  async get(tenantId: string, id: string): Promise<LegalHold | undefined> {
    const hold = this.holds.find((h) => h.tenantId === tenantId && h.id === id);
    return hold && copy(hold);
  }

  async list(tenantId: string): Promise<LegalHold[]> {
    return this.holds.filter((h) => h.tenantId === tenantId).map(copy);
  }

  async release(tenantId: string, id: string, by: { releasedBy: string; reason: string }) {
    const hold = this.holds.find((h) => h.tenantId === tenantId && h.id === id);
    if (!hold) return { outcome: 'unknown' as const };
    if (hold.releasedAt) return { outcome: 'already' as const, hold: copy(hold) };
    Object.assign(hold, { releasedAt: now(), releasedBy: by.releasedBy, releaseReason: by.reason });
    return { outcome: 'released' as const, hold: copy(hold) };
  }
}

class MemoryRetentionRunStore implements RetentionRunStore {
  private readonly runs = new Map<string, RetentionRun & { seq: number }>();
  private readonly byRun = new Map<string, Map<string, RetentionTenantPart>>();
  private seq = 0;

  private view(run: RetentionRun & { seq: number }): RetentionRun {
    const { seq: _seq, ...stored } = run;
    const parts = [...(this.byRun.get(run.id)?.values() ?? [])];
    return copy({
      ...stored,
      progress: { ...stored.progress, done: parts.length },
      totals: parts.reduce(addPart, emptyTotals()),
    });
  }

  async start(request: RetentionRunRequest): Promise<RetentionRun> {
    const existing = this.runs.get(request.id);
    if (existing) return this.view(existing);
    const at = now();
    const run = {
      ...copy(request),
      status: 'running' as const,
      progress: { done: 0 },
      totals: emptyTotals(),
      createdAt: at,
      updatedAt: at,
      seq: ++this.seq,
    };
    this.runs.set(request.id, run);
    this.byRun.set(request.id, new Map());
    return this.view(run);
  }

  async setTotal(id: string, total: number): Promise<void> {
    const run = this.runs.get(id);
    if (run) Object.assign(run, { progress: { ...run.progress, total }, updatedAt: now() });
  }

  async recordPart(id: string, part: RetentionTenantPart): Promise<void> {
    const run = this.runs.get(id);
    if (!run) return;
    this.byRun.get(id)!.set(part.tenantId, { ...copy(part), recordedAt: now() });
    run.updatedAt = now();
  }

  async finish(id: string, status: 'succeeded' | 'failed', error?: RetentionRun['error']): Promise<void> {
    const run = this.runs.get(id);
    if (!run || run.status !== 'running') return;
    Object.assign(run, {
      status,
      updatedAt: now(),
      finishedAt: now(),
      ...(error ? { error: copy(error) } : {}),
    });
  }

  async get(id: string): Promise<RetentionRun | undefined> {
    const run = this.runs.get(id);
    return run && this.view(run);
  }

  async list({ limit, before }: { limit: number; before?: string }): Promise<RetentionRun[]> {
    const below = before ? (this.runs.get(before)?.seq ?? 0) : Infinity;
    return [...this.runs.values()]
      .filter((r) => r.seq < below)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map((r) => this.view(r));
  }

  async parts(id: string, { limit, afterTenant }: { limit: number; afterTenant?: string }) {
    return [...(this.byRun.get(id)?.values() ?? [])]
      .filter((p) => afterTenant === undefined || p.tenantId > afterTenant)
      .sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1))
      .slice(0, limit)
      .map(copy);
  }

  async lastRealPart(tenantId: string, exceptRun: string): Promise<RetentionTenantPart | undefined> {
    const runs = [...this.runs.values()]
      .filter((r) => !r.dryRun && r.id !== exceptRun)
      .sort((a, b) => b.seq - a.seq);
    for (const run of runs) {
      const part = this.byRun.get(run.id)?.get(tenantId);
      if (part?.status === 'succeeded') return copy(part);
    }
    return undefined;
  }
}

class MemoryErasureStore implements ErasureStore {
  private readonly requests: (StoredErasure & { subject?: string })[] = [];
  private readonly entries: ErasureListEntry[] = [];

  constructor(private readonly operations: OperationStore) {}

  private find(tenantId: string, id: string) {
    return this.requests.find((r) => r.tenantId === tenantId && r.id === id);
  }

  private async view({ subject: _subject, ...stored }: StoredErasure & { subject?: string }) {
    const op = stored.operationId ? await this.operations.get(stored.operationId) : undefined;
    return erasureView(
      copy(stored),
      op && { status: op.status, ...(op.error ? { error: op.error } : {}) },
      now(),
    );
  }

  async create(e: NewErasure): Promise<ErasureRequest> {
    const at = now();
    const stored = {
      id: newErasureId(),
      tenantId: e.tenantId,
      subject: e.subject,
      status: 'queued' as const,
      reason: e.reason,
      receivedAt: new Date(e.receivedAt).toISOString(),
      dueBy: new Date(e.dueBy).toISOString(),
      requestedBy: e.requestedBy,
      counts: [],
      createdAt: at,
      updatedAt: at,
    };
    this.requests.push(stored);
    return this.view(stored);
  }

  async attach(tenantId: string, id: string, operationId: string): Promise<void> {
    const r = this.find(tenantId, id);
    if (r) Object.assign(r, { operationId, updatedAt: now() });
  }

  async discard(tenantId: string, id: string): Promise<void> {
    const i = this.requests.findIndex((r) => r.tenantId === tenantId && r.id === id && !r.operationId);
    if (i >= 0) this.requests.splice(i, 1);
  }

  async get(tenantId: string, id: string): Promise<ErasureRequest | undefined> {
    const r = this.find(tenantId, id);
    return r && this.view(r);
  }

  async list(tenantId: string, { limit, before }: { limit: number; before?: string }) {
    const mine = this.requests.filter((r) => r.tenantId === tenantId).reverse();
    const from = before ? mine.findIndex((r) => r.id === before) + 1 : 0;
    return Promise.all(
      mine.slice(before && from === 0 ? mine.length : from, from + limit).map((r) => this.view(r)),
    );
  }

  async subjectOf(tenantId: string, id: string): Promise<string | undefined> {
    return this.find(tenantId, id)?.subject;
  }

  async progress(
    tenantId: string,
    id: string,
    u: {
      status: 'erasing' | 'blocked-by-hold';
      subjectHmac?: string;
      counts?: ErasureCount[];
      blockedBy?: string[];
    },
  ): Promise<void> {
    const r = this.find(tenantId, id);
    if (!r || r.status === 'erased') return;
    r.status = u.status;
    if (u.subjectHmac) r.subjectHmac = u.subjectHmac;
    if (u.counts) r.counts = copy(u.counts);
    if (u.status === 'blocked-by-hold') r.blockedBy = [...(u.blockedBy ?? [])];
    else delete r.blockedBy;
    r.updatedAt = now();
  }

  async complete(
    tenantId: string,
    id: string,
    result: { subjectHmac: string; counts: ErasureCount[] },
  ): Promise<ErasureListEntry> {
    const r = this.find(tenantId, id);
    if (!r) throw new Error(`erasure request ${id} of tenant ${tenantId} does not exist`);
    if (r.status !== 'erased') {
      const at = now();
      Object.assign(r, {
        status: 'erased',
        subjectHmac: result.subjectHmac,
        counts: copy(result.counts),
        finishedAt: at,
        updatedAt: at,
      });
      delete r.subject;
      delete r.blockedBy;
      this.entries.push({ tenantId, erasureId: id, subjectHmac: result.subjectHmac, erasedAt: at });
    }
    return copy(this.entries.find((e) => e.erasureId === id)!);
  }

  async erasureList(tenantId: string, { since }: { since?: string } = {}): Promise<ErasureListEntry[]> {
    return this.entries
      .filter(
        (e) =>
          e.tenantId === tenantId && (since === undefined || e.erasedAt >= new Date(since).toISOString()),
      )
      .map(copy);
  }

  async countOverdue(at: string): Promise<number> {
    const when = new Date(at).toISOString();
    return this.requests.filter((r) => r.status !== 'erased' && r.dueBy < when).length;
  }
}

class MemoryTenantKeyStore implements TenantKeyStore {
  readonly rows = new Map<string, StoredTenantKey>();

  async create(key: NewTenantKey): Promise<TenantKeyInfo> {
    const existing = this.rows.get(key.tenantId);
    if (existing) return MemoryTenantKeyStore.info(existing);
    const stored: StoredTenantKey = {
      tenantId: key.tenantId,
      keyId: key.keyId,
      kekId: key.kekId,
      createdAt: now(),
      wrapped: key.wrapped,
    };
    this.rows.set(key.tenantId, stored);
    return MemoryTenantKeyStore.info(stored);
  }

  async get(tenantId: string): Promise<StoredTenantKey | undefined> {
    const row = this.rows.get(tenantId);
    return row && copy(row);
  }

  async destroy(tenantId: string, destroyedBy: string): Promise<TenantKeyDestruction> {
    const row = this.rows.get(tenantId);
    if (!row) return 'unknown';
    if (row.destroyedAt) return 'already';
    delete row.wrapped;
    Object.assign(row, { destroyedAt: now(), destroyedBy });
    return 'destroyed';
  }

  private static info({ wrapped: _wrapped, ...info }: StoredTenantKey): TenantKeyInfo {
    return copy(info);
  }
}

class MemoryExportStore implements ExportStore {
  /** In the order recorded. */
  private readonly rows: TenantExport[] = [];

  private find(tenantId: string, id: string) {
    return this.rows.find((e) => e.tenantId === tenantId && e.id === id);
  }

  async record(exported: NewExport): Promise<TenantExport> {
    const existing = this.rows.find((e) => e.id === exported.id);
    if (existing && existing.tenantId !== exported.tenantId)
      throw new Error(`export ${exported.id} exists, but not for tenant ${exported.tenantId}`);
    if (existing) return copy(existing);
    const stored: TenantExport = { ...copy(exported), createdAt: new Date(exported.createdAt).toISOString() };
    this.rows.push(stored);
    return copy(stored);
  }

  async get(tenantId: string, id: string): Promise<TenantExport | undefined> {
    const row = this.find(tenantId, id);
    return row && copy(row);
  }

  async list(tenantId: string): Promise<TenantExport[]> {
    // Newest first; of two made at the same time, the one recorded later first (as Postgres orders them).
    return this.rows
      .map((e, seq) => ({ e, seq }))
      .filter(({ e }) => e.tenantId === tenantId)
      .sort((a, b) => b.e.createdAt.localeCompare(a.e.createdAt) || b.seq - a.seq)
      .map(({ e }) => copy(e));
  }

  async markVerified(tenantId: string, id: string, at: string): Promise<TenantExport | undefined> {
    const row = this.find(tenantId, id);
    if (!row) return undefined;
    row.verifiedAt ??= new Date(at).toISOString();
    return copy(row);
  }
}

class MemoryBackupStore implements BackupStore {
  /** In the order recorded. */
  private readonly rows: TenantBackup[] = [];

  private find(tenantId: string, id: string) {
    return this.rows.find((b) => b.tenantId === tenantId && b.id === id);
  }

  /** A tenant's backups newest first; of two taken at the same time, the one recorded later first. */
  private newestFirst(tenantId: string): TenantBackup[] {
    return this.rows
      .map((b, seq) => ({ b, seq }))
      .filter(({ b }) => b.tenantId === tenantId)
      .sort((x, y) => y.b.takenAt.localeCompare(x.b.takenAt) || y.seq - x.seq)
      .map(({ b }) => b);
  }

  async record(backup: NewBackup): Promise<TenantBackup> {
    const existing = this.rows.find((b) => b.id === backup.id);
    if (existing && existing.tenantId !== backup.tenantId)
      throw new Error(`backup ${backup.id} exists, but not for tenant ${backup.tenantId}`);
    if (existing) return copy(existing);
    const stored: TenantBackup = {
      ...copy(backup),
      takenAt: new Date(backup.takenAt).toISOString(),
      expiresAt: new Date(backup.expiresAt).toISOString(),
      status: 'available',
    };
    this.rows.push(stored);
    return copy(stored);
  }

  async get(tenantId: string, id: string): Promise<TenantBackup | undefined> {
    const row = this.find(tenantId, id);
    return row && copy(row);
  }

  async list(tenantId: string): Promise<TenantBackup[]> {
    return this.newestFirst(tenantId).map(copy);
  }

  async latest(tenantId: string, atOrBefore?: string): Promise<TenantBackup | undefined> {
    const limit = atOrBefore === undefined ? undefined : new Date(atOrBefore).toISOString();
    const found = this.newestFirst(tenantId).find(
      (b) => b.status === 'available' && (limit === undefined || b.takenAt <= limit),
    );
    return found && copy(found);
  }

  async expiring(tenantId: string, at: string): Promise<TenantBackup[]> {
    const limit = new Date(at).toISOString();
    return this.newestFirst(tenantId)
      .filter((b) => b.status === 'available' && b.expiresAt <= limit)
      .reverse()
      .map(copy);
  }

  async lastTakenAt(tenantIds: readonly string[]): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const id of tenantIds) {
      const newest = this.newestFirst(id)[0];
      if (newest) out.set(id, newest.takenAt);
    }
    return out;
  }

  async markVerified(tenantId: string, id: string, at: string): Promise<TenantBackup | undefined> {
    const row = this.find(tenantId, id);
    if (!row) return undefined;
    const when = new Date(at).toISOString();
    if (row.verifiedAt === undefined || row.verifiedAt < when) row.verifiedAt = when;
    return copy(row);
  }

  async markExpired(tenantId: string, id: string, at: string): Promise<TenantBackup | undefined> {
    const row = this.find(tenantId, id);
    if (!row) return undefined;
    if (row.status !== 'expired') {
      row.status = 'expired';
      row.expiredAt = new Date(at).toISOString();
    }
    return copy(row);
  }
}

class MemoryVerificationStore implements VerificationStore {
  private readonly runs = new Map<string, Omit<VerificationRun, 'verified' | 'failed'> & { seq: number }>();
  /** Per run, its results by tenant; all results in the order recorded, for each tenant's latest. */
  private readonly byRun = new Map<string, Map<string, VerificationResult>>();
  private readonly recorded: VerificationResult[] = [];
  private seq = 0;

  constructor(private readonly tenants: TenantStore) {}

  private view(id: string): VerificationRun {
    const { seq: _seq, ...run } = this.runs.get(id)!;
    const results = [...this.byRun.get(id)!.values()];
    return copy({
      ...run,
      verified: results.filter((r) => r.ok).length,
      failed: results.filter((r) => !r.ok).length,
    });
  }

  async start(request: VerificationRunRequest): Promise<VerificationRun> {
    if (!this.runs.has(request.id)) {
      this.runs.set(request.id, {
        ...copy(request),
        status: 'running',
        startedAt: now(),
        total: 0,
        seq: ++this.seq,
      });
      this.byRun.set(request.id, new Map());
    }
    return this.view(request.id);
  }

  async setTotal(id: string, total: number): Promise<void> {
    const run = this.runs.get(id);
    if (run) run.total = total;
  }

  async recordResult(result: VerificationResult): Promise<VerificationResult | undefined> {
    const results = this.byRun.get(result.runId);
    if (!results) return undefined;
    if (!results.has(result.tenantId)) {
      const stored = {
        ...copy(result),
        startedAt: new Date(result.startedAt).toISOString(),
        finishedAt: new Date(result.finishedAt).toISOString(),
      };
      results.set(result.tenantId, stored);
      this.recorded.push(stored);
    }
    return copy(results.get(result.tenantId));
  }

  async finish(id: string, status: 'succeeded' | 'failed', error?: VerificationRun['error']): Promise<void> {
    const run = this.runs.get(id);
    if (!run || run.status !== 'running') return;
    Object.assign(run, { status, finishedAt: now(), ...(error ? { error: copy(error) } : {}) });
  }

  async get(id: string): Promise<VerificationRunDetail | undefined> {
    if (!this.runs.has(id)) return undefined;
    const results = [...this.byRun.get(id)!.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1));
    return { ...this.view(id), results: results.map(copy) };
  }

  async list({ limit, before }: { limit: number; before?: string }): Promise<VerificationRun[]> {
    const below = before ? (this.runs.get(before)?.seq ?? 0) : Infinity;
    return [...this.runs.values()]
      .filter((r) => r.seq < below)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, limit)
      .map((r) => this.view(r.id));
  }

  async latestResults(tenantIds: readonly string[]): Promise<Map<string, VerificationResult>> {
    const wanted = new Set(tenantIds);
    return new Map(this.recorded.filter((r) => wanted.has(r.tenantId)).map((r) => [r.tenantId, copy(r)]));
  }

  async countFailingTenants(): Promise<number> {
    const latest = new Map(this.recorded.map((r) => [r.tenantId, r.ok]));
    let failing = 0;
    for (const [tenantId, ok] of latest) {
      const status = (await this.tenants.get(tenantId))?.status;
      if (!ok && (status === 'active' || status === 'suspended')) failing += 1;
    }
    return failing;
  }
}

class MemoryReplicationStore implements ReplicationStore {
  private readonly rows = new Map<string, ReplicationStatus>();

  async put(status: ReplicationStatus): Promise<void> {
    const stored = this.rows.get(status.tenantId);
    if (stored && Date.parse(stored.measuredAt) > Date.parse(status.measuredAt)) return;
    this.rows.set(status.tenantId, {
      ...copy(status),
      measuredAt: new Date(status.measuredAt).toISOString(),
      ...(status.newestDataAt !== undefined
        ? { newestDataAt: new Date(status.newestDataAt).toISOString() }
        : {}),
    });
  }

  async get(tenantId: string): Promise<ReplicationStatus | undefined> {
    const row = this.rows.get(tenantId);
    return row && copy(row);
  }

  async list(): Promise<ReplicationStatus[]> {
    return [...this.rows.values()].sort((a, b) => (a.tenantId < b.tenantId ? -1 : 1)).map(copy);
  }

  async delete(tenantId: string): Promise<void> {
    this.rows.delete(tenantId);
  }
}

class MemoryApiKeyStore implements ApiKeyStore {
  private readonly keys = new Map<string, ApiKeyRecord & { hash: string }>();

  private record({ hash: _hash, ...key }: ApiKeyRecord & { hash: string }): ApiKeyRecord {
    return copy(key);
  }

  async create(input: { name: string; role: Role; createdBy: string }) {
    const { id, secret } = newApiKey();
    const key = { id, ...input, createdAt: now(), hash: secretHash(secret) };
    this.keys.set(id, key);
    return { key: this.record(key), secret };
  }

  async ensureAdmin(id: string, secret: string): Promise<void> {
    const existing = this.keys.get(id);
    const key = existing ?? {
      id,
      name: id,
      createdBy: 'landlord',
      createdAt: now(),
      role: 'admin',
      hash: '',
    };
    delete key.revokedAt;
    this.keys.set(id, { ...key, role: 'admin', hash: secretHash(secret) });
  }

  async hasActiveAdmin(): Promise<boolean> {
    return [...this.keys.values()].some((k) => k.role === 'admin' && !k.revokedAt);
  }

  async authenticate(secret: string): Promise<ApiKeyRecord | undefined> {
    const hash = secretHash(secret);
    const key = [...this.keys.values()].find((k) => k.hash === hash && !k.revokedAt);
    if (!key) return undefined;
    key.lastUsedAt = now();
    return this.record(key);
  }

  async list(): Promise<ApiKeyRecord[]> {
    return [...this.keys.values()]
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : 1))
      .map((k) => this.record(k));
  }

  async revoke(id: string): Promise<'revoked' | 'already' | 'unknown'> {
    const key = this.keys.get(id);
    if (!key) return 'unknown';
    if (key.revokedAt) return 'already';
    key.revokedAt = now();
    return 'revoked';
  }
}

interface Claim {
  requestHash: string;
  createdAt: number;
  completedAt?: number;
  response?: { status: number; headers: Record<string, string>; body: unknown };
}

class MemoryIdempotencyStore implements IdempotencyStore {
  /** Every claim by `<principal>\0<key>` (tests look at what is kept). */
  readonly claims = new Map<string, Claim>();

  constructor(
    private readonly settings: IdempotencySettings,
    private readonly clock: () => number,
  ) {}

  async begin(principal: string, key: string, requestHash: string): Promise<IdempotencyBegin> {
    const id = `${principal}\u0000${key}`;
    const claim = this.claims.get(id);
    const t = this.clock();
    const lost =
      claim &&
      !claim.response &&
      claim.requestHash === requestHash &&
      claim.createdAt < t - this.settings.inFlightStaleMs;
    const expired = claim?.completedAt !== undefined && claim.completedAt < t - this.settings.ttlMs;
    if (!claim || lost || expired) {
      this.claims.set(id, { requestHash, createdAt: t });
      return { state: 'new' };
    }
    if (claim.requestHash !== requestHash) return { state: 'mismatch' };
    if (!claim.response) return { state: 'in-flight' };
    return { state: 'replay', ...copy(claim.response) };
  }

  async complete(
    principal: string,
    key: string,
    status: number,
    headers: Record<string, string>,
    body: unknown,
  ): Promise<void> {
    const claim = this.claims.get(`${principal}\u0000${key}`);
    if (!claim) return;
    claim.response = copy({ status, headers, body });
    claim.completedAt = this.clock();
  }

  async abandon(principal: string, key: string): Promise<void> {
    const id = `${principal}\u0000${key}`;
    if (!this.claims.get(id)?.response) this.claims.delete(id);
  }

  async purgeExpired(batch = 1000): Promise<number> {
    const cutoff = this.clock() - this.settings.ttlMs;
    let purged = 0;
    for (const [id, claim] of this.claims) {
      if (purged >= batch) break;
      if (claim.completedAt !== undefined && claim.completedAt < cutoff) {
        this.claims.delete(id);
        purged++;
      }
    }
    return purged;
  }
}

export class MemoryRegistry implements Registry {
  readonly tenants = new MemoryTenantStore();
  readonly operations = new MemoryOperationStore();
  readonly audit = new MemoryAuditStore();
  readonly ledger = new MemoryLedgerStore();
  readonly legalHolds = new MemoryLegalHoldStore();
  readonly retentionRuns = new MemoryRetentionRunStore();
  readonly erasures = new MemoryErasureStore(this.operations);
  readonly tenantKeys = new MemoryTenantKeyStore();
  readonly exports = new MemoryExportStore();
  readonly backups = new MemoryBackupStore();
  readonly verifications = new MemoryVerificationStore(this.tenants);
  readonly replication = new MemoryReplicationStore();
  readonly apiKeys = new MemoryApiKeyStore();
  readonly idempotency: MemoryIdempotencyStore;
  /** Set to make ping() fail, as an unreachable server would. */
  down = false;

  constructor({
    idempotency = DEFAULT_IDEMPOTENCY,
    clock = Date.now,
  }: { idempotency?: IdempotencySettings; clock?: () => number } = {}) {
    this.idempotency = new MemoryIdempotencyStore(idempotency, clock);
  }

  async migrate(): Promise<void> {}

  async ping(): Promise<void> {
    if (this.down) throw new Error('the registry is down');
  }

  async close(): Promise<void> {}
}
