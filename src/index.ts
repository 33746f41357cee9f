/** Public library API of ctxrec. */
export * from "./core/errors.ts";
export * from "./core/rng.ts";
export * from "./core/shapes.ts";
