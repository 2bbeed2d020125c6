/** Names the operation step an activity call belongs to, so a failed attempt can be shown on it. */
export interface StepRef {
  operationId: string;
  run: number;
  step: string;
}
