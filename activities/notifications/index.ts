/**
 * Webhook notifications: a JSON body signed with HMAC-SHA256, delivered to every configured URL.
 * Delivery is at-least-once; the `Idempotency-Key` header is stable across retries so a receiver
 * can drop duplicates.
 */
import { createHmac } from 'node:crypto';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { LandlordError } from '../../domain/index.js';
import type { StepRef } from '../step-ref.js';

export interface NotificationInput {
  stepRef?: StepRef;
  /** Stable per delivery: the receiver's de-duplication key. */
  deliveryId: string;
  event: 'tenant.invite' | 'tenant.ready' | 'dr.verification.failed';
  tenantId: string;
  /** The operation it is about; for `dr.verification.failed`, the restore verification run's id. */
  operationId: string;
  occurredAt: string;
  data: Record<string, unknown>;
}

/** `t=<unix seconds>,v1=<hex hmac of "<t>.<body>">`, the scheme receivers verify. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${mac}`;
}

export function createNotificationActivities({
  urls,
  secret,
  timeoutMs = 10_000,
}: {
  urls: readonly string[];
  secret?: string;
  timeoutMs?: number;
}) {
  return {
    /** Delivers one notification to every webhook URL; returns how many receivers took it. */
    async deliverNotification(input: NotificationInput): Promise<{ delivered: number }> {
      if (urls.length === 0) return { delivered: 0 };
      if (!secret)
        throw new LandlordError(
          'Misconfigured',
          'webhook URLs are configured but LANDLORD_WEBHOOK_SECRET is not',
        );
      const body = JSON.stringify({
        id: input.deliveryId,
        type: input.event,
        occurredAt: input.occurredAt,
        tenantId: input.tenantId,
        operationId: input.operationId,
        data: input.data,
      });
      const cancelled = Context.current().cancellationSignal;
      const results = await Promise.allSettled(
        urls.map(async (url) => {
          const response = await fetch(url, {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'idempotency-key': input.deliveryId,
              'x-landlord-event': input.event,
              'x-landlord-signature': signWebhook(secret, Math.floor(Date.now() / 1000), body),
            },
            body,
            signal: AbortSignal.any([cancelled, AbortSignal.timeout(timeoutMs)]),
          });
          await response.body?.cancel();
          const { status } = response;
          if (status >= 200 && status < 300) return;
          const host = new URL(url).host;
          // A 4xx other than 408/429 is a verdict on the request itself: retrying will not help.
          if (status >= 400 && status < 500 && status !== 408 && status !== 429) {
            throw new LandlordError(
              'NotificationRejected',
              `webhook receiver ${host} refused the delivery with HTTP ${status}`,
            );
          }
          throw ApplicationFailure.retryable(
            `webhook receiver ${host} answered HTTP ${status}`,
            'WebhookUnavailable',
          );
        }),
      );
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        const reason: unknown = failed.reason;
        if (reason instanceof LandlordError || reason instanceof ApplicationFailure) throw reason;
        throw ApplicationFailure.retryable(
          `webhook delivery failed: ${(reason as Error).message}`,
          'WebhookUnavailable',
        );
      }
      return { delivered: urls.length };
    },
  };
}

export type NotificationActivities = ReturnType<typeof createNotificationActivities>;
