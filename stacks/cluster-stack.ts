/** Base for the three stacks: state kept apart per cluster, in the backend the description chooses. */
import { GcsBackend, LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { gcsStatePrefix, localStatePath } from "../src/state-locations";
import { pinProviderRequirements } from "./provider-pins";

/** State locations live in a pure module (the post-synth backend check reads them too); re-exported for callers. */
export { DEFAULT_GCS_PREFIX, gcsStatePrefix, LOCAL_STATE_DIR, localStatePath } from "../src/state-locations";

/**
 * Oldest Terraform the stacks apply with (terraform_data needs 1.4; 1.5 is also the last MPL-licensed release, the
 * one OpenTofu forked from). Checked by whichever tool applies the JSON, on that machine, not at synthesis.
 */
export const REQUIRED_TERRAFORM_VERSION = ">= 1.5.0";

/**
 * Oldest Terraform whose SSH client checks a bastion against `bastion_host_key`: every release before 1.16.0 (and
 * OpenTofu as of 1.11) checks the bastion against the target's `host_key` instead (hashicorp/terraform#38318), so a
 * delivery through a bastion can never pass both checks there. The pki stack requires it when the description has
 * a bastion; OpenTofu, numbered 1.11, then refuses the stack at init instead of connecting.
 */
export const REQUIRED_TERRAFORM_VERSION_WITH_BASTION = ">= 1.16.0";

export abstract class ClusterStack extends TerraformStack {
  constructor(
    scope: Construct,
    id: string,
    readonly plan: ClusterPlan,
  ) {
    super(scope, id);
    const backend = plan.backend;
    if (backend.type === "gcs") {
      new GcsBackend(this, {
        bucket: backend.bucket,
        prefix: gcsStatePrefix(backend.prefix, plan.cluster, id),
        ...(backend.kmsEncryptionKey ? { kmsEncryptionKey: backend.kmsEncryptionKey } : {}),
      });
    } else {
      new LocalBackend(this, { path: localStatePath(plan.cluster, id) });
    }
    this.addOverride("terraform.required_version", REQUIRED_TERRAFORM_VERSION);
    pinProviderRequirements(this);
  }

  /** An output whose name is exactly `name`, independent of construct ids (read by `terraform output -json`). */
  protected output(name: string, value: unknown, options: { description: string; sensitive?: boolean }): TerraformOutput {
    const output = new TerraformOutput(this, name, { value, description: options.description, sensitive: options.sensitive ?? false });
    output.overrideLogicalId(name);
    return output;
  }
}
