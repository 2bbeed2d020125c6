import type { Response } from 'express';
import type { RouteDefinition } from './route.js';

/** The route template a response answered (`/v1/tenants/{id}`), or `unmatched`; bounded, so safe as a label. */
export function routeLabel(res: Response): string {
  return (res.locals.route as RouteDefinition | undefined)?.path ?? 'unmatched';
}
