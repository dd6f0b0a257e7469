/**
 * The one place Nix text is produced: plain values in, deterministic and correctly escaped Nix out.
 * Attribute names are sorted (as Nix itself orders them), strings are always double-quoted with every
 * character that means something inside a Nix string escaped, and the layout is fixed, so the same value
 * always gives the same bytes. Besides data, two expression forms generated files need: a function
 * application (`builtins.readFile ./x.json`) and a function of an attribute set (`{ ... }: body`, a module).
 */

const KEYWORDS = new Set(["assert", "else", "if", "in", "inherit", "let", "or", "rec", "then", "with"]);
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_'-]*$/;
const INDENT = "  ";

/** A relative path literal such as `./hosts/cp-1.nix` (resolved by Nix against the file that holds it). */
export class NixPath {
  readonly path: string;

  constructor(path: string) {
    if (!/^\.\/[A-Za-z0-9._+-]+(\/[A-Za-z0-9._+-]+)*$/.test(path) || path.split("/").some((part) => part === "..")) {
      throw new Error(`NixPath: "${path}" is not a relative path literal such as "./hosts/cp-1.nix"`);
    }
    this.path = path;
  }
}

/**
 * A function application `fn arg`, where `fn` names a function by a fixed dotted name such as
 * `builtins.fromJSON` (never text from the plan), e.g. `builtins.readFile ./network.tf.json`.
 */
export class NixApply {
  readonly fn: string;
  readonly arg: NixValue;

  constructor(fn: string, arg: NixValue) {
    if (!fn.split(".").every((part) => IDENTIFIER.test(part) && !KEYWORDS.has(part))) {
      throw new Error(`NixApply: "${fn}" is not a function name such as "builtins.readFile"`);
    }
    this.fn = fn;
    this.arg = arg;
  }
}

/**
 * A function of an attribute set, `{ a, b, ... }: body`, taking the named attributes (none: `{ ... }:`) and
 * ignoring any other, as NixOS and terranix modules are called.
 */
export class NixLambda {
  readonly formals: readonly string[];
  readonly body: NixValue;

  constructor(formals: readonly string[], body: NixValue) {
    for (const name of formals) {
      if (!IDENTIFIER.test(name) || KEYWORDS.has(name)) throw new Error(`NixLambda: "${name}" is not an argument name`);
    }
    if (new Set(formals).size !== formals.length) throw new Error(`NixLambda: an argument is named twice in ${formals.join(", ")}`);
    this.formals = [...formals];
    this.body = body;
  }
}

export type NixValue = null | boolean | number | string | NixPath | NixApply | NixLambda | readonly NixValue[] | NixAttrs;

export interface NixAttrs {
  readonly [name: string]: NixValue;
}

/** A Nix double-quoted string literal for any text. */
export function nixString(text: string): string {
  if (text.includes("\0")) throw new Error("a Nix string cannot hold a NUL character");
  let out = '"';
  for (const ch of text) {
    switch (ch) {
      case "\\":
        out += "\\\\";
        break;
      case '"':
        out += '\\"';
        break;
      case "$":
        // `\$` is a literal dollar; escaping every one rules out `${` interpolation in any context.
        out += "\\$";
        break;
      case "\n":
        out += "\\n";
        break;
      case "\r":
        out += "\\r";
        break;
      case "\t":
        out += "\\t";
        break;
      default:
        out += ch;
    }
  }
  return `${out}"`;
}

/** An attribute name: bare when it is a plain identifier, otherwise quoted. */
export function nixAttrName(name: string): string {
  return IDENTIFIER.test(name) && !KEYWORDS.has(name) ? name : nixString(name);
}

function nixNumber(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`only safe integers can be written to Nix, got ${value}`);
  return value < 0 ? `(${value})` : String(value);
}

function isAttrs(value: NixValue): value is NixAttrs {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof NixPath) &&
    !(value instanceof NixApply) &&
    !(value instanceof NixLambda)
  );
}

/** Text of a value where only a single operand may stand: a list element or a function argument. */
function renderOperand(value: NixValue, depth: number, where: string): string {
  const text = render(value, depth, where);
  return value instanceof NixApply || value instanceof NixLambda ? `(${text})` : text;
}

/** Code-unit order, like Nix's own attribute order (byte order for ASCII names). */
function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function render(value: NixValue, depth: number, where: string): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") return nixNumber(value);
  if (typeof value === "string") return nixString(value);
  if (value instanceof NixPath) return value.path;
  const inner = INDENT.repeat(depth + 1);
  const outer = INDENT.repeat(depth);
  if (value instanceof NixApply) return `${value.fn} ${renderOperand(value.arg, depth, `${where}(${value.fn})`)}`;
  if (value instanceof NixLambda) {
    const formals = value.formals.length === 0 ? "{ ... }" : `{ ${value.formals.join(", ")}, ... }`;
    return `${formals}:\n${outer}${render(value.body, depth, `${where}:`)}`;
  }
  if (Array.isArray(value)) {
    const items = value as readonly NixValue[];
    if (items.length === 0) return "[ ]";
    return `[\n${items.map((item, i) => `${inner}${renderOperand(item, depth + 1, `${where}[${i}]`)}\n`).join("")}${outer}]`;
  }
  if (isAttrs(value)) {
    const names = Object.keys(value).sort(compareNames);
    if (names.length === 0) return "{ }";
    const lines = names.map((name) => {
      const item = value[name];
      if (item === undefined) throw new Error(`${where}.${name}: undefined cannot be written to Nix (use null or leave the attribute out)`);
      return `${inner}${nixAttrName(name)} = ${render(item, depth + 1, `${where}.${name}`)};\n`;
    });
    return `{\n${lines.join("")}${outer}}`;
  }
  throw new Error(`${where}: ${typeof value} cannot be written to Nix`);
}

/** Nix expression text for a value (no trailing newline). */
export function toNix(value: NixValue): string {
  return render(value, 0, "value");
}

/** A complete Nix file: `#` comment lines, then the value, then a newline. */
export function nixFile(comments: readonly string[], value: NixValue): string {
  for (const line of comments) {
    if (/[\r\n]/.test(line)) throw new Error("a Nix comment line cannot contain a line break");
  }
  return `${comments.map((line) => (line ? `# ${line}\n` : "#\n")).join("")}${toNix(value)}\n`;
}
