/** Service identifiers of the container: one per kind of interchangeable part. */
export const KINDS = ['backbone', 'framework', 'evaluator', 'dataset', 'optimizer'] as const;
export type Kind = (typeof KINDS)[number];

/** Named bindings of a kind live under TOKENS[kind]; the list of its names under NAMES[kind]. */
export const TOKENS: Record<Kind, symbol> = Object.fromEntries(KINDS.map((k) => [k, Symbol.for(`sslbench.${k}`)])) as Record<Kind, symbol>;
export const NAMES: Record<Kind, symbol> = Object.fromEntries(KINDS.map((k) => [k, Symbol.for(`sslbench.${k}.names`)])) as Record<Kind, symbol>;
