/**
 * scripts/app-build.js records each input as the build read it: a source saved while the build runs is recorded
 * with the text the bundle holds, so the next check (which hashes the file on disk) finds the difference and
 * builds again, instead of a stamp that matches the new text beside a bundle of the old one.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildBundle } = require("../scripts/app-build.js") as {
  buildBundle: (o: { root: string; entry: string; outfile: string; packages?: "bundle" | "external" }) => Promise<{ sources: Record<string, string>; packageFiles: Record<string, string> }>;
};

/** node's own fs module object, which the build script uses (an `import *` is a copy of its properties). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeFs = require("node:fs") as typeof fs;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("what a build records", () => {
  const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "app-build-")));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  afterEach(() => jest.restoreAllMocks());

  it("is each source as the build read it, even when it is saved again while the build runs", async () => {
    fs.writeFileSync(path.join(root, "main.ts"), 'import { greeting } from "./greeting";\nconsole.log(greeting);\n');
    const greeting = path.join(root, "greeting.ts");
    const before = 'export const greeting = "before";\n';
    const after = 'export const greeting = "after!";\n';
    fs.writeFileSync(greeting, before);
    // The editor saves greeting.ts right after esbuild has read it.
    const read = fs.readFileSync;
    jest.spyOn(nodeFs, "readFileSync").mockImplementation(((file: fs.PathOrFileDescriptor, options?: unknown) => {
      const contents = read(file, options as never);
      if (file === greeting) fs.writeFileSync(greeting, after);
      return contents;
    }) as typeof fs.readFileSync);
    const built = await buildBundle({ root, entry: "main.ts", outfile: path.join(root, "out", "main.js") });
    jest.restoreAllMocks();
    expect(fs.readFileSync(path.join(root, "out", "main.js"), "utf8")).toContain('"before"');
    expect(built.sources["greeting.ts"]).toBe(sha256(before));
    expect(sha256(fs.readFileSync(greeting, "utf8"))).not.toBe(built.sources["greeting.ts"]);
    expect(Object.keys(built.sources).sort()).toEqual(["greeting.ts", "main.ts"]);
    expect(built.packageFiles).toEqual({});
  });

  it("is the package files and their packages' manifests, by size, modification time and inode", async () => {
    const modules = path.join(root, "node_modules", "tiny");
    fs.mkdirSync(modules, { recursive: true });
    fs.writeFileSync(path.join(modules, "package.json"), '{ "name": "tiny", "main": "lib.js" }\n');
    fs.writeFileSync(path.join(modules, "lib.js"), "exports.word = 'tiny';\n");
    fs.writeFileSync(path.join(root, "uses-tiny.ts"), 'import { word } from "tiny";\nconsole.log(word);\n');
    const built = await buildBundle({ root, entry: "uses-tiny.ts", outfile: path.join(root, "out", "tiny.js") });
    const signature = (file: string) => {
      const s = fs.statSync(path.join(root, file));
      return `${s.size}:${s.mtimeMs}:${s.ino}`;
    };
    expect(built.packageFiles).toEqual({ "node_modules/tiny/lib.js": signature("node_modules/tiny/lib.js"), "node_modules/tiny/package.json": expect.any(String) });
    const external = await buildBundle({ root, entry: "uses-tiny.ts", outfile: path.join(root, "out", "tiny-external.js"), packages: "external" });
    expect(external.packageFiles).toEqual({});
    expect(fs.readFileSync(path.join(root, "out", "tiny-external.js"), "utf8")).toContain('require("tiny")');
  });
});
