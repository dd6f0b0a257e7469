/**
 * cdktf records where every token was created: a full stack trace (no depth limit) per token, formatted at
 * once, and mapped back to TypeScript when source maps are on (tsx turns them on). That is a cost per token,
 * so per resource attribute and per host, and about a third of a large synth; the traces only decorate
 * cdktf's "cannot resolve token" errors. While `fn` runs, stack traces captured into plain objects (what cdktf
 * does) come out empty; traces of real errors (Error instances) are formatted exactly as before.
 */
export function withoutTokenStackTraces<T>(fn: () => T): T {
  const original = Error.prepareStackTrace;
  Error.prepareStackTrace = (error: Error, frames: NodeJS.CallSite[]): unknown =>
    error instanceof Error ? (original ? original(error, frames) : defaultFormat(error, frames)) : "";
  try {
    return fn();
  } finally {
    Error.prepareStackTrace = original;
  }
}

function defaultFormat(error: Error, frames: readonly NodeJS.CallSite[]): string {
  return [`${error.name}: ${error.message}`, ...frames.map((f) => `    at ${f.toString()}`)].join("\n");
}
