/**
 * A V8 code cache for the CommonJS modules the app loads (node 20 has no `module.enableCompileCache()`; that came
 * with node 22.1). Compiling is a large part of a small synth: the first run of a module's functions compiles
 * them, in every process. With the cache, a module is compiled from the bytecode V8 produced in an earlier run.
 *
 * Safe by construction: an entry is named by the module's path and a hash of its source text, so an edited module
 * never meets an entry made from another text. That matters: V8 itself checks only the source's length (and its
 * own version and flags) before it uses cached data, so an edit that keeps the length would otherwise run the old
 * code. V8 rejects an entry made by another version or with other flags (`cachedDataRejected`); the module then
 * compiles from source as usual and the entry is rewritten at exit. When a module's entry is written, the
 * module's entries for other texts are removed. A module runs exactly as node runs it (the same wrapper and
 * arguments; `require` is the module's own).
 *
 * Only files below the given folders are cached; anything else goes through node unchanged.
 */
"use strict";

const crypto = require("node:crypto");
const fs = require("node:fs");
const Module = require("node:module");
const path = require("node:path");
const vm = require("node:vm");

/** `require` as node gives it to a module: loading through the module itself, resolving relative to its file. */
function requireFor(mod, filename) {
  const base = Module.createRequire(filename);
  const require = (id) => mod.require(id);
  require.resolve = base.resolve;
  require.main = process.mainModule;
  require.extensions = Module._extensions;
  require.cache = Module._cache;
  return require;
}

/** Node strips a leading "#!" line and a byte-order mark before compiling; so does this (keeping line numbers). */
function compilable(content) {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  return text.startsWith("#!") ? text.replace(/^#![^\n]*/, "") : text;
}

/**
 * Installs the cache for modules below `folders` (absolute), kept in `dir`. Entries that were missing or
 * rejected are written when the process exits (atomically; a failure to write only loses the speed-up).
 */
function installCodeCache(dir, folders) {
  const cached = (filename) => folders.some((folder) => filename.startsWith(folder + path.sep));
  const produced = [];
  const compile = Module.prototype._compile;
  Module.prototype._compile = function compileWithCache(content, filename, ...rest) {
    if (typeof content !== "string" || !cached(filename)) return compile.call(this, content, filename, ...rest);
    // SHA-1 is enough to tell texts apart by accident, and quicker than SHA-256 on a bundle of a few megabytes.
    const owner = crypto.createHash("sha1").update(filename).digest("hex");
    const entry = path.join(dir, `${owner}-${crypto.createHash("sha1").update(content).digest("hex")}.bin`);
    let cachedData;
    try {
      cachedData = fs.readFileSync(entry);
    } catch {
      cachedData = undefined;
    }
    const script = new vm.Script(Module.wrap(compilable(content)), {
      filename,
      cachedData,
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    });
    if (cachedData === undefined || script.cachedDataRejected) produced.push({ owner, entry, script });
    const wrapper = script.runInThisContext({ displayErrors: true });
    return wrapper.call(this.exports, this.exports, requireFor(this, filename), this, filename, path.dirname(filename));
  };
  process.once("exit", () => {
    if (produced.length === 0) return;
    try {
      fs.mkdirSync(dir, { recursive: true });
      const names = fs.readdirSync(dir);
      for (const { owner, entry, script } of produced) {
        const temporary = `${entry}.tmp-${process.pid}`;
        fs.writeFileSync(temporary, script.createCachedData());
        fs.renameSync(temporary, entry);
        for (const name of names) if (name.startsWith(`${owner}-`) && name.endsWith(".bin") && path.join(dir, name) !== entry) fs.rmSync(path.join(dir, name), { force: true });
      }
      // Entries named by path alone, from before entries were named by their text too: never read, so removed.
      for (const name of names) if (/^[0-9a-f]{40}\.bin$/.test(name)) fs.rmSync(path.join(dir, name), { force: true });
    } catch {
      // A read-only or full disk: the next run compiles from source, as node does without a cache.
    }
  });
}

module.exports = { installCodeCache };
