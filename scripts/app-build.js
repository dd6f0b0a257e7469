/**
 * One esbuild bundle of a TypeScript entry point of this repository, as scripts/app.js runs the app: CommonJS for
 * node 20, with the project's TypeScript, the generated .gen/ bindings and, by default, every package it imports
 * from node_modules (cdktf with its own dependencies, constructs, the provider modules, zod, yaml) inside one file.
 * Loading one file is what makes a synth fast: node's module loader resolves each of the ~650 files of those
 * packages separately otherwise (stat calls, package.json lookups, one compile each), which is most of what
 * loading cdktf costs. Inside the bundle every package exists once, so the provider classes and the stacks share
 * one cdktf, as they do in node_modules.
 *
 * `packages: "external"` leaves node_modules outside, loaded by node as usual (the benchmark's floor: node
 * loading the packages as any app would). Written atomically, with a source map next to it.
 *
 * One package is left out of the bundle: `archiver` (with its ~200 files of streams, glob and lodash, and
 * graceful-fs, which patches node's fs on load), which cdktf loads only for archive assets (a TerraformAsset of
 * type ARCHIVE). Those zip a folder by running cdktf's own module file as a script, which a bundle cannot do
 * anyway. The app uses no assets (__tests__/app-fast-path.test.ts checks that no source imports them); in the
 * bundle, `archiver` is scripts/bundle/no-archiver.js, a function that throws saying so.
 *
 * Returns the files the bundle was built from, relative to the root and "/"-separated, sorted: `sources` (the
 * project's own) and `packageFiles` (those under a node_modules folder; with "external", none). Throws an Error
 * whose message is esbuild's formatted report when the TypeScript does not compile.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");

function buildBundle({ root, entry, outfile, packages = "bundle" }) {
  if (packages !== "bundle" && packages !== "external") throw new Error(`buildBundle: packages must be "bundle" or "external", not ${JSON.stringify(packages)}`);
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
      ...(packages === "external" ? { packages: "external" } : { alias: { archiver: "./scripts/bundle/no-archiver.js" } }),
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
  const inputs = Object.keys(result.metafile.inputs).sort();
  const inPackage = (file) => file.split("/").includes("node_modules");
  return { sources: inputs.filter((f) => !inPackage(f)), packageFiles: inputs.filter(inPackage) };
}

module.exports = { buildBundle };
