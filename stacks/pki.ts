/**
 * The `pki` stack: the whole cluster PKI (hashicorp/tls), delivered to each host over SSH, and the operator's
 * admin kubeconfig. Depends on `compute` (delivery needs the machines); reads the API addresses of `network`.
 */
import { LocalProvider } from "@cdktf/provider-local/lib/provider";
import { RandomProvider } from "@cdktf/provider-random/lib/provider";
import { TlsProvider } from "@cdktf/provider-tls/lib/provider";
import type { Construct } from "constructs";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { bundleFor } from "../src/pki/bundle";
import { CAS } from "../src/pki/catalog";
import { fromStackDir } from "../src/stack-dir";
import { SECRETS_DIR } from "../src/state-locations";
import { AdminKubeconfig } from "../constructs/pki/admin-kubeconfig";
import { ClusterPki } from "../constructs/pki/cluster-pki";
import { HostDelivery } from "../constructs/pki/host-delivery";
import { RotationChecks } from "../constructs/pki/rotation-checks";
import { ROTATABLE_AUTHORITIES } from "../src/pki/rotation";
import { ClusterStack, REQUIRED_TERRAFORM_VERSION_WITH_BASTION } from "./cluster-stack";
import type { ComputeStack } from "./compute";
import type { NetworkStack } from "./network";


/** The admin kubeconfig, relative to the repository root. */
export function adminKubeconfigRepoPath(cluster: string): string {
  return `${SECRETS_DIR}/${cluster}/admin.kubeconfig`;
}

/** The break-glass (system:masters) kubeconfig, relative to the repository root. */
export function breakGlassKubeconfigRepoPath(cluster: string): string {
  return `${SECRETS_DIR}/${cluster}/break-glass.kubeconfig`;
}

/** The same path as terraform sees it from cdktf.out/stacks/<id> (relative: no machine path). */
export function adminKubeconfigStackPath(cluster: string): string {
  return fromStackDir(adminKubeconfigRepoPath(cluster));
}

export class PkiStack extends ClusterStack {
  readonly pki: ClusterPki;
  /** By host name; hosts without files (load balancers) have none. */
  readonly deliveries: ReadonlyMap<string, HostDelivery>;
  readonly adminKubeconfig: AdminKubeconfig;
  readonly breakGlassKubeconfig: AdminKubeconfig;

  constructor(scope: Construct, id: string, plan: ClusterPlan, network: NetworkStack, compute: ComputeStack) {
    super(scope, id, plan);
    this.addDependency(compute);
    new TlsProvider(this, "tls");
    new RandomProvider(this, "random");
    new LocalProvider(this, "local");
    // The deliveries verify the bastion's key: only Terraform releases that check it against bastion_host_key can.
    if (plan.ssh.bastion) this.addOverride("terraform.required_version", REQUIRED_TERRAFORM_VERSION_WITH_BASTION);

    this.pki = new ClusterPki(this, "pki", { plan, apiAddresses: network.network.apiAddresses });

    // etcd members are delivered one after the other, and so are control-plane hosts: a renewal that touches all
    // of them in one apply then restarts etcd (keeping quorum) and the API servers one host at a time. Stacked
    // hosts form one chain. Workers go in parallel.
    const deliveries = new Map<string, HostDelivery>();
    const lastOfChain = new Map<"etcd" | "control-plane", HostDelivery>();
    for (const host of plan.hosts) {
      const files = bundleFor(plan, host);
      if (files.length === 0) continue;
      const endpoint = compute.compute.hosts[host.name];
      if (!endpoint) throw new Error(`pki: the compute target has no endpoint for host "${host.name}"`);
      const chain = host.runsEtcd ? "etcd" : host.runsControlPlane ? "control-plane" : undefined;
      const previous = chain ? lastOfChain.get(chain) : undefined;
      const delivery = new HostDelivery(this, `delivery-${host.name}`, {
        host: host.name,
        sshAddress: endpoint.sshAddress,
        hostKey: compute.hostKeys.publicKeyOpenssh(host.name),
        sshUser: plan.ssh.user,
        ...(plan.ssh.bastion ? { bastion: plan.ssh.bastion } : {}),
        machineId: endpoint.machineId,
        files: files.map((file) => ({ file, content: this.pki.contentOf(file) })),
        ...(previous ? { after: [previous.resource] } : {}),
      });
      if (chain) lastOfChain.set(chain, delivery);
      deliveries.set(host.name, delivery);
    }
    this.deliveries = deliveries;

    // Rotations in progress: each phase is marked applied once every delivery of its apply succeeded.
    for (const authority of ROTATABLE_AUTHORITIES) {
      const anchor = authority === "service-account" ? this.pki.serviceAccount : this.pki.authorities[authority];
      if (anchor.state.phase === undefined) continue;
      new RotationChecks(this, `rotation-${authority}`, {
        authority,
        state: anchor.state,
        ...(anchor.born.current ? { currentBorn: anchor.born.current } : {}),
        deliveries: [...deliveries.values()].map((d) => d.resource),
      });
    }

    this.adminKubeconfig = new AdminKubeconfig(this, "admin-kubeconfig", {
      cluster: plan.cluster,
      server: network.network.operatorApiUrl,
      caCertificatesPem: this.pki.authorities.kubernetes.trustBundlePem,
      client: this.pki.certificate("admin"),
      filename: adminKubeconfigStackPath(plan.cluster),
    });
    // A separate file, so the everyday kubeconfig never carries system:masters.
    this.breakGlassKubeconfig = new AdminKubeconfig(this, "break-glass-kubeconfig", {
      cluster: plan.cluster,
      server: network.network.operatorApiUrl,
      caCertificatesPem: this.pki.authorities.kubernetes.trustBundlePem,
      client: this.pki.certificate("break-glass"),
      filename: fromStackDir(breakGlassKubeconfigRepoPath(plan.cluster)),
      user: "break-glass",
    });

    const ca = this.pki.authorities;
    this.output("kubernetes_ca_certificate", ca.kubernetes.trustBundlePem, { description: "Kubernetes cluster CA certificates trusted now (PEM; old and new during a rotation)" });
    this.output("etcd_ca_certificate", ca.etcd.trustBundlePem, { description: "etcd CA certificates trusted now (PEM; old and new during a rotation)" });
    this.output("front_proxy_ca_certificate", ca["front-proxy"].trustBundlePem, {
      description: "Front-proxy (API aggregation) CA certificates trusted now (PEM; old and new during a rotation)",
    });
    this.output("service_account_public_key", this.pki.serviceAccount.publicKeysPem, {
      description: "Public keys verifying service-account tokens (PEM; old and new during a rotation)",
    });
    this.output(
      "ca_not_after",
      Object.fromEntries(CAS.map((c) => [c.id, ca[c.id].signing.cert.validityEndTime])),
      { description: "When the CA that signs now expires (RFC 3339), per CA: rotate well before (docs/pki.md#when-to-rotate)" },
    );
    this.output("admin_kubeconfig_path", adminKubeconfigRepoPath(plan.cluster), {
      description: "Admin kubeconfig (O=kubeadm:cluster-admins, revocable through RBAC), relative to the repository root",
    });
    this.output("break_glass_kubeconfig_path", breakGlassKubeconfigRepoPath(plan.cluster), {
      description: "Break-glass kubeconfig (O=system:masters, not renewed early), relative to the repository root",
    });
    this.output("delivered_hosts", [...deliveries.keys()], { description: "Hosts that receive a PKI bundle" });
  }
}
