/** Config validation shared by the frameworks: errors name the field as `framework.<field>`. */

export function configError(field: string, why: string): never {
  throw new Error(`framework.${field}: ${why}`);
}

/** Throws unless every named field of `c` is a positive integer. */
export function positiveInt<C extends object>(c: C, fields: (keyof C & string)[]): void {
  for (const f of fields) {
    const v = c[f] as unknown;
    if (!Number.isInteger(v) || (v as number) < 1) configError(f, `must be a positive integer, got ${String(v)}`);
  }
}
