/**
 * zod's issues in plain words: "section `network` is missing", "expected a whole number, got the text "two"".
 * The schema's own messages (regexes, unions with a custom error) are kept; zod's generic wording never
 * reaches the user.
 */
import type { core } from "zod";
import type { Finding } from "./validate";

const TYPE_WORDS: Record<string, string> = {
  object: "a section (fields below it, indented)",
  string: "text",
  number: "a number",
  int: "a whole number",
  array: "a list",
  boolean: "true or false",
};

/** A short rendering of a value for a message; long values are cut. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function describeInput(value: unknown): string {
  if (value === null) return "nothing";
  if (typeof value === "string") return `the text ${showValue(value)}`;
  if (typeof value === "number") return `the number ${value}`;
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a section (a mapping)";
  return showValue(value);
}

const got = (issue: core.$ZodIssue): string => ("input" in issue && issue.input !== undefined ? ` (got ${showValue(issue.input)})` : "");

/** The allowed literal values of a union of literals/enums, if that is what the union is. */
function unionValues(issue: core.$ZodIssueInvalidUnion): unknown[] | undefined {
  const values: unknown[] = [];
  for (const branch of issue.errors) {
    if (branch.length !== 1 || branch[0].code !== "invalid_value") return undefined;
    values.push(...branch[0].values);
  }
  return values.length > 0 ? values : undefined;
}

function message(issue: core.$ZodIssue, field: string): string {
  const input = "input" in issue ? issue.input : undefined;
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      // A schema's own message for a missing field says why it is needed; keep it.
      if (input === undefined && issue.message && !/^Invalid input/.test(issue.message)) return issue.message;
      if (input === undefined) {
        return issue.expected === "object"
          ? `section \`${field}\` is missing; add it (the fields of each section are in docs/description.md)`
          : `field \`${field}\` is missing; add it (expected ${expected}; see docs/description.md)`;
      }
      if (input === null) {
        return issue.expected === "object"
          ? `section \`${field}\` is empty (nothing after \`${field.split(".").pop()}:\`); give it its fields, or remove the line if the section is optional`
          : `field \`${field}\` has no value; give it ${expected}, or remove the line if the field is optional`;
      }
      return `expected ${expected}, got ${describeInput(input)}`;
    }
    case "too_small": {
      const min = Number(issue.minimum);
      if (issue.origin === "array") return `the list has ${Array.isArray(input) ? input.length : 0} entries; give at least ${min}`;
      if (issue.origin === "string") return `is too short: at least ${min} characters${got(issue)}`;
      return `got ${showValue(input)}; the smallest allowed value is ${issue.inclusive ? min : `above ${min}`}`;
    }
    case "too_big": {
      const max = Number(issue.maximum);
      if (issue.origin === "array") return `the list has ${Array.isArray(input) ? input.length : "too many"} entries; give at most ${max}`;
      if (issue.origin === "string") return `is too long: ${typeof input === "string" ? input.length : "more than"} characters, at most ${max} allowed${typeof input === "string" ? ` (got ${showValue(input)})` : ""}`;
      return `got ${showValue(input)}; the largest allowed value is ${issue.inclusive ? max : `below ${max}`}`;
    }
    case "invalid_value":
      // A schema's own message explains the choices (e.g. what each rotation phase does); keep it.
      if (issue.message && !/^Invalid (option|input)/.test(issue.message)) return `${issue.message}${got(issue)}`;
      return `got ${showValue(input)}; use one of ${issue.values.map((v) => showValue(v)).join(", ")}`;
    case "invalid_union": {
      const tagged = issue as core.$ZodIssueInvalidUnion & { discriminator?: string; options?: unknown[] };
      if (tagged.discriminator && tagged.options) {
        const value = input && typeof input === "object" ? (input as Record<string, unknown>)[tagged.discriminator] : undefined;
        const options = tagged.options.map((v) => showValue(v)).join(", ");
        return value === undefined ? `field \`${field}\` is missing; use one of ${options}` : `got ${showValue(value)}; use one of ${options}`;
      }
      const values = unionValues(issue);
      if (values) return `got ${showValue(input)}; use one of ${values.map((v) => showValue(v)).join(", ")}`;
      if (issue.message && issue.message !== "Invalid input") return `${issue.message}${got(issue)}`;
      return `does not match any of the allowed forms (see docs/description.md)${got(issue)}`;
    }
    default:
      // invalid_format and custom checks: the schema's own message says what the value must be.
      return `${issue.message}${got(issue)}`;
  }
}

/** The findings of one zod issue; `lineOf` finds the line of a field path in the file. */
export function schemaFindings(issue: core.$ZodIssue, lineOf: (path: readonly PropertyKey[]) => number | undefined): Finding[] {
  const base = issue.path.map(String).join(".");
  const at = (path: readonly PropertyKey[]) => {
    const line = lineOf(path);
    return line ? { line } : {};
  };
  if (issue.code === "unrecognized_keys") {
    return issue.keys.map((key) => ({
      severity: "error" as const,
      path: base ? `${base}.${key}` : key,
      message: `unknown field "${key}"${base ? ` in ${base}` : ""} (a typo?); remove it or use one of the documented fields (docs/description.md)`,
      ...at([...issue.path, key]),
    }));
  }
  if (issue.path.length === 0 && issue.code === "invalid_type") {
    const input = "input" in issue ? issue.input : undefined;
    return [{ severity: "error", path: "", message: `the file holds ${describeInput(input)}, not a description; a description is a mapping of sections: name, target, kubernetes, network, ssh, pools, ...` }];
  }
  return [{ severity: "error", path: base, message: message(issue, base), ...at(issue.path) }];
}
