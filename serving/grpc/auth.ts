/**
 * @module serving/grpc/auth
 * API keys on gRPC calls: metadata `authorization: Bearer <key>`, checked against the sha256
 * hashes of the server config (`serve.apiKeys`, `LARDER_API_KEYS`) with constant-time compares,
 * and the same scopes as the HTTP API. No keys configured → every call is allowed.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { larderError } from '../../errors.ts';
import type { ApiKey, ApiScope } from '../config.ts';

/**
 * The name of the key that `authorization` carries, when it has `scope` (or `admin`); throws
 * 401 `LARDER_E_UNAUTHORIZED` without a known key and 403 `LARDER_E_FORBIDDEN` without the scope.
 * Returns null when the server has no keys.
 */
export function authorizeCall(keys: readonly ApiKey[], authorization: string | undefined, scope: ApiScope): string | null {
  if (keys.length === 0) return null;
  if (authorization === undefined || authorization === '') throw larderError('LARDER_E_UNAUTHORIZED', { reason: 'send metadata authorization: Bearer <key>' });
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (match === null) throw larderError('LARDER_E_UNAUTHORIZED', { reason: 'the authorization metadata must be Bearer <key>' });
  const hash = createHash('sha256').update(match[1] as string, 'utf8').digest();
  let found: ApiKey | undefined;
  // Compare against every key so the time taken does not tell which one (or none) matched.
  for (const key of keys) if (key.hash.length === hash.length && timingSafeEqual(key.hash, hash)) found = key;
  if (found === undefined) throw larderError('LARDER_E_UNAUTHORIZED', { reason: 'unknown API key' });
  if (!found.scopes.includes(scope) && !found.scopes.includes('admin')) throw larderError('LARDER_E_FORBIDDEN', { scope });
  return found.name;
}
