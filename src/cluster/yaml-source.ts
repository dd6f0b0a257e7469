/**
 * Turns the text of a description file into a plain value, or into findings in plain words: YAML syntax
 * errors with their line, keys given twice (with both lines), several documents in one file, an empty file,
 * aliases to missing anchors, alias bombs, tags and keys that are not plain text. Nothing of the YAML
 * library's wording or advice reaches the user, and nothing it would print itself (process warnings) happens.
 */
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node, type YAMLError } from "yaml";
import type { Finding } from "./validate";

/** More aliases than this in one description is an alias bomb, not a description (the library's default is 100). */
export const MAX_ALIAS_COUNT = 100;

/** Tags a description may carry (the YAML core schema's own, as `!!str` and friends resolve). */
const PLAIN_TAGS = new Set(["str", "int", "float", "bool", "null", "map", "seq"].map((t) => `tag:yaml.org,2002:${t}`));

export interface YamlSource {
  /** The document as plain data; undefined when there are findings. */
  readonly value?: unknown;
  readonly findings: readonly Finding[];
  /** Line (1-based) where the value at a field path starts, when the document has it. */
  lineOf(path: readonly PropertyKey[]): number | undefined;
}

const problem = (path: string, message: string, line?: number): Finding => ({ severity: "error", path, message, ...(line ? { line } : {}) });

/** Plain-words explanations of the YAML library's error codes; the position is added by the caller. */
const SYNTAX: Record<YAMLError["code"], string> = {
  TAB_AS_INDENT: "a tab is used for indentation; YAML indents with spaces only",
  BAD_INDENT: "the indentation does not line up with the lines above (or a flow collection `{ ... }`/`[ ... ]` is not closed)",
  BLOCK_AS_IMPLICIT_KEY: "a value holds a second `key: value` on the same line (or a nested mapping is not on its own lines); put nested fields on their own indented lines, or quote a value that contains \": \"",
  BLOCK_IN_FLOW: "an indented block inside `{ ... }` or `[ ... ]`; write the flow collection on one line or as indented lines",
  MULTILINE_IMPLICIT_KEY: "a key runs over more than one line; check the indentation of the lines around it",
  MISSING_CHAR: "a quote or bracket is not closed",
  UNEXPECTED_TOKEN: "unexpected text; check the indentation and any quotes on this line",
  BAD_DQ_ESCAPE: "invalid escape sequence in a double-quoted string; use single quotes or escape the backslash",
  BAD_SCALAR_START: "a plain value cannot start with this character; quote the value",
  BAD_PROP_ORDER: "an anchor or tag is in the wrong place",
  BAD_ALIAS: "a malformed alias (`*name`)",
  ALIAS_PROPS: "an alias cannot have a tag or anchor",
  MULTIPLE_ANCHORS: "a value has two anchors (`&name`)",
  MULTIPLE_TAGS: "a value has two tags",
  MULTIPLE_DOCS: "the file holds several YAML documents; keep one cluster per file",
  DUPLICATE_KEY: "a key appears twice",
  NON_STRING_KEY: "a key is not plain text",
  KEY_OVER_1024_CHARS: "a key is longer than 1024 characters",
  BAD_DIRECTIVE: "unknown or malformed `%` directive",
  BAD_COLLECTION_TYPE: "a collection has the wrong type for its tag",
  TAG_RESOLVE_FAILED: "a tag YAML cannot resolve; write the value plainly",
  RESOURCE_EXHAUSTION: "the YAML nests too deeply (or expands too far) for a description, which nests a few levels",
  IMPOSSIBLE: "the YAML cannot be read",
};

function syntaxFinding(error: YAMLError, lines: readonly string[]): Finding {
  const position = error.linePos?.[0];
  const explanation = SYNTAX[error.code];
  if (!position) return problem("", `YAML syntax error: ${explanation}`);
  const text = (lines[position.line - 1] ?? "").trim();
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return problem("", `YAML syntax error at column ${position.col}: ${explanation}${shown ? ` (the line reads: ${shown})` : ""}`, position.line);
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key) && (typeof key.value === "string" || typeof key.value === "number" || typeof key.value === "boolean")) return String(key.value);
  return undefined;
}

/** Walks a document: keys given twice (per mapping, with both lines), keys that are not plain text, and tags. */
function structureFindings(doc: Document, lineAt: (offset: number) => number): Finding[] {
  const findings: Finding[] = [];
  const walk = (node: unknown, path: string[]): void => {
    if (!node || isAlias(node)) return;
    const n = node as Node;
    if (n.tag && !PLAIN_TAGS.has(n.tag) && !isAlias(n)) {
      const at = n.range ? lineAt(n.range[0]) : undefined;
      findings.push(problem(path.join("."), `the tag \`${n.tag.replace("tag:yaml.org,2002:", "!!")}\` is not supported in a description; write the value plainly (text, number, true/false, list or mapping)`, at));
    }
    if (isMap(n)) {
      const seen = new Map<string, number | undefined>();
      for (const pair of n.items) {
        if (!isPair(pair)) continue;
        // A merge key (`<<: *anchor`) is a symbol in the library: the aliased mapping's fields are merged in.
        if (isScalar(pair.key) && typeof pair.key.value === "symbol") {
          walk(pair.value, path);
          continue;
        }
        const key = keyText(pair.key);
        const keyLine = isScalar(pair.key) && pair.key.range ? lineAt(pair.key.range[0]) : undefined;
        if (key === undefined) {
          if (isScalar(pair.key) && pair.key.value === null) {
            findings.push(problem(path.join("."), "a line has a value but no key (e.g. a line starting with \":\"); write `key: value`", keyLine));
          } else {
            const at = (pair.key as Node | null)?.range ? lineAt((pair.key as Node).range![0]) : undefined;
            findings.push(problem(path.join("."), "a key is a list or mapping (`? ...` or `[a, b]: ...`); keys are plain field names", at));
          }
          continue;
        }
        const fieldPath = [...path, key].join(".");
        if (seen.has(key)) {
          const first = seen.get(key);
          findings.push(
            problem(fieldPath, `key \`${key}\` appears twice${first && keyLine ? `, lines ${first} and ${keyLine}` : ""}${path.length ? ` in ${path.join(".")}` : ""}; keep one of them`, keyLine),
          );
        } else {
          seen.set(key, keyLine);
        }
        walk(pair.value, [...path, key]);
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, i) => walk(item, [...path, String(i)]));
    }
  };
  walk(doc.contents, []);
  return findings;
}

function noLines(): undefined {
  return undefined;
}

/** Parses the text of one description file. */
export function readYaml(text: string): YamlSource {
  const lineCounter = new LineCounter();
  const lines = text.split(/\r?\n/);
  const lineAt = (offset: number) => lineCounter.linePos(offset).line;
  // uniqueKeys off: duplicates are found by structureFindings, which names the key and both lines.
  const docs = parseAllDocuments(text, { lineCounter, uniqueKeys: false, merge: true, prettyErrors: true });
  const documents: Document[] = Array.isArray(docs) ? docs : [];
  if (documents.length === 0 || (documents.length === 1 && documents[0].contents === null && documents[0].errors.length === 0)) {
    return {
      findings: [problem("", "the file is empty (or holds only comments); a description starts with `name:` and `target:`, e.g. copy clusters/local.yaml and edit it")],
      lineOf: noLines,
    };
  }
  if (documents.length > 1) {
    const second = documents[1].range ? lineAt(documents[1].range[0]) : undefined;
    return {
      findings: [
        problem("", `the file holds ${documents.length} YAML documents${second ? ` (the second starts at line ${second})` : ""}; a description is one document: remove the \`---\` separator and keep one cluster per file`, second),
      ],
      lineOf: noLines,
    };
  }
  const doc = documents[0];
  if (doc.errors.length > 0) {
    // The first error is the one to fix; the library's later errors are usually its consequences.
    const first = syntaxFinding(doc.errors[0], lines);
    const more = doc.errors.length - 1;
    const message = more > 0 ? `${first.message}; fix this first (the parser reports ${more} more error${more === 1 ? "" : "s"} after it, usually consequences of this one)` : first.message;
    return { findings: [{ ...first, message }], lineOf: noLines };
  }
  const structure = structureFindings(doc, lineAt);
  const unresolved = doc.warnings.map((w) => {
    const position = w.linePos?.[0];
    return problem("", "a tag or value YAML cannot resolve; write the value plainly", position?.line);
  });
  if (structure.length + unresolved.length > 0) return { findings: [...structure, ...unresolved], lineOf: noLines };

  // The exact node, else the nearest enclosing one (a missing field: the line of its section).
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    for (let depth = path.length; depth > 0; depth--) {
      const node = doc.getIn(path.slice(0, depth).map((p) => (typeof p === "number" ? p : String(p))), true) as Partial<Node> | undefined;
      if (node && typeof node === "object" && node.range) return lineAt(node.range[0]);
    }
    return undefined;
  };
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }), findings: [], lineOf };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/Excessive alias count/.test(message)) {
      return {
        findings: [problem("", `the file expands to too many values through aliases (\`*name\`), more than ${MAX_ALIAS_COUNT}: that is an alias bomb, not a description; write the values out or use fewer aliases`)],
        lineOf: noLines,
      };
    }
    const anchor = /alias[^:]*: (.+)$/.exec(message)?.[1];
    if (/Unresolved alias/.test(message)) {
      return {
        findings: [problem("", `the alias \`*${anchor ?? "?"}\` refers to no anchor \`&${anchor ?? "?"}\` defined above it; define the anchor first or write the value out`)],
        lineOf: noLines,
      };
    }
    return { findings: [problem("", "the YAML cannot be turned into a description; check the file against docs/description.md")], lineOf: noLines };
  }
}
