import { LandlordError } from '../../domain/index.js';
import type { OperationSnapshot } from '../../domain/index.js';
import { defineRoute } from '../route.js';
import type { RouteDefinition } from '../route.js';
import { OffboardRequest, TenantIdParams } from '../schemas.js';
import { existingTenant } from './legal-hold-routes.js';
import { ACCEPTED, acceptedOperation, tenantInPath } from './tenant-routes.js';

/**
 * Offboarding (docs/erasure-and-offboarding.md): a tenant's access off, its data exported, kept for
 * a grace period, then destroyed, its key first; cancelling within the grace period gives it back.
 */
export const offboardRoutes: RouteDefinition[] = [
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/offboard',
    operationId: 'offboardTenant',
    summary: 'Offboard a tenant: access off, export, grace period, then its data destroyed',
    description:
      'A tenant operation (kind `offboard`). The tenant shows `status: offboarding` with ' +
      '`offboarding.deletesAt` during its grace period (the tier default, or `graceDays`); ' +
      '`POST /v1/tenants/{id}/offboard/cancel` within it gives the tenant back with all its data; a ' +
      "grace period shorter than the tier's needs the admin role. " +
      "After it (and once no legal hold of the tenant is in force) the tenant's data key is " +
      'destroyed first, so every export and backup of it is unreadable, then its data, stacks or ' +
      'pool partition; its record stays as a tombstone (`status: deleted`) and its id stays reserved.',
    tag: 'offboarding',
    permission: 'offboardTenant',
    action: 'tenant.offboard',
    errors: ['TenantNotFound', 'InvalidTransition'],
    idempotent: true,
    params: TenantIdParams,
    body: OffboardRequest,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params, body }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      if (tenant.status === 'offboarding')
        throw new LandlordError(
          'InvalidTransition',
          `tenant "${tenant.id}" is offboarding already (operation ${tenant.offboarding?.operationId}); ` +
            `its data goes at ${tenant.offboarding?.deletesAt}`,
        );
      if (tenant.status !== 'active' && tenant.status !== 'suspended')
        throw new LandlordError(
          'InvalidTransition',
          `a ${tenant.status} tenant cannot be offboarded; it must be active or suspended`,
        );
      const tierDays = deps.catalog.tiers.find((t) => t.id === tenant.tier)?.offboarding.graceDays ?? 30;
      const graceDays = body.graceDays ?? tierDays;
      // Less grace than the tier promises brings the destruction closer: an admin's call.
      if (graceDays < tierDays && actor.role !== 'admin')
        throw new LandlordError(
          'Forbidden',
          `a grace period shorter than the ${tenant.tier} tier's ${tierDays} days needs the admin role`,
        );
      const op = await deps.lifecycle.offboardTenant(
        tenant.id,
        { reason: body.reason, graceDays, export: body.export },
        actor,
      );
      return acceptedOperation(op);
    },
  }),
  defineRoute({
    method: 'post',
    path: '/v1/tenants/{id}/offboard/cancel',
    operationId: 'cancelOffboarding',
    summary: "Cancel a tenant's offboarding within its grace period: the tenant is itself again",
    description:
      'Cancels the running `offboard` operation: access is restored and the tenant is as it was ' +
      "before (`active`, or `suspended` if it was), with all its data. Once the tenant's data key " +
      'has been destroyed nothing can bring it back: 409.',
    tag: 'offboarding',
    permission: 'offboardTenant',
    action: 'tenant.offboard.cancel',
    errors: ['TenantNotFound', 'InvalidTransition', 'OperationNotCancellable'],
    params: TenantIdParams,
    auditSubject: tenantInPath,
    responses: { 202: ACCEPTED },
    async handle({ params }, { actor, deps }) {
      const tenant = await existingTenant(deps.store, params.id);
      if (tenant.offboarding?.shreddedAt)
        throw new LandlordError(
          'InvalidTransition',
          `tenant "${tenant.id}"'s data key was destroyed at ${tenant.offboarding.shreddedAt}: nothing can bring its data back`,
        );
      // Its operation, also in the moment before the operation has marked the tenant offboarding.
      const running = (await deps.store.operations.listForTenant(tenant.id)).filter(
        (o: OperationSnapshot) => o.kind === 'offboard' && o.status === 'running',
      );
      const op = running.at(-1);
      if (!op) throw new LandlordError('InvalidTransition', `tenant "${tenant.id}" is not being offboarded`);
      return acceptedOperation(await deps.lifecycle.cancelOperation(op, actor));
    },
  }),
];
