/** Every file under a folder, by "/"-separated relative path (empty when the folder does not exist). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

export function readTree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const walk = (current: string, prefix: string): void => {
    let names: string[];
    try {
      names = readdirSync(current).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const full = path.join(current, name);
      const relative = prefix ? `${prefix}/${name}` : name;
      if (statSync(full).isDirectory()) walk(full, relative);
      else files.set(relative, readFileSync(full));
    }
  };
  walk(dir, "");
  return files;
}
