import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackLockFiles } from '../../activities/provisioning/stack-lock.js';
import { inspectLocalSilo } from '../../pulumi/local/providers.js';
import { localSiloNames } from '../../pulumi/local/tenant-silo.js';
import { SILO_PROJECT } from '../../domain/index.js';
import type { OperationSnapshot } from '../../domain/index.js';
import { pulumiEnvironment } from '../../workers/provisioning.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { listStacks, pulumiCli } from '../support/pulumi-cli.js';
import { testStack } from '../support/stack.js';

const stackNames = (h: Harness) => listStacks(h).map((name) => name.split('/').at(-1));

async function createPremium(h: Harness, id: string): Promise<string> {
  const res = await h.api('POST', '/v1/tenants', {
    role: 'sales',
    body: { name: `Silo ${id}`, tier: 'premium', region: 'local-a', adminEmail: `owner@${id}.test`, id },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body!.id as string;
}

/** Waits until the primary stack's update has finished at least one resource. */
async function waitForProvisioningProgress(h: Harness, operationId: string): Promise<OperationSnapshot> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const op = (await h.api('GET', `/v1/operations/${operationId}`)).body as unknown as OperationSnapshot;
    const step = op.steps.find((s) => s.name === 'provision-primary');
    if (step?.status === 'running' && (step.progress?.done ?? 0) >= 1) return op;
    if (op.status !== 'running')
      throw new Error(`operation ended before provisioning was under way: ${JSON.stringify(op)}`);
    if (Date.now() > deadline) throw new Error('provisioning showed no progress within 2 minutes');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('silo provisioning under failure', () => {
  it('cancelling a running provisioning rolls it back and leaves the stack unlocked', async () => {
    const h = await Harness.create({ provisioning: true });
    try {
      const id = uniqueTenantId('cxl');
      const opId = await createPremium(h, id);
      const running = await waitForProvisioningProgress(h, opId);
      expect(
        running.steps.find((s) => s.name === 'provision-primary')!.progress!.total,
      ).toBeGreaterThanOrEqual(7);
      expect((await h.api('POST', `/v1/operations/${opId}/cancel`, { role: 'operator' })).status).toBe(202);
      const done = await h.waitForOperation(opId, 180_000);
      expect(done.status).toBe('cancelled');
      expect(done.error).toMatchObject({ type: 'OperationCancelled', step: 'provision-primary' });
      expect(done.steps.find((s) => s.name === 'provision-primary')!.status).toBe('failed');
      expect((await h.api('GET', `/v1/tenants/${id}`)).body).toMatchObject({ status: 'failed' });
      // Nothing orphaned: the compensation destroyed what the update had made, and removed the stack.
      const names = localSiloNames(id, join(h.config.dataDir, 'objects'), 'local-a');
      expect(await inspectLocalSilo(testStack().regionUrls['local-a']!, names)).toEqual({
        database: false,
        role: false,
        folder: false,
      });
      expect(stackNames(h)).not.toContain(`${id}.local-a`);
      expect(
        stackLockFiles(
          pulumiEnvironment(h.config, testStack().secret).backendUrl,
          SILO_PROJECT,
          `${id}.local-a`,
        ),
      ).toEqual([]);
    } finally {
      await h.close();
    }
  });

  it('finishes provisioning after the provisioning worker is SIGKILLed mid-update', async () => {
    const h = await Harness.create({});
    try {
      let worker = await h.spawnWorkerProcess('provisioning');
      const id = uniqueTenantId('kill');
      const opId = await createPremium(h, id);
      await waitForProvisioningProgress(h, opId);
      await Harness.kill(worker);
      worker = await h.spawnWorkerProcess('provisioning');
      const done = await h.waitForOperation(opId, 240_000);
      expect(done.status, JSON.stringify(done.error)).toBe('succeeded');
      expect(done.steps.find((s) => s.name === 'provision-primary')!.attempts).toBeGreaterThanOrEqual(1);

      const stack = `${id}.local-a`;
      expect(
        stackLockFiles(pulumiEnvironment(h.config, testStack().secret).backendUrl, SILO_PROJECT, stack),
      ).toEqual([]);
      const state = JSON.parse(
        pulumiCli(h, ['stack', 'export', '--stack', `organization/${SILO_PROJECT}/${stack}`]),
      ) as {
        deployment: { resources: { urn: string }[]; pending_operations?: unknown[] };
      };
      const urns = state.deployment.resources.map((r) => r.urn);
      // Exactly one of each resource, nothing pending.
      expect(new Set(urns).size).toBe(urns.length);
      expect(urns.filter((u) => u.includes('pulumi-nodejs:dynamic:Resource'))).toHaveLength(5);
      expect(state.deployment.pending_operations ?? []).toEqual([]);
      const names = localSiloNames(id, join(h.config.dataDir, 'objects'), 'local-a');
      expect(await inspectLocalSilo(testStack().regionUrls['local-a']!, names)).toEqual({
        database: true,
        role: true,
        folder: true,
      });
    } finally {
      await h.close();
    }
  }, 300_000);
});
