import type { RequestHandler, Response } from 'express';
import type { Registry } from '../registry/index.js';
import { allows } from '../domain/index.js';
import type { Actor, ApiKeyRecord, Permission } from '../domain/index.js';
import { HttpProblem } from './http-problem.js';
import { requestIdOf } from './request-id.js';

const BEARER = /^Bearer +([A-Za-z0-9._~+/=-]{1,512})$/i;
const challenge = { headers: { 'WWW-Authenticate': 'Bearer realm="landlord"' } };

/** Resolves `Authorization: Bearer <key>` to an active API key; sets `res.locals.key` and `res.locals.actor`. */
export function authenticate(store: Registry): RequestHandler {
  return async (req, res, next) => {
    const header = req.get('authorization');
    if (header === undefined)
      throw new HttpProblem('Unauthenticated', 'send an API key as "Authorization: Bearer <key>"', challenge);
    const secret = BEARER.exec(header)?.[1];
    const key = secret === undefined ? undefined : await store.apiKeys.authenticate(secret);
    if (!key) throw new HttpProblem('Unauthenticated', 'the API key is unknown or revoked', challenge);
    const actor: Actor = { principal: key.id, role: key.role, requestId: requestIdOf(res) };
    res.locals.key = key;
    res.locals.actor = actor;
    next();
  };
}

/** Lets the request through only when the authenticated key's role grants `permission`. */
export function authorize(permission: Permission): RequestHandler {
  return (_req, res, next) => {
    const key = authenticatedKey(res);
    if (!key || !allows(key.role, permission)) {
      throw new HttpProblem('Forbidden', `the role "${key?.role ?? 'none'}" may not do this`);
    }
    next();
  };
}

/** The key `authenticate` accepted for this request, if any. */
export function authenticatedKey(res: Response): ApiKeyRecord | undefined {
  return res.locals.key as ApiKeyRecord | undefined;
}

/** The actor `authenticate` recorded for this request, if any. */
export function actorOf(res: Response): Actor | undefined {
  return res.locals.actor as Actor | undefined;
}
