/**
 * The admin credential and the routes it guards: `DELETE /v1/customers/{id}` (erasure) and
 * `GET /v1/customers/{id}/export` (access). One place, so later admin routes (the console) reuse
 * the same check. Only `Authorization: Bearer <admin key>` is accepted, compared in constant time;
 * the write key never opens these routes.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../worker/config';
import { existingSecret, secretFromEnvOrDataDir } from '../worker/deps';
import { logApiError } from '../observability/log-http';
import { exportCustomer } from '../privacy/export';
import { forgetCustomer, InvalidCustomerIdError, RunsNotEndedError, type PrivacyDeps } from '../privacy/forget';

/** Bytes of a generated admin key (base64url: 32 characters). */
const GENERATED_KEY_BYTES = 24;
/** Where a generated admin key is kept, in the data folder. */
export const ADMIN_KEY_FILE = 'admin-key';

/** The admin key: UNBROKEN_ADMIN_KEY, or one generated once into the data folder (mode 0600) and reused. */
export function adminKey(config: Config): string {
  return secretFromEnvOrDataDir(config, config.adminKey, ADMIN_KEY_FILE, GENERATED_KEY_BYTES);
}

/**
 * The admin key a deployment already has (UNBROKEN_ADMIN_KEY, or the one `start` generated into
 * the data folder); undefined when it has none, since a new key here would open nothing elsewhere.
 */
export function existingAdminKey(config: Config): string | undefined {
  return existingSecret(config, config.adminKey, ADMIN_KEY_FILE);
}

/** What the admin routes are built from. */
export interface AdminDeps extends PrivacyDeps {
  /** The admin key (see `adminKey`). */
  key: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Whether the header is `Bearer <admin key>`; digests are compared so neither content nor length leaks through timing. */
export function isAdmin(header: string | undefined, keyDigest: Buffer): boolean {
  if (header === undefined) return false;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) return false;
  return timingSafeEqual(digest(match[1]), keyDigest);
}

/** A fastify plugin (register it with prefix `/v1`) serving the admin routes behind the admin key. */
export function adminRoutes(deps: AdminDeps): (app: FastifyInstance) => Promise<void> {
  if (deps.key.trim().length < 16) throw new Error('the admin routes need an admin key of at least 16 characters: set UNBROKEN_ADMIN_KEY');
  const keyDigest = digest(deps.key);
  return async (app) => {
    // Before the body is read: without the key nothing about the customer or the route is revealed.
    app.addHook('onRequest', async (request, reply) => {
      if (isAdmin(request.headers.authorization, keyDigest)) return;
      logApiError(request, 401, { field: 'authorization' }, 'missing or wrong admin key');
      return reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="unbroken-admin"')
        .send({ error: 'unauthorized', message: 'send the admin key (UNBROKEN_ADMIN_KEY) as Authorization: Bearer <key>; the write key does not open admin routes' });
    });
    app.setErrorHandler((error, request, reply) => adminError(error as Error, request, reply));

    app.delete('/customers/:id', async (request) => forgetCustomer(deps, (request.params as { id: string }).id));

    app.get('/customers/:id/export', async (request, reply) => {
      const id = (request.params as { id: string }).id;
      const document = await exportCustomer(deps, id);
      if (document === undefined) return reply.code(404).send({ error: 'not_found', message: 'nothing is held about this customer id' });
      return reply.header('content-disposition', 'attachment; filename="customer-export.json"').send(document);
    });
  };
}

function adminError(error: Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  if (error instanceof InvalidCustomerIdError) {
    logApiError(request, 400, { fields: [error.field] }, error.message);
    return reply.code(400).send({ error: 'invalid_request', message: error.message, issues: [{ field: error.field, message: error.message }] });
  }
  if (error instanceof RunsNotEndedError) {
    logApiError(request, 503, { err: error.cause }, 'forget: running journeys could not be ended; nothing was erased');
    return reply.code(503).send({ error: 'unavailable', message: `${error.message}; nothing was erased, retry the request` });
  }
  const status = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : 500;
  if (status >= 400 && status < 500) {
    logApiError(request, status, { error: (error as { code?: string }).code }, error.message);
    return reply.code(status).send({ error: 'invalid_request', message: error.message });
  }
  logApiError(request, 500, { err: error }, 'unexpected error in an admin route');
  return reply.code(500).send({ error: 'internal', message: 'internal error; retry later' });
}
