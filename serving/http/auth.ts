/**
 * @module serving/http/auth
 * API keys: `Authorization: Bearer <key>` or `x-api-key: <key>`. The presented key is hashed
 * and compared with every configured sha256 in constant time (all keys are compared, so timing
 * says nothing about which prefix matched). Each route names the scope it needs; `admin` holds
 * every scope. With no keys configured the API is open.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { larderError } from '../../errors.ts';
import type { ApiKey, ApiScope } from '../config.ts';

/** The key a request presented, or undefined when it sent none. */
export function presentedKey(headers: FastifyRequest['headers']): string | undefined {
  const auth = headers['authorization'];
  if (typeof auth === 'string') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (match) return match[1];
  }
  const header = headers['x-api-key'];
  if (typeof header === 'string' && header.length > 0) return header;
  return undefined;
}

/** The configured key whose hash equals the presented key's, or null. */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | null {
  const hash = createHash('sha256').update(presented, 'utf8').digest();
  let found: ApiKey | null = null;
  for (const key of keys) {
    if (timingSafeEqual(hash, key.hash) && found === null) found = key;
  }
  return found;
}

/**
 * Who the request is, checked against the scope its route needs. Throws 401 without a valid key
 * and 403 when the key lacks the scope; returns the key (undefined when the API is open).
 */
export function authorize(keys: readonly ApiKey[], headers: FastifyRequest['headers'], scope: ApiScope | null): ApiKey | undefined {
  if (keys.length === 0) return undefined;
  const presented = presentedKey(headers);
  if (presented === undefined) {
    if (scope === null) return undefined;
    throw larderError('LARDER_E_UNAUTHORIZED', { reason: 'send an API key as Authorization: Bearer <key> or x-api-key: <key>' });
  }
  const key = findApiKey(keys, presented);
  if (key === null) {
    if (scope === null) return undefined;
    throw larderError('LARDER_E_UNAUTHORIZED', { reason: 'unknown API key' });
  }
  if (scope !== null && !key.scopes.includes('admin') && !key.scopes.includes(scope)) {
    throw larderError('LARDER_E_FORBIDDEN', { scope }, { details: { key: key.name, scopes: key.scopes } });
  }
  return key;
}
