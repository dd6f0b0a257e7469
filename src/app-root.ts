/**
 * The repository root, for the files the app reads from its own checkout (scripts/lib/health.sh) and the folders
 * it writes (cdktf.out/, nixos/). This file's folder is src/ when the TypeScript runs as it is (tsx, jest); in
 * scripts/app.js's bundle, __dirname is the bundle's folder and the build says where the root is from there.
 */
import * as path from "node:path";

/** Set by scripts/app-build.js: the repository root relative to the bundle's folder (.build/app). */
declare const APP_ROOT_FROM_BUNDLE: string | undefined;

export const APP_ROOT = path.resolve(__dirname, typeof APP_ROOT_FROM_BUNDLE === "string" ? APP_ROOT_FROM_BUNDLE : "..");
