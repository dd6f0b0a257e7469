/** Base for the three stacks: state kept apart per cluster, in the backend the description chooses. */
import { GcsBackend, LocalBackend, TerraformOutput, TerraformStack } from "cdktf";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { pinProviderRequirements } from "./provider-pins";

/** Local state root, relative to the repository root; git-ignored (state holds private keys). */
export const LOCAL_STATE_DIR = "state";

/**
 * Terraform runs each stack in cdktf.out/stacks/<id>, so a repository-relative path is three levels up.
 * Relative, so the synthesized JSON holds no machine path.
 */
export function localStatePath(cluster: string, stackId: string): string {
  return `../../../${LOCAL_STATE_DIR}/${cluster}/${stackId}.tfstate`;
}

/**
 * Oldest Terraform the stacks apply with (terraform_data needs 1.4; 1.5 is also the last MPL-licensed release, the
 * one OpenTofu forked from). Checked by whichever tool applies the JSON, on that machine, not at synthesis.
 */
export const REQUIRED_TERRAFORM_VERSION = ">= 1.5.0";

/** Default object prefix of GCS state. */
export const DEFAULT_GCS_PREFIX = "nixos-k8s";

/** Object prefix of one stack's GCS state: <prefix>/<cluster>/<stack>, so clusters and stacks never share one. */
export function gcsStatePrefix(prefix: string | undefined, cluster: string, stackId: string): string {
  return `${prefix ?? DEFAULT_GCS_PREFIX}/${cluster}/${stackId}`;
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
