/**
 * The hosts' identity: a dedicated service account per cluster, allowed to write logs and metrics and nothing else.
 * Kubernetes here needs no Google API (no cloud controller manager, no routes: flannel's VXLAN carries pods), so a
 * token taken from a host's metadata server can do no more than add log entries and time series.
 */
import { ProjectIamMember } from "@cdktf/provider-google/lib/project-iam-member";
import { ServiceAccount } from "@cdktf/provider-google/lib/service-account";
import { Construct } from "constructs";
import { serviceAccountId } from "../../src/gcp/names";

/** IAM roles granted to the account: what the Ops Agent or any log/metric shipper on the host needs. */
export const NODE_ROLES: readonly string[] = ["roles/logging.logWriter", "roles/monitoring.metricWriter"];
/**
 * OAuth scopes of the instances' tokens. Roles alone decide what an account may do; the scopes cap the token as
 * well, so a grant added to the account later does not silently reach the hosts.
 */
export const NODE_SCOPES: readonly string[] = ["https://www.googleapis.com/auth/logging.write", "https://www.googleapis.com/auth/monitoring.write"];

export interface GcpNodeServiceAccountProps {
  readonly cluster: string;
  /** Project the roles are granted in. */
  readonly project: string;
  /** @default NODE_ROLES */
  readonly roles?: readonly string[];
}

export class GcpNodeServiceAccount extends Construct {
  readonly account: ServiceAccount;
  readonly email: string;
  /** OAuth scopes for the instances using this account. */
  readonly scopes: readonly string[] = NODE_SCOPES;

  constructor(scope: Construct, id: string, props: GcpNodeServiceAccountProps) {
    super(scope, id);
    this.account = new ServiceAccount(this, "account", {
      accountId: serviceAccountId(props.cluster),
      displayName: `Hosts of Kubernetes cluster ${props.cluster}`,
      description: "Writes logs and metrics; nothing else",
    });
    this.email = this.account.email;
    for (const role of props.roles ?? NODE_ROLES) {
      new ProjectIamMember(this, role.replace(/^roles\//, "").replace(/\./g, "-"), {
        project: props.project,
        role,
        member: this.account.member,
      });
    }
  }
}
