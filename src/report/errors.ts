/**
 * How the app ends on a problem: one report on stderr, exit status 1, never a stack trace. A DescriptionError
 * is the description's fault and says how to fix it; anything else is a bug or an input the checks missed,
 * reported by its message (NIXOS_K8S_DEBUG=1 shows the stack trace for a bug report).
 */
import { DescriptionError } from "../cluster/load";

/** A problem of how the app was called (its environment), reported by its message alone. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export function reportFailure(e: unknown, write: (text: string) => void = (t) => process.stderr.write(t)): void {
  if (e instanceof DescriptionError || e instanceof UsageError) {
    write(`${e.message}\n`);
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  write(
    `error: ${message}\n` +
      "nothing was synthesized completely; this is a bug, or an input the description checks missed: please report it with the description " +
      "(run again with NIXOS_K8S_DEBUG=1 to see where it happened).\n",
  );
  if (process.env.NIXOS_K8S_DEBUG === "1" && e instanceof Error && e.stack) write(`${e.stack}\n`);
}

/** Runs the app's main function; on any failure reports it as above and exits 1. */
export function runReportingFailures(main: () => void): void {
  try {
    main();
  } catch (e) {
    reportFailure(e);
    process.exitCode = 1;
  }
}
