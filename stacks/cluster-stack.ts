/** Base for the three stacks: state kept apart per cluster, in the backend the description chooses. */
import { GcsBackend, LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";

/** Local state root, relative to the repository root; git-ignored (state holds private keys). */
export const LOCAL_STATE_DIR = "state";

/**
 * Terraform runs each stack in cdktf.out/stacks/<id>, so a repository-relative path is three levels up.
 * Relative, so the synthesized JSON holds no machine path.
 */
export function localStatePath(cluster: string, stackId: string): string {
  return `../../../${LOCAL_STATE_DIR}/${cluster}/${stackId}.tfstate`;
}

export abstract class ClusterStack extends TerraformStack {
  constructor(
    scope: Construct,
    id: string,
    readonly plan: ClusterPlan,
  ) {
    super(scope, id);
    const backend = plan.backend;
    if (backend.type === "gcs") {
      new GcsBackend(this, { bucket: backend.bucket, prefix: `${backend.prefix ?? "nixos-k8s"}/${plan.cluster}/${id}` });
    } else {
      new LocalBackend(this, { path: localStatePath(plan.cluster, id) });
    }
  }

  /** An output whose name is exactly `name`, independent of construct ids (read by `terraform output -json`). */
  protected output(name: string, value: unknown, options: { description: string; sensitive?: boolean }): TerraformOutput {
    const output = new TerraformOutput(this, name, { value, description: options.description, sensitive: options.sensitive ?? false });
    output.overrideLogicalId(name);
    return output;
  }
}
