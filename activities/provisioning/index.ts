/**
 * Provisioning activities (task queue `landlord-provisioning`): Pulumi preview, up, refresh,
 * destroy and drift checks of a tenant's silo stack `<tenant>.<region>` in project `landlord-silo`.
 * Each action runs in its own process; progress is heartbeated and shown on the operation's step;
 * cancelling the activity cancels the engine; failures are classified for Temporal's retries.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure, CancelledFailure, Context } from '@temporalio/activity';
import { SILO_PROJECT, siloStackName } from '../../domain/index.js';
import type { SiloSpec } from '../../domain/index.js';
import type {
  DriftedResource,
  StackAction,
  StackProgress,
  StackRequest,
} from '../../pulumi/stack-protocol.js';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  cloudSiloDatabaseOf,
  prepareCloudSiloDatabase,
  withCloudSiloClient,
} from '../../dataplane/cloud-silo.js';
import { localObjectsRoot, siloOwnerPassword } from '../../dataplane/silo.js';
import type { Registry } from '../../registry/index.js';
import type { StepRef } from '../step-ref.js';
import { stepProgressWriter } from '../step-progress.js';
import { clearStaleLocks } from './stack-lock.js';
import { runStack, StackRunFailed } from './stack-runner.js';
import type { PulumiEnvironment } from './stack-runner.js';

export interface ProvisioningSettings {
  pulumi: PulumiEnvironment;
  /** Work directories (one per stack) and local object storage live under here. */
  dataDir: string;
  /** Superuser URL of each local region's Postgres server. */
  regionServerUrls: Readonly<Record<string, string>>;
  migrationsDir: string;
  /** Master secret: a local silo's owner role has a password derived from it. */
  secret: string;
  /** The Secrets Manager client of an AWS region (RDS keeps a silo's master credentials there). */
  secretsManager?: (region: string) => Pick<SecretsManagerClient, 'send'>;
}

interface StackInput {
  stepRef?: StepRef;
  spec: SiloSpec;
}

/** The stack configuration of a silo in a local region (none for a cloud region's stacks). */
export function localStackConfig(
  settings: Pick<ProvisioningSettings, 'regionServerUrls' | 'secret' | 'dataDir' | 'migrationsDir'>,
  spec: SiloSpec,
): StackRequest['config'] {
  // A Cloud SQL database's `landlord` user gets the password a local silo's owner would.
  if (spec.region.provider === 'gcp')
    return {
      'landlord:ownerPassword': {
        value: siloOwnerPassword(settings.secret, spec.region.id, spec.tenantId),
        secret: true,
      },
    };
  if (spec.region.provider !== 'local') return {};
  const serverUrl = settings.regionServerUrls[spec.region.id];
  if (!serverUrl)
    throw ApplicationFailure.nonRetryable(
      `region "${spec.region.id}" has no Postgres server configured`,
      'Misconfigured',
    );
  return {
    'landlord:serverUrl': { value: serverUrl, secret: true },
    'landlord:ownerPassword': {
      value: siloOwnerPassword(settings.secret, spec.region.id, spec.tenantId),
      secret: true,
    },
    'landlord:objectsRoot': { value: localObjectsRoot(settings.dataDir) },
    'landlord:migrationsDir': { value: settings.migrationsDir },
  };
}

/** Non-secret outputs of a silo stack, as the registry and the API show them. */
export type SiloOutputs = Record<string, unknown>;

export function createProvisioningActivities({
  settings,
  store,
}: {
  settings: ProvisioningSettings;
  store: Registry;
}) {
  const workDirOf = (stack: string) => {
    const dir = join(settings.dataDir, 'pulumi', 'work', SILO_PROJECT, stack);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  const configOf = (spec: SiloSpec) => localStackConfig(settings, spec);

  async function run(action: StackAction, { stepRef, spec }: StackInput, extra: Partial<StackRequest> = {}) {
    const context = Context.current();
    const stack = siloStackName(spec.tenantId, spec.region.id);
    const request: StackRequest = {
      action,
      project: SILO_PROJECT,
      stack,
      spec,
      config: configOf(spec),
      workDir: workDirOf(stack),
      ...extra,
    };
    // A worker killed mid-update leaves its lock behind; its owner is gone, so the lock goes too,
    // and the interrupted update's pending operations are repaired by a refresh first.
    const cleared = clearStaleLocks(settings.pulumi.backendUrl, SILO_PROJECT, stack);
    if (cleared > 0 || context.info.attempt > 1) request.repair = action !== 'preview' && action !== 'drift';
    let latest: StackProgress | undefined;
    const shown = stepProgressWriter(store, stepRef);
    const onProgress = (progress: StackProgress) => {
      latest = progress;
      context.heartbeat(progress);
      shown.report(progress);
    };
    // Heartbeat between engine events too, so a live but quiet update is not taken for dead.
    const beat = setInterval(() => context.heartbeat(latest), 5_000);
    try {
      const result = await runStack(settings.pulumi, request, {
        onProgress,
        signal: context.cancellationSignal,
      });
      if (latest) await shown.finish({ ...latest, done: latest.total });
      return result;
    } catch (err) {
      if (!(err instanceof StackRunFailed)) throw err;
      const { type, message } = err.failure;
      if (type === 'OperationCancelled') throw new CancelledFailure(`stack ${stack}: ${message}`);
      if (type === 'Misconfigured' || type === 'NotFound')
        throw ApplicationFailure.nonRetryable(`stack ${stack}: ${message}`, type);
      // Locked by a live update, pending operations, or a transient engine/provider error: retry.
      throw ApplicationFailure.retryable(`stack ${stack}: ${message}`, type);
    } finally {
      clearInterval(beat);
      // A failed attempt shows how far it got, and nothing of it lands after the next attempt starts.
      await shown.settle();
    }
  }

  return {
    /** Shows what an `up` would change. */
    async previewSilo(input: StackInput): Promise<Record<string, number>> {
      return (await run('preview', input)).changes;
    },
    /**
     * Creates or updates the silo; returns its non-secret outputs. A cloud primary's database is
     * then made ready for the application (its migrations, its IAM user's rights).
     */
    async provisionSilo(input: StackInput): Promise<SiloOutputs> {
      const { outputs } = await run('up', input);
      const { spec } = input;
      if (spec.region.provider !== 'local' && spec.role === 'primary') {
        const db = await cloudSiloDatabaseOf(outputs, {
          region: spec.region.id,
          tenantId: spec.tenantId,
          secret: settings.secret,
          secretsManager: settings.secretsManager ?? ((region) => new SecretsManagerClient({ region })),
        });
        if (!db)
          throw new Error(`stack of tenant ${spec.tenantId} in ${spec.region.id} has no database outputs`);
        await withCloudSiloClient(db, (client) =>
          prepareCloudSiloDatabase(client, {
            provider: spec.region.provider as 'aws' | 'gcp',
            appUser: String(outputs.dbIamUser),
            migrationsDir: settings.migrationsDir,
          }),
        );
      }
      return outputs;
    },
    /** Brings the stack's state in line with what really exists. */
    async refreshSilo(input: StackInput): Promise<SiloOutputs> {
      return (await run('refresh', input)).outputs;
    },
    /** Lists resources that changed or vanished outside Pulumi, without changing anything. */
    async checkSiloDrift(input: StackInput): Promise<DriftedResource[]> {
      return (await run('drift', input)).drift ?? [];
    },
    /** Deletes every resource of the silo and (by default) the stack itself. */
    async destroySilo(input: StackInput & { removeStack?: boolean }): Promise<void> {
      await run('destroy', input, { removeStack: input.removeStack ?? true });
    },
  };
}

export type ProvisioningActivities = ReturnType<typeof createProvisioningActivities>;
