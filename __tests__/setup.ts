import { readFileSync } from "node:fs";
import { Testing } from "cdktf";

// Every app, script and tool a test starts inherits this: no calls to the HashiCorp checkpoint service.
process.env.CHECKPOINT_DISABLE ??= "1";

// Debian's nix-bin (as .ci/run installs it) configures build-users-group = nixbld without creating the group,
// so every nix command prints "warning: the group 'nixbld' specified in 'build-users-group' does not exist".
// The tests only evaluate (they never build), so on such a machine the nix they start uses no build users:
// exactly that warning goes, every other warning and error of nix stays.
if (!/^nixbld:/m.test(readFileSafely("/etc/group")) && process.env.NIX_CONFIG === undefined) {
  process.env.NIX_CONFIG = "build-users-group =";
}

function readFileSafely(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

Testing.setupJest();
