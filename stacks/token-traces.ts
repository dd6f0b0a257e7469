/**
 * cdktf records where every token was created: a full stack trace (no depth limit) per token, formatted at
 * once, and mapped back to TypeScript when source maps are on (tsx turns them on). That is a cost per token,
 * so per resource attribute and per host, and about a third of a large synth; the traces only decorate
 * cdktf's "cannot resolve token" errors. While `fn` runs, stack traces captured into plain objects (what cdktf
 * does) come out empty; traces of real errors (Error instances) are formatted exactly as before.
 *
 * With `errorStacks: false` (the app, which never shows a stack trace: src/report/errors.ts) no stack trace is
 * captured at all while `fn` runs, not even for errors: V8 captures none while Error.stackTraceLimit is not a
 * plain number, which an accessor property makes it, whatever cdktf assigns to it. Collecting the frames was
 * still about 5% of a small synth after the formatting was gone.
 */
export function withoutTokenStackTraces<T>(fn: () => T, options: { readonly errorStacks?: boolean } = {}): T {
  const original = Error.prepareStackTrace;
  Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]): unknown =>
    error instanceof Error ? (original ? original(error, frames) : defaultFormat(error, frames)) : "";
  const limit = Object.getOwnPropertyDescriptor(Error, "stackTraceLimit");
  if (options.errorStacks === false) {
    let assigned: unknown = Error.stackTraceLimit;
    Object.defineProperty(Error, "stackTraceLimit", { configurable: true, enumerable: limit?.enumerable ?? true, get: () => assigned, set: (v: unknown) => (assigned = v) });
  }
  try {
    return fn();
  } finally {
    Error.prepareStackTrace = original;
    if (options.errorStacks === false && limit) Object.defineProperty(Error, "stackTraceLimit", limit);
  }
}

function defaultFormat(error: Error, frames: readonly NodeJS.CallSite[]): string {
  return [`${error.name}: ${error.message}`, ...frames.map((f) => `    at ${f.toString()}`)].join("\n");
}
