/** The Nix writer: what it writes must read back in Nix as exactly the value that went in. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { NixApply, NixLambda, NixPath, nixAttrName, nixFile, nixString, toNix, type NixValue } from "../src/nix/writer";
import { evalJson, nixInstantiate, nixPathLiteral } from "./nix/eval";

const TRICKY_STRINGS = [
  "",
  'say "hi"',
  "back\\slash \\n not a newline",
  "${interpolation}",
  "$${double}",
  "a$",
  "$",
  "$$",
  '$"',
  "''${indented-escape}",
  "line one\nline two\r\n\ttabbed",
  "ünïcödé ✓ — 漢字",
  "ends with backslash \\",
];

describe("nixString", () => {
  it.each(TRICKY_STRINGS)("round-trips %j through nix-instantiate", (text) => {
    expect(evalJson(nixString(text))).toBe(text);
  });

  it("never leaves an interpolation open", () => {
    expect(nixString("${x}")).toBe('"\\${x}"');
  });

  it("rejects NUL, which Nix strings cannot hold", () => {
    expect(() => nixString("a\0b")).toThrow(/NUL/);
  });
});

describe("toNix", () => {
  const value: NixValue = {
    zeta: 1,
    alpha: [true, false, null, -3, 0, "x"],
    "dotted.name": "quoted key",
    "with space": { nested: { deeper: [] } },
    "0starts-with-digit": "k",
    if: "keyword key",
    "kebab-case_ok'": "bare",
    "${key}": "escaped key",
    empty: {},
  };

  it("evaluates to the same value", () => {
    expect(evalJson(toNix(value))).toEqual(value);
  });

  it("writes attributes in sorted order with a fixed layout", () => {
    expect(toNix({ b: 1, a: { d: [1, "two"], c: {} } })).toBe(
      ["{", "  a = {", "    c = { };", "    d = [", "      1", '      "two"', "    ];", "  };", "  b = 1;", "}"].join("\n"),
    );
  });

  it("is deterministic: key insertion order does not matter", () => {
    expect(toNix({ a: 1, b: { x: 1, y: 2 } })).toBe(toNix({ b: { y: 2, x: 1 }, a: 1 }));
  });

  it("quotes attribute names that are not plain identifiers or are keywords", () => {
    expect(nixAttrName("plain_name-1")).toBe("plain_name-1");
    expect(nixAttrName("in")).toBe('"in"');
    expect(nixAttrName("a.b")).toBe('"a.b"');
    expect(nixAttrName("1abc")).toBe('"1abc"');
  });

  it("parses as a list element even for negative numbers", () => {
    expect(evalJson(toNix([-1, -2, 3]))).toEqual([-1, -2, 3]);
  });

  it("refuses values Nix files cannot carry faithfully", () => {
    expect(() => toNix(1.5)).toThrow(/integer/);
    expect(() => toNix({ a: undefined } as unknown as NixValue)).toThrow(/value\.a: undefined/);
    expect(() => toNix({ f: (() => 1) as unknown as NixValue })).toThrow(/cannot be written/);
  });
});

describe("NixPath", () => {
  it("writes relative path literals that resolve against the file", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "nix-writer-"));
    try {
      writeFileSync(path.join(dir, "target.nix"), '{ found = "yes"; }\n');
      writeFileSync(path.join(dir, "index.nix"), nixFile(["generated"], { file: new NixPath("./target.nix") }));
      expect(evalJson(`(import (import ${nixPathLiteral(path.join(dir, "index.nix"))}).file).found`)).toBe("yes");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each(["hosts/a.nix", "/etc/passwd", "./../up.nix", "./a b.nix", "./a/", "./${x}.nix"])("rejects %j", (p) => {
    expect(() => new NixPath(p)).toThrow(/relative path literal/);
  });
});

describe("NixApply and NixLambda", () => {
  it("write a module function whose body applies functions, as nix-instantiate reads it", () => {
    const module = new NixLambda(["name"], {
      greeting: new NixApply("builtins.toString", new NixApply("builtins.stringLength", "hello")),
      items: [new NixApply("builtins.toString", 7), "plain"],
    });
    // Called like a module: the named argument and any others (ignored).
    expect(evalJson(`(${toNix(module)}) { name = "x"; config = { }; }`)).toEqual({ greeting: "5", items: ["7", "plain"] });
  });

  it("write `{ ... }:` for a function that names no argument", () => {
    expect(toNix(new NixLambda([], new NixApply("builtins.fromJSON", "{}")))).toBe('{ ... }:\nbuiltins.fromJSON "{}"');
  });

  it("keep a function application one list element", () => {
    expect(evalJson(toNix([new NixApply("builtins.toString", 1), new NixApply("builtins.toString", 2)]))).toEqual(["1", "2"]);
  });

  it.each(["", "builtins.", "import x", "a.in", "f;g"])("reject the function name %j", (fn) => {
    expect(() => new NixApply(fn, null)).toThrow(/not a function name/);
  });

  it("reject argument names that are not identifiers or repeat", () => {
    expect(() => new NixLambda(["a b"], null)).toThrow(/not an argument name/);
    expect(() => new NixLambda(["let"], null)).toThrow(/not an argument name/);
    expect(() => new NixLambda(["a", "a"], null)).toThrow(/named twice/);
  });
});

describe("nixFile", () => {
  it("puts the comment header first and parses", () => {
    const text = nixFile(["generated by cdktf synth from clusters/x.yaml; do not edit"], { a: "b" });
    expect(text.startsWith("# generated by cdktf synth from clusters/x.yaml; do not edit\n{\n")).toBe(true);
    expect(text.endsWith("}\n")).toBe(true);
    const dir = mkdtempSync(path.join(tmpdir(), "nix-writer-"));
    try {
      writeFileSync(path.join(dir, "f.nix"), text);
      expect(nixInstantiate(["--parse", path.join(dir, "f.nix")]).ok).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses a comment that would break out of its line", () => {
    expect(() => nixFile(["one\n{ evil = true; }"], {})).toThrow(/line break/);
  });
});
