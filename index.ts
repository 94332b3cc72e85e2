/**
 * @module larder
 * Larder's public entry: the definition DSL users write feature modules with, `defineConfig`
 * for `larder.config.ts`, `openStore` for the TypeScript API, and the error type.
 */
export * from './featurestore/define/index.ts';
export { ERROR_CODES, LarderError, isLarderError, larderError } from './errors.ts';
export type { ErrorCode } from './errors.ts';
