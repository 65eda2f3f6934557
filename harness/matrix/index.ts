/** Matrix protocol primitives, no I/O. See each module for the spec section it implements. */
export * from './canonical-json.ts';
export * from './base64.ts';
export * from './keys.ts';
export * from './signing.ts';
export * from './room-versions.ts';
export * from './events.ts';
export * from './x-matrix.ts';
export * from './state.ts';
export * from './auth-events.ts';
