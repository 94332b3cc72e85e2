/**
 * Definitions are recognised by a brand under a global symbol, not with `instanceof`, so a
 * definition made by one copy of the `larder` package (say, the user's node_modules) is
 * recognised by another (the CLI's).
 */
export const BRAND: unique symbol = Symbol.for('larder.definition') as never;

export type DefinitionKind = 'entity' | 'source' | 'featureView' | 'onDemandView' | 'featureService';
const KINDS: ReadonlySet<unknown> = new Set<DefinitionKind>(['entity', 'source', 'featureView', 'onDemandView', 'featureService']);

export interface Branded<K extends DefinitionKind> {
  readonly [BRAND]: K;
  readonly kind: K;
  readonly name: string;
}

export function brand<K extends DefinitionKind, T extends { kind: K }>(kind: K, value: T): T & Branded<K> {
  Object.defineProperty(value, BRAND, { value: kind, enumerable: false });
  return deepFreeze(value) as T & Branded<K>;
}

/** True when `value` is a Larder definition (of the given kind, if one is given). */
export function isDefinition(value: unknown, kind?: DefinitionKind): value is Branded<DefinitionKind> {
  if (typeof value !== 'object' || value === null) return false;
  const found = (value as Record<symbol, unknown>)[BRAND];
  // A brand from an unknown kind (a newer larder, a stray symbol) is not something we can build.
  return KINDS.has(found) && (kind === undefined || found === kind);
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  return value;
}
