/**
 * Test helpers for the libvirt target: synthesize a plan's stacks the way `cdktf synth` does (the whole app into
 * an output folder) and read their cdk.tf.json; check synthesized libvirt blocks against the provider schema.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { App } from "cdktf";
import type { ClusterPlan } from "../../src/cluster/plan-types";
import { buildClusterStacks } from "../../stacks/app";
import { REPO_ROOT } from "./descriptions";

import { named, resourcesOf, type Json } from "./synth-json";

export { named, resourcesOf, type Json };

export interface LibvirtSynth {
  readonly network: Json;
  readonly compute: Json;
}

/** Synthesizes every stack of `plan` into a temporary folder and returns the network and compute stacks' JSON. */
export function synthLibvirt(plan: ClusterPlan): LibvirtSynth {
  const outdir = mkdtempSync(path.join(tmpdir(), "libvirt-test-"));
  try {
    // As main.ts synthesizes: cdktf's validations would run `terraform version` (which a test machine may lack).
    const app = new App({ outdir, stackTraces: false, skipValidation: true });
    buildClusterStacks(app, plan);
    app.synth();
    const read = (id: string): Json => JSON.parse(readFileSync(path.join(outdir, "stacks", id, "cdk.tf.json"), "utf8")) as Json;
    return { network: read("network"), compute: read("compute") };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}



/** The Terraform expression for `attribute` of the `type` resource with logical id `id`. */
export function ref(type: string, id: string, attribute: string): string {
  return `\${${type}.${id}.${attribute}}`;
}

/** Every resource address (`type.name`) of a stack, sorted. */
export function resourceAddresses(stack: Json): string[] {
  return Object.entries((stack.resource ?? {}) as Record<string, Json>)
    .flatMap(([type, byName]) => Object.keys(byName).map((name) => `${type}.${name}`))
    .sort();
}

/** The config of the resource at `address` (`type.name`). */
export function resourceAt(stack: Json, address: string): Json {
  const dot = address.indexOf(".");
  return stack.resource[address.slice(0, dot)][address.slice(dot + 1)] as Json;
}

/** Every string anywhere in a JSON value. */
export function allStrings(value: unknown): string[] {
  if (typeof value === "string") return [value];
  if (Array.isArray(value)) return value.flatMap(allStrings);
  if (value && typeof value === "object") return Object.values(value).flatMap(allStrings);
  return [];
}

/** Reads the provider schema kept in the repository (`terraform providers schema -json` format). */
export function libvirtSchema(): ProviderSchemaFile {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, "providers", "libvirt", "0.8.3.schema.json"), "utf8")) as ProviderSchemaFile;
}

// --- schema conformance ------------------------------------------------------------------------------------

interface SchemaAttribute {
  readonly type: unknown;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
  readonly deprecated?: boolean;
}

interface SchemaBlockType {
  readonly nesting_mode: "single" | "group" | "list" | "set" | "map";
  readonly block: SchemaBlock;
  readonly min_items?: number;
  readonly max_items?: number;
}

interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<string, SchemaBlockType>;
}

interface ProviderSchema {
  readonly provider: { readonly block: SchemaBlock };
  readonly resource_schemas: Record<string, { readonly block: SchemaBlock }>;
  readonly data_source_schemas: Record<string, { readonly block: SchemaBlock }>;
}

export interface ProviderSchemaFile {
  readonly provider_schemas: Record<string, ProviderSchema>;
}

/** Terraform meta-arguments and cdktf's metadata key: allowed on every resource, not part of its schema. */
const META_ARGUMENTS = new Set(["//", "lifecycle", "depends_on", "provider", "count", "for_each", "connection", "provisioner"]);
const PROVIDER_META_ARGUMENTS = new Set(["alias"]);

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A Terraform expression left for terraform to evaluate (a reference or function call). */
function isExpression(value: unknown): boolean {
  return typeof value === "string" && value.includes("${");
}

function typeProblem(where: string, type: unknown, value: unknown): string[] {
  if (isExpression(value)) return [];
  if (type === "string") return typeof value === "string" ? [] : [`${where}: expected a string, got ${JSON.stringify(value)}`];
  if (type === "number") return typeof value === "number" ? [] : [`${where}: expected a number, got ${JSON.stringify(value)}`];
  if (type === "bool") return typeof value === "boolean" ? [] : [`${where}: expected a bool, got ${JSON.stringify(value)}`];
  if (Array.isArray(type)) {
    const [kind, inner] = type as [string, unknown];
    if (kind === "list" || kind === "set") {
      if (!Array.isArray(value)) return [`${where}: expected a ${kind}, got ${JSON.stringify(value)}`];
      return value.flatMap((item, i) => typeProblem(`${where}[${i}]`, inner, item));
    }
    if (kind === "map") {
      if (!isObject(value)) return [`${where}: expected a map, got ${JSON.stringify(value)}`];
      return Object.entries(value).flatMap(([k, v]) => typeProblem(`${where}.${k}`, inner, v));
    }
    if (kind === "object") {
      if (!isObject(value)) return [`${where}: expected an object, got ${JSON.stringify(value)}`];
      const fields = inner as Record<string, unknown>;
      return Object.entries(value).flatMap(([k, v]) => (k in fields ? typeProblem(`${where}.${k}`, fields[k], v) : [`${where}: unknown object field "${k}"`]));
    }
  }
  return [`${where}: schema type ${JSON.stringify(type)} is not handled by this check`];
}

function blockProblems(where: string, value: unknown, block: SchemaBlock, skip: ReadonlySet<string>): string[] {
  if (!isObject(value)) return [`${where}: expected a block (JSON object), got ${JSON.stringify(value)}`];
  const problems: string[] = [];
  const attributes = block.attributes ?? {};
  const blockTypes = block.block_types ?? {};
  for (const [key, item] of Object.entries(value)) {
    if (skip.has(key)) continue;
    const attribute = attributes[key];
    const blockType = blockTypes[key];
    if (attribute) {
      if (attribute.computed && !attribute.optional && !attribute.required) problems.push(`${where}.${key}: computed-only attribute is set`);
      if (attribute.deprecated) problems.push(`${where}.${key}: deprecated attribute is set`);
      problems.push(...typeProblem(`${where}.${key}`, attribute.type, item));
    } else if (blockType) {
      problems.push(...nestedBlockProblems(`${where}.${key}`, item, blockType));
    } else {
      problems.push(`${where}.${key}: no such attribute or block in the schema`);
    }
  }
  for (const [key, attribute] of Object.entries(attributes)) {
    if (attribute.required && !(key in value)) problems.push(`${where}.${key}: required attribute is missing`);
  }
  for (const [key, blockType] of Object.entries(blockTypes)) {
    if ((blockType.min_items ?? 0) > 0 && !(key in value)) problems.push(`${where}.${key}: required block is missing`);
  }
  return problems;
}

/**
 * Nested blocks in the shapes cdktf writes: `single`/`group` and list/set blocks with `max_items = 1` as one
 * object; other list/set blocks as an array of objects; `map` as an object of objects.
 */
function nestedBlockProblems(where: string, value: unknown, type: SchemaBlockType): string[] {
  const none = new Set<string>();
  switch (type.nesting_mode) {
    case "single":
    case "group":
      return isObject(value) ? blockProblems(where, value, type.block, none) : [`${where}: a ${type.nesting_mode} block must be one object, got ${JSON.stringify(value)}`];
    case "map":
      return isObject(value)
        ? Object.entries(value).flatMap(([k, v]) => blockProblems(`${where}.${k}`, v, type.block, none))
        : [`${where}: a map block must be an object of blocks`];
    case "list":
    case "set": {
      if (type.max_items === 1) {
        return isObject(value) ? blockProblems(where, value, type.block, none) : [`${where}: a ${type.nesting_mode} block with max_items 1 is one object in cdktf output, got ${JSON.stringify(value)}`];
      }
      if (!Array.isArray(value)) return [`${where}: a ${type.nesting_mode} block must be an array of objects, got ${JSON.stringify(value)}`];
      const problems = value.flatMap((item, i) => blockProblems(`${where}[${i}]`, item, type.block, none));
      if (value.length < (type.min_items ?? 0)) problems.push(`${where}: needs at least ${type.min_items} blocks, got ${value.length}`);
      if (type.max_items !== undefined && value.length > type.max_items) problems.push(`${where}: allows at most ${type.max_items} blocks, got ${value.length}`);
      return problems;
    }
  }
}

/** `lifecycle.ignore_changes` may only name the resource's own top-level attributes and blocks. */
function lifecycleProblems(where: string, config: Json, block: SchemaBlock): string[] {
  const ignored: unknown = config.lifecycle?.ignore_changes;
  if (ignored === undefined || ignored === "all") return [];
  if (!Array.isArray(ignored)) return [`${where}.lifecycle.ignore_changes: expected a list`];
  const known = new Set([...Object.keys(block.attributes ?? {}), ...Object.keys(block.block_types ?? {})]);
  return ignored.filter((name) => typeof name !== "string" || !known.has(name.split(/[.[]/)[0])).map((name) => `${where}.lifecycle.ignore_changes: "${String(name)}" is not an attribute or block of the resource`);
}

export interface ConformanceReport {
  readonly problems: string[];
  /** Addresses of the libvirt blocks that were checked (provider configs as `provider.libvirt[i]`). */
  readonly checked: string[];
}

/**
 * Checks every libvirt provider config, resource and data source of a synthesized stack against the provider
 * schema: only known attributes and blocks, each with the right type and nesting; every required attribute
 * present; nothing computed-only or deprecated set. Other providers' blocks are left alone.
 */
export function checkLibvirtConformance(stack: Json, schemaFile: ProviderSchemaFile): ConformanceReport {
  const schema = schemaFile.provider_schemas["registry.terraform.io/dmacvicar/libvirt"];
  const problems: string[] = [];
  const checked: string[] = [];
  const providers = stack.provider?.libvirt as unknown;
  if (providers !== undefined) {
    const list = Array.isArray(providers) ? providers : [providers];
    list.forEach((config, i) => {
      checked.push(`provider.libvirt[${i}]`);
      problems.push(...blockProblems(`provider.libvirt[${i}]`, config, schema.provider.block, PROVIDER_META_ARGUMENTS));
    });
  }
  const sections = [
    { key: "resource", schemas: schema.resource_schemas, prefix: "" },
    { key: "data", schemas: schema.data_source_schemas, prefix: "data." },
  ] as const;
  for (const { key, schemas, prefix } of sections) {
    for (const [type, byName] of Object.entries((stack[key] ?? {}) as Record<string, Json>)) {
      if (!type.startsWith("libvirt_")) continue;
      const resourceSchema = schemas[type];
      for (const [name, config] of Object.entries(byName)) {
        const where = `${prefix}${type}.${name}`;
        checked.push(where);
        if (!resourceSchema) {
          problems.push(`${where}: the provider has no ${key === "data" ? "data source" : "resource"} type "${type}"`);
          continue;
        }
        problems.push(...blockProblems(where, config, resourceSchema.block, META_ARGUMENTS), ...lifecycleProblems(where, config as Json, resourceSchema.block));
      }
    }
  }
  return { problems, checked };
}
