/**
 * Preload for the "floor, loaded as the app loads" scenario: the bundled floor (bench/entries.ts) with the same V8
 * code cache the app runs with (scripts/code-cache.js), in a cache folder of its own, so the app's own work can also
 * be read against a floor that loads and compiles as little as the app does.
 */
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { installCodeCache } = require("../scripts/code-cache");

const root = path.resolve(__dirname, "..");
installCodeCache(path.join(root, ".build", "bench", "code-cache"), [path.join(root, ".build"), path.join(root, "node_modules")].map((d) => fs.realpathSync(d)));
