/**
 * Data retention: how long each data class of the manifest is kept after its rows' timestamp,
 * by default, per tier and per tenant (config/retention.json, docs/retention.md). Not to be
 * confused with a tier's backup retention (`tiers.json` `backup.retentionDays`), which is how long
 * backups are kept.
 */
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import type { DataPlaneManifest } from './manifest.js';
import type { TenantRetention } from './tenant.js';

const Days = z.number().int('whole days').positive('at least 1 day').max(36_500, 'at most 100 years');

/**
 * One retention value: `days` after the row's timestamp, or `keep: "forever"`. `minDays`/`maxDays`
 * bound what a tenant may choose instead; without them a tenant may shorten but never lengthen.
 */
const DaysValue = z.strictObject({ days: Days, minDays: Days.optional(), maxDays: Days.optional() });
const ForeverValue = z.strictObject({
  keep: z.literal('forever'),
  minDays: Days.optional(),
  maxDays: Days.optional(),
});
const RetentionValue = z.union([DaysValue, ForeverValue]);
export type RetentionValue = z.infer<typeof RetentionValue>;

/** A retention run's schedule: a cron expression (UTC) or an interval. */
const Schedule = z.union([
  z.strictObject({
    cron: z
      .string()
      .regex(/^\S+( \S+){4}$/, 'a five-field cron expression such as "0 2 * * *"')
      .superRefine((expression, ctx) => {
        // What the Temporal Schedule would refuse, refused at start-up with the parser's reason.
        try {
          CronExpressionParser.parse(expression, { tz: 'UTC' });
        } catch (err) {
          ctx.addIssue({ code: 'custom', message: `not a cron expression: ${(err as Error).message}` });
        }
      }),
  }),
  z.strictObject({ every: z.string().regex(/^[1-9]\d*(m|h|d)$/, 'an interval such as 12h or 1d') }),
]);

export const RetentionPolicyFile = z.strictObject({
  /** When the scheduled run fires (UTC); daily at 02:00 by default. */
  schedule: Schedule.default({ cron: '0 2 * * *' }),
  /** How late a missed firing may still run (the server was down); later ones are skipped. */
  catchupWindow: z
    .string()
    .regex(/^[1-9]\d*(m|h)$/, 'a duration such as 30m or 6h')
    .default('6h'),
  /** How long one delete batch may hold its locks; batch sizes adapt to it. */
  lockBudgetMs: z.number().int().min(5).max(5_000).default(100),
  /** A run stops a table of a tenant instead of deleting more than this share of its rows, unless forced. */
  guardShare: z.number().gt(0).max(1).default(0.5),
  /** Tenants whose parts run at once. */
  concurrency: z.number().int().min(1).max(64).default(4),
  /**
   * Days an erasure request may take from its receipt before it shows overdue: one month by GDPR
   * Art. 12(3), which allows two more for complex requests (so at most 90).
   */
  erasureDueDays: z.number().int().min(1).max(90).default(30),
  // Strict all the way down: a misspelt key ("tier", "maxdays") stops start-up instead of vanishing.
  dataClasses: z.record(
    z.string(),
    z.union([
      DaysValue.extend({ tiers: z.record(z.string(), RetentionValue).optional() }),
      ForeverValue.extend({ tiers: z.record(z.string(), RetentionValue).optional() }),
    ]),
  ),
});
export type RetentionPolicyFile = z.infer<typeof RetentionPolicyFile>;

/** Problems between the retention file, the manifest and the tiers, one line each. */
export function retentionPolicyProblems(
  policy: RetentionPolicyFile,
  manifest: DataPlaneManifest,
  tierIds: readonly string[],
): string[] {
  const problems: string[] = [];
  const classes = new Set([
    ...manifest.tables.map((t) => t.dataClass),
    ...manifest.storage.map((a) => a.dataClass),
  ]);
  for (const dataClass of classes)
    if (!policy.dataClasses[dataClass])
      problems.push(
        `dataClasses.${dataClass}: the manifest has data of class "${dataClass}" but no policy for it`,
      );
  for (const [dataClass, value] of Object.entries(policy.dataClasses)) {
    if (!classes.has(dataClass as never))
      problems.push(
        `dataClasses.${dataClass}: no table or storage prefix of the manifest has data class "${dataClass}"`,
      );
    const values: [string, RetentionValue][] = [
      [`dataClasses.${dataClass}`, value],
      ...Object.entries(value.tiers ?? {}).map(
        ([tier, v]) => [`dataClasses.${dataClass}.tiers.${tier}`, v] as [string, RetentionValue],
      ),
    ];
    for (const tier of Object.keys(value.tiers ?? {}))
      if (!tierIds.includes(tier))
        problems.push(`dataClasses.${dataClass}.tiers.${tier}: unknown tier "${tier}"`);
    for (const [path, v] of values) {
      if (v.minDays !== undefined && v.maxDays !== undefined && v.minDays > v.maxDays)
        problems.push(`${path}: minDays is above maxDays`);
      if ('days' in v && v.maxDays !== undefined && v.days > v.maxDays)
        problems.push(`${path}: days is above maxDays`);
      if ('days' in v && v.minDays !== undefined && v.days < v.minDays)
        problems.push(`${path}: days is below minDays`);
    }
  }
  return problems;
}

export interface EffectiveRetention {
  dataClass: string;
  /** Days after the timestamp; absent: kept forever. */
  days?: number;
  source: 'default' | 'tier' | 'tenant';
  /** The tenant's own choice lies outside what its tier now allows (it moved tiers): not applied. */
  tenantChoiceIgnored?: { days: number };
  /** What the tenant may choose instead (absent: it may not choose). */
  tenantBounds?: { minDays: number; maxDays: number };
}

function boundsOf(value: RetentionValue): { minDays: number; maxDays: number } | undefined {
  const maxDays = value.maxDays ?? ('days' in value ? value.days : undefined);
  if (maxDays === undefined) return undefined;
  return { minDays: value.minDays ?? 1, maxDays };
}

/** The retention of each data class for a tenant on `tier`, and where each value comes from. */
export function effectiveRetention(
  policy: Pick<RetentionPolicyFile, 'dataClasses'>,
  tier: string,
  tenant: TenantRetention = {},
): EffectiveRetention[] {
  return Object.entries(policy.dataClasses).map(([dataClass, value]) => {
    const tierValue = value.tiers?.[tier];
    const base = tierValue ?? value;
    const bounds = boundsOf(base);
    const own = tenant[dataClass];
    const common = { dataClass, ...(bounds ? { tenantBounds: bounds } : {}) };
    const allowed = own && bounds && own.days >= bounds.minDays && own.days <= bounds.maxDays;
    if (own && allowed) return { ...common, days: own.days, source: 'tenant' as const };
    if (own) Object.assign(common, { tenantChoiceIgnored: { days: own.days } });
    return {
      ...common,
      ...('days' in base ? { days: base.days } : {}),
      source: tierValue ? ('tier' as const) : ('default' as const),
    };
  });
}

/** Why a tenant's choices cannot be taken on `tier`, one line per class; empty when they can. */
export function tenantRetentionProblems(
  policy: Pick<RetentionPolicyFile, 'dataClasses'>,
  tier: string,
  choices: TenantRetention,
): string[] {
  const problems: string[] = [];
  const effective = new Map(effectiveRetention(policy, tier).map((e) => [e.dataClass, e]));
  for (const [dataClass, choice] of Object.entries(choices)) {
    const current = effective.get(dataClass);
    if (!current) {
      problems.push(
        `dataClasses.${dataClass}: unknown data class; known: ${[...effective.keys()].join(', ')}`,
      );
      continue;
    }
    const bounds = current.tenantBounds;
    if (!bounds)
      problems.push(
        `dataClasses.${dataClass}: tier "${tier}" keeps this class forever; a tenant cannot change it`,
      );
    else if (choice && (choice.days < bounds.minDays || choice.days > bounds.maxDays))
      problems.push(
        `dataClasses.${dataClass}.days: tier "${tier}" allows ${bounds.minDays} to ${bounds.maxDays} days, not ${choice.days}`,
      );
  }
  return problems;
}
