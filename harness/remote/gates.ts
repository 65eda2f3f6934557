/**
 * Scripting primitives: gates that hold a route's response until the test releases it, and
 * bounded expectations over what a remote receives. Nothing here sleeps on a guess: every wait
 * has a bound and its error names what was awaited.
 */

/** A partial deep pattern (every given key must match, recursively) or a predicate. */
export type Matcher<T> = Partial<Record<string, unknown>> | ((item: T) => boolean);

export function matches<T>(item: T, matcher: Matcher<T>): boolean {
  if (typeof matcher === 'function') return matcher(item);
  return deepPartialEqual(item, matcher);
}

function deepPartialEqual(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return Object.is(actual, expected);
  if (actual === null || typeof actual !== 'object') return false;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => deepPartialEqual(actual[i], e));
  }
  return Object.entries(expected).every(([k, v]) => deepPartialEqual((actual as Record<string, unknown>)[k], v));
}

export function describeMatcher(matcher: Matcher<unknown>): string {
  return typeof matcher === 'function' ? `predicate ${matcher.name || '(anonymous)'}` : JSON.stringify(matcher);
}

/** What a gate hands the test when a request reaches it. */
export interface HeldRequest {
  route: string;
  method: string;
  path: string;
  query: URLSearchParams;
  params: Record<string, string>;
  body: unknown;
  origin?: string;
  /** Sequence number of the request in the remote's log. */
  seq: number;
}

/**
 * The outcome a test gives a held request: `undefined` for the route's normal response, or any
 * response of its own.
 */
export type Release<R> = R | undefined;

/**
 * Holds the first request that reaches its route after the gate was made, until `release()`.
 * One request per gate; make several gates for several requests (they catch requests in order).
 */
export class Gate<R> {
  private held?: HeldRequest;
  private released = false;
  private releaseWith?: Release<R>;
  private arrivalWaiters: Array<(req: HeldRequest) => void> = [];
  private onRelease?: (outcome: Release<R>) => void;

  constructor(
    readonly route: string,
    private readonly serverName: string,
  ) {}

  /** True once a request has been caught. */
  get caught(): boolean {
    return this.held !== undefined;
  }

  /** Resolves with the held request once it arrives; throws after `timeoutMs` naming the route. */
  arrived(timeoutMs: number): Promise<HeldRequest> {
    if (this.held) return Promise.resolve(this.held);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.arrivalWaiters = this.arrivalWaiters.filter((w) => w !== waiter);
        reject(new Error(`no ${this.route} request reached the gate on ${this.serverName} within ${timeoutMs} ms`));
      }, timeoutMs);
      const waiter = (req: HeldRequest) => {
        clearTimeout(timer);
        resolve(req);
      };
      this.arrivalWaiters.push(waiter);
    });
  }

  /** Lets the held request (or the next one, if none arrived yet) through: the normal response, or `response`. */
  release(response?: R): void {
    if (this.released) return;
    this.released = true;
    this.releaseWith = response;
    this.onRelease?.(response);
  }

  /** Called by the router: resolves when the test releases this request. */
  hold(req: HeldRequest): Promise<Release<R>> {
    this.held = req;
    for (const w of this.arrivalWaiters.splice(0)) w(req);
    if (this.released) return Promise.resolve(this.releaseWith);
    return new Promise((resolve) => {
      this.onRelease = resolve;
    });
  }
}

/**
 * An append-only record of received items (PDUs, EDUs) with bounded waits over it. Matching looks
 * at everything received since `since` (a `mark()`; default: since the start).
 */
export class Arrivals<T> {
  private readonly items: T[] = [];
  private waiters = new Set<(item: T) => void>();

  constructor(
    private readonly what: string,
    private readonly where: string,
    private readonly summarise: (item: T) => string,
  ) {}

  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) w(item);
  }

  /** Everything received so far. */
  all(): readonly T[] {
    return this.items;
  }

  /** A position to match from, so that earlier items are ignored. */
  mark(): number {
    return this.items.length;
  }

  /** Resolves with the first item matching, already received or arriving within `within` ms. */
  expect(matcher: Matcher<T>, opts: { within: number; since?: number }): Promise<T> {
    const found = this.items.slice(opts.since ?? 0).find((i) => matches(i, matcher));
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`no ${this.what} matching ${describeMatcher(matcher as Matcher<unknown>)} reached ${this.where} within ${opts.within} ms; ${this.received(opts.since)}`));
      }, opts.within);
      const waiter = (item: T) => {
        if (!matches(item, matcher)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(item);
      };
      this.waiters.add(waiter);
    });
  }

  /** Resolves after `for` ms if no matching item was (or is) received; rejects at the first one. */
  expectNone(matcher: Matcher<T>, opts: { for: number; since?: number }): Promise<void> {
    const found = this.items.slice(opts.since ?? 0).find((i) => matches(i, matcher));
    const unexpected = (item: T) =>
      new Error(`unexpected ${this.what} matching ${describeMatcher(matcher as Matcher<unknown>)} reached ${this.where}: ${this.summarise(item)}`);
    if (found !== undefined) return Promise.reject(unexpected(found));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        resolve();
      }, opts.for);
      const waiter = (item: T) => {
        if (!matches(item, matcher)) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        reject(unexpected(item));
      };
      this.waiters.add(waiter);
    });
  }

  private received(since = 0): string {
    const seen = this.items.slice(since);
    if (seen.length === 0) return `none received`;
    const shown = seen.slice(-10).map(this.summarise).join('; ');
    return `received ${seen.length}${seen.length > 10 ? ' (last 10)' : ''}: ${shown}`;
  }
}
