import { describe, expect, it } from 'vitest';
import { isLarderError } from '../errors.ts';
import { hashApiKey, parseApiKeysEnv, predictorOptionsOf, resolveServeConfig } from './config.ts';

describe('serve config', () => {
  it('has defaults: 127.0.0.1:8080, no keys, no rate limit, 1 MiB bodies, 1000 entities, full prediction log', () => {
    const config = resolveServeConfig();
    expect(config).toMatchObject({ host: '127.0.0.1', port: 8080, apiKeys: [], bodyLimit: 1_048_576, maxEntities: 1000, pricePerCpuSecond: 0 });
    expect(config.grpcPort).toBeUndefined();
    expect(config.rateLimit).toBeUndefined();
    expect(config.predictionLog).toEqual({ sampleRate: 1, flushRows: 10_000, flushMs: 5_000 });
  });

  it('layers the file, then the environment, then overrides', () => {
    const config = resolveServeConfig({
      file: { port: 9000, host: '0.0.0.0', maxEntities: 50, rateLimit: { max: 10, timeWindow: '30s' }, models: { churn: { batching: { maxQueueDelayUs: 200 }, requireFreshFeatures: true } } },
      env: { LARDER_PORT: '9100', LARDER_GRPC_PORT: '9101' },
      overrides: { port: 0 },
    });
    expect(config).toMatchObject({ host: '0.0.0.0', port: 0, grpcPort: 9101, maxEntities: 50, rateLimit: { max: 10, timeWindowMs: 30_000 } });
    expect(predictorOptionsOf(config)).toMatchObject({ maxEntities: 50, models: { churn: { batching: { maxQueueDelayUs: 200 }, requireFreshFeatures: true } } });
  });

  it('hashes LARDER_API_KEYS at load and keeps no key in clear', () => {
    const config = resolveServeConfig({
      file: { apiKeys: [{ name: 'ops', sha256: hashApiKey('k0'), scopes: ['admin'] }] },
      env: { LARDER_API_KEYS: 'app:s3:cr:et:predict+features, feeder:k2:push' },
    });
    expect(config.apiKeys.map((k) => [k.name, k.hash.toString('hex'), k.scopes])).toEqual([
      ['ops', hashApiKey('k0'), ['admin']],
      ['app', hashApiKey('s3:cr:et'), ['predict', 'features']],
      ['feeder', hashApiKey('k2'), ['push']],
    ]);
    expect(JSON.stringify(parseApiKeysEnv('app:s3cret:predict'))).not.toContain('s3cret');
  });

  it('refuses bad settings with every problem in one LARDER_E_CONFIG_INVALID', () => {
    const attempt = (file: unknown, env: Record<string, string> = {}): unknown => {
      try {
        resolveServeConfig({ file, env });
        return null;
      } catch (error) {
        return error;
      }
    };
    const error = attempt({ port: 70_000, apiKeys: [{ name: 'x', sha256: 'plain-key', scopes: ['root'] }], bogus: 1 });
    expect(isLarderError(error) && error.code).toBe('LARDER_E_CONFIG_INVALID');
    const message = (error as Error).message;
    for (const part of ['serve.port', 'serve.apiKeys.0.sha256', 'serve.apiKeys.0.scopes.0', 'bogus']) expect(message).toContain(part);
    expect(isLarderError(attempt({}, { LARDER_API_KEYS: 'nokey' })) && (attempt({}, { LARDER_API_KEYS: 'nokey' }) as Error).message).toContain('name:key:scope');
    expect((attempt({}, { LARDER_API_KEYS: 'a:b:everything' }) as Error).message).toContain('unknown scope');
    expect((attempt({}, { LARDER_PORT: 'http' }) as Error).message).toContain('LARDER_PORT');
    expect((attempt({ apiKeys: [{ name: 'a', sha256: hashApiKey('1'), scopes: ['push'] }, { name: 'a', sha256: hashApiKey('2'), scopes: ['push'] }] }) as Error).message).toContain('two keys are named a');
  });
});
