/** Room state as a map from (event type, state key) to event ID. */

/** The map key for (type, state_key): unambiguous for any pair of strings, readable in a debugger. */
export function stateKey(type: string, stateKey: string): string {
  return JSON.stringify([type, stateKey]);
}

/** The (type, state_key) pair a stateKey() result stands for. */
export function parseStateKey(key: string): { type: string; stateKey: string } {
  const [type, sk] = JSON.parse(key) as [string, string];
  return { type, stateKey: sk };
}

/** stateKey(type, state_key) -> event ID. */
export type StateMap = Map<string, string>;
