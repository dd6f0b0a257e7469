/**
 * A client that opens a new HTTPS connection to <url> every <interval> ms for <duration> ms (run with
 * `node --import tsx`), verifying the server certificate against <ca> for the URL's host, and prints one JSON line
 * per attempt: { start, end, ok, body | error } (start/end: epoch ms). Attempts overlap when one takes longer than
 * the interval, as independent clients would; each gives up after 10 s (TCP resends an unanswered SYN after 1, 3 and 7 s). Exits after the last attempt ended.
 *   node --import tsx connection-probe.ts <url> <ca> <interval ms> <duration ms>
 */
import { readFileSync } from "node:fs";
import { request } from "node:https";

export interface ProbeAttempt {
  readonly start: number;
  readonly end: number;
  readonly ok: boolean;
  readonly body?: string;
  readonly error?: string;
}

function attempt(url: string, ca: Buffer): Promise<ProbeAttempt> {
  const start = Date.now();
  return new Promise((resolve) => {
    const done = (result: { ok: boolean; body?: string; error?: string }) => resolve({ start, end: Date.now(), ...result });
    const req = request(url, { ca, agent: false, timeout: 10_000 }, (response) => {
      let body = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (body += chunk));
      response.on("end", () => done(response.statusCode === 200 ? { ok: true, body } : { ok: false, error: `status ${response.statusCode}` }));
      response.on("error", (error) => done({ ok: false, error: error.message }));
    });
    req.on("timeout", () => req.destroy(new Error("timed out after 10 s")));
    req.on("error", (error) => done({ ok: false, error: error.message }));
    req.end();
  });
}

async function main(): Promise<void> {
  const [url, caFile, intervalText, durationText] = process.argv.slice(2);
  if (!url || !caFile || !intervalText || !durationText) {
    console.error("usage: connection-probe.ts <url> <ca> <interval ms> <duration ms>");
    process.exit(2);
  }
  const ca = readFileSync(caFile);
  const interval = Number(intervalText);
  const until = Date.now() + Number(durationText);
  const pending: Promise<void>[] = [];
  while (Date.now() < until) {
    pending.push(attempt(url, ca).then((a) => void process.stdout.write(`${JSON.stringify(a)}\n`)));
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  await Promise.all(pending);
}

if (require.main === module) void main();
