/** What both registries share about erasure requests: their ids and how a request's status reads. */
import { randomBytes } from 'node:crypto';
import { erasureOverdue } from '../domain/index.js';
import type { ErasureRequest, ErasureStatus, ErrorInfo, OperationStatus } from '../domain/index.js';

/** A request's id: `erasure_` and 16 random hex characters. */
export const newErasureId = () => `erasure_${randomBytes(8).toString('hex')}`;

export const ERASURE_ID_PATTERN = /^erasure_[0-9a-f]{16}$/;

/** A request as stored, before its operation's end is taken into account. */
export type StoredErasure = Omit<ErasureRequest, 'overdue' | 'error'> & {
  status: Exclude<ErasureStatus, 'failed' | 'cancelled'>;
};

/**
 * The request as callers see it: an operation that ended failed or cancelled ends its request so,
 * with its error, unless the request was erased (its last steps only recorded evidence).
 */
export function erasureView(
  stored: StoredErasure,
  operation: { status: OperationStatus; error?: ErrorInfo } | undefined,
  at: string,
): ErasureRequest {
  const ended =
    stored.status !== 'erased' && (operation?.status === 'failed' || operation?.status === 'cancelled')
      ? operation.status
      : undefined;
  const status: ErasureStatus = ended ?? stored.status;
  const view: ErasureRequest = { ...stored, status, overdue: false };
  if (ended && operation?.error)
    view.error = { type: operation.error.type, message: operation.error.message };
  if (status !== 'blocked-by-hold') delete view.blockedBy;
  view.overdue = erasureOverdue(view, at);
  return view;
}
