/**
 * The baseline the onboarding is compared with: a bare workflow that runs no-op activities one
 * after another, as many regular and local ones as an onboarding's histories show.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './baseline-worker.js';

const activities = proxyActivities<BaselineActivities>({ startToCloseTimeout: '10s' });
const localActivities = proxyLocalActivities<BaselineActivities>({ startToCloseTimeout: '10s' });

export interface BaselineInput {
  activities: number;
  localActivities: number;
}

/** Runs the no-op activities in sequence, local ones spread evenly between the regular ones. */
export async function baselineWorkflow({
  activities: regular,
  localActivities: local,
}: BaselineInput): Promise<void> {
  for (let i = 0; i <= regular; i++) {
    const localsHere =
      Math.floor((local * (i + 1)) / (regular + 1)) - Math.floor((local * i) / (regular + 1));
    for (let j = 0; j < localsHere; j++) await localActivities.noop();
    if (i < regular) await activities.noop();
  }
}
