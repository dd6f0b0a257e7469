/** The one hashicorp/google provider of a stack. */
import { GoogleProvider } from "@cdktf/provider-google/lib/provider";
import type { Construct } from "constructs";
import type { GcpSettings } from "../../src/cluster/schema";

/** Construct id of the provider; stable, so `terraform state` addresses never change. */
export const GOOGLE_PROVIDER_ID = "google";

/**
 * Adds the google provider with the description's project and region, labelling every resource that supports
 * labels with the cluster name (on top of the provider's own attribution label).
 */
export function addGoogleProvider(scope: Construct, cluster: string, gcp: GcpSettings): GoogleProvider {
  return new GoogleProvider(scope, GOOGLE_PROVIDER_ID, {
    project: gcp.project,
    region: gcp.region,
    defaultLabels: { cluster },
  });
}
