/**
 * Replays workflow histories against today's workflow code: those of a run of mixed scenarios
 * through the real API, and the ones committed under test/fixtures/histories/, so that a change to
 * workflow code that would break a running tenant workflow fails here first.
 *
 * `RECORD_HISTORIES=1 npx vitest run test/integration/replay.test.ts` records fixtures for workflow
 * types that have none yet (the committed ones stay: they are histories of older workflow code);
 * `RECORD_HISTORIES=next` adds two of every type after the ones committed (after a change to the
 * workflows' shape); `RECORD_HISTORIES=all` rewrites them all.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HistoryAndWorkflowId } from '@temporalio/client';
import type * as Proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';
import { Worker } from '@temporalio/worker';
import { format, resolveConfig } from 'prettier';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LandlordError } from '../../domain/index.js';
import type { LifecycleActivities } from '../../workers/lifecycle.js';
import { Harness, uniqueTenantId } from '../support/harness.js';
import { testStack } from '../support/stack.js';

/** Failure stack traces name the recording machine's paths and play no part in replay. */
function withoutStackTraces(json: string): string {
  return JSON.stringify(
    JSON.parse(json, (key, value: unknown) => (key === 'stackTrace' ? '' : value)),
    null,
    2,
  );
}

type History = Proto.temporal.api.history.v1.IHistory;
interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): History;
}

// historyToJSON/historyFromJSON of @temporalio/common throw "type must be a Type" in this install: npm
// gives @temporalio/common and @temporalio/proto each its own protobufjs. The same proto3 JSON (the
// format of `temporal workflow show --output json`) comes from the protobufjs that the types belong to.
const require = createRequire(import.meta.url);
const proto = require('@temporalio/proto') as typeof Proto;
const protoJson = createRequire(require.resolve('@temporalio/proto'))(
  'protobufjs/ext/protojson',
) as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);
const historyToJSON = (history: History) =>
  JSON.stringify(
    protoJson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
    null,
    2,
  );
const historyFromJSON = (json: unknown) =>
  protoJson.fromJson(historyType, json, { ignoreUnknownFields: true });

/** The ids of the patch markers (`patched()`) a history holds. */
function patchesOf(history: History): string[] {
  return (history.events ?? []).flatMap((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return [];
    const data = marker.details?.['patch-data']?.payloads?.[0]?.data;
    return data ? [(JSON.parse(new TextDecoder().decode(data)) as { id: string }).id] : [];
  });
}

const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/histories/', import.meta.url));
const WORKFLOW_TYPES = [
  'tenantWorkflow',
  'onboardTenant',
  'changeTenantAccess',
  'changeTenantTier',
  'backupTenant',
  'restoreTenant',
];

/** Tenant ids whose admin user cannot be created. */
const failingAdminUser = new Set<string>();
/** Tenant ids whose partition creation hangs until the gate opens, then fails without effect. */
const heldPartitions = new Map<string, Promise<void>>();

function injectFaults(activities: LifecycleActivities): LifecycleActivities {
  return {
    ...activities,
    async createPartition(input) {
      const held = heldPartitions.get(input.tenantId);
      if (held) {
        await held;
        throw new LandlordError('InjectedFault', 'partition creation abandoned');
      }
      return activities.createPartition(input);
    },
    async createAdminUser(input) {
      if (failingAdminUser.has(input.tenantId))
        throw new LandlordError('InjectedFault', 'admin user creation failed');
      return activities.createAdminUser(input);
    },
  };
}

async function replayErrors(histories: Iterable<HistoryAndWorkflowId>) {
  const results = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: testStack().workflowBundlePath } },
    histories,
  )) {
    results.push({ workflowId: result.workflowId, error: result.error?.message });
  }
  return results;
}

describe('replaying workflow histories', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await Harness.create({ decorateActivities: injectFaults, data: true });
  });
  afterAll(async () => {
    await h?.close();
  });

  async function accepted(method: string, path: string): Promise<string> {
    const res = await h.api(method, path, { role: 'operator' });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    return res.body!.id as string;
  }

  /** Runs the scenarios; returns how many workflow runs they started. */
  async function runScenarios(): Promise<number> {
    // Onboard, suspend, resume.
    const steady = uniqueTenantId('replay');
    expect(await h.onboard({ id: steady })).toMatchObject({ status: 'succeeded' });
    expect(await h.waitForOperation(await accepted('POST', `/v1/tenants/${steady}/suspend`))).toMatchObject({
      status: 'succeeded',
    });
    expect(await h.waitForOperation(await accepted('POST', `/v1/tenants/${steady}/resume`))).toMatchObject({
      status: 'succeeded',
    });
    // A move between pool tiers (a move into a silo needs the Pulumi and data workers).
    const move = await h.api('PATCH', `/v1/tenants/${steady}`, {
      role: 'operator',
      body: { tier: 'standard' },
    });
    expect(move.status, JSON.stringify(move.body)).toBe(202);
    expect(await h.waitForOperation(move.body!.id as string)).toMatchObject({ status: 'succeeded' });

    // An onboarding that fails, retried once the fault is gone.
    const flaky = uniqueTenantId('replay-retry');
    failingAdminUser.add(flaky);
    const failed = await h.onboard({ id: flaky });
    expect(failed).toMatchObject({
      status: 'failed',
      error: { type: 'InjectedFault', step: 'create-admin-user' },
    });
    failingAdminUser.delete(flaky);
    expect(
      await h.waitForOperation(await accepted('POST', `/v1/operations/${failed.id}/retry`)),
    ).toMatchObject({ status: 'succeeded', run: 2 });

    // A suspend cancelled while queued, then the running onboarding ahead of it cancelled.
    const cancelled = uniqueTenantId('replay-cancel');
    let release!: () => void;
    heldPartitions.set(cancelled, new Promise<void>((r) => (release = r)));
    try {
      const res = await h.api('POST', '/v1/tenants', {
        role: 'sales',
        body: {
          name: 'Cancel me',
          tier: 'basic',
          region: 'local-a',
          adminEmail: 'owner@cancel.test',
          id: cancelled,
        },
      });
      expect(res.status).toBe(202);
      const onboarding = res.body!.id as string;
      // The tenant is recorded (provisioning) before its partition is created.
      for (let look = 0; (await h.api('GET', `/v1/tenants/${cancelled}`)).status !== 200; look++) {
        if (look > 1_000) throw new Error(`tenant ${cancelled} was never recorded`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const suspend = await accepted('POST', `/v1/tenants/${cancelled}/suspend`);
      expect(
        await h.waitForOperation(await accepted('POST', `/v1/operations/${suspend}/cancel`)),
      ).toMatchObject({ status: 'cancelled' });
      await accepted('POST', `/v1/operations/${onboarding}/cancel`);
      expect(await h.waitForOperation(onboarding)).toMatchObject({ status: 'cancelled' });
    } finally {
      release();
    }

    // A suspend asked for twice: the second is refused.
    const twice = uniqueTenantId('replay-twice');
    expect(await h.onboard({ id: twice })).toMatchObject({ status: 'succeeded' });
    const suspend = await accepted('POST', `/v1/tenants/${twice}/suspend`);
    expect((await h.api('POST', `/v1/tenants/${twice}/suspend`, { role: 'operator' })).status).toBe(409);
    expect(await h.waitForOperation(suspend)).toMatchObject({ status: 'succeeded' });

    // A backup, then a restore of it into local-b (the home region's DR partner), approved by another.
    const backup = await h.waitForOperation(await accepted('POST', `/v1/tenants/${steady}/backups`));
    expect(backup).toMatchObject({ status: 'succeeded' });
    const restore = await h.api('POST', `/v1/tenants/${steady}/restore`, {
      role: 'operator',
      body: { region: 'local-b' },
    });
    expect(restore.status, JSON.stringify(restore.body)).toBe(202);
    const restoreId = restore.body!.id as string;
    for (let look = 0; ; look++) {
      const op = (await h.api('GET', `/v1/operations/${restoreId}`)).body!;
      if ((op.steps as { status: string }[])[0]!.status === 'waiting-approval') break;
      if (look > 600) throw new Error(`restore ${restoreId} never waited for its approval`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const approved = await h.api('POST', `/v1/operations/${restoreId}/approve`, {
      role: 'admin',
      body: { comment: 'replay' },
    });
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    expect(await h.waitForOperation(restoreId, 120_000)).toMatchObject({ status: 'succeeded' });

    // 4 tenant workflows, 5 onboarding runs (one retried), 3 access changes, 1 tier change, a
    // backup and a restore.
    return 15;
  }

  /** Every run on the harness's task queue, with its type and history, once visibility has them all. */
  async function fetchHistories(expected: number) {
    const query = `TaskQueue="${h.config.taskQueues.lifecycle}"`;
    for (let look = 0; ; look++) {
      const runs = [];
      for await (const run of h.client.workflow.list({ query })) runs.push(run);
      if (runs.length >= expected) {
        return Promise.all(
          runs.map(async (run) => ({
            type: run.type,
            workflowId: run.workflowId,
            history: await h.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(),
          })),
        );
      }
      if (look > 600) throw new Error(`visibility lists ${runs.length} of ${expected} runs`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it('replays the histories of onboarding, suspend, resume, retry, cancel, backup and restore', async () => {
    const runs = await fetchHistories(await runScenarios());
    expect(runs.length).toBeGreaterThanOrEqual(10);
    expect(new Set(runs.map((r) => r.type))).toEqual(new Set(WORKFLOW_TYPES));

    const results = await replayErrors(runs);
    expect(results).toHaveLength(runs.length);
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);

    const record = process.env.RECORD_HISTORIES;
    if (record === '1' || record === 'all' || record === 'next') {
      if (record === 'all') rmSync(FIXTURES_DIR, { recursive: true, force: true });
      mkdirSync(FIXTURES_DIR, { recursive: true });
      const committed = readdirSync(FIXTURES_DIR);
      /** The highest fixture number of `type` committed so far (0: none). */
      const lastOf = (type: string) =>
        Math.max(
          0,
          ...committed
            .map((f) => new RegExp(`^${type}-(\\d+)\\.json$`).exec(f))
            .map((m) => (m ? Number(m[1]) : 0)),
        );
      // Two of each type: the longest history, then the one that adds the most patch markers the
      // first lacks (a run that failed or was cancelled takes other branches), the longer on a tie.
      for (const type of WORKFLOW_TYPES.filter((t) => record === 'next' || lastOf(t) === 0)) {
        const ofType = runs
          .filter((r) => r.type === type)
          .sort((a, b) => b.history.events!.length - a.history.events!.length);
        const first = ofType[0];
        const covered = new Set(first ? patchesOf(first.history) : []);
        const second = ofType
          .slice(1)
          .map((run) => ({ run, adds: patchesOf(run.history).filter((p) => !covered.has(p)).length }))
          .sort((a, b) => b.adds - a.adds)[0]?.run;
        for (const [n, run] of [first, second].filter((r) => r !== undefined).entries()) {
          const file = join(FIXTURES_DIR, `${type}-${lastOf(type) + n + 1}.json`);
          // Written as the formatter would, so that `npm run lint` passes on freshly recorded fixtures.
          writeFileSync(
            file,
            await format(withoutStackTraces(historyToJSON(run.history)), {
              ...(await resolveConfig(file)),
              filepath: file,
            }),
          );
        }
      }
    }
  });

  it('replays every committed history fixture', async () => {
    const files = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json'));
    expect(files.map((f) => f.replace(/-\d+\.json$/, '')).sort()).toEqual(
      expect.arrayContaining(WORKFLOW_TYPES),
    );
    const histories = files.map((file) => ({
      workflowId: file,
      history: historyFromJSON(JSON.parse(readFileSync(join(FIXTURES_DIR, file), 'utf8'))),
    }));
    const results = await replayErrors(histories);
    expect(results).toHaveLength(files.length);
    expect(results.filter((r) => r.error !== undefined)).toEqual([]);
  });
});
