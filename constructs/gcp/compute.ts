/** Everything of the compute stack on GCP: image, service account, one instance per host, the API balancers. */
import { Construct } from "constructs";
import type { ClusterPlan, HostPlan } from "../../src/cluster/plan-types";
import type { GcpSettings } from "../../src/cluster/schema";
import type { HostEndpoint, SshHostKeySource } from "../target";
import { GcpEtcdBackupWriter } from "./etcd-backup-writer";
import { GcpImage } from "./image";
import { GcpHostInstance } from "./instance";
import { GcpApiLoadBalancers, type ApiHealthCheck } from "./load-balancers";
import { hostTags, roleTags } from "../../src/gcp/names";
import { GcpNodeServiceAccount } from "./service-account";

/** What the compute stack takes from the network stack (tokens across stacks). */
export interface GcpComputeNetworkInputs {
  readonly networkSelfLink: string;
  readonly subnetworkSelfLink: string;
  readonly externalApiAddress: string;
  readonly internalApiAddress: string;
}

export interface GcpClusterComputeProps {
  readonly plan: ClusterPlan;
  readonly network: GcpComputeNetworkInputs;
  /** @default "https-readyz" (see GcpApiLoadBalancersProps.healthCheck) */
  readonly apiHealthCheck?: ApiHealthCheck;
  /** Each host's SSH host key, handed over in its instance metadata; default none. */
  readonly hostKeys?: SshHostKeySource;
}

export class GcpClusterCompute extends Construct {
  readonly image: GcpImage;
  readonly serviceAccount: GcpNodeServiceAccount;
  /** By host name. */
  readonly instances: Readonly<Record<string, GcpHostInstance>>;
  readonly loadBalancers: GcpApiLoadBalancers;
  /** By host name: where SSH connects and the machine's id. */
  readonly hosts: Readonly<Record<string, HostEndpoint>>;
  /** With `backup.bucket`: the account that uploads etcd snapshots there. */
  readonly backupWriter?: GcpEtcdBackupWriter;
  readonly etcdBackupWriterKey?: string;

  constructor(scope: Construct, id: string, props: GcpClusterComputeProps) {
    super(scope, id);
    const { plan, network } = props;
    const gcp = requireGcp(plan);
    const tags = roleTags(plan.cluster);

    if (plan.backup.enabled && plan.backup.bucket !== undefined) {
      this.backupWriter = new GcpEtcdBackupWriter(this, "etcd-backup-writer", { cluster: plan.cluster, bucket: plan.backup.bucket });
      this.etcdBackupWriterKey = this.backupWriter.privateKey;
    }

    this.image = new GcpImage(this, "image", { cluster: plan.cluster, image: gcp.image, project: gcp.project });
    this.serviceAccount = new GcpNodeServiceAccount(this, "service-account", { cluster: plan.cluster, project: gcp.project });

    const instances: Record<string, GcpHostInstance> = {};
    for (const host of plan.hosts) {
      // Keyed by host name: adding hosts never renames (and so never replaces) an existing one.
      instances[host.name] = new GcpHostInstance(this, host.name, {
        cluster: plan.cluster,
        host,
        image: this.image.reference,
        bootDiskType: host.bootDiskType ?? gcp.bootDiskType,
        subnetwork: network.subnetworkSelfLink,
        tags: hostTags(host, tags),
        serviceAccountEmail: this.serviceAccount.email,
        scopes: this.serviceAccount.scopes,
        publicAddress: gcp.publicAddresses,
        ...(props.hostKeys ? { sshHostPrivateKey: props.hostKeys.privateKeyOpenssh(host.name) } : {}),
      });
    }
    this.instances = instances;

    this.loadBalancers = new GcpApiLoadBalancers(this, "api", {
      cluster: plan.cluster,
      region: gcp.region,
      network: network.networkSelfLink,
      subnetwork: network.subnetworkSelfLink,
      externalAddress: network.externalApiAddress,
      internalAddress: network.internalApiAddress,
      port: plan.api.port,
      backends: plan.hosts.filter((h) => h.runsControlPlane).map((h) => ({ name: h.name, zone: zoneOf(h), instance: instances[h.name].instance })),
      ...(props.apiHealthCheck ? { healthCheck: props.apiHealthCheck } : {}),
    });

    this.hosts = Object.fromEntries(
      plan.hosts.map((h) => {
        const machine = instances[h.name];
        const endpoint: HostEndpoint = {
          sshAddress: machine.externalAddress ?? h.address,
          machineId: machine.instance.instanceId,
          ...(machine.externalAddress ? { externalAddress: machine.externalAddress } : {}),
        };
        return [h.name, endpoint];
      }),
    );
  }
}

export function requireGcp(plan: ClusterPlan): GcpSettings {
  if (plan.target !== "gcp" || !plan.gcp) {
    throw new Error(`the GCP target got cluster "${plan.cluster}" with target "${plan.target}" and no gcp section`);
  }
  return plan.gcp;
}

function zoneOf(host: HostPlan): string {
  if (!host.zone) throw new Error(`host "${host.name}" has no zone in the plan`);
  return host.zone;
}
