/**
 * Plain Terraform JSON: cdktf's metadata removed, keys in a fixed order. `stableJson` is the one JSON form of
 * every generated file (the terranix export, nixos/clusters/<cluster>/outputs.json).
 */

/** cdktf's metadata key; Terraform ignores it as a comment, terranix knows no such option. */
export const CDKTF_METADATA_KEY = "//";

/** A copy of `value` without any "//" key, at any depth. */
export function withoutMetadata(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutMetadata);
  if (typeof value === "object" && value !== null) {
    const result: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      if (key !== CDKTF_METADATA_KEY) result[key] = withoutMetadata(inner);
    }
    return result;
  }
  return value;
}

function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    // A Map keeps insertion order for every key; plain objects would move integer-like keys first.
    return new Map(entries.map(([k, v]) => [k, sortedKeys(v)]));
  }
  return value;
}

function render(value: unknown, indent: string): string {
  if (value instanceof Map) {
    if (value.size === 0) return "{}";
    const inner = `${indent}  `;
    const fields = [...value].map(([k, v]) => `${inner}${JSON.stringify(k)}: ${render(v, inner)}`);
    return `{\n${fields.join(",\n")}\n${indent}}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const inner = `${indent}  `;
    return `[\n${value.map((v) => `${inner}${render(v, inner)}`).join(",\n")}\n${indent}]`;
  }
  const text = JSON.stringify(value);
  if (text === undefined) throw new Error(`cannot write ${typeof value} as JSON`);
  return text;
}

/** JSON text with object keys sorted by code unit, two-space indentation and a final newline. */
export function stableJson(value: unknown): string {
  return `${render(sortedKeys(value), "")}\n`;
}
