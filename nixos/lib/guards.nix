# Assertions on what the NixOS modules RENDERED for a host (systemd command lines and environments, the fields the
# kubelet's configuration file is built from), not on the options the project set: a nixpkgs default that changes
# under the project (e.g. `kubelet.unschedulable`, a port, the issuer) fails `nix flake check`/`nixos-rebuild` with a
# message naming the value, instead of reaching a cluster. Plain builtins, so tests evaluate it without nixpkgs.
#
#   import ./guards.nix { hostFile; services = config.systemd.services; kubernetesVersion; kubeletConfig; }
#   -> [ { assertion; message; } ]
# kubeletConfig: the effective values nixpkgs writes into the KubeletConfiguration file (its extraConfig merged last).
{
  hostFile,
  services,
  kubernetesVersion ? null,
  kubeletConfig ? { },
}:
let
  h = hostFile;
  cli = import ./command-line.nix;
  ports = import ./ports.nix;
  roles = import ./node-roles.nix;
  versions = import ./kubernetes-version.nix;
  host = h.host.name;
  show = value: builtins.toJSON value;

  # One guard: `name` says what is checked, `actual` is the rendered value, shown in the message.
  expect =
    {
      what,
      actual,
      expected,
      why,
    }:
    {
      assertion = actual == expected;
      message = "guards (${host}): ${what} is ${show actual}, expected ${show expected}: ${why}. A changed nixpkgs default? Set the option explicitly in nixos/modules (see nixos/lib/guards.nix).";
    };
  unit =
    name:
    services.${name} or (throw "guards (${host}): the systemd unit ${name} is not defined, but this host's roles need it");
  execStart = name: (unit name).serviceConfig.ExecStart or "";
  flag = name: cli.values (execStart name);
  list = name: cli.list (execStart name);
  last = values: if values == [ ] then null else builtins.elemAt values (builtins.length values - 1);
  hasFlag = unitName: name: builtins.hasAttr name (cli.flags (execStart unitName));

  taintText = t: "${t.key}=${t.value}:${t.effect}";
  expectedTaints = if h.host.runsControlPlane then [ (taintText roles.controlPlaneTaint) ] else [ ];

  kubelet = [
    (expect {
      what = "the kubelet's --register-with-taints";
      actual = list "kubelet" "register-with-taints";
      expected = expectedTaints;
      why =
        if h.host.runsControlPlane then
          "a control-plane node takes exactly the control-plane taint, as kubeadm's do"
        else
          "a worker must take ordinary pods";
    })
    (expect {
      what = "registerWithTaints in the kubelet's configuration file";
      actual = kubeletConfig.registerWithTaints or [ ];
      expected = [ ];
      why = "taints are given on the command line only, so the guard above sees all of them";
    })
    (expect {
      what = "the node-role labels of the kubelet's --node-labels";
      actual = builtins.filter (label: builtins.match "node-role\\.kubernetes\\.io/.*" label != null) (list "kubelet" "node-labels");
      expected = [ ];
      why = "NodeRestriction refuses node-role.kubernetes.io/* labels set by a kubelet (it would not register); k8s-node-roles sets them through the API";
    })
    (expect {
      what = "the kubelet's --node-ip";
      actual = last (flag "kubelet" "node-ip");
      expected = h.host.address;
      why = "the node's planned address, which its certificate names";
    })
    (expect {
      what = "the kubelet's --hostname-override";
      actual = last (flag "kubelet" "hostname-override");
      expected = host;
      why = "the node name its certificate (system:node:${host}) is issued for";
    })
    (expect {
      what = "clusterDNS in the kubelet's configuration file";
      actual = kubeletConfig.clusterDNS or kubeletConfig.clusterDns or null;
      expected = [ h.kubernetes.dnsServiceIp ];
      why = "CoreDNS's service address";
    })
    (expect {
      what = "clusterDomain in the kubelet's configuration file";
      actual = kubeletConfig.clusterDomain or null;
      expected = h.kubernetes.clusterDomain;
      why = "the cluster domain the API server certificate and the service-account issuer use";
    })
    {
      assertion =
        kubernetesVersion == null || versions.supported kubernetesVersion || !(hasFlag "kubelet" "pod-infra-container-image");
      message = "guards (${host}): the kubelet's command line passes --pod-infra-container-image, which Kubernetes ${toString kubernetesVersion} removed: the kubelet would not start.";
    }
  ];

  issuer = import ./service-account-issuer.nix { inherit (h.kubernetes) clusterDomain; };
  controlPlane = [
    (expect {
      what = "the API server's --service-account-issuer values";
      actual = flag "kube-apiserver" "service-account-issuer";
      expected = [
        issuer.current
        issuer.previous
      ];
      why = "tokens are signed by kubeadm's issuer (the first); the previous one stays accepted for tokens issued before the move";
    })
    (expect {
      what = "the API server's --api-audiences";
      actual = list "kube-apiserver" "api-audiences";
      expected = issuer.audiences;
      why = "the issuer, the previous issuer and \"api\": the audiences of current and earlier tokens";
    })
    (expect {
      what = "the API server's --authorization-mode";
      actual = list "kube-apiserver" "authorization-mode";
      expected = [
        "Node"
        "RBAC"
      ];
      why = "kubelets are limited to their own node's objects; everything else goes through RBAC";
    })
    (expect {
      what = "whether the API server's --enable-admission-plugins holds NodeRestriction";
      actual = builtins.elem "NodeRestriction" (list "kube-apiserver" "enable-admission-plugins");
      expected = true;
      why = "it keeps a kubelet from labelling itself a control-plane node or changing other nodes";
    })
    (expect {
      what = "the API server's --secure-port";
      actual = last (flag "kube-apiserver" "secure-port");
      expected = toString h.api.port;
      why = "the port the load balancers, the firewall and every kubeconfig use";
    })
    (expect {
      what = "the API server's --etcd-servers";
      actual = list "kube-apiserver" "etcd-servers";
      expected = map (m: m.clientUrl) h.etcd.members;
      why = "the planned etcd members";
    })
    (expect {
      what = "kube-controller-manager's --secure-port and --bind-address";
      actual = {
        port = last (flag "kube-controller-manager" "secure-port");
        bind = last (flag "kube-controller-manager" "bind-address");
      };
      expected = {
        port = toString ports.controllerManager;
        bind = "127.0.0.1";
      };
      why = "kubeadm's secure port, on loopback only";
    })
    (expect {
      what = "kube-scheduler's --secure-port and --bind-address";
      actual = {
        port = last (flag "kube-scheduler" "secure-port");
        bind = last (flag "kube-scheduler" "bind-address");
      };
      expected = {
        port = toString ports.scheduler;
        bind = "127.0.0.1";
      };
      why = "kubeadm's secure port, on loopback only";
    })
  ];

  self = builtins.head (builtins.filter (m: m.name == host) h.etcd.members ++ [ null ]);
  etcdEnvironment = (unit "etcd").environment or { };
  etcdSetting = name: etcdEnvironment."ETCD_${name}" or null;
  etcd = [
    (expect {
      what = "etcd's flags on its command line";
      actual = builtins.attrNames (cli.flags (execStart "etcd"));
      expected = [ ];
      why = "nixpkgs configures etcd through ETCD_* variables, which the guards below read; a flag would override them unseen";
    })
    (expect {
      what = "etcd's client and peer certificate authentication (ETCD_CLIENT_CERT_AUTH, ETCD_PEER_CLIENT_CERT_AUTH)";
      actual = [
        (etcdSetting "CLIENT_CERT_AUTH")
        (etcdSetting "PEER_CLIENT_CERT_AUTH")
      ];
      expected = [
        "1"
        "1"
      ];
      why = "only holders of an etcd-CA certificate may read or join the cluster";
    })
    (expect {
      what = "etcd's ETCD_LISTEN_CLIENT_URLS and ETCD_LISTEN_PEER_URLS";
      actual = {
        client = etcdSetting "LISTEN_CLIENT_URLS";
        peer = etcdSetting "LISTEN_PEER_URLS";
      };
      expected = {
        client = "${self.clientUrl},https://127.0.0.1:${toString ports.etcdClient}";
        peer = self.peerUrl;
      };
      why = "TLS on the planned address (and loopback for etcdctl) only";
    })
    (expect {
      what = "etcd's ETCD_INITIAL_CLUSTER";
      actual = etcdSetting "INITIAL_CLUSTER";
      expected = builtins.concatStringsSep "," (map (m: "${m.name}=${m.peerUrl}") h.etcd.members);
      why = "the planned members";
    })
  ];
in
(if h.host.runsKubelet then kubelet else [ ])
++ (if h.host.runsControlPlane then controlPlane else [ ])
++ (if h.host.runsEtcd then etcd else [ ])
