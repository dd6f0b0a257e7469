/**
 * Loading a description for a synth in the repository: the description's own checks (src/cluster/load.ts),
 * then its checks against the other descriptions and the generated files it would replace (neighbours.ts).
 */
import { readCommittedNetwork } from "../cluster/committed-network";
import { DescriptionError, parseDescription, readDescriptionText, type LoadedCluster } from "../cluster/load";
import { checkNeighbours } from "./neighbours";

export function loadClusterForSynth(file: string, root: string, nixosDir: string): LoadedCluster {
  const { shown, resolved, text } = readDescriptionText(file, root);
  const loaded = parseDescription(text, shown, (cluster) => readCommittedNetwork(root, cluster));
  const findings = checkNeighbours({ description: loaded.description, file: shown, resolved, root, nixosDir });
  const errors = findings.filter((f) => f.severity === "error");
  if (errors.length > 0) throw new DescriptionError(shown, errors);
  return { ...loaded, warnings: [...loaded.warnings, ...findings.filter((f) => f.severity === "warning")] };
}
