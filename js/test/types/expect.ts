// Type-level assertions for the usage examples: `expectType<Exact<typeof x, string>>(true)` fails to compile unless
// the type of x is exactly string (not any, not a wider or narrower type).

/** True when A and B are the same type; any is equal only to any. */
export type Exact<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only when called with `true` for a condition that holds. */
export function expectType<Condition extends true>(_holds: Condition): void {}
