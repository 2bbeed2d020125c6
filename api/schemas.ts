/**
 * The wire shapes of the HTTP API as zod schemas: what requests are parsed with and what the
 * OpenAPI document describes. Response schemas are checked against the domain types so they cannot drift.
 */
import { z } from 'zod';
import {
  CreateTenantRequest as DomainCreateTenantRequest,
  ERASURE_STATUSES,
  BACKUP_FORMAT,
  BACKUP_ID_PATTERN,
  BACKUP_STATUSES,
  EXPORT_FORMAT,
  LEDGER_KINDS,
  OPERATION_KINDS,
  OPERATION_STATUSES,
  REPLICATION_STATES,
  RETENTION_RUN_STATUSES,
  Role,
  STEP_STATUSES,
  StoredText,
  SUBJECT_MAX_LENGTH,
  TenantId,
  TenantStatus,
  VERIFICATION_RUN_STATUSES,
} from '../domain/index.js';
import type {
  ApiKeyRecord,
  AuditEvent,
  ErasureRequest,
  LedgerRecord,
  LedgerVerification,
  LegalHold,
  OperationSnapshot,
  ReplicationStatus,
  RetentionRun,
  RetentionTenantPart,
  TenantBackup,
  TenantDrStatus,
  TenantExport,
  TenantRecord,
  VerificationResult,
  VerificationRun,
} from '../domain/index.js';
import { CURSOR_PATTERN, ERASURE_ID_PATTERN, EXPORT_ID_PATTERN, HOLD_ID_PATTERN } from '../registry/index.js';

/**
 * An integer in a query string: decimal digits only (no sign, hex, exponent or blanks), within
 * bounds. Anything else stays a string and fails as one.
 */
const queryInteger = (min: number, max: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && /^(0|[1-9][0-9]{0,15})$/.test(v) ? Number(v) : v),
    z.number({ error: 'must be a decimal integer' }).int().min(min).max(max),
  );

/** Body of `POST /v1/tenants`; unknown fields are rejected. */
export const CreateTenantRequest = DomainCreateTenantRequest.meta({ id: 'CreateTenantRequest' });

/** Body of `POST /v1/api-keys`. */
export const CreateApiKeyRequest = z
  .strictObject({ name: StoredText.trim().min(1).max(100), role: Role })
  .meta({ id: 'CreateApiKeyRequest' });

/** Body of `PATCH /v1/tenants/{id}`: what to change. Only the tier, for now. */
export const ChangeTenantRequest = z
  .strictObject({ tier: StoredText.min(1).max(64).describe('the tier to move the tenant to') })
  .meta({ id: 'ChangeTenantRequest' });

/** Bodyless mutating routes accept no body, or an empty JSON object. */
export const EmptyRequest = z.strictObject({});

/** Path parameter of the tenant routes. */
export const TenantIdParams = z.strictObject({ id: TenantId });

/** Path parameter of the operation routes: operation ids are workflow ids. */
export const OperationIdParams = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'an operation id'),
});

/** Path parameter of the API key routes. */
export const ApiKeyIdParams = z.strictObject({
  id: z.string().regex(/^key_[A-Za-z0-9_-]{1,64}$/, 'an API key id'),
});

/** Query of `GET /v1/tenants`. */
export const ListTenantsQuery = z.strictObject({
  tier: StoredText.min(1).max(64).optional(),
  region: StoredText.min(1).max(64).optional(),
  status: TenantStatus.optional(),
  limit: queryInteger(1, 100).default(20),
  cursor: z
    .string()
    .regex(CURSOR_PATTERN, 'must be the nextCursor of a previous page')
    .optional()
    .describe('nextCursor of the previous page'),
});

/** Query of `GET /v1/tenants/{id}/events`. */
export const ListEventsQuery = z.strictObject({
  limit: queryInteger(1, 500).default(100),
  afterSeq: queryInteger(0, Number.MAX_SAFE_INTEGER)
    .default(0)
    .describe('only events with a higher seq (nextAfterSeq of the previous page)'),
});

/** The longest `?wait=` of `GET /v1/operations/{id}`. */
export const MAX_OPERATION_WAIT_MS = 30_000;

/** Query of `GET /v1/operations/{id}`: how long to wait for a running operation to end. */
export const GetOperationQuery = z.strictObject({
  wait: z
    .string()
    // Up to 30000ms or 30s: the limit in the pattern, so that the document states it too.
    .regex(
      /^((0|[1-9][0-9]{0,3}|[12][0-9]{4}|30000)ms|([0-9]|[12][0-9]|30)s)$/,
      'a duration of at most 30s, such as 500ms or 30s',
    )
    .transform((d) => (d.endsWith('ms') ? Number(d.slice(0, -2)) : Number(d.slice(0, -1)) * 1000))
    .pipe(z.number().max(MAX_OPERATION_WAIT_MS, 'at most 30s'))
    .optional()
    .describe(
      'wait up to this long (at most 30s) for a running operation to end; the answer comes as soon as it does',
    ),
});

/** Query of `GET /v1/audit`. An until at or before since is an empty page (OpenAPI cannot state the pair). */
export const ListAuditQuery = z.strictObject({
  tenant: z
    .union([TenantId, z.literal('none')])
    .optional()
    .describe('a tenant id, or `none` for events about no tenant (API keys, fleet-wide runs)'),
  action: StoredText.min(1).max(100).optional().describe('e.g. `api-key.create`, `tenant.onboard`'),
  actor: StoredText.min(1).max(200).optional().describe('the principal (an API key id)'),
  outcome: StoredText.min(1).max(32).optional(),
  since: z.iso.datetime({ offset: true }).optional().describe('events at or after this time'),
  until: z.iso.datetime({ offset: true }).optional().describe('events before this time'),
  limit: queryInteger(1, 500).default(100),
  afterSeq: queryInteger(0, Number.MAX_SAFE_INTEGER)
    .default(0)
    .describe('only events with a higher seq (nextAfterSeq of the previous page)'),
});

/** A tenant as the registry holds it. */
export const Tenant = z
  .object({
    id: TenantId,
    name: z.string(),
    tier: z.string(),
    region: z.string(),
    drRegion: z.string().optional(),
    activeRegion: z
      .string()
      .optional()
      .describe(
        'Where the tenant is served from after a failover or a restore into its DR partner region; absent: its home region',
      ),
    recoveryRegion: z
      .string()
      .optional()
      .describe(
        'The DR partner region where a restore built a store of this tenant (it has no standby); it stays until offboarding',
      ),
    residency: z.string().optional(),
    deploymentModel: z.enum(['pool', 'silo']),
    status: TenantStatus,
    statusReason: z.string().optional(),
    adminEmail: z.string(),
    features: z.record(z.string(), z.boolean()),
    labels: z.record(z.string(), z.string()),
    resources: z.record(z.string(), z.unknown()),
    readOnly: z
      .object({ since: z.string(), operationId: z.string() })
      .optional()
      .describe('Present while an operation holds the tenant read-only (its data is moving)'),
    retention: z
      .record(z.string(), z.object({ days: z.number().int() }))
      .optional()
      .describe("The tenant's own retention choices per data class (GET /v1/tenants/{id}/retention)"),
    drift: z
      .object({
        checkedAt: z.string(),
        operationId: z.string(),
        resources: z.array(
          z.object({ urn: z.string(), type: z.string(), name: z.string(), change: z.string() }),
        ),
      })
      .optional()
      .describe('The latest drift check of the tenant stacks'),
    offboarding: z
      .object({
        operationId: z.string(),
        reason: z.string(),
        requestedBy: z.string(),
        requestedAt: z.iso.datetime(),
        deletesAt: z.iso.datetime().describe('when the grace period ends and the data is destroyed'),
        exportId: z.string().optional(),
        shreddedAt: z.iso
          .datetime()
          .optional()
          .describe('when the data key was destroyed: no way back since'),
        deletedAt: z.iso.datetime().optional(),
        deleted: z
          .array(
            z.object({
              store: z.enum(['primary', 'standby']),
              region: z.string(),
              database: z.string().optional(),
              target: z.string(),
              unit: z.enum(['rows', 'objects']),
              count: z.number().int(),
            }),
          )
          .optional(),
      })
      .optional()
      .describe('While offboarding: when its data goes; once deleted: the tombstone'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    version: z.number().int(),
  })
  .meta({ id: 'Tenant' }) satisfies z.ZodType<TenantRecord>;

const ErrorInfo = z.object({ type: z.string(), message: z.string() });

/** A long-running operation: its steps and outcome. */
export const Operation = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    kind: z.enum(OPERATION_KINDS),
    status: z.enum(OPERATION_STATUSES),
    run: z.number().int(),
    steps: z.array(
      z.object({
        name: z.string(),
        status: z.enum(STEP_STATUSES),
        attempts: z.number().int(),
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
        error: ErrorInfo.optional(),
        progress: z
          .object({ done: z.number().int(), total: z.number().int(), current: z.string().optional() })
          .optional()
          .describe('Resources done of total, for provisioning steps'),
      }),
    ),
    actor: z.object({ principal: z.string(), role: z.string(), requestId: z.string() }),
    input: z.record(z.string(), z.unknown()),
    error: ErrorInfo.extend({ step: z.string().optional() }).optional(),
    result: z
      .record(z.string(), z.unknown())
      .optional()
      .describe('What the operation found or did (a drift check: its drift; a tier change: rows moved)'),
    approval: z
      .object({
        required: z
          .number()
          .int()
          .describe('approvals it needs, each from another principal than the requester'),
        timeoutAt: z.iso.datetime().describe('when it fails with ApprovalTimedOut without them'),
        decisions: z.array(
          z.object({
            decision: z.enum(['approved', 'rejected']),
            principal: z.string(),
            role: z.string(),
            requestId: z.string(),
            comment: z.string(),
            at: z.iso.datetime(),
          }),
        ),
      })
      .optional()
      .describe('For DR operations: their approval step, who decided, when and with what comment'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
    version: z.number().int(),
  })
  .meta({ id: 'Operation' }) satisfies z.ZodType<OperationSnapshot>;

/** `GET /v1/operations`: across tenants, most recently changed first. */
export const ListOperationsQuery = z.strictObject({
  status: z
    .enum([...OPERATION_STATUSES, 'waiting-approval'])
    .optional()
    .describe('`waiting-approval`: running operations whose approval step waits for a decision'),
  tenant: TenantId.optional(),
  kind: z.enum(OPERATION_KINDS).optional(),
  limit: queryInteger(1, 500).default(100),
});

export const OperationList = z.object({ items: z.array(Operation) }).meta({ id: 'OperationList' });

/** Body of `POST /v1/operations/{id}/approve` and `/reject`. */
export const ApprovalDecisionRequest = z
  .strictObject({
    comment: StoredText.trim().min(1).max(1000).describe('why: kept on the operation and in the audit trail'),
  })
  .meta({ id: 'ApprovalDecisionRequest' });

/** A tenant with a summary of its operations, oldest first. */
export const TenantDetail = Tenant.extend({
  operations: z.array(
    Operation.pick({
      id: true,
      kind: true,
      status: true,
      run: true,
      createdAt: true,
      updatedAt: true,
      finishedAt: true,
    }),
  ),
}).meta({ id: 'TenantDetail' });

/** One page of tenants. */
export const TenantPage = z
  .object({ items: z.array(Tenant), nextCursor: z.string().optional() })
  .meta({ id: 'TenantPage' });

/** An audit trail entry. */
export const AuditEventSchema = z
  .object({
    seq: z.number().int(),
    at: z.iso.datetime(),
    tenantId: z.string().optional(),
    operationId: z.string().optional(),
    actor: z.string(),
    actorRole: z.string().optional(),
    requestId: z.string().optional(),
    action: z.string(),
    outcome: z.string(),
    detail: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AuditEvent' }) satisfies z.ZodType<AuditEvent>;

/** One page of a tenant's audit trail. */
export const AuditEventPage = z
  .object({ items: z.array(AuditEventSchema), nextAfterSeq: z.number().int().optional() })
  .meta({ id: 'AuditEventPage' });

/** An API key without its secret or hash. */
export const ApiKey = z
  .object({
    id: z.string(),
    name: z.string(),
    role: Role,
    createdBy: z.string(),
    createdAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().optional(),
    lastUsedAt: z.iso.datetime().optional(),
  })
  .meta({ id: 'ApiKey' }) satisfies z.ZodType<ApiKeyRecord>;

/** The answer to `POST /v1/api-keys`: the only response that carries the secret. */
export const CreatedApiKey = z
  .object({
    key: ApiKey,
    secret: z.string().optional().describe('shown once; absent when the response is an idempotent replay'),
  })
  .meta({ id: 'CreatedApiKey' });

/** All API keys, revoked ones included. */
export const ApiKeyList = z.object({ items: z.array(ApiKey) }).meta({ id: 'ApiKeyList' });

/** An RFC 9457 problem document, as every error response carries it. */
export const Problem = z
  .object({
    type: z.url(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    requestId: z.string(),
    errors: z
      .array(
        z.object({
          in: z.enum(['body', 'query', 'path', 'header']),
          path: z.array(z.union([z.string(), z.number()])),
          message: z.string(),
          code: z.string(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Problem' });

/** Liveness answer. */
export const Health = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });

/** Readiness answer: each dependency and whether it answered. */
export const Readiness = z
  .object({ status: z.literal('ready'), checks: z.record(z.string(), z.enum(['ok', 'failed'])) })
  .meta({ id: 'Readiness' });

/** Query of `GET /v1/evidence`. */
export const ListEvidenceQuery = z.strictObject({
  tenant: TenantId.optional(),
  kind: z.enum(LEDGER_KINDS).optional(),
  from: z.iso.datetime({ offset: true }).optional().describe('records at or after this time'),
  to: z.iso.datetime({ offset: true }).optional().describe('records before this time'),
  limit: queryInteger(1, 500).default(100),
  afterSeq: queryInteger(0, Number.MAX_SAFE_INTEGER)
    .default(0)
    .describe('only records with a higher seq (nextAfterSeq of the previous page)'),
});

/** One deletion Landlord made, as the ledger holds it. */
export const LedgerRecordSchema = z
  .object({
    seq: z.number().int(),
    at: z.iso.datetime(),
    kind: z.enum(LEDGER_KINDS),
    tenantId: z.string(),
    region: z.string(),
    database: z.string().optional(),
    target: z.string().describe('the table, or the storage prefix'),
    dataClass: z.string().optional(),
    count: z.number().int(),
    unit: z.enum(['rows', 'objects']),
    policy: z.record(z.string(), z.unknown()).optional(),
    runId: z.string().optional(),
    operationId: z.string().optional(),
    requestedBy: z.string(),
    subjectHmac: z.string().optional().describe('the data subject, as an HMAC keyed per tenant'),
    deletedAt: z.iso.datetime().optional().describe('when the deletion committed, where earlier than `at`'),
    recordKey: z.string(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'LedgerRecord' }) satisfies z.ZodType<LedgerRecord>;

export const EvidencePage = z
  .object({ items: z.array(LedgerRecordSchema), nextAfterSeq: z.number().int().optional() })
  .meta({ id: 'EvidencePage' });

export const LedgerVerificationSchema = z
  .union([
    z.object({ ok: z.literal(true), records: z.number().int(), head: z.string() }),
    z.object({
      ok: z.literal(false),
      records: z.number().int(),
      brokenAt: z.number().int(),
      reason: z.string(),
    }),
  ])
  .meta({ id: 'LedgerVerification' }) satisfies z.ZodType<LedgerVerification>;

const Reason = StoredText.trim().min(1).max(500).describe('why, in words a later reader understands');
/** A date (end of that day, UTC) or a time with its zone. */
const Until = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

/** Body of `POST /v1/tenants/{id}/legal-holds`. No scope holds the whole tenant. */
export const PlaceLegalHoldRequest = z
  .strictObject({
    reason: Reason,
    dataClasses: z
      .array(StoredText.min(1).max(64))
      .min(1)
      .max(20)
      .optional()
      .describe("data classes of the application's manifest"),
    subjects: z
      .array(StoredText.trim().min(1).max(256))
      .min(1)
      .max(100)
      .optional()
      .describe("values of the manifest tables' subject keys"),
    until: Until.optional().describe('the hold ends by itself then; a date means the end of that day (UTC)'),
  })
  .meta({ id: 'PlaceLegalHoldRequest' });

/** Body of `DELETE /v1/tenants/{id}/legal-holds/{holdId}`. */
export const ReleaseLegalHoldRequest = z
  .strictObject({ reason: Reason })
  .meta({ id: 'ReleaseLegalHoldRequest' });

export const LegalHoldParams = z.strictObject({
  id: TenantId,
  holdId: z.string().regex(HOLD_ID_PATTERN, 'a hold id such as hold_0a1b2c3d4e5f6071'),
});

export const LegalHoldSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    reason: z.string(),
    dataClasses: z.array(z.string()).optional(),
    subjects: z.array(z.string()).optional(),
    until: z.iso.datetime().optional(),
    createdAt: z.iso.datetime(),
    createdBy: z.string(),
    releasedAt: z.iso.datetime().optional(),
    releasedBy: z.string().optional(),
    releaseReason: z.string().optional(),
    storageRules: z
      .object({ operationId: z.string().optional(), error: z.string().optional() })
      .optional()
      .describe(
        "AWS and GCP silos: the operation that brings the buckets' lifecycle rules in line with the holds, or why it could not be asked for",
      ),
  })
  .meta({ id: 'LegalHold' }) satisfies z.ZodType<LegalHold>;

export const LegalHoldList = z
  .object({ items: z.array(LegalHoldSchema.extend({ active: z.boolean() })) })
  .meta({ id: 'LegalHoldList' });

// --- retention -----------------------------------------------------------------------------------

const DataClass = StoredText.min(1).max(64);
const RetentionDays = z
  .number()
  .int('whole days')
  .positive('at least 1 day')
  .max(36_500, 'at most 100 years');

/** Body of `PUT /v1/tenants/{id}/retention`: the tenant's choices, replacing its earlier ones. */
export const SetRetentionRequest = z
  .strictObject({
    dataClasses: z
      .record(DataClass, z.strictObject({ days: RetentionDays }))
      .refine((r) => Object.keys(r).length <= 20, 'at most 20 data classes')
      .describe('days per data class, within what the tier allows; a class left out follows its tier'),
  })
  .meta({ id: 'SetRetentionRequest' });

const EffectiveRetentionSchema = z.object({
  dataClass: z.string(),
  days: z.number().int().optional().describe('absent: kept forever'),
  source: z.enum(['default', 'tier', 'tenant']),
  tenantChoiceIgnored: z
    .object({ days: z.number().int() })
    .optional()
    .describe("the tenant's choice, outside what its tier now allows, so not applied"),
  tenantBounds: z
    .object({ minDays: z.number().int(), maxDays: z.number().int() })
    .optional()
    .describe('what the tenant may choose (absent: it may not)'),
});

export const TenantRetentionSchema = z
  .object({ tenantId: z.string(), tier: z.string(), dataClasses: z.array(EffectiveRetentionSchema) })
  .meta({ id: 'TenantRetention' });

/** Body of `POST /v1/retention/runs`. */
export const StartRetentionRunRequest = z
  .strictObject({
    dryRun: z.boolean().default(false).describe('report what a real run would delete; delete nothing'),
    force: z
      .boolean()
      .default(false)
      .describe("delete past the guard (a table losing more than the configured share of a tenant's rows)"),
    tenants: z.array(TenantId).min(1).max(1000).optional().describe('only these tenants'),
    dataClasses: z.array(DataClass).min(1).max(20).optional().describe('only these data classes'),
  })
  .meta({ id: 'StartRetentionRunRequest' });

export const RETENTION_RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/;
export const RetentionRunParams = z.strictObject({
  id: z.string().regex(RETENTION_RUN_ID_PATTERN, 'a retention run id such as ret-…'),
});

export const ListRetentionRunsQuery = z.strictObject({
  limit: queryInteger(1, 100).default(20),
  before: z
    .string()
    .regex(RETENTION_RUN_ID_PATTERN, 'a retention run id')
    .optional()
    .describe('the last run of the previous page'),
});

export const RetentionRunPartsQuery = z.strictObject({
  limit: queryInteger(1, 500).default(100),
  afterTenant: TenantId.optional().describe("the previous page's last tenant"),
});

const RetentionTableReportSchema = z.object({
  table: z.string().describe('the table, or for objects the storage prefix'),
  unit: z
    .literal('objects')
    .optional()
    .describe("absent: rows of a table; `objects`: files under a storage prefix of a local silo's folder"),
  dataClass: z.string(),
  days: z.number().int().optional(),
  source: z.enum(['default', 'tier', 'tenant']),
  rows: z.number().int(),
  expired: z.number().int(),
  deleted: z.number().int().describe('in a dry run: what a real run would delete'),
  skippedUnderHold: z.number().int(),
  keptReferenced: z.number().int().optional().describe('expired rows other rows still reference'),
  guard: z.enum(['tripped', 'forced']).optional(),
  batches: z.number().int(),
  longestBatchMs: z.number().int().describe('how long the longest batch held its locks'),
});

export const RetentionTenantPartSchema = z
  .object({
    tenantId: z.string(),
    operationId: z.string().optional(),
    status: z.enum(['succeeded', 'failed', 'skipped']),
    reason: z.string().optional(),
    tables: z.array(RetentionTableReportSchema),
    policyShortened: z
      .array(z.object({ dataClass: z.string(), from: z.number().int(), to: z.number().int() }))
      .optional()
      .describe("classes whose days are fewer than in the tenant's last real run"),
    recordedAt: z.iso.datetime().optional(),
  })
  .meta({ id: 'RetentionTenantPart' }) satisfies z.ZodType<RetentionTenantPart>;

export const RetentionRunSchema = z
  .object({
    id: z.string(),
    trigger: z.enum(['schedule', 'api']),
    requestedBy: z.string(),
    dryRun: z.boolean(),
    force: z.boolean(),
    tenants: z.array(z.string()).optional(),
    dataClasses: z.array(z.string()).optional(),
    status: z.enum(RETENTION_RUN_STATUSES),
    progress: z.object({ done: z.number().int(), total: z.number().int().optional() }),
    totals: z.object({
      expired: z.number().int(),
      deleted: z.number().int(),
      skippedUnderHold: z.number().int(),
      guardTripped: z.number().int(),
      failedTenants: z.number().int(),
    }),
    error: ErrorInfo.optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
  })
  .meta({ id: 'RetentionRun' }) satisfies z.ZodType<RetentionRun>;

export const RetentionRunDetail = RetentionRunSchema.extend({
  parts: z.array(RetentionTenantPartSchema).describe("the tenants' parts so far, in tenant id order"),
  nextAfterTenant: z.string().optional().describe('pass as afterTenant for the next page of parts'),
}).meta({ id: 'RetentionRunDetail' });

export const RetentionRunPage = z
  .object({ items: z.array(RetentionRunSchema), nextBefore: z.string().optional() })
  .meta({ id: 'RetentionRunPage' });

export const RetentionScheduleSchema = z
  .object({
    id: z.string(),
    paused: z.boolean(),
    note: z.string().optional(),
    spec: z.object({ cron: z.string().optional(), every: z.string().optional() }),
    overlap: z.string(),
    catchupWindow: z.string(),
    nextActionTimes: z.array(z.iso.datetime()),
    recentActions: z.array(
      z.object({ scheduledAt: z.iso.datetime(), takenAt: z.iso.datetime(), runId: z.string() }),
    ),
  })
  .meta({ id: 'RetentionSchedule' });

export const RetentionScheduleChangeRequest = z
  .strictObject({ note: StoredText.trim().min(1).max(500).optional().describe('why, shown on the schedule') })
  .meta({ id: 'RetentionScheduleChangeRequest' });

/**
 * A data subject's key as the application stores it: 1 to 256 printable characters (counted as
 * Unicode code points, as JSON Schema counts them), no control characters.
 */
const Subject = StoredText
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  .regex(/^[^\u0000-\u001f\u007f-\u009f]*$/, 'must be printable: no control characters')
  .refine((s) => {
    const n = [...s].length;
    return n >= 1 && n <= SUBJECT_MAX_LENGTH;
  }, `must be 1 to ${SUBJECT_MAX_LENGTH} characters`)
  // One pattern in the document: the control characters include NUL, which StoredText's refuses.
  .meta({ minLength: 1, maxLength: SUBJECT_MAX_LENGTH, pattern: '^[^\\u0000-\\u001f\\u007f-\\u009f]*$' });

/** Body of `POST /v1/tenants/{id}/erasures`. */
export const EraseSubjectRequest = z
  .strictObject({
    subject: Subject.describe("the subject's key: a value of the manifest tables' subject key columns"),
    reason: Reason,
    receivedAt: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('when the data subject asked (default: now); the request is due 30 days later'),
  })
  .meta({ id: 'EraseSubjectRequest' });

export const ErasureParams = z.strictObject({
  id: TenantId,
  erasureId: z.string().regex(ERASURE_ID_PATTERN, 'an erasure id such as erasure_0a1b2c3d4e5f6071'),
});

export const ErasureListQuery = z.strictObject({
  limit: queryInteger(1, 200).default(50),
  before: z
    .string()
    .regex(ERASURE_ID_PATTERN, 'an erasure id')
    .optional()
    .describe('only requests older than this one (the last id of the previous page)'),
});

const ErasureCountSchema = z.object({
  store: z.enum(['primary', 'standby']),
  region: z.string(),
  database: z.string().optional(),
  target: z.string().describe('the table, or the storage prefix'),
  mode: z.enum(['delete', 'anonymize']),
  unit: z.enum(['rows', 'objects']),
  count: z.number().int(),
});

/** An erasure request; its subject is never shown, only (once begun) its per-tenant HMAC. */
export const ErasureSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    operationId: z.string().optional(),
    status: z.enum(ERASURE_STATUSES),
    reason: z.string(),
    receivedAt: z.iso.datetime(),
    dueBy: z.iso.datetime(),
    overdue: z.boolean().describe('past dueBy and not erased'),
    requestedBy: z.string(),
    subjectHmac: z.string().optional(),
    counts: z.array(ErasureCountSchema).describe('per store and table (or storage prefix)'),
    blockedBy: z.array(z.string()).optional().describe('the legal holds it waits for'),
    error: z.object({ type: z.string(), message: z.string() }).optional(),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
  })
  .meta({ id: 'Erasure' }) satisfies z.ZodType<ErasureRequest>;

export const ErasureList = z
  .object({ items: z.array(ErasureSchema), nextBefore: z.string().optional() })
  .meta({ id: 'ErasureList' });

/** The answer to an erasure request: its operation, and the request as recorded. */
export const ErasureAccepted = Operation.extend({ erasure: ErasureSchema }).meta({ id: 'ErasureAccepted' });

export const ExportParams = z.strictObject({
  id: TenantId,
  exportId: z.string().regex(EXPORT_ID_PATTERN, 'an export id such as export_0a1b2c3d4e5f6071'),
});

/** A tenant's export: its sealed archive's size and checksum, each table's rows and checksum. */
export const ExportSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    operationId: z.string().describe('the operation that made it'),
    createdAt: z.iso.datetime().describe("when the tenant's rows were read"),
    keyId: z.string().describe("the tenant data key it is sealed with; once destroyed, it can't be read"),
    format: z.literal(EXPORT_FORMAT),
    bytes: z.number().int().describe('size of the sealed file'),
    sha256: z.string().describe('SHA-256 of the sealed file'),
    schemaVersion: z.string().describe("the application's latest migration in the tenant's database"),
    tables: z.array(
      z.object({
        name: z.string(),
        rows: z.number().int(),
        sha256: z.string().describe('SHA-256 of its <table>.jsonl file in the archive'),
      }),
    ),
    verifiedAt: z.iso
      .datetime()
      .optional()
      .describe('when its counts and checksums were found to match the archive'),
  })
  .meta({ id: 'Export' }) satisfies z.ZodType<TenantExport>;

export const ExportList = z.object({ items: z.array(ExportSchema) }).meta({ id: 'ExportList' });

/** A downloaded export: the archive decrypted. */
export const ExportArchive = z.string().meta({
  format: 'binary',
  description: 'a tar of one <table>.jsonl per manifest table (JSON Lines) and manifest.json',
});

export const BackupParams = z.strictObject({
  id: TenantId,
  backupId: z.string().regex(BACKUP_ID_PATTERN, 'a backup id such as backup_0a1b2c3d4e5f6071'),
});

/** A tenant's backup in the catalog: where it is, its size and checksum, each table's rows and checksum. */
export const BackupSchema = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    operationId: z.string().describe('the operation that took it'),
    takenAt: z.iso.datetime().describe('when its snapshot was taken: the newest data it holds is from then'),
    region: z.string().describe('where its rows were read'),
    deploymentModel: z.enum(['pool', 'silo']),
    keyId: z.string().describe("the tenant data key it is sealed with; once destroyed, it can't be read"),
    format: z.literal(BACKUP_FORMAT),
    location: z.string().describe('`local` (the data folder) or the bucket URL it was written to'),
    objectKey: z.string(),
    bytes: z.number().int().describe('size of the sealed file'),
    sha256: z.string().describe('SHA-256 of the sealed file'),
    schemaVersion: z.string().describe("the application's latest migration in the tenant's database"),
    tables: z.array(
      z.object({
        name: z.string(),
        columns: z.array(z.string()),
        rows: z.number().int(),
        sha256: z.string().describe("SHA-256 of the table's COPY text in the archive"),
      }),
    ),
    expiresAt: z.iso
      .datetime()
      .describe("taken at plus the tier's backup.retentionDays; a legal hold keeps it"),
    status: z.enum(BACKUP_STATUSES),
    expiredAt: z.iso
      .datetime()
      .optional()
      .describe('when its file was deleted (a backup.expire ledger record)'),
    verifiedAt: z.iso.datetime().optional().describe('the latest restore verification that found it whole'),
  })
  .meta({ id: 'Backup' }) satisfies z.ZodType<TenantBackup>;

export const BackupListQuery = z.strictObject({
  limit: queryInteger(1, 1000).default(100).describe('newest first, at most this many'),
  status: z.enum(BACKUP_STATUSES).optional(),
});

export const BackupList = z.object({ items: z.array(BackupSchema) }).meta({ id: 'BackupList' });

/** Body of `POST /v1/tenants/{id}/restore`: one backup, by id or as the latest at or before a time. */
export const RestoreRequest = z
  .strictObject({
    backupId: z
      .string()
      .regex(BACKUP_ID_PATTERN, 'a backup id such as backup_0a1b2c3d4e5f6071')
      .optional()
      .describe('the backup to restore'),
    pointInTime: z.iso
      .datetime({ offset: true })
      .optional()
      .describe('restore the latest available backup taken at or before this time'),
    region: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,31}$/, 'a region id such as local-b')
      .optional()
      .describe(
        "restore into this region: the home region's DR partner (a tenant without a standby recovered " +
          'there, its store built from the backup) or its home region (brought back); alone, the latest ' +
          'available backup',
      ),
  })
  .refine((r) => r.backupId === undefined || r.pointInTime === undefined, {
    message: 'give either backupId or pointInTime, not both',
  })
  .refine((r) => r.backupId !== undefined || r.pointInTime !== undefined || r.region !== undefined, {
    message: 'give backupId, pointInTime or region',
  })
  .refine((r) => r.pointInTime === undefined || Date.parse(r.pointInTime) <= Date.now(), {
    message: 'pointInTime is in the future',
    path: ['pointInTime'],
  })
  .meta({ id: 'RestoreRequest' });

/** Body of `POST /v1/tenants/{id}/failover` and `/failback`. */
export const FailoverRequest = z
  .strictObject({ reason: Reason.optional().describe('why: kept on the operation') })
  .meta({ id: 'FailoverRequest' });

/** Path parameter of the region routes: a region id as regions.json spells them (domain/policy.ts). */
export const RegionIdParams = z.strictObject({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'a region id such as local-a'),
});

/** The most DR tenants a region failover fails over at once. */
export const MAX_FAILOVER_WAVE_SIZE = 50;

/** Body of `POST /v1/regions/{id}/failover`. */
const RegionWaves = {
  reason: Reason.optional().describe('why: kept on the operation'),
  waveSize: z
    .number()
    .int()
    .min(1)
    .max(MAX_FAILOVER_WAVE_SIZE)
    .default(5)
    .describe("how many of the region's tenants are failed over, restored or drilled at once"),
};

export const RegionFailoverRequest = z
  .strictObject({
    ...RegionWaves,
    includeBackupRestores: z
      .boolean()
      .default(false)
      .describe(
        "also recover the region's tenants without DR in the partner region, after the failovers: each " +
          'a restore of its latest backup there, pre-approved by this operation',
      ),
  })
  .meta({ id: 'RegionFailoverRequest' });

/** Body of `POST /v1/regions/{id}/drills`. */
export const RegionDrillRequest = z.strictObject(RegionWaves).meta({ id: 'RegionDrillRequest' });

const MeasuredRecoverySchema = z.object({
  operationId: z.string(),
  kind: z.string(),
  at: z.iso.datetime(),
  rtoMs: z
    .number()
    .describe(
      'from the decision to recover (the approval) to writes back on; for a drill, from its start to its copy verified ready',
    ),
  rpoMs: z.number().describe('the age of the newest data recovered when the recovery was asked for'),
  rtoMet: z.boolean(),
  rpoMet: z.boolean(),
});

/** The latest measurement of a tenant's replication to its DR standby (domain/replication.ts). */
const ReplicationStatusSchema = z.object({
  tenantId: z.string(),
  source: z.string().describe("the region replicated from: the active silo's"),
  target: z.string().describe("the region replicated to: the standby's"),
  state: z.enum(REPLICATION_STATES),
  lagMs: z
    .number()
    .optional()
    .describe('how long after it was written on the source a heartbeat was seen on the target'),
  lagBytes: z.number().optional().describe('bytes of WAL the target had not confirmed'),
  newestDataAt: z.iso
    .datetime()
    .optional()
    .describe('when the newest heartbeat the target holds was written on the source'),
  measuredAt: z.iso.datetime(),
  reason: z.string().optional().describe('why it is broken or stopped'),
}) satisfies z.ZodType<ReplicationStatus>;

/** A tenant's disaster-recovery standing (domain/dr-status.ts). */
export const TenantDrStatusSchema = z
  .object({
    tenantId: z.string(),
    tier: z.string(),
    status: z.string(),
    deploymentModel: z.enum(['pool', 'silo']),
    drEnabled: z.boolean().describe('whether its tier keeps a standby in the DR partner region'),
    targets: z.object({ rto: z.string(), rpo: z.string(), rtoMs: z.number(), rpoMs: z.number() }),
    latestBackup: z
      .object({ id: z.string().optional(), takenAt: z.iso.datetime(), ageMs: z.number() })
      .optional(),
    rpoNowMs: z
      .number()
      .optional()
      .describe(
        'the data it would lose now: the age of its newest backup, or its replication lag while that streams',
      ),
    rtoEstimateMs: z.number().optional().describe('how long its latest verified restore took'),
    verification: z
      .object({
        runId: z.string(),
        backupId: z.string().optional(),
        ok: z.boolean(),
        at: z.iso.datetime(),
        restoreMs: z.number().optional(),
        problems: z.array(z.string()),
      })
      .optional()
      .describe('its latest restore verification: the last verified backup when ok'),
    lastRecovery: MeasuredRecoverySchema.optional().describe(
      'its latest restore, failover, failback or drill, as measured',
    ),
    replication: ReplicationStatusSchema.optional().describe(
      'its replication to its DR standby, as last measured',
    ),
    withinTarget: z.boolean(),
    problems: z.array(z.string()).describe('why it is out of target, most serious first'),
  })
  .meta({ id: 'TenantDrStatus' }) satisfies z.ZodType<TenantDrStatus>;

export const DrReportQuery = z.strictObject({
  limit: queryInteger(1, 1000).default(100).describe('tenants out of target first, at most this many'),
  outOfTarget: z.enum(['true', 'false']).optional().describe('`true`: only tenants out of target'),
});

export const DrReport = z
  .object({
    generatedAt: z.iso.datetime(),
    tenants: z.number().int().describe('active and suspended tenants'),
    outOfTarget: z.number().int(),
    items: z.array(TenantDrStatusSchema),
  })
  .meta({ id: 'DrReport' });

/** Body of `POST /v1/tenants/{id}/offboard`. */
export const OffboardRequest = z
  .strictObject({
    reason: Reason,
    graceDays: z
      .number()
      .int()
      .min(0)
      .max(365)
      .optional()
      .describe("days the data is kept, access off, before it is destroyed (default: the tier's)"),
    export: z.boolean().default(true).describe('export the data first (sealed with the tenant key)'),
  })
  .meta({ id: 'OffboardRequest' });

// --- restore verification ------------------------------------------------------------------------

const VerificationShare = z
  .number()
  .min(0, 'a share from 0 to 1')
  .max(1, 'a share from 0 to 1')
  .describe(
    'the chance that each active or suspended tenant on a tier without DR is in the sample; every tenant on a DR tier is (default: LANDLORD_DR_VERIFY_SHARE)',
  );

/** Body of `POST /v1/dr/verifications`: the tenants to verify, or the share to sample; not both. */
export const StartVerificationRequest = z
  .strictObject({
    tenants: z
      .array(TenantId)
      .min(1)
      .max(1000)
      .refine((ids) => new Set(ids).size === ids.length, 'names a tenant twice')
      .meta({ uniqueItems: true })
      .optional()
      .describe("exactly these tenants' latest backups, instead of a sample"),
    share: VerificationShare.optional(),
  })
  .refine((b) => b.tenants === undefined || b.share === undefined, {
    message: 'share draws a sample: give tenants or share, not both',
    path: ['share'],
  })
  .meta({ id: 'StartVerificationRequest', not: { required: ['tenants', 'share'] } });

export const VERIFICATION_RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9:._-]{0,127}$/;
const VerificationRunId = z
  .string()
  .regex(VERIFICATION_RUN_ID_PATTERN, 'a verification run id such as drv-…');

export const VerificationRunParams = z.strictObject({ id: VerificationRunId });

export const ListVerificationRunsQuery = z.strictObject({
  limit: queryInteger(1, 100).default(20),
  before: VerificationRunId.optional().describe('the last run of the previous page'),
});

export const VerificationRunSchema = z
  .object({
    id: z.string(),
    trigger: z.enum(['schedule', 'api']),
    requestedBy: z.string(),
    share: z.number(),
    tenants: z.array(z.string()).optional().describe('the tenants named, when the run did not sample'),
    status: z.enum(VERIFICATION_RUN_STATUSES).describe('`failed`: the run itself broke, not a backup'),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
    total: z.number().int().describe('tenants in the sample (0 until it is drawn)'),
    verified: z.number().int().describe('tenants whose latest backup restored and matched the catalog'),
    failed: z.number().int().describe('tenants whose verification failed'),
    error: ErrorInfo.optional(),
  })
  .meta({ id: 'VerificationRun' }) satisfies z.ZodType<VerificationRun>;

export const VerificationResultSchema = z
  .object({
    runId: z.string(),
    tenantId: z.string(),
    backupId: z.string().optional().describe('absent: the tenant had no backup to verify'),
    ok: z.boolean(),
    problems: z.array(z.string()).describe('why it is not ok; empty when it is'),
    restoreMs: z.number().int().optional().describe('how long the restore into a scratch database took'),
    tables: z
      .array(
        z.object({
          name: z.string(),
          rows: z.number().int(),
          expectedRows: z.number().int(),
          sha256: z.string(),
          expectedSha256: z.string(),
        }),
      )
      .optional()
      .describe('each table as read back, against what the catalog records'),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime(),
  })
  .meta({ id: 'VerificationResult' }) satisfies z.ZodType<VerificationResult>;

export const VerificationRunDetailSchema = VerificationRunSchema.extend({
  results: z.array(VerificationResultSchema).describe("the tenants' results so far, in tenant id order"),
}).meta({ id: 'VerificationRunDetail' });

export const VerificationRunPage = z
  .object({ items: z.array(VerificationRunSchema), nextBefore: z.string().optional() })
  .meta({ id: 'VerificationRunPage' });
