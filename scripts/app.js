#!/usr/bin/env node
/**
 * The cdktf app's fast path, used by `npm run synth` and by cdktf.json's "app" (so `cdktf synth`/`deploy` run
 * it too): main.ts, the project's TypeScript and the packages it imports compiled by esbuild into one CommonJS
 * file, .build/app/main.js (scripts/app-build.js). Loading one file of plain JavaScript is what makes it fast: no
 * TypeScript loader, no per-file resolution, transform or cache lookups.
 *
 * Never stale: .build/app/inputs.json records what the bundle was built from, each file as the build read it
 * (scripts/app-build.js): the SHA-256 of every project file (plus tsconfig.json and the build script), for every
 * bundled file of node_modules and each of their packages' package.json its size, modification time and inode,
 * the same of the node_modules folder itself (a package added, removed or replaced there, or the folder swapped
 * for another), and esbuild's version. Before each run all of them are checked again, and any difference (an
 * edited, moved or deleted file, another package version, a file saved while the last build ran) rebuilds the
 * bundle first. A new file only enters through an import in an existing one, which then differs. The build is
 * written atomically (temporary files, then rename), and there is no stamp while it runs.
 *
 * Before that, the libvirt bindings in .gen/ are checked (scripts/generate-libvirt-bindings.js) and generated
 * when missing or out of date. The bundle runs with a V8 code cache in .build/app/code-cache
 * (scripts/code-cache.js).
 *
 * Plain CommonJS: runs with no TypeScript tooling loaded.
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { spawnSync } = require("node:child_process");
const { buildBundle, fileSignature } = require("./app-build");
const { installCodeCache } = require("./code-cache");

// The HashiCorp checkpoint service (version and security notices) is never needed to synthesize.
if (process.env.CHECKPOINT_DISABLE === undefined) process.env.CHECKPOINT_DISABLE = "1";

const ROOT = path.resolve(__dirname, "..");
const ENTRY = "main.ts";
const BUILD_DIR = path.join(ROOT, ".build", "app");
const BUNDLE = path.join(BUILD_DIR, "main.js");
const CODE_CACHE = path.join(BUILD_DIR, "code-cache");
const STAMP = path.join(BUILD_DIR, "inputs.json");
const GENERATOR = path.join(__dirname, "generate-libvirt-bindings.js");
/** Raised whenever what the stamp records changes, so an older stamp never passes. */
const STAMP_FORMAT = 4;

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

/** The node_modules folder as found (not followed, when it is a link): where packages resolve from. */
function modulesSignature() {
  const modules = path.join(ROOT, "node_modules");
  try {
    const s = fs.lstatSync(modules);
    return `${s.ino}:${s.mtimeMs}${s.isSymbolicLink() ? `->${fs.readlinkSync(modules)}` : ""}`;
  } catch {
    return "missing";
  }
}

function esbuildVersion() {
  return require("esbuild/package.json").version;
}

/** Generates .gen/ when it is missing or out of date; refuses with the command when that fails. */
function ensureBindings() {
  let current;
  try {
    current = require(GENERATOR).bindingsUpToDate();
  } catch {
    current = false;
  }
  if (current) return;
  process.stderr.write("the libvirt bindings in .gen/ are missing or out of date: generating them (npm run generate:libvirt) ...\n");
  const run = spawnSync(process.execPath, [GENERATOR], { cwd: ROOT, stdio: ["ignore", 2, 2] });
  if (run.status !== 0) {
    fail("the libvirt bindings in .gen/ could not be generated; nothing was synthesized. Run `npm ci` (it installs the generator), then `npm run generate:libvirt`.");
  }
}

/** Whether the bundle was built from exactly the sources there are now. */
function bundleIsCurrent() {
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(STAMP, "utf8"));
  } catch {
    return false;
  }
  const isRecord = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
  if (!isRecord(stamp) || !isRecord(stamp.inputs) || !isRecord(stamp.packages)) return false;
  if (!fs.existsSync(BUNDLE) || stamp.format !== STAMP_FORMAT || stamp.esbuild !== esbuildVersion() || stamp.modules !== modulesSignature()) return false;
  try {
    for (const [file, hash] of Object.entries(stamp.inputs)) if (sha256(path.join(ROOT, file)) !== hash) return false;
    for (const [file, signature] of Object.entries(stamp.packages)) if (fileSignature(path.join(ROOT, file)) !== signature) return false;
  } catch {
    return false;
  }
  return true;
}

/** Builds the bundle and its stamp (atomically); a TypeScript syntax error is reported as esbuild words it. */
async function build() {
  // Taken before the build, so that a change made while it runs shows in the next check (the build records each
  // input as it read it: scripts/app-build.js).
  const modules = modulesSignature();
  const inputs = {};
  // Besides the sources: what else decides the output of the build (esbuild reads tsconfig.json).
  for (const file of ["tsconfig.json", "scripts/app-build.js"]) inputs[file] = sha256(path.join(ROOT, file));
  // No stamp while building: an interrupted build leaves none, so the next run builds again.
  fs.rmSync(STAMP, { force: true });
  let built;
  try {
    built = await buildBundle({ root: ROOT, entry: ENTRY, outfile: BUNDLE });
  } catch (e) {
    fail(`the app's TypeScript could not be compiled; nothing was synthesized:\n${e.message}`);
  }
  const temporary = `${STAMP}.tmp-${process.pid}`;
  const stamp = { format: STAMP_FORMAT, esbuild: esbuildVersion(), modules, inputs: { ...built.sources, ...inputs }, packages: built.packageFiles };
  fs.writeFileSync(temporary, `${JSON.stringify(stamp, null, 1)}\n`);
  fs.renameSync(temporary, STAMP);
}

async function main() {
  ensureBindings();
  if (!bundleIsCurrent()) await build();
  if (process.env.NIXOS_K8S_DEBUG === "1") process.setSourceMapsEnabled(true);
  // NIXOS_K8S_CODE_CACHE=0 turns the cache off (the output is the same either way; the tests check that).
  // Real paths: node names modules by them (node_modules may be a symlink, as in the benchmark's copies).
  if (process.env.NIXOS_K8S_CODE_CACHE !== "0") installCodeCache(CODE_CACHE, [BUILD_DIR, path.join(ROOT, "node_modules")].map((d) => fs.realpathSync(d)));
  require(BUNDLE);
}

main().catch((e) => fail(`the app could not start: ${e && e.message ? e.message : String(e)}`));
