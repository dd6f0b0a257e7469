/**
 * `npm run vm-test-files`: regenerates the NixOS VM test inputs (nixos/tests/<name>/generated: host files, index,
 * pki-spec.json) from nixos/tests/<name>/cluster.yaml. Run it after changing a description there, the host-file
 * format or the certificate table, and commit the result.
 */
import * as path from "node:path";
import { DescriptionError } from "../src/cluster/load";
import { VM_TEST_GENERATED, VM_TESTS_DIR, writeVmTestFiles } from "../src/vm-test/files";

const root = path.resolve(__dirname, "..");
try {
  for (const name of writeVmTestFiles(root)) process.stdout.write(`wrote ${VM_TESTS_DIR}/${name}/${VM_TEST_GENERATED}/\n`);
} catch (error) {
  if (error instanceof DescriptionError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
