import { stringify } from "yaml";
import { DescriptionError, loadCluster, parseDescription } from "../src/cluster/load";
import { changed, EXAMPLES, exampleObject, problemsOf, REPO_ROOT } from "./helpers/descriptions";

const LOCAL = "clusters/local.yaml";
const STACKED = "clusters/local-stacked.yaml";
const GCP = "clusters/gcp.yaml";

describe("example descriptions", () => {
  it.each(EXAMPLES)("%s loads without errors or warnings", (file) => {
    const loaded = loadCluster(file, REPO_ROOT);
    expect(loaded.warnings).toEqual([]);
    expect(loaded.plan.sourceFile).toBe(file);
  });

  it("fills documented defaults for omitted optional fields", () => {
    const { description } = parseDescription(stringify(exampleObject(STACKED)), STACKED);
    expect(description.kubernetes.clusterDomain).toBe("cluster.local");
    expect(description.kubernetes.nodePodCidrPrefix).toBe(24);
    expect(description.ssh.user).toBe("root");
    expect(description.pools.worker).toMatchObject({ vcpu: 2, memoryMiB: 4096, diskGiB: 40, namePrefix: "worker", addressOffset: 50 });
    expect(description.libvirt).toMatchObject({ uri: "qemu:///system", domainType: "kvm" });
    expect(description.pki).toMatchObject({ algorithm: "ECDSA", ecdsaCurve: "P256", certValidityHours: 8760, earlyRenewalHours: 720 });
    expect(description.backend).toEqual({ type: "local" });
    expect(description.backup).toEqual({ enabled: true, interval: "hourly", keep: 24 });
  });
});

describe("validation reports each problem with field, value and fix", () => {
  const cases: Array<[string, string, (d: Record<string, any>) => void, RegExp]> = [
    ["unknown keys (typos)", LOCAL, (d) => (d.kubernetes.podCidrr = "10.1.0.0/16"), /kubernetes\.podCidrr: unknown field "podCidrr" in kubernetes \(a typo\?\)/],
    ["unknown top-level key", LOCAL, (d) => (d.hostz = []), /hostz: unknown field "hostz"/],
    ["wrong types", LOCAL, (d) => (d.pools.worker.vcpu = "two"), /pools\.worker\.vcpu: expected a number, got the text "two"$/m],
    ["missing required field", LOCAL, (d) => delete d.network.nodeCidr, /network\.nodeCidr: field `network\.nodeCidr` is missing; add it \(expected text; see docs\/description\.md\)/],
    ["bad CIDR", LOCAL, (d) => (d.network.nodeCidr = "10.240.0.1/24"), /network\.nodeCidr: must be an IPv4 CIDR block with no host bits set.*\(got "10\.240\.0\.1\/24"\)/],
    ["host names not RFC 1123 labels", LOCAL, (d) => (d.pools.worker.namePrefix = "Worker_"), /pools\.worker\.namePrefix: namePrefix must be an RFC 1123 label.*\(got "Worker_"\)/],
    ["cluster name not an RFC 1123 label", LOCAL, (d) => (d.name = "my.cluster"), /name: name must be an RFC 1123 label/],
    ["duplicate host names", LOCAL, (d) => (d.pools.worker = { count: 2, namePrefix: "cp", addressOffset: 100 }), /pools\.worker\.namePrefix: host name "cp-1" \(and 1 more host\) is also used by pools\.controlPlane; give the pools different namePrefix values/],
    ["duplicate addresses", LOCAL, (d) => (d.pools.worker.addressOffset = 21), /pools\.worker\.addressOffset: host worker-1 \(and 1 more host\) \(addressOffset 21\) gets 10\.240\.0\.21, already used by pools\.controlPlane/],
    ["a host on the API address", LOCAL, (d) => (d.pools.loadBalancer.addressOffset = 2), /pools\.loadBalancer\.addressOffset: host lb-1 \(addressOffset 2\) gets 10\.240\.0\.2, already used by network\.apiAddress/],
    ["addresses outside the node subnet", LOCAL, (d) => (d.pools.worker.addressOffset = 300), /pools\.worker\.addressOffset: host worker-1 \(and 1 more host\) \(addressOffset 300\) gets host number 300, outside network\.nodeCidr 10\.240\.0\.0\/24; lower the offset or widen the subnet/],
    ["the gateway address", LOCAL, (d) => (d.pools.loadBalancer.addressOffset = 1), /pools\.loadBalancer\.addressOffset: host lb-1 \(addressOffset 1\) gets reserved address 10\.240\.0\.1 of 10\.240\.0\.0\/24; use host numbers 2 to 254/],
    ["the broadcast address", LOCAL, (d) => (d.pools.worker.addressOffset = 254), /host worker-2 \(addressOffset 254\) gets reserved address 10\.240\.0\.255/],
    ["the API address outside the subnet", LOCAL, (d) => (d.network.apiAddress = "10.241.0.2"), /network\.apiAddress: 10\.241\.0\.2 is outside network\.nodeCidr 10\.240\.0\.0\/24/],
    ["the API address on the network address", LOCAL, (d) => (d.network.apiAddress = "10.240.0.0"), /network\.apiAddress: 10\.240\.0\.0 is the subnet's network, gateway or broadcast address/],
    ["overlapping node and pod CIDRs", LOCAL, (d) => (d.kubernetes.podCidr = "10.240.0.0/16"), /kubernetes\.podCidr: 10\.240\.0\.0\/16 overlaps network\.nodeCidr 10\.240\.0\.0\/24/],
    ["overlapping pod and service CIDRs", LOCAL, (d) => (d.kubernetes.serviceCidr = "10.200.5.0/24"), /kubernetes\.serviceCidr: 10\.200\.5\.0\/24 overlaps kubernetes\.podCidr 10\.200\.0\.0\/16/],
    ["pod CIDR too small for the nodes", LOCAL, (d) => (d.kubernetes.podCidr = "10.200.0.0/23"), /kubernetes\.podCidr: 10\.200\.0\.0\/23 holds only 2 per-node \/24 blocks but the cluster has 5 Kubernetes nodes; widen it to \/21/],
    ["zero etcd members", LOCAL, (d) => (d.pools.etcd.count = 0), /pools\.etcd\.count: got 0 etcd members: etcd needs at least 1 member/],
    ["no control plane", LOCAL, (d) => (d.pools.controlPlane.count = 0), /pools\.controlPlane\.count: got 0: a cluster needs at least one control-plane host/],
    ["no SSH key", LOCAL, (d) => (d.ssh.authorizedKeys = []), /ssh\.authorizedKeys: got no SSH public key/],
    ["a malformed SSH key", LOCAL, (d) => (d.ssh.authorizedKeys = ["AAAAC3Nza"]), /ssh\.authorizedKeys\.0: must be an OpenSSH public key line/],
    ["a GCP zone not in its region", GCP, (d) => (d.gcp.zones = ["europe-west1-b", "us-east1-c"]), /gcp\.zones\.1: zone "us-east1-c" is not in region "europe-west1"/],
    ["a GCP cluster name starting with a digit", GCP, (d) => (d.name = "1st"), /name: "1st" starts with a digit, but Compute Engine names built from it must start with a letter/],
    ["a GCP cluster name too long for derived names", GCP, (d) => (d.name = "a".repeat(50)), /name: "a{50}" \(50 characters\) is too long for GCP: the firewall rule name "a{50}-kubelet-from-control-plane" has 77 characters, the limit is 63 \(\d+ more derived names are too long\); shorten name by 14, to at most 36 characters/],
    ["early renewal not below the validity", LOCAL, (d) => (d.pki = { certValidityHours: 720, earlyRenewalHours: 720 }), /pki\.earlyRenewalHours: 720 is not below pki\.certValidityHours 720/],
    ["certificates outliving their CA", LOCAL, (d) => (d.pki = { caValidityHours: 1000, certValidityHours: 2000 }), /pki\.certValidityHours: 2000 exceeds pki\.caValidityHours 1000/],
    ["a missing section for the target", GCP, (d) => delete d.gcp, /gcp: target is "gcp" but the gcp section is missing/],
    ["a missing libvirt section", LOCAL, (d) => delete d.libvirt, /libvirt: target is "libvirt" but the libvirt section is missing/],
    ["load balancers on GCP", GCP, (d) => (d.pools.loadBalancer = { count: 2 }), /pools\.loadBalancer: got 2 load-balancer hosts, but the load-balancer role exists only on libvirt/],
    [
      "no worker pool (every node tainted)",
      STACKED,
      (d) => delete d.pools.worker,
      /pools\.worker\.count: got no worker pool: no node would schedule ordinary pods \(control-plane nodes carry the taint node-role\.kubernetes\.io\/control-plane:NoSchedule, so every pod without a toleration stays Pending\); add pools\.worker with count of at least 1/,
    ],
    ["zero workers", LOCAL, (d) => (d.pools.worker.count = 0), /pools\.worker\.count: got 0: no node would schedule ordinary pods/],
    [
      "Kubernetes 1.35 (kubelet flag removed)",
      LOCAL,
      (d) => (d.kubernetes.version = "1.35"),
      /kubernetes\.version: Kubernetes 1\.35 removed the kubelet flag --pod-infra-container-image, which nixpkgs' kubelet module \(NixOS 25\.11\) still passes.*use "1\.34"/,
    ],
    ["etcd hosts in the stacked topology", STACKED, (d) => (d.pools.etcd = { count: 3 }), /pools\.etcd: got 3 etcd hosts, but topology "stacked" runs etcd on the control-plane hosts/],
    ["no load balancer for the libvirt VIP", LOCAL, (d) => (d.pools.loadBalancer.count = 0), /pools\.loadBalancer\.count: got 0: with topology external-etcd on libvirt the load balancers hold the API VIP/],
    ["an image given two ways", GCP, (d) => (d.gcp.image = { family: "nixos", tarball: "gs://b/x.tar.gz" }), /gcp\.image: must be one of/],
    ["a backup bucket on libvirt", LOCAL, (d) => (d.backup = { bucket: "my-backups" }), /backup\.bucket: "my-backups" is set, but uploading snapshots to a bucket exists only on GCP; on libvirt remove it and copy snapshots off the members with scripts\/etcd-pull-snapshot\.sh/],
    ["a backup bucket with backups disabled", GCP, (d) => (d.backup = { enabled: false, bucket: "my-backups" }), /backup\.bucket: "my-backups" is set, but backup\.enabled is false/],
    ["a backup interval that is no calendar expression", LOCAL, (d) => (d.backup = { interval: "every hour; rm -rf /" }), /backup\.interval: must be a systemd calendar expression/],
    ["keeping no snapshot", LOCAL, (d) => (d.backup = { keep: 0 }), /backup\.keep: got 0; the smallest allowed value is 1/],
    ["no admin source ranges", GCP, (d) => (d.gcp.adminSourceRanges = []), /gcp\.adminSourceRanges: the list has 0 entries; give at least 1/],
  ];

  it.each(cases)("%s", (_name, file, change, expected) => {
    const message = problemsOf(changed(file, change));
    expect(message).toMatch(/nothing was synthesized/);
    expect(message).toMatch(expected);
  });

  it("reports every problem at once", () => {
    const message = problemsOf(
      changed(LOCAL, (d) => {
        d.ssh.authorizedKeys = [];
        d.pools.controlPlane.count = 0;
        d.kubernetes.serviceCidr = "10.240.0.0/24";
      }),
    );
    expect(message).toMatch(/has 3 problems/);
    expect(message).toMatch(/ssh\.authorizedKeys/);
    expect(message).toMatch(/pools\.controlPlane\.count/);
    expect(message).toMatch(/kubernetes\.serviceCidr/);
  });

  it("warns (without failing) on an even etcd member count and a single load balancer", () => {
    const { warnings } = parseDescription(
      stringify(changed(LOCAL, (d) => {
        d.pools.etcd.count = 4;
        d.pools.loadBalancer.count = 1;
      })),
      LOCAL,
    );
    expect(warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([
      expect.stringMatching(/^pools\.etcd\.count: got 4 etcd members: an even count tolerates no more member failures \(1\) than 3 members would, and needs a larger quorum; use an odd count/),
      expect.stringMatching(/^pools\.loadBalancer\.count: got 1: a single load balancer is a single point of failure/),
    ]);
  });

  it("counts stacked etcd members from the control plane", () => {
    const { warnings } = parseDescription(stringify(changed(STACKED, (d) => (d.pools.controlPlane.count = 2))), STACKED);
    expect(warnings[0]).toMatchObject({ path: "pools.controlPlane.count", severity: "warning" });
  });

  it("reports YAML syntax errors and duplicate keys", () => {
    expect(() => parseDescription("name: a\nname: b\n", "x.yaml")).toThrow(/name \(line 2\): key `name` appears twice, lines 1 and 2; keep one of them/);
  });

  it("refuses a description outside the repository, whose path would leak into generated files", () => {
    expect(() => loadCluster("/tmp/elsewhere/cluster.yaml", REPO_ROOT)).toThrow(
      /cluster\.yaml: [\s\S]*the description \/tmp\/elsewhere\/cluster\.yaml is outside the repository; keep cluster descriptions inside the repository, e\.g\. in clusters\//,
    );
  });

  it("names an unreadable file and the fix", () => {
    expect(() => loadCluster("clusters/nope.yaml", REPO_ROOT)).toThrow(DescriptionError);
    expect(() => loadCluster("clusters/nope.yaml", REPO_ROOT)).toThrow(/clusters\/nope\.yaml: [\s\S]*cannot read the description file: the file does not exist \(ENOENT\); set CLUSTER_CONFIG to an existing description/);
  });
});
