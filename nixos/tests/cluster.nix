# One NixOS VM test (nixpkgs' testers.runNixOSTest) of a small cluster: its VMs are built from the same role modules
# as real hosts (nixos/lib/host-modules.nix) and from host files in the same format, generated from
# nixos/tests/<name>/cluster.yaml by `npm run vm-test-files`, plus node.nix (what differs from a real host). The PKI is
# made at build time with openssl from the exported certificate table (make-pki.sh over generated/pki-spec.json).
#
# The test asserts, in order: etcd healthy (every member); every node Ready; taints and labels as planned; the
# controller manager and scheduler answering on their secure ports; a pod with no node selector on a worker; DNS
# resolving kubernetes.default.svc.<clusterDomain> inside a pod; a pod reaching a ClusterIP service whose pod runs on
# another node; and, with the VIP holder (and, with external etcd, one control-plane VM) shut down, `kubectl create`
# through the cluster endpoint succeeding within failoverSeconds.
{
  pkgs,
  lib,
  name,
  dir,
}:
let
  generated = dir + "/generated";
  index = import (generated + "/default.nix");
  hostFiles = lib.genAttrs index.hosts (host: import index.hostFiles.${host});
  hostModules = import ../lib/host-modules.nix;
  kubernetes = pkgs.kubernetes;
  images = import ./images.nix { inherit pkgs kubernetes; };
  pki =
    pkgs.runCommand "${index.cluster.name}-pki"
      {
        nativeBuildInputs = [
          pkgs.openssl
          pkgs.jq
        ];
      }
      ''
        bash ${./make-pki.sh} ${generated + "/pki-spec.json"} $out
      '';

  # Within this time of the shutdown, a new `kubectl create` through the cluster endpoint must succeed: VRRP moves
  # the VIP in a few seconds, haproxy takes a dead API server out after its health checks (api-vip.nix,
  # load-balancer.nix); the rest is margin for slow CI runners.
  failoverSeconds = 90;

  byRole = predicate: builtins.filter (host: predicate hostFiles.${host}.host) index.hosts;
  anyHost = hostFiles.${builtins.head index.hosts};
  facts = {
    etcd = byRole (host: host.runsEtcd);
    controlPlane = byRole (host: host.runsControlPlane);
    workers = byRole (host: host.runsKubelet && !host.runsControlPlane);
    loadBalancers = byRole (host: host.runsLoadBalancer);
    vip = anyHost.api.address;
    clusterDomain = (hostFiles.${builtins.head (byRole (host: host.runsKubelet))}).kubernetes.clusterDomain;
    etcdctl = map (
      host:
      let
        h = hostFiles.${host};
        f = h.pki.files;
      in
      "ETCDCTL_API=3 etcdctl --endpoints=${lib.concatMapStringsSep "," (m: m.clientUrl) h.etcd.members} --cacert=${f.etcdCaCert} --cert=${f.etcdHealthcheckClientCert} --key=${f.etcdHealthcheckClientKey}"
    ) (byRole (host: host.runsEtcd));
    inherit failoverSeconds;
    podImage = images.podReference;
  };

  nodeOf = host: {
    imports = hostModules.roles ++ [
      (import ./node.nix {
        hostFile = hostFiles.${host};
        inherit pki images;
      })
    ];
  };
in
pkgs.testers.runNixOSTest {
  name = index.cluster.name;
  nodes = lib.genAttrs index.hosts nodeOf;
  testScript = ''
    import json
    import time

    facts = json.loads(${builtins.toJSON (builtins.toJSON facts)})
    by_name = {m.name: m for m in machines}
    client = by_name[facts["workers"][0]]  # never shut down; reaches the API through the cluster endpoint
    kubectl = "kubectl --kubeconfig=/etc/vm-test/admin.kubeconfig --request-timeout=10s"
    kubelet_nodes = facts["controlPlane"] + facts["workers"]

    start_all()

    with subtest("etcd is healthy"):
        for name in facts["etcd"]:
            by_name[name].wait_for_unit("etcd.service")
        by_name[facts["etcd"][0]].wait_until_succeeds(facts["etcdctl"][0] + " endpoint health --cluster", timeout=300)

    with subtest("every node is Ready"):
        client.wait_until_succeeds(f"{kubectl} get nodes -o name | wc -l | grep -qx {len(kubelet_nodes)}", timeout=600)
        client.wait_until_succeeds(f"{kubectl} wait --for=condition=Ready node --all --timeout=10s", timeout=600)

    with subtest("taints and labels as planned"):
        label = "node-role.kubernetes.io/control-plane"
        client.wait_until_succeeds(
            f"{kubectl} get nodes -l {label} -o name | wc -l | grep -qx {len(facts['controlPlane'])}", timeout=300
        )
        for node in json.loads(client.succeed(f"{kubectl} get nodes -o json"))["items"]:
            name = node["metadata"]["name"]
            taints = [(t["key"], t.get("value", ""), t["effect"]) for t in node["spec"].get("taints", [])]
            if name in facts["controlPlane"]:
                assert taints == [(label, "", "NoSchedule")], f"{name}: taints {taints}"
                assert node["metadata"]["labels"].get(label) == "", f"{name}: no {label} label"
            else:
                assert taints == [], f"{name}: taints {taints}"
                assert label not in node["metadata"]["labels"], f"{name}: labelled {label}"

    with subtest("controller manager and scheduler answer on their secure ports"):
        for name in facts["controlPlane"]:
            by_name[name].wait_until_succeeds("curl -sfk https://127.0.0.1:10257/healthz", timeout=120)
            by_name[name].wait_until_succeeds("curl -sfk https://127.0.0.1:10259/healthz", timeout=120)

    with subtest("a pod with no node selector lands on a worker"):
        client.succeed(
            f"{kubectl} run plain --image={facts['podImage']} --image-pull-policy=Never --restart=Never -- sleep 3600"
        )
        client.wait_until_succeeds(f"{kubectl} wait --for=condition=Ready pod/plain --timeout=10s", timeout=300)
        node = client.succeed(f"{kubectl} get pod plain -o jsonpath={{.spec.nodeName}}").strip()
        assert node in facts["workers"], f"pod plain runs on {node}, not on a worker"

    with subtest("DNS resolves the API service's name inside a pod"):
        client.wait_until_succeeds(
            f"{kubectl} -n kube-system wait --for=condition=Available deployment/coredns --timeout=10s", timeout=300
        )
        client.wait_until_succeeds(
            f"{kubectl} exec plain -- nslookup kubernetes.default.svc.{facts['clusterDomain']}", timeout=120
        )

    with subtest("a pod reaches a ClusterIP service on another node"):
        server_node = facts["controlPlane"][0]
        web = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "labels": {"app": "web"}},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": server_node},
                "tolerations": [{"key": label, "operator": "Exists", "effect": "NoSchedule"}],
                "containers": [{
                    "name": "web",
                    "image": facts["podImage"],
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", f"mkdir -p /www && echo served-by-{server_node} > /www/index.html && exec httpd -f -p 8080 -h /www"],
                    "ports": [{"containerPort": 8080}],
                }],
            },
        }
        client.succeed(f"echo '{json.dumps(web)}' | {kubectl} apply -f -")
        client.succeed(f"{kubectl} expose pod web --port=80 --target-port=8080")
        client.wait_until_succeeds(f"{kubectl} wait --for=condition=Ready pod/web --timeout=10s", timeout=300)
        cluster_ip = client.succeed(f"{kubectl} get service web -o jsonpath={{.spec.clusterIP}}").strip()
        client.wait_until_succeeds(
            f"{kubectl} exec plain -- wget -qO- -T 5 http://{cluster_ip}/ | grep -qx served-by-{server_node}", timeout=120
        )
        client.succeed(
            f"{kubectl} exec plain -- wget -qO- -T 5 http://web.default.svc.{facts['clusterDomain']}/ | grep -qx served-by-{server_node}"
        )

    with subtest(f"kubectl create through the endpoint within {facts['failoverSeconds']} s of losing the VIP holder"):
        holders = facts["loadBalancers"] or facts["controlPlane"]
        holding = [
            name for name in holders
            if by_name[name].execute(f"ip -4 -o addr show dev eth1 | grep -q ' {facts['vip']}/'")[0] == 0
        ]
        assert len(holding) == 1, f"VIP {facts['vip']} held by {holding}"
        down = holding + ([facts["controlPlane"][0]] if facts["loadBalancers"] else [])
        client.succeed(f"{kubectl} create configmap before-failover")
        for name in down:
            by_name[name].crash()
        started = time.monotonic()
        client.wait_until_succeeds(
            f"{kubectl} create configmap after-failover || {kubectl} get configmap after-failover",
            timeout=facts["failoverSeconds"],
        )
        print(f"kubectl create succeeded {time.monotonic() - started:.1f} s after {', '.join(down)} went down")
  '';
}
