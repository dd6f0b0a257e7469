/** The documentation's relative links and anchors resolve (README.md and docs/*.md). */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const pages = ["README.md", ...readdirSync(path.join(ROOT, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

/** Text outside fenced code blocks. */
function prose(markdown: string): string[] {
  let fenced = false;
  return markdown.split("\n").filter((line) => {
    if (line.startsWith("```")) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to "-", repeats numbered "-1", "-2". */
export function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const line of prose(markdown)) {
    const m = /^#{1,6} (.*)$/.exec(line);
    if (!m) continue;
    const base = m[1]
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}_\- ]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

function linksOf(markdown: string): string[] {
  const text = prose(markdown)
    .join("\n")
    .replace(/`[^`\n]*`/g, "");
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((target) => !/^[a-z]+:/i.test(target));
}

describe("documentation links", () => {
  it("has a docs/ page for every reference topic the README points to", () => {
    for (const page of ["description", "targets", "pki", "nixos", "day-2", "troubleshooting"]) {
      expect(existsSync(path.join(ROOT, "docs", `${page}.md`))).toBe(true);
    }
  });

  it.each(pages)("%s: every relative link and anchor resolves", (page) => {
    const text = readFileSync(path.join(ROOT, page), "utf8");
    const broken: string[] = [];
    for (const link of linksOf(text)) {
      const [file, anchor] = link.split("#");
      const target = file === "" ? path.join(ROOT, page) : path.resolve(path.dirname(path.join(ROOT, page)), file);
      if (!existsSync(target)) {
        broken.push(`${link}: no file ${path.relative(ROOT, target)}`);
        continue;
      }
      if (anchor !== undefined && target.endsWith(".md") && !anchorsOf(readFileSync(target, "utf8")).has(anchor)) {
        broken.push(`${link}: no heading with anchor #${anchor} in ${path.relative(ROOT, target)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it("keeps the README a five-minute read", () => {
    expect(readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").length).toBeLessThanOrEqual(300);
  });

  it("gives every long page a table of contents", () => {
    for (const page of pages.filter((p) => p.startsWith("docs/"))) {
      const text = readFileSync(path.join(ROOT, page), "utf8");
      if (text.split("\n").length > 80) expect(`${page}: ${/^Contents:$/m.test(text)}`).toBe(`${page}: true`);
    }
  });
});
