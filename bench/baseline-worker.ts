/**
 * A worker for the baseline workflow on its own task queue, with the lifecycle worker's slot and
 * cache settings so that the two differ only in what their workflows do.
 */
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { NativeConnection } from '@temporalio/worker';
import { SILENT_LOGGER } from '../workers/lifecycle.js';

const BASELINE_WORKFLOWS_PATH = fileURLToPath(new URL('./baseline-workflows.ts', import.meta.url));

export function createBaselineActivities() {
  return {
    /** Does nothing: the baseline measures Temporal's own cost of an activity. */
    async noop(): Promise<void> {},
  };
}
export type BaselineActivities = ReturnType<typeof createBaselineActivities>;

/** Creates (does not run) the baseline worker. */
export async function createBaselineWorker({
  connection,
  taskQueue,
}: {
  connection: NativeConnection;
  taskQueue: string;
}): Promise<Worker> {
  return Worker.create({
    connection,
    namespace: 'default',
    taskQueue,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: BASELINE_WORKFLOWS_PATH,
      logger: SILENT_LOGGER,
    }),
    activities: createBaselineActivities(),
    maxConcurrentActivityTaskExecutions: 64,
    maxConcurrentLocalActivityExecutions: 64,
    maxCachedWorkflows: 2000,
    shutdownGraceTime: '10s',
  });
}
