#!/usr/bin/env node
/**
 * Generates the TypeScript bindings of the dmacvicar/libvirt provider from the schema kept in the repository
 * (providers/libvirt/<version>.schema.json, the output of `terraform providers schema -json`) into
 * .gen/providers/libvirt/, offline: no terraform, no registry, no network.
 *
 * Runs from npm's `postinstall`, `pretest` and `presynth` hooks. Idempotent and quick: a stamp records the
 * hash of the schema, of this script and the generator version; when they match and every file is present
 * nothing is written. `--force` regenerates anyway, `--check` only reports (exit 1 when out of date).
 *
 * Plain CommonJS (no tsx) so that it runs in npm's install hooks before anything else is set up.
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const PROVIDER_SOURCE = "dmacvicar/libvirt";
/** The pinned provider version: the schema file name and the generated `required_providers` constraint. */
const PROVIDER_VERSION = "0.8.3";
const ROOT = path.resolve(__dirname, "..");
const SCHEMA_FILE = path.join(ROOT, "providers", "libvirt", `${PROVIDER_VERSION}.schema.json`);
const GEN_ROOT = path.join(ROOT, ".gen");
const OUT_DIR = path.join(GEN_ROOT, "providers", "libvirt");
const STAMP_FILE = path.join(OUT_DIR, ".generated-from.json");
/** Files the constructs import; their absence means the output is incomplete. */
const EXPECTED = ["provider", "pool", "volume", "network", "domain"].map((d) => path.join(OUT_DIR, d, "index.ts"));

function sha256(file) {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function generatorVersion() {
  try {
    return require("@cdktf/provider-generator/package.json").version;
  } catch {
    return undefined;
  }
}

function wantedStamp() {
  return {
    provider: `${PROVIDER_SOURCE}@${PROVIDER_VERSION}`,
    schemaSha256: sha256(SCHEMA_FILE),
    scriptSha256: sha256(__filename),
    generator: generatorVersion() ?? "missing",
  };
}

function upToDate(stamp) {
  if (!EXPECTED.every((f) => fs.existsSync(f))) return false;
  try {
    return JSON.stringify(JSON.parse(fs.readFileSync(STAMP_FILE, "utf8"))) === JSON.stringify(stamp);
  } catch {
    return false;
  }
}

async function generate(stamp) {
  if (stamp.generator === "missing") {
    throw new Error(
      "@cdktf/provider-generator is not installed (it is a devDependency): run `npm ci` without --omit=dev, then `npm run generate:libvirt`",
    );
  }
  // @cdktf/commons asks terraform for its version and calls the HashiCorp checkpoint service when loaded;
  // neither is needed here.
  process.env.CHECKPOINT_DISABLE = "1";
  // Deep import: the package index requires jsii tooling that is not a declared dependency.
  const { TerraformProviderGenerator } = require("@cdktf/provider-generator/lib/get/generator/provider-generator");
  const { TerraformProviderConstraint, ConstructsMakerProviderTarget, Language } = require("@cdktf/commons");
  const { CodeMaker } = require("codemaker");

  const schema = JSON.parse(fs.readFileSync(SCHEMA_FILE, "utf8"));
  const fqpn = `registry.terraform.io/${PROVIDER_SOURCE}`;
  if (!schema.provider_schemas || !schema.provider_schemas[fqpn]) {
    throw new Error(`${path.relative(ROOT, SCHEMA_FILE)} has no provider_schemas["${fqpn}"]; is it \`terraform providers schema -json\` output?`);
  }
  // Not part of terraform's output: it makes the generated provider class carry the version constraint.
  schema.provider_versions = { [fqpn]: PROVIDER_VERSION };

  const code = new CodeMaker();
  new TerraformProviderGenerator(code, schema).generate(
    new ConstructsMakerProviderTarget(new TerraformProviderConstraint(`${PROVIDER_SOURCE}@${PROVIDER_VERSION}`), Language.TYPESCRIPT),
  );

  // Write next to the destination, then swap directories, so a failed or concurrent run never leaves
  // half a set of bindings behind.
  const staging = fs.mkdtempSync(path.join(GEN_ROOT, ".staging-libvirt-"));
  try {
    await code.save(staging);
    const generated = path.join(staging, "providers", "libvirt");
    fs.writeFileSync(path.join(generated, path.basename(STAMP_FILE)), `${JSON.stringify(stamp, null, 2)}\n`);
    const old = `${OUT_DIR}.old-${process.pid}`;
    fs.mkdirSync(path.dirname(OUT_DIR), { recursive: true });
    if (fs.existsSync(OUT_DIR)) fs.renameSync(OUT_DIR, old);
    fs.renameSync(generated, OUT_DIR);
    fs.rmSync(old, { recursive: true, force: true });
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
}

async function main() {
  const args = new Set(process.argv.slice(2));
  const stamp = wantedStamp();
  const current = upToDate(stamp);
  const shown = path.relative(ROOT, OUT_DIR);
  if (args.has("--check")) {
    process.stdout.write(current ? `${shown} is up to date\n` : `${shown} is missing or out of date: run \`npm run generate:libvirt\`\n`);
    process.exitCode = current ? 0 : 1;
    return;
  }
  if (current && !args.has("--force")) return;
  fs.mkdirSync(GEN_ROOT, { recursive: true });
  await generate(stamp);
  process.stdout.write(`generated ${shown} from ${path.relative(ROOT, SCHEMA_FILE)} (${PROVIDER_SOURCE} ${PROVIDER_VERSION})\n`);
}

/** Whether .gen/ holds complete bindings of the pinned schema (used by scripts/app.js before each synth). */
function bindingsUpToDate() {
  return upToDate(wantedStamp());
}

module.exports = { bindingsUpToDate, OUT_DIR };

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`generate-libvirt-bindings: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
