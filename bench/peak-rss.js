/**
 * Preload (`node --require ./bench/peak-rss.js`, or through NODE_OPTIONS for `cdktf synth` and the app it
 * starts) that reports the process's peak resident set size and CPU time when it exits: writes
 * {"pid": n, "maxRssKiB": n, "cpuMicros": n} to <BENCH_RSS_DIR>/<pid>.json. Plain CommonJS, so it loads before any TypeScript tooling, into any node.
 */
"use strict";

const dir = process.env.BENCH_RSS_DIR;
function report() {
  const usage = process.resourceUsage();
  return { pid: process.pid, maxRssKiB: usage.maxRSS, cpuMicros: usage.userCPUTime + usage.systemCPUTime };
}

if (dir) {
  process.on("exit", () => {
    require("node:fs").writeFileSync(require("node:path").join(dir, `${process.pid}.json`), JSON.stringify(report()));
  });
}
