/**
 * The Unix accounts that own delivered PKI files, by NUMERIC id: the first delivery runs before deploy-rs has
 * activated the host configuration, so the `etcd` and `kubernetes` users do not exist yet and `chown <name>`
 * would fail. The Nix side creates these users with exactly these ids (and asserts them). Pure data, no cdktf.
 *
 * - kubernetes: nixpkgs' static ids (nixos/modules/misc/ids.nix: ids.uids.kubernetes = ids.gids.kubernetes = 162);
 *   the Kubernetes NixOS module runs kube-apiserver, kube-controller-manager, kube-scheduler and the add-on
 *   manager as this user.
 * - etcd: nixpkgs allocates the etcd user dynamically (its old static id 156 was retired, "dynamically allocated
 *   as of 2021-09-03", and is assigned to nothing else in ids.nix). We pin it back to 156, below 400 so it can
 *   never collide with NixOS' dynamic system ids (400-999); the Nix side sets users.users.etcd.uid and
 *   users.groups.etcd.gid to it.
 * - root: kubelet, kube-proxy and flannel run as root.
 */
export interface ServiceAccount {
  readonly user: string;
  readonly group: string;
  readonly uid: number;
  readonly gid: number;
}

export const SERVICE_ACCOUNTS = {
  root: { user: "root", group: "root", uid: 0, gid: 0 },
  kubernetes: { user: "kubernetes", group: "kubernetes", uid: 162, gid: 162 },
  etcd: { user: "etcd", group: "etcd", uid: 156, gid: 156 },
} as const satisfies Record<string, ServiceAccount>;

export type ServiceAccountName = keyof typeof SERVICE_ACCOUNTS;
