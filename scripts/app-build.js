/**
 * One esbuild bundle of a TypeScript entry point of this repository, as scripts/app.js runs the app (and the
 * benchmark its floor): CommonJS for node 20, every package in node_modules left outside (cdktf, constructs and
 * the providers must be the single copies the provider packages load too), the project's own TypeScript and
 * the generated .gen/ bindings inside. Written atomically, with a source map next to it.
 *
 * Returns the source files the bundle was built from (relative to the root, "/"-separated, sorted, without
 * node_modules); throws an Error whose message is esbuild's formatted report when the TypeScript does not compile.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function buildBundle({ root, entry, outfile }) {
  const esbuild = require("esbuild");
  let result;
  try {
    result = esbuild.buildSync({
      absWorkingDir: root,
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      packages: "external",
      // main.ts finds the repository root from its own folder; in the bundle that is the bundle's folder.
      define: { APP_ROOT_FROM_BUNDLE: JSON.stringify(path.relative(path.dirname(outfile), root).split(path.sep).join("/")) },
      sourcemap: "linked",
      metafile: true,
      logLevel: "silent",
      write: false,
    });
  } catch (e) {
    const errors = e && Array.isArray(e.errors) ? e.errors : undefined;
    throw new Error(errors ? esbuild.formatMessagesSync(errors, { kind: "error", color: false }).join("") : String(e && e.message));
  }
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const suffix = `.tmp-${process.pid}`;
  // The map first: a bundle is only ever next to its own map or an older one (used only when debugging).
  const files = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith(".map")) - Number(a.path.endsWith(".map")));
  for (const out of files) {
    fs.writeFileSync(out.path + suffix, out.contents);
    fs.renameSync(out.path + suffix, out.path);
  }
  return Object.keys(result.metafile.inputs)
    .filter((file) => !file.split("/").includes("node_modules"))
    .sort();
}

module.exports = { buildBundle };
