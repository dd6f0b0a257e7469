# etcd member: TLS for clients and peers with the delivered etcd certificates, the planned member list, and
# the data directory. Clients must present a certificate of the etcd CA (kube-apiserver, etcdctl).
{
  config,
  lib,
  hostFile,
  ...
}:
let
  h = hostFile;
  files = h.pki.files;
  accounts = h.pki.accounts;
  ports = import ../lib/ports.nix;
  members = if h.etcd == null then [ ] else h.etcd.members;
  self = lib.findFirst (m: m.name == h.host.name) (throw "${h.host.name} runs etcd but is not in the etcd member list of its host file") members;
in
{
  config = lib.mkIf h.host.runsEtcd {
    services.etcd = {
      enable = true;
      name = h.host.name;
      dataDir = "/var/lib/etcd";
      # Clients on the node network, and etcdctl on the member itself.
      listenClientUrls = [
        self.clientUrl
        "https://127.0.0.1:${toString ports.etcdClient}"
      ];
      advertiseClientUrls = [ self.clientUrl ];
      listenPeerUrls = [ self.peerUrl ];
      initialAdvertisePeerUrls = [ self.peerUrl ];
      initialCluster = map (m: "${m.name}=${m.peerUrl}") members;
      # Only read when the data directory is empty. A member added to a running cluster must start with
      # "existing" instead: see docs/day-2.md, "Changing etcd or control-plane membership" for the join file read below.
      initialClusterState = "new";
      # Unique per cluster, so members of two clusters can never join each other.
      initialClusterToken = "${h.cluster.name}-etcd";

      clientCertAuth = true;
      trustedCaFile = files.etcdCaCert;
      certFile = files.etcdServerCert;
      keyFile = files.etcdServerKey;

      peerClientCertAuth = true;
      peerTrustedCaFile = files.etcdCaCert;
      peerCertFile = files.etcdPeerCert;
      peerKeyFile = files.etcdPeerKey;

      # 2379 (clients) and 2380 (peers): exactly what a member serves.
      openFirewall = true;
    };

    # The delivered etcd files are owned by this uid/gid (src/pki/accounts.ts); nixpkgs allocates etcd's ids
    # dynamically, so they are pinned here.
    users.users.etcd.uid = accounts.etcd.uid;
    users.groups.etcd.gid = accounts.etcd.gid;

    systemd.services.etcd.serviceConfig = {
      # A new cluster's first member cannot report ready before a quorum has joined, and deploy-rs activates
      # hosts one after the other: with Type=notify the first activation would wait for members that are
      # deployed after it. Started (not ready) is enough for the activation; etcd keeps joining its peers.
      Type = lib.mkForce "exec";
      # Optional operator-written overrides for joining an existing cluster, e.g.
      # ETCD_INITIAL_CLUSTER_STATE=existing (read after, and so winning over, the settings above).
      EnvironmentFile = "-/etc/etcd/join.env";
    };

    # etcdctl against this member with the delivered health-check client certificate.
    environment.variables = {
      ETCDCTL_API = "3";
    }
    // import ../lib/etcd-client.nix { hostFile = h; };
  };
}
