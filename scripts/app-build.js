/**
 * One esbuild bundle of a TypeScript entry point of this repository, as scripts/app.js runs the app: CommonJS for
 * node 20, with the project's TypeScript, the generated .gen/ bindings and, by default, every package it imports
 * from node_modules (cdktf with its own dependencies, constructs, the provider modules, zod, yaml) inside one file.
 * Loading one file is what makes a synth fast: node's module loader resolves each of the ~450 files of those
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
 * Resolves to what the bundle was built from, each file relative to the root and "/"-separated, recorded as esbuild
 * read it (every file goes through the plugin below, so a file saved while the build runs is recorded as the
 * build saw it, and the next check finds the difference):
 * - `sources`: the project's own files, by the SHA-256 of the text the build read;
 * - `packageFiles`: files under a node_modules folder, by size, modification time and inode taken before reading
 *   (hashing some 450 files on every run would cost more than it guards; a reinstall or an edit changes one of
 *   them), plus the package.json of each package they belong to, which steers resolution (`main`, `exports`).
 * Rejects with an Error whose message is esbuild's formatted report when the TypeScript does not compile.
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

/** esbuild's loader for each extension the app's inputs have (esbuild's defaults). */
const LOADERS = { ".ts": "ts", ".mts": "ts", ".cts": "ts", ".tsx": "tsx", ".js": "js", ".cjs": "js", ".mjs": "js", ".jsx": "jsx", ".json": "json" };

/** How far a file's modification time may lag the clock that `Date.now()` reads (coarse kernel timestamps). */
const MTIME_LAG_MS = 50;

/** What changes when a package file is reinstalled or edited in place. */
function fileSignature(file) {
  const s = fs.statSync(file);
  return `${s.size}:${s.mtimeMs}:${s.ino}`;
}

const inPackage = (file) => file.split("/").includes("node_modules");

/** "node_modules/@scope/name/..." or ".../node_modules/name/...": the package folder, relative like `file`. */
function packageFolder(file) {
  const parts = file.split("/");
  const at = parts.lastIndexOf("node_modules");
  return parts.slice(0, at + (parts[at + 1]?.startsWith("@") ? 3 : 2)).join("/");
}

/** esbuild plugin: loads every file itself, recording what it read (see above). */
function recordingInputs(root, sources, packageFiles) {
  return {
    name: "record-inputs",
    setup(build) {
      build.onLoad({ filter: /.*/, namespace: "file" }, (args) => {
        const file = path.relative(root, args.path).split(path.sep).join("/");
        const loader = LOADERS[path.extname(args.path)];
        if (inPackage(file)) packageFiles[file] = fileSignature(args.path);
        const contents = fs.readFileSync(args.path);
        if (!inPackage(file)) sources[file] = crypto.createHash("sha256").update(contents).digest("hex");
        return loader ? { contents, loader } : undefined;
      });
    },
  };
}

async function buildBundle({ root, entry, outfile, packages = "bundle" }) {
  if (packages !== "bundle" && packages !== "external") throw new Error(`buildBundle: packages must be "bundle" or "external", not ${JSON.stringify(packages)}`);
  const esbuild = require("esbuild");
  const sources = {};
  const packageFiles = {};
  const started = Date.now();
  let result;
  try {
    result = await esbuild.build({
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
      plugins: [recordingInputs(root, sources, packageFiles)],
      sourcemap: "linked",
      logLevel: "silent",
      write: false,
    });
  } catch (e) {
    const errors = e && Array.isArray(e.errors) ? e.errors : undefined;
    throw new Error(errors ? (await esbuild.formatMessages(errors, { kind: "error", color: false })).join("") : String(e && e.message));
  }
  // Taken after the build, these could miss an edit made while it ran: a manifest modified since shortly before the
  // build started (file times lag the clock by up to a scheduler tick) is recorded as changed, so the next check
  // rebuilds.
  for (const folder of new Set(Object.keys(packageFiles).map(packageFolder))) {
    const manifest = `${folder}/package.json`;
    if (manifest in packageFiles) continue;
    let stat;
    try {
      stat = fs.statSync(path.join(root, manifest));
    } catch {
      continue; // A folder without a manifest of its own: nothing there steers resolution.
    }
    packageFiles[manifest] = stat.mtimeMs >= started - MTIME_LAG_MS ? "changed during the build" : `${stat.size}:${stat.mtimeMs}:${stat.ino}`;
  }
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const suffix = `.tmp-${process.pid}`;
  // The map first: a bundle is only ever next to its own map or an older one (used only when debugging).
  const files = [...result.outputFiles].sort((a, b) => Number(b.path.endsWith(".map")) - Number(a.path.endsWith(".map")));
  for (const out of files) {
    fs.writeFileSync(out.path + suffix, out.contents);
    fs.renameSync(out.path + suffix, out.path);
  }
  const sorted = (record) => Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return { sources: sorted(sources), packageFiles: sorted(packageFiles) };
}

module.exports = { buildBundle, fileSignature };
