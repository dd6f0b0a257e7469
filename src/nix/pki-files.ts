/**
 * The PKI facts a host file carries: the paths of the files its roles read (exactly the bundle the pki stack
 * delivers to it), the numeric accounts that own them, and the identities (certificate subjects) the NixOS
 * modules bind RBAC to or accept. Everything comes from src/pki; nothing is restated here.
 */
import type { ClusterPlan, HostPlan } from "../cluster/plan-types";
import { SERVICE_ACCOUNTS } from "../pki/accounts";
import { bundleFor } from "../pki/bundle";
import {
  ADDON_BOOTSTRAP_IDENTITY,
  ADDON_BOOTSTRAP_VALIDITY_DAYS,
  certificateSpec,
  CLUSTER_ADMINS_BINDING,
  CLUSTER_ADMINS_GROUP,
  KUBELET_API_ADMINS_GROUP,
  NODE_LABELER_USER,
} from "../pki/catalog";
import { PKI_DIR } from "../pki/paths";
import type { NixAttrs } from "./writer";

/** fileId -> absolute path on the host, for every file delivered to it. */
export function pkiPathsFor(plan: ClusterPlan, host: HostPlan): Record<string, string> {
  return Object.fromEntries(bundleFor(plan, host).map((file) => [file.fileId, file.path]));
}

/** The accounts whose numeric ids the delivery chowns to; the NixOS users must have exactly these ids. */
export function pkiAccounts(): NixAttrs {
  const { etcd, kubernetes } = SERVICE_ACCOUNTS;
  return {
    etcd: { user: etcd.user, group: etcd.group, uid: etcd.uid, gid: etcd.gid },
    kubernetes: { user: kubernetes.user, group: kubernetes.group, uid: kubernetes.uid, gid: kubernetes.gid },
  };
}

/** Certificate subjects the control plane must know: RBAC subjects and the front-proxy client name. */
export function pkiIdentities(): NixAttrs {
  return {
    flannelUser: certificateSpec("flannel").commonName,
    addonManagerUser: certificateSpec("addon-manager").commonName,
    kubeletApiAdminsGroup: KUBELET_API_ADMINS_GROUP,
    clusterAdminsGroup: CLUSTER_ADMINS_GROUP,
    clusterAdminsBinding: CLUSTER_ADMINS_BINDING,
    addonBootstrap: {
      commonName: ADDON_BOOTSTRAP_IDENTITY.commonName,
      organization: ADDON_BOOTSTRAP_IDENTITY.organization,
      validityDays: ADDON_BOOTSTRAP_VALIDITY_DAYS,
    },
    frontProxyClientName: certificateSpec("front-proxy-client").commonName,
    nodeLabelerUser: NODE_LABELER_USER,
  };
}

export { PKI_DIR };
