/**
 * What the provisioning activity and the stack runner (a child process per Pulumi operation) say
 * to each other: one JSON request on stdin, JSON lines on stdout.
 */
import type { DriftedResource, ErrorKind, SiloSpec } from '../domain/index.js';

export type { DriftedResource };

export type StackAction = 'preview' | 'up' | 'refresh' | 'destroy' | 'drift';

export interface StackRequest {
  action: StackAction;
  project: string;
  stack: string;
  spec: SiloSpec;
  /** Stack configuration, set through the Automation API before the action. */
  config: Record<string, { value: string; secret?: boolean }>;
  /** One work directory per stack. */
  workDir: string;
  /** Remove the stack itself after a successful destroy. */
  removeStack?: boolean;
  /** Refresh first, clearing pending creates left by an interrupted update. */
  repair?: boolean;
  /** The backend holding the stack (file://, s3://, …); set by the activity's stack runner. */
  backendUrl?: string;
  /** e.g. awskms://…; the passphrase provider when absent. */
  secretsProvider?: string;
  /** Engine diagnostics of every severity to stderr, not only errors. */
  debug?: boolean;
}

export interface StackProgress {
  kind: 'progress';
  /** Resources the engine has finished with. */
  done: number;
  /** Resources the program is expected to have (or, if unknown, seen so far). */
  total: number;
  /** The resource being worked on, as `type name`. */
  current?: string;
}

export interface StackResult {
  kind: 'result';
  /** Non-secret outputs only: secrets never leave the stack. */
  outputs: Record<string, unknown>;
  changes: Record<string, number>;
  drift?: DriftedResource[];
}

/** Kinds of failure, from domain/errors.ts, each classified once here so the activity can decide about retries. */
export type StackErrorType = Extract<
  ErrorKind,
  'StackLocked' | 'NotFound' | 'Misconfigured' | 'OperationCancelled' | 'PendingOperations' | 'Transient'
>;

export interface StackFailure {
  kind: 'error';
  type: StackErrorType;
  message: string;
}

export type StackMessage = StackProgress | StackResult | StackFailure;
