/**
 * Activity stubs with their timeouts and retry policies, in one place. Types only: the
 * implementations live in activities/ and are wired by the worker.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import { NON_RETRYABLE_ERROR_TYPES } from '../domain/errors.js';
import type { DataActivities } from '../activities/data/index.js';
import type { ErasureRequestActivities } from '../activities/erasure/index.js';
import type { KeyActivities } from '../activities/keys/index.js';
import type { NotificationActivities } from '../activities/notifications/index.js';
import type { PolicyActivities } from '../activities/policy/index.js';
import type { TenantDatabaseActivities } from '../activities/pool/index.js';
import type { RegistryActivities } from '../activities/registry/index.js';

const nonRetryableErrorTypes = [...NON_RETRYABLE_ERROR_TYPES];

/** Registry projections: small idempotent writes, run as local activities to save round trips. */
export const registry = proxyLocalActivities<RegistryActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
});

/** Policy checks are pure computation over the worker's config: local, no server round trip. */
export const policy = proxyLocalActivities<PolicyActivities>({
  startToCloseTimeout: '10s',
  retry: { initialInterval: '200ms', maximumAttempts: 5, nonRetryableErrorTypes },
});

/**
 * An erasure request's registry side (the subject's HMAC may need the KMS): short, retried while
 * the registry or the KMS is unreachable.
 */
export const erasures = proxyActivities<ErasureRequestActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
});

/**
 * Tenant data keys on the lifecycle queue: a registry write and, with a KMS key, one KMS call;
 * retried while either is unreachable. They return key ids, never key material.
 */
export const keys = proxyActivities<KeyActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes },
});

/** Data-plane changes: transient database errors retry with backoff, then the saga compensates. */
export const databases = proxyActivities<TenantDatabaseActivities>({
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '500ms',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 8,
    nonRetryableErrorTypes,
  },
});

/** Compensations must not give up while the database is merely unreachable. */
export const databaseCompensation = proxyActivities<TenantDatabaseActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', nonRetryableErrorTypes },
});

/** Webhooks: a receiver that is down is retried for an hour before onboarding gives up. */
export const notifications = proxyActivities<NotificationActivities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m', nonRetryableErrorTypes },
});

/**
 * Data moves on the data workers' queue: copying a tenant's rows can take a while; heartbeats tell.
 * A call no data worker picks up within two minutes fails, so a frozen tenant is thawed rather than
 * left waiting for a worker that is not running.
 */
export function dataOn(taskQueue: string) {
  return proxyActivities<DataActivities>({
    taskQueue,
    scheduleToStartTimeout: '2m',
    startToCloseTimeout: '2h',
    heartbeatTimeout: '1m',
    retry: {
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '1m',
      maximumAttempts: 5,
      nonRetryableErrorTypes,
    },
  });
}

/**
 * Data-queue undos that must not give up while the data workers are down (dropping a restore's
 * staging database: tenant data that would otherwise outlive the operation): retried for a day.
 */
export function dataCleanup(taskQueue: string) {
  return proxyActivities<DataActivities>({
    taskQueue,
    scheduleToCloseTimeout: '24h',
    startToCloseTimeout: '30m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '10m', nonRetryableErrorTypes },
  });
}

/**
 * Data-queue calls made on the way out of a failed or cancelled run (evidence forwarded): tried
 * briefly, so a data worker that is down delays the run's end by a minute, not by retries.
 */
export function dataOnTheWayOut(taskQueue: string) {
  return proxyActivities<DataActivities>({
    taskQueue,
    scheduleToStartTimeout: '30s',
    startToCloseTimeout: '2m',
    heartbeatTimeout: '1m',
    retry: { initialInterval: '1s', maximumAttempts: 2, nonRetryableErrorTypes },
  });
}

/**
 * Moves what a tenant's deletion batches committed from its databases' outboxes into the ledger:
 * the primary's, then its DR standby's when it has one. Returns how many records went.
 */
export async function forwardStoreEvidence(
  via: Pick<ReturnType<typeof dataOn>, 'forwardDeletionEvidence'>,
  tenant: Parameters<DataActivities['forwardDeletionEvidence']>[0]['tenant'],
  withStandby: boolean,
): Promise<number> {
  const primary = await via.forwardDeletionEvidence({ tenant, store: 'primary' });
  return primary + (withStandby ? await via.forwardDeletionEvidence({ tenant, store: 'standby' }) : 0);
}
