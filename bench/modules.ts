/**
 * The provider modules the app loads, found in its source: deep imports of prebuilt packages
 * ("@cdktf/provider-google/lib/compute-instance") and generated bindings (".gen/providers/libvirt/domain").
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

/** Folders holding the app's own source (what main.ts reaches). */
const SOURCE_DIRS = ["constructs", "stacks", "src"];
const IMPORT = /from\s+"([^"]+)"|require\("([^"]+)"\)/g;

function sourceFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return /\.ts$/.test(name) && !/\.d\.ts$/.test(name) ? [full] : [];
  });
}

/** Every import in the app's source, as [file relative to root, specifier]. */
export function sourceImports(root: string): Array<[string, string]> {
  return SOURCE_DIRS.flatMap((d) => sourceFiles(path.join(root, d))).flatMap((file) =>
    [...readFileSync(file, "utf8").matchAll(IMPORT)].map((m): [string, string] => [path.relative(root, file).split(path.sep).join("/"), m[1] ?? m[2]]),
  );
}

/** Module specifiers to require (package paths, or absolute paths of generated bindings), sorted. */
export function providerModules(root: string): string[] {
  const found = new Set<string>();
  for (const [file, specifier] of sourceImports(root)) {
    if (/^@cdktf\/provider-[^/]+\/lib\//.test(specifier)) found.add(specifier);
    else if (specifier.startsWith(".") && specifier.includes("/.gen/")) found.add(path.resolve(root, path.dirname(file), specifier));
  }
  return [...found].sort();
}

/** The package barrels of every prebuilt provider the project depends on ("@cdktf/provider-google", ...). */
export function providerBarrels(root: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {})
    .filter((name) => name.startsWith("@cdktf/provider-"))
    .sort();
}
