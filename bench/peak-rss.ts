/**
 * Preload that reports the process's peak resident set size when it exits: writes
 * {"maxRssKiB": n} to the file named by BENCH_RSS_FILE (the benchmark's own measurement, no /usr/bin/time needed).
 */
import { writeFileSync } from "node:fs";

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on("exit", () => {
    writeFileSync(file, JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS }));
  });
}
