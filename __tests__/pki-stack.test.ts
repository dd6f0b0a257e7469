/**
 * The pki stack's synthesized JSON, read the way a reviewer of `cdktf synth` would: every certificate a host
 * receives is followed from the delivered file to its tls resources and checked against the kubeadm
 * requirements (issuer CA, CN, O, SANs, usages, validity); then delivery, re-delivery triggers, the admin
 * kubeconfig, and the absence of key material.
 */
import { Testing } from "cdktf";
import { parse } from "yaml";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan, HostPlan } from "../src/cluster/plan-types";
import { PKI_DIR } from "../src/pki/paths";
import { buildClusterStacks } from "../stacks/app";
import { changed, planFromObject, problemsOf, REPO_ROOT } from "./helpers/descriptions";
import { resources, synthPki, type Json, type SynthesizedPki } from "./helpers/pki-synth";

const plan = (file: string): ClusterPlan => loadCluster(file, REPO_ROOT).plan;

/** The resource name inside "${<type>.<name>.<attribute>}" (optionally wrapped in a function call). */
function refName(expression: unknown, type: string, attribute: string): string {
  const match = new RegExp(`\\$\\{(?:[a-z0-9]+\\()*${type}\\.([^.}]+)\\.${attribute}\\)*\\}`).exec(String(expression));
  if (!match) throw new Error(`not a reference to ${type}.*.${attribute}: ${String(expression)}`);
  return match[1];
}

/** A bastion's host key as a description gives it. */
const BASTION_KEY = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg= bastion";

const REMOTE_STATE = (stack: string) => new RegExp(`^\\$\\{data\\.terraform_remote_state\\.cross-stack-reference-input-${stack}\\.outputs\\.[^}]+\\}$`);

interface CertView {
  readonly issuer: string;
  readonly cn: string;
  readonly o?: string;
  readonly dns: string[];
  readonly ip: string[];
  readonly uses: string[];
  readonly validity: number;
  readonly earlyRenewal?: number;
  readonly isCa: boolean;
  /** tls_private_key name of the certificate's key. */
  readonly keyName: string;
}

/** Reads what a "${tls_locally_signed_cert...cert_pem}" or "${tls_self_signed_cert...cert_pem}" reference issues. */
function certView(json: Json, certRef: string): CertView {
  const subject = (r: Json) => r.subject[0] as { common_name: string; organization?: string };
  if (certRef.includes("tls_self_signed_cert.")) {
    const ca = resources(json, "tls_self_signed_cert")[refName(certRef, "tls_self_signed_cert", "cert_pem")];
    return {
      issuer: subject(ca).common_name,
      cn: subject(ca).common_name,
      ...(subject(ca).organization ? { o: subject(ca).organization } : {}),
      dns: [],
      ip: [],
      uses: ca.allowed_uses,
      validity: ca.validity_period_hours,
      ...(ca.early_renewal_hours !== undefined ? { earlyRenewal: ca.early_renewal_hours } : {}),
      isCa: ca.is_ca_certificate === true,
      keyName: refName(ca.private_key_pem, "tls_private_key", "private_key_pem"),
    };
  }
  const signed = resources(json, "tls_locally_signed_cert")[refName(certRef, "tls_locally_signed_cert", "cert_pem")];
  const request = resources(json, "tls_cert_request")[refName(signed.cert_request_pem, "tls_cert_request", "cert_request_pem")];
  const ca = resources(json, "tls_self_signed_cert")[refName(signed.ca_cert_pem, "tls_self_signed_cert", "cert_pem")];
  // The CA key that signs is the key of the CA certificate named as issuer.
  expect(refName(signed.ca_private_key_pem, "tls_private_key", "private_key_pem")).toBe(refName(ca.private_key_pem, "tls_private_key", "private_key_pem"));
  return {
    issuer: subject(ca).common_name,
    cn: subject(request).common_name,
    ...(subject(request).organization ? { o: subject(request).organization } : {}),
    dns: [...(request.dns_names ?? [])].sort(),
    ip: [...(request.ip_addresses ?? [])].sort(),
    uses: signed.allowed_uses,
    validity: signed.validity_period_hours,
    ...(signed.early_renewal_hours !== undefined ? { earlyRenewal: signed.early_renewal_hours } : {}),
    isCa: signed.is_ca_certificate === true,
    keyName: refName(request.private_key_pem, "tls_private_key", "private_key_pem"),
  };
}

function delivery(json: Json, host: string): Json {
  const found = Object.entries(resources(json, "terraform_data")).filter(([name]) => name.startsWith(`delivery-${host}_`));
  if (found.length !== 1) throw new Error(`expected one delivery for ${host}, found ${found.length}`);
  return found[0][1];
}

/** The file provisioners of a host's delivery: staged name -> content expression. */
function deliveredFiles(json: Json, host: string): Record<string, string> {
  const provisioners = delivery(json, host).provisioner as Json[];
  return Object.fromEntries(
    provisioners.filter((p) => p.file).map((p) => [String(p.file.destination).split("/").pop(), p.file.content as string]),
  );
}

/** Per-example facts written down from the description files, not computed by the code under test. */
const EXAMPLES = {
  // apiNames: what the target's DNS calls the API address (libvirt's network publishes the VIP as api[.<domain>]).
  "clusters/local.yaml": { serviceIp: "10.32.0.1", api: "10.240.0.2", apiNames: ["api", "api.k8s.internal"], externalApiToken: false },
  "clusters/local-stacked.yaml": { serviceIp: "10.33.0.1", api: "10.241.0.2", apiNames: ["api", "api.k8s-stacked.internal"], externalApiToken: false },
  "clusters/gcp.yaml": { serviceIp: "10.32.0.1", api: "10.240.0.2", apiNames: [], externalApiToken: true },
} as const;
type Example = (typeof EXAMPLES)[keyof typeof EXAMPLES];

const LEAF = { validity: 8760, earlyRenewal: 720, isCa: false } as const;
const CLIENT = ["digital_signature", "client_auth"];
const SERVER = ["digital_signature", "server_auth"];
const SERVER_CLIENT = ["digital_signature", "server_auth", "client_auth"];
const NO_SANS = { dns: [], ip: [] };
const sorted = (values: readonly string[]) => [...values].sort();

interface Expected {
  readonly issuer: string;
  readonly cn: string;
  readonly o?: string;
  readonly dns: readonly string[];
  readonly ip: readonly string[];
  readonly uses: readonly string[];
  readonly validity: number;
  readonly earlyRenewal?: number;
  readonly isCa: boolean;
}

/** The kubeadm certificate requirements ("PKI certificates and requirements"), per delivered certificate file. */
const KUBEADM: Record<string, (p: ClusterPlan, host: HostPlan, ex: Example) => Expected> = {
  kubernetesCaCert: () => ({ issuer: "kubernetes", cn: "kubernetes", ...NO_SANS, uses: ["cert_signing", "digital_signature"], validity: 87600, isCa: true }),
  kubernetesCaSigningCert: () => ({ issuer: "kubernetes", cn: "kubernetes", ...NO_SANS, uses: ["cert_signing", "digital_signature"], validity: 87600, isCa: true }),
  etcdCaCert: () => ({ issuer: "etcd-ca", cn: "etcd-ca", ...NO_SANS, uses: ["cert_signing", "digital_signature"], validity: 87600, isCa: true }),
  frontProxyCaCert: () => ({ issuer: "front-proxy-ca", cn: "front-proxy-ca", ...NO_SANS, uses: ["cert_signing", "digital_signature"], validity: 87600, isCa: true }),
  apiServerCert: (p, _h, ex) => {
    const cps = p.hosts.filter((h) => h.roles.includes("control-plane"));
    return {
      issuer: "kubernetes",
      cn: "kube-apiserver",
      dns: sorted([
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "localhost",
        ...cps.map((h) => h.name),
        ...cps.map((h) => `${h.name}.${p.hostDomain}`),
        ...ex.apiNames,
      ]),
      ip: sorted([ex.serviceIp, "127.0.0.1", ex.api, ...cps.map((h) => h.address)]),
      uses: SERVER,
      ...LEAF,
    };
  },
  apiServerKubeletClientCert: () => ({ issuer: "kubernetes", cn: "kube-apiserver-kubelet-client", o: "kube-apiserver:kubelet-api-admins", ...NO_SANS, uses: CLIENT, ...LEAF }),
  apiServerEtcdClientCert: () => ({ issuer: "etcd-ca", cn: "kube-apiserver-etcd-client", ...NO_SANS, uses: CLIENT, ...LEAF }),
  frontProxyClientCert: () => ({ issuer: "front-proxy-ca", cn: "front-proxy-client", ...NO_SANS, uses: CLIENT, ...LEAF }),
  controllerManagerCert: () => ({ issuer: "kubernetes", cn: "system:kube-controller-manager", ...NO_SANS, uses: CLIENT, ...LEAF }),
  schedulerCert: () => ({ issuer: "kubernetes", cn: "system:kube-scheduler", ...NO_SANS, uses: CLIENT, ...LEAF }),
  // No group: nixpkgs' add-on manager RBAC names the user (kube-system Role, cluster-lister); not system:masters.
  addonManagerCert: () => ({ issuer: "kubernetes", cn: "system:kube-addon-manager", ...NO_SANS, uses: CLIENT, ...LEAF }),
  // Not a kubeadm certificate: kubeadm marks control-plane nodes with admin.conf; here a dedicated identity whose
  // RBAC (nixos/modules/node-roles.nix) may only get, list and patch nodes.
  nodeLabelerCert: () => ({ issuer: "kubernetes", cn: "k8s-nixos:node-labeler", ...NO_SANS, uses: CLIENT, ...LEAF }),
  kubeletCert: (p, h) => ({
    issuer: "kubernetes",
    cn: `system:node:${h.name}`,
    o: "system:nodes",
    dns: sorted([h.name, `${h.name}.${p.hostDomain}`]),
    ip: [h.address],
    uses: SERVER_CLIENT,
    ...LEAF,
  }),
  kubeProxyCert: () => ({ issuer: "kubernetes", cn: "system:kube-proxy", o: "system:node-proxier", ...NO_SANS, uses: CLIENT, ...LEAF }),
  flannelCert: () => ({ issuer: "kubernetes", cn: "flannel-client", ...NO_SANS, uses: CLIENT, ...LEAF }),
  etcdServerCert: (p, h) => ({
    issuer: "etcd-ca",
    cn: h.name,
    dns: sorted([h.name, `${h.name}.${p.hostDomain}`, "localhost"]),
    ip: sorted([h.address, "127.0.0.1", "::1"]),
    uses: SERVER_CLIENT,
    ...LEAF,
  }),
  etcdPeerCert: (p, h) => ({
    issuer: "etcd-ca",
    cn: h.name,
    dns: sorted([h.name, `${h.name}.${p.hostDomain}`, "localhost"]),
    ip: sorted([h.address, "127.0.0.1", "::1"]),
    uses: SERVER_CLIENT,
    ...LEAF,
  }),
  etcdHealthcheckClientCert: () => ({ issuer: "etcd-ca", cn: "kube-etcd-healthcheck-client", ...NO_SANS, uses: CLIENT, ...LEAF }),
};

/** The key file that goes with each certificate file. */
const KEY_OF: Record<string, string> = {
  apiServerCert: "apiServerKey",
  apiServerKubeletClientCert: "apiServerKubeletClientKey",
  apiServerEtcdClientCert: "apiServerEtcdClientKey",
  frontProxyClientCert: "frontProxyClientKey",
  controllerManagerCert: "controllerManagerKey",
  schedulerCert: "schedulerKey",
  addonManagerCert: "addonManagerKey",
  nodeLabelerCert: "nodeLabelerKey",
  kubeletCert: "kubeletKey",
  kubeProxyCert: "kubeProxyKey",
  flannelCert: "flannelKey",
  etcdServerCert: "etcdServerKey",
  etcdPeerCert: "etcdPeerKey",
  etcdHealthcheckClientCert: "etcdHealthcheckClientKey",
  kubernetesCaCert: "kubernetesCaKey",
};

describe.each(Object.keys(EXAMPLES) as (keyof typeof EXAMPLES)[])("pki stack for %s", (file) => {
  const p = plan(file);
  const ex = EXAMPLES[file];
  let synth: SynthesizedPki;
  beforeAll(() => {
    synth = synthPki(p);
  });

  const certFilesOf = (host: HostPlan) => Object.entries(deliveredFiles(synth.json, host.name)).filter(([name]) => name.endsWith("CaCert") || name.endsWith("Cert"));

  it("issues every delivered certificate as kubeadm requires (issuer, CN, O, SANs, usages, validity)", () => {
    let checked = 0;
    for (const host of p.hosts.filter((h) => !h.roles.includes("load-balancer"))) {
      for (const [name, content] of certFilesOf(host)) {
        const rule = KUBEADM[name];
        expect([host.name, name, rule !== undefined]).toEqual([host.name, name, true]);
        const expected = rule(p, host, ex);
        const view = certView(synth.json, content);
        const { keyName: _key, ...seen } = view;
        if (name === "apiServerCert" && ex.externalApiToken) {
          // GCP: the external balancer's address comes from the network stack at apply.
          const fromNetwork = seen.ip.filter((ip) => REMOTE_STATE("network").test(ip));
          expect(fromNetwork).toHaveLength(1);
          expect({ ...seen, ip: seen.ip.filter((ip) => !fromNetwork.includes(ip)) }).toEqual({ ...expected, ip: [...expected.ip] });
        } else {
          expect([host.name, name, seen]).toEqual([host.name, name, { ...expected, dns: [...expected.dns], ip: [...expected.ip], uses: [...expected.uses] }]);
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it("delivers each certificate with the key it was requested with", () => {
    let pairs = 0;
    for (const host of p.hosts.filter((h) => !h.runsLoadBalancer)) {
      const files = deliveredFiles(synth.json, host.name);
      for (const [certName, keyName] of Object.entries(KEY_OF)) {
        if (!files[certName] || !files[keyName]) continue;
        expect(refName(files[keyName], "tls_private_key", "private_key_pem")).toBe(certView(synth.json, files[certName]).keyName);
        pairs++;
      }
    }
    expect(pairs).toBeGreaterThan(20);
  });

  it("issues no certificate beyond those delivered, the admin's and the break-glass one", () => {
    const reached = new Set<string>();
    for (const host of p.hosts.filter((h) => !h.roles.includes("load-balancer"))) {
      for (const [, content] of certFilesOf(host)) if (content.includes("tls_locally_signed_cert.")) reached.add(refName(content, "tls_locally_signed_cert", "cert_pem"));
    }
    for (const kubeconfig of Object.values(resources(synth.json, "local_sensitive_file"))) {
      reached.add(refName(/client-certificate-data: "([^"]+)"/.exec(kubeconfig.content as string)![1], "tls_locally_signed_cert", "cert_pem"));
    }
    expect(sorted([...reached])).toEqual(sorted(Object.keys(resources(synth.json, "tls_locally_signed_cert"))));
    const kubelets = p.hosts.filter((h) => h.runsKubelet).length;
    const etcdMembers = p.hosts.filter((h) => h.runsEtcd).length;
    expect(reached.size).toBe(13 + kubelets + 2 * etcdMembers);
  });

  it("uses ECDSA P-256 keys by default, for every key", () => {
    const keys = Object.values(resources(synth.json, "tls_private_key"));
    expect(keys.length).toBe(Object.keys(resources(synth.json, "tls_cert_request")).length + 3 + 1);
    for (const { lifecycle: _protection, ...k } of keys) expect(k).toEqual({ algorithm: "ECDSA", ecdsa_curve: "P256" });
  });

  it("never puts key material in the synthesized JSON, only references", () => {
    expect(synth.text).not.toMatch(/PRIVATE KEY/);
    expect(synth.text).not.toMatch(/-----BEGIN/);
    for (const f of Object.values(resources(synth.json, "local_sensitive_file"))) expect(f.content).not.toMatch(/LS0tLS1CRUdJT/);
  });

  it("renders the encryption configuration with a random 32-byte secretbox key, for control-plane hosts only", () => {
    expect(Object.values(resources(synth.json, "random_bytes"))).toEqual([{ length: 32 }]);
    const cp = p.hosts.find((h) => h.runsControlPlane)!;
    const content = deliveredFiles(synth.json, cp.name).encryptionConfig;
    const keyRef = /random_bytes\.[^.]+\.base64/.exec(content)![0];
    const rendered = content.replace(/^\$\{join\("", \[/, "").replace(/\]\)\}$/, "");
    const text = JSON.parse(`[${rendered.replace(keyRef, JSON.stringify("KEY"))}]`).join("");
    expect(parse(text)).toEqual({
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "EncryptionConfiguration",
      resources: [{ resources: ["secrets"], providers: [{ secretbox: { keys: [{ name: "key1", secret: "KEY" }] } }, { identity: {} }] }],
    });
    for (const h of p.hosts.filter((x) => !x.runsControlPlane && !x.runsLoadBalancer)) expect(deliveredFiles(synth.json, h.name).encryptionConfig).toBeUndefined();
  });

  it("connects to each host over SSH with the agent, as the description's user, at the compute target's address, verifying its host key", () => {
    for (const h of p.hosts.filter((x) => !x.runsLoadBalancer)) {
      const c = delivery(synth.json, h.name).connection;
      expect(c).toMatchObject({ type: "ssh", user: "root", agent: "true", timeout: "10m" });
      // The public key the compute stack made for this very host (its output, read through remote state).
      expect(c.host_key).toMatch(
        new RegExp(`^\\$\\{trimspace\\(data\\.terraform_remote_state\\.cross-stack-reference-input-compute\\.outputs\\.[^}]*host-keys_ssh-host-key-${h.name}_[0-9A-F]{8}public_key_openssh\\)\\}$`),
      );
      expect(c).not.toHaveProperty("bastion_host");
      // Scripts go below the login user's home, never to /tmp: the first one straight into it, the others into the
      // 0700 directory it creates; each provisioner that sets its own connection verifies the same host key.
      expect(c.script_path).toBe("./.cache/k8s-pki/terraform_%RAND%.sh");
      const provisioners = delivery(synth.json, h.name).provisioner as Json[];
      const first = provisioners[0]["remote-exec"];
      expect(first.connection).toEqual({ ...c, script_path: "./.k8s-pki-prepare-%RAND%.sh" });
      expect(first.inline).toEqual(expect.arrayContaining(["rm -f ./.k8s-pki-prepare-*.sh", "(umask 077 && mkdir -p .cache/k8s-pki)", "chmod 0700 .cache/k8s-pki"]));
      for (const later of provisioners.slice(1)) expect(Object.values(later)[0].connection).toBeUndefined();
      if (p.target === "gcp") expect(c.host).toMatch(REMOTE_STATE("compute"));
      else expect(c.host).toBe(h.address);
    }
  });

  it("re-delivers when the machine is replaced, the plan changes the bundle, or any file's content changes", () => {
    for (const h of p.hosts.filter((x) => !x.runsLoadBalancer)) {
      const t = delivery(synth.json, h.name).triggers_replace;
      expect(t.machine_id).toMatch(REMOTE_STATE("compute"));
      expect(t.layout).toMatch(/^[0-9a-f]{64}$/);
      const staged = Object.keys(deliveredFiles(synth.json, h.name));
      expect(Object.keys(t.content)).toHaveLength(staged.length);
      for (const [path, digest] of Object.entries(t.content as Record<string, string>)) {
        expect(path.startsWith(`${PKI_DIR}/`)).toBe(true);
        const secret = /\.key$|encryption-config\.yaml$/.test(path);
        expect(digest).toMatch(secret ? /^\$\{nonsensitive\(sha256\(/ : /^\$\{sha256\(/);
      }
    }
  });

  it("stages files, then installs them and restarts exactly the units of the host's roles", () => {
    const unitsByRole: Record<string, string[]> = {
      etcd: ["etcd"],
      "control-plane": ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-addon-manager", "kubelet", "kube-proxy", "flannel"],
      worker: ["kubelet", "kube-proxy", "flannel"],
    };
    for (const h of p.hosts.filter((x) => !x.runsLoadBalancer)) {
      const provisioners = delivery(synth.json, h.name).provisioner as Json[];
      expect(Object.keys(provisioners[0])).toEqual(["remote-exec"]);
      expect(Object.keys(provisioners[provisioners.length - 1])).toEqual(["remote-exec"]);
      expect(provisioners.slice(1, -1).every((x) => x.file && String(x.file.destination).startsWith("/run/k8s-pki-staging/"))).toBe(true);
      const install = (provisioners[provisioners.length - 1]["remote-exec"].inline as string[]).join("\n");
      const restarted = [...install.matchAll(/then restart ([a-z-]+);/g)].map((m) => m[1]).sort();
      expect([h.name, restarted]).toEqual([h.name, sorted([...new Set(h.roles.flatMap((r) => unitsByRole[r] ?? []))])]);
      for (const staged of Object.keys(deliveredFiles(synth.json, h.name))) expect(install).toContain(`put '${staged}' '${PKI_DIR}/`);
      // The health gates are health.sh's checks, embedded in the delivered script; the restart record is written first.
      expect([h.name, install.includes('await_healthy "$1" etcd-member')]).toEqual([h.name, h.runsEtcd]);
      expect([h.name, install.includes('await_healthy "$1" apiserver')]).toEqual([h.name, h.runsControlPlane]);
      expect([h.name, install.includes("k8s_healthy() {")]).toEqual([h.name, h.runsEtcd || h.runsControlPlane]);
      expect(install.indexOf("\nwrite_record\n")).toBeLessThan(install.indexOf("\nput "));
      expect(install).toContain("record='/var/lib/k8s-pki/restart-owed'");
    }
  });

  /** The operator kubeconfig written to secrets/<cluster>/<name>, and the certificate it carries. */
  const kubeconfigFile = (name: string) => {
    const files = Object.values(resources(synth.json, "local_sensitive_file")).filter((f) => f.filename === `../../../secrets/${p.cluster}/${name}`);
    expect(files).toHaveLength(1);
    const kubeconfig = parse(files[0].content as string);
    const user = kubeconfig.users[0].user;
    const cert = certView(synth.json, `\${tls_locally_signed_cert.${refName(user["client-certificate-data"], "tls_locally_signed_cert", "cert_pem")}.cert_pem}`);
    expect(refName(user["client-key-data"], "tls_private_key", "private_key_pem")).toBe(cert.keyName);
    return { file: files[0], kubeconfig, cert };
  };

  it("writes exactly two operator kubeconfigs locally, 0600 in a 0700 directory under the git-ignored secrets/", () => {
    const files = Object.values(resources(synth.json, "local_sensitive_file"));
    expect(sorted(files.map((f) => f.filename))).toEqual([`../../../secrets/${p.cluster}/admin.kubeconfig`, `../../../secrets/${p.cluster}/break-glass.kubeconfig`]);
    for (const f of files) expect(f).toMatchObject({ file_permission: "0600", directory_permission: "0700" });
  });

  it("gives the admin kubeconfig a revocable identity: group kubeadm:cluster-admins (RBAC), not system:masters, renewed early", () => {
    const { kubeconfig, cert } = kubeconfigFile("admin.kubeconfig");
    const server = kubeconfig.clusters[0].cluster.server as string;
    if (ex.externalApiToken) expect(server).toMatch(/^https:\/\/\$\{data\.terraform_remote_state\.cross-stack-reference-input-network\.outputs\.[^}]+\}:6443$/);
    else expect(server).toBe(`https://${ex.api}:6443`);
    expect(cert).toMatchObject({ issuer: "kubernetes", cn: "kubernetes-admin", o: "kubeadm:cluster-admins", uses: CLIENT, dns: [], ip: [], earlyRenewal: 720 });
    expect(certView(synth.json, `\${tls_self_signed_cert.${refName(kubeconfig.clusters[0].cluster["certificate-authority-data"], "tls_self_signed_cert", "cert_pem")}.cert_pem}`).cn).toBe("kubernetes");
    expect(kubeconfig["current-context"]).toBe(`admin@${p.cluster}`);
  });

  it("keeps the system:masters identity in its own break-glass kubeconfig, never renewed early", () => {
    const { kubeconfig, cert } = kubeconfigFile("break-glass.kubeconfig");
    expect(cert).toMatchObject({ issuer: "kubernetes", cn: "kubernetes-super-admin", o: "system:masters", uses: CLIENT, dns: [], ip: [], earlyRenewal: 0 });
    expect(kubeconfig["current-context"]).toBe(`break-glass@${p.cluster}`);
    expect(kubeconfig.clusters[0].cluster.server).toBe(kubeconfigFile("admin.kubeconfig").kubeconfig.clusters[0].cluster.server);
    // No other certificate is in system:masters.
    const masters = Object.keys(resources(synth.json, "tls_cert_request")).filter((id) => resources(synth.json, "tls_cert_request")[id].subject[0].organization === "system:masters");
    expect(masters).toHaveLength(1);
    expect(masters[0]).toMatch(/^pki_break-glass_request_/);
  });

  it("outputs the CA certificates and the kubeconfig path under stable names, and no secret", () => {
    const outputs = synth.json.output as Record<string, Json>;
    expect(certView(synth.json, outputs.kubernetes_ca_certificate.value).cn).toBe("kubernetes");
    expect(certView(synth.json, outputs.etcd_ca_certificate.value).cn).toBe("etcd-ca");
    expect(certView(synth.json, outputs.front_proxy_ca_certificate.value).cn).toBe("front-proxy-ca");
    expect(outputs.service_account_public_key.value).toMatch(/^\$\{tls_private_key\.[^.]+\.public_key_pem\}$/);
    expect(outputs.admin_kubeconfig_path.value).toBe(`secrets/${p.cluster}/admin.kubeconfig`);
    expect(outputs.break_glass_kubeconfig_path.value).toBe(`secrets/${p.cluster}/break-glass.kubeconfig`);
    for (const [name, o] of Object.entries(outputs)) {
      if (JSON.stringify(o.value).match(/private_key_pem|random_bytes|local_sensitive_file/)) expect([name, o.sensitive]).toEqual([name, true]);
    }
  });
});

describe("pki stack: deliveries", () => {
  const local = synthPki(plan("clusters/local.yaml")).json;
  const stacked = synthPki(plan("clusters/local-stacked.yaml")).json;
  const after = (json: Json, host: string) => ((delivery(json, host).depends_on ?? []) as string[]).map((d) => d.replace(/^terraform_data\.delivery-(.+)_delivery_[0-9A-F]+$/, "$1"));

  it("delivers to every host but the load balancers", () => {
    const names = Object.keys(resources(local, "terraform_data"))
      .filter((n) => n.startsWith("delivery-"))
      .map((n) => n.replace(/_delivery_[0-9A-F]+$/, "").replace(/^delivery-/, ""));
    expect(sorted(names)).toEqual(sorted(["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "worker-2"]));
  });

  it("delivers to etcd members and to control-plane hosts one at a time, to workers in parallel", () => {
    expect([after(local, "etcd-1"), after(local, "etcd-2"), after(local, "etcd-3")]).toEqual([[], ["etcd-1"], ["etcd-2"]]);
    expect([after(local, "cp-1"), after(local, "cp-2"), after(local, "cp-3")]).toEqual([[], ["cp-1"], ["cp-2"]]);
    expect([after(local, "worker-1"), after(local, "worker-2")]).toEqual([[], []]);
    expect([after(stacked, "cp-1"), after(stacked, "cp-2"), after(stacked, "cp-3")]).toEqual([[], ["cp-1"], ["cp-2"]]);
  });

  it("needs no null provider: terraform_data is built in", () => {
    expect(Object.keys(local.provider).sort()).toEqual(["local", "random", "tls"]);
  });
});

describe("pki stack: adding a control-plane host", () => {
  const before = synthPki(plan("clusters/local.yaml")).json;
  const grown = synthPki(planFromObject(changed("clusters/local.yaml", (d) => (d.pools.controlPlane.count = 4)), "clusters/local.yaml")).json;
  const apiServer = (json: Json) => certView(json, deliveredFiles(json, "cp-1").apiServerCert);
  const layout = (json: Json, host: string) => delivery(json, host).triggers_replace.layout as string;

  it("adds its name and address to the API server certificate", () => {
    expect(apiServer(before).ip).not.toContain("10.240.0.23");
    expect(apiServer(grown).ip).toContain("10.240.0.23");
    expect(apiServer(grown).dns).toEqual(expect.arrayContaining(["cp-4", "cp-4.k8s.internal"]));
  });

  it("re-delivers to the existing control-plane hosts, and only to them", () => {
    for (const host of ["cp-1", "cp-2", "cp-3"]) expect(layout(grown, host)).not.toBe(layout(before, host));
    for (const host of ["etcd-1", "etcd-2", "etcd-3", "worker-1", "worker-2"]) expect(layout(grown, host)).toBe(layout(before, host));
  });

  it("delivers to the new host, after the others", () => {
    expect(deliveredFiles(grown, "cp-4").apiServerCert).toBe(deliveredFiles(grown, "cp-1").apiServerCert);
    expect(delivery(grown, "cp-4").depends_on).toEqual([expect.stringMatching(/^terraform_data\.delivery-cp-3_/)]);
  });
});

describe("pki stack: description settings", () => {
  it("uses RSA keys when asked, adding key_encipherment to leaf certificates only", () => {
    const p = planFromObject(changed("clusters/local.yaml", (d) => (d.pki = { algorithm: "RSA", rsaBits: 3072 })), "clusters/local.yaml");
    const json = synthPki(p).json;
    for (const { lifecycle: _protection, ...k } of Object.values(resources(json, "tls_private_key"))) expect(k).toEqual({ algorithm: "RSA", rsa_bits: 3072 });
    for (const c of Object.values(resources(json, "tls_locally_signed_cert"))) expect(c.allowed_uses.slice(0, 2)).toEqual(["digital_signature", "key_encipherment"]);
    for (const c of Object.values(resources(json, "tls_self_signed_cert"))) expect(c.allowed_uses).toEqual(["cert_signing", "digital_signature"]);
  });

  it("uses the configured validity and early renewal, and an apiDnsName", () => {
    const p = planFromObject(
      changed("clusters/gcp.yaml", (d) => (d.pki = { caValidityHours: 43800, certValidityHours: 2160, earlyRenewalHours: 240, apiDnsName: "api.example.com" })),
      "clusters/gcp.yaml",
    );
    const json = synthPki(p).json;
    for (const c of Object.values(resources(json, "tls_self_signed_cert"))) expect([c.validity_period_hours, c.early_renewal_hours]).toEqual([43800, undefined]);
    for (const [id, c] of Object.entries(resources(json, "tls_locally_signed_cert"))) {
      expect([id, c.validity_period_hours, c.early_renewal_hours]).toEqual([id, 2160, id.startsWith("pki_break-glass_") ? 0 : 240]);
    }
    expect(certView(json, deliveredFiles(json, "cp-1").apiServerCert).dns).toContain("api.example.com");
  });

  it("rejects an early renewal window as long as the validity, naming both values", () => {
    // The description check reports this first; for a plan built some other way the Certificate construct does.
    const valid = plan("clusters/local.yaml");
    const p = { ...valid, pki: { ...valid.pki, certValidityHours: 720, earlyRenewalHours: 720 } };
    expect(() => synthPki(p)).toThrow("pki/apiserver: earlyRenewalHours (720) must be less than validityHours (720)");
  });

  it("rejects leaf certificates that would outlive their CA, naming both values", () => {
    const valid = plan("clusters/local.yaml");
    const p = { ...valid, pki: { ...valid.pki, caValidityHours: 8000, certValidityHours: 8760 } };
    expect(() => synthPki(p)).toThrow("pki/apiserver: validityHours (8760) must not exceed the CA's (8000)");
  });

  it("connects through the description's bastion, with its user and port when given", () => {
    const withBastion = planFromObject(
      changed("clusters/gcp.yaml", (d) => {
        d.gcp.publicAddresses = false;
        d.ssh.bastion = { host: "bastion.example.net", user: "jump", port: 2222, hostKey: BASTION_KEY };
      }),
      "clusters/gcp.yaml",
    );
    const json = synthPki(withBastion).json;
    for (const h of withBastion.hosts.filter((x) => !x.runsLoadBalancer)) {
      expect(delivery(json, h.name).connection).toMatchObject({
        type: "ssh",
        user: "root",
        agent: "true",
        bastion_host: "bastion.example.net",
        bastion_user: "jump",
        bastion_port: 2222,
        bastion_host_key: BASTION_KEY,
      });
    }
    // Only Terraform 1.16+ checks the bastion against bastion_host_key (earlier ones use host_key for it).
    expect(json.terraform.required_version).toBe(">= 1.16.0");
    expect(synthPki(plan("clusters/gcp.yaml")).json.terraform.required_version).toBe(">= 1.5.0");
    const hostOnly = planFromObject(changed("clusters/local.yaml", (d) => (d.ssh.bastion = { host: "192.0.2.10", hostKey: BASTION_KEY })), "clusters/local.yaml");
    const c = delivery(synthPki(hostOnly).json, "worker-1").connection;
    // Terraform then logs in to the bastion as ssh.user on port 22.
    expect(c).toMatchObject({ host: "10.240.0.50", bastion_host: "192.0.2.10", bastion_host_key: BASTION_KEY });
    expect(c).not.toHaveProperty("bastion_user");
    expect(c).not.toHaveProperty("bastion_port");
  });

  it("accepts a bastion given by address or DNS name, and rejects anything else", () => {
    const withBastion = (bastion: unknown) => problemsOf(changed("clusters/local.yaml", (d) => (d.ssh.bastion = bastion)));
    expect(withBastion({ host: "192.0.2.10", hostKey: BASTION_KEY })).toBe("");
    expect(withBastion({ host: "virt-1.example.net", user: "ops", port: 2222, hostKey: BASTION_KEY })).toBe("");
    // The bastion's host key is required, and must be a host key line.
    expect(withBastion({ host: "192.0.2.10" })).toMatch(/ssh\.bastion\.hostKey.*is required: the bastion's SSH host key.*docs\/pki\.md#host-keys/s);
    expect(withBastion({ host: "192.0.2.10", hostKey: "AAAAC3NzaC1lZDI1NTE5" })).toMatch(/ssh\.bastion\.hostKey.*OpenSSH host public key line/s);
    expect(withBastion({ host: "ops@virt-1.example.net" })).toMatch(/ssh\.bastion\.host.*IPv4 address or a DNS name/s);
    expect(withBastion({ host: "virt-1", port: 70000 })).toMatch(/ssh\.bastion\.port/);
    expect(withBastion({ host: "virt-1", proxyCommand: "gcloud ..." })).toMatch(/proxyCommand/);
  });

  it("connects straight to the hosts without a bastion", () => {
    const c = delivery(synthPki(plan("clusters/local.yaml")).json, "worker-1").connection;
    expect(Object.keys(c).filter((k) => k.startsWith("bastion"))).toEqual([]);
  });

  it("uses the description's SSH user, through sudo when it is not root", () => {
    const p = planFromObject(changed("clusters/local.yaml", (d) => (d.ssh.user = "ops")), "clusters/local.yaml");
    const d = delivery(synthPki(p).json, "worker-1");
    expect(d.connection.user).toBe("ops");
    expect((d.provisioner.at(-1)["remote-exec"].inline as string[]).join("\n")).toContain("sudo -n install ");
  });
});

describe("pki stack with the real targets", () => {
  const synthReal = (file: string): Json => {
    const { pki } = buildClusterStacks(Testing.app(), plan(file));
    pki.prepareStack();
    return JSON.parse(Testing.synth(pki)) as Json;
  };

  it("gcp: certifies the external balancer address of the network stack and reaches hosts at compute's addresses", () => {
    const json = synthReal("clusters/gcp.yaml");
    const apiServer = certView(json, deliveredFiles(json, "cp-1").apiServerCert);
    expect(apiServer.ip.filter((ip) => REMOTE_STATE("network").test(ip))).toHaveLength(1);
    expect(apiServer.ip).toEqual(expect.arrayContaining(["10.240.0.2", "10.32.0.1"]));
    expect(delivery(json, "worker-1").connection.host).toMatch(REMOTE_STATE("compute"));
    expect(delivery(json, "worker-1").triggers_replace.machine_id).toMatch(REMOTE_STATE("compute"));
  });

  it("libvirt: certifies the VIP and re-delivers when compute replaces a domain", () => {
    const json = synthReal("clusters/local.yaml");
    expect(certView(json, deliveredFiles(json, "cp-2").apiServerCert).ip).toContain("10.240.0.2");
    expect(delivery(json, "etcd-1").triggers_replace.machine_id).toMatch(REMOTE_STATE("compute"));
  });

  it.each(["clusters/local.yaml", "clusters/local-stacked.yaml"])("libvirt (%s): certifies every name the network's DNS gives the VIP", (file) => {
    const p = plan(file);
    const { network, pki } = buildClusterStacks(Testing.app(), p);
    const networkJson = JSON.parse(Testing.synth(network)) as Json;
    const records = Object.values(resources(networkJson, "libvirt_network")).flatMap((n) => (n.dns?.[0]?.hosts ?? n.dns?.hosts ?? []) as Json[]);
    const vipNames = records.filter((r) => r.ip === p.api.address).map((r) => r.hostname as string);
    expect(vipNames.length).toBeGreaterThan(0);
    pki.prepareStack();
    const json = JSON.parse(Testing.synth(pki)) as Json;
    expect(certView(json, deliveredFiles(json, "cp-1").apiServerCert).dns).toEqual(expect.arrayContaining(vipNames));
  });
});
