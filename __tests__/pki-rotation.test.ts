/**
 * CA and service-account key rotation (pki.rotation), read from the synthesized JSON the way a reviewer of
 * `cdktf diff` would: what each phase creates, replaces and destroys (resource addresses, with the previous
 * phase's `moved` blocks applied), what every trust file, key file and kubeconfig holds, which CA signs the
 * leaves, and the protections: prevent_destroy, settings kept as created and refused at plan with the field and
 * the rotation path, leaves that would outlive their CA refused. The ordering checks run in the real terraform
 * binary (they are built-in terraform_data resources: no provider needed).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { stringify } from "yaml";
import { loadCluster, parseDescription } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { changed, planFromObject, problemsOf, REPO_ROOT } from "./helpers/descriptions";
import { haveCommand } from "./helpers/netns";
import { resources, synthPki, type Json } from "./helpers/pki-synth";

const FILE = "clusters/local.yaml";
const base = loadCluster(FILE, REPO_ROOT).plan;
type Phase = "none" | "trust" | "reissue" | "drop";
const PHASES: readonly Phase[] = ["none", "trust", "reissue", "drop", "none"];

function planWith(rotation: Record<string, string>, pki: Record<string, unknown> = {}): ClusterPlan {
  return planFromObject(changed(FILE, (d) => (d.pki = { ...pki, rotation })), FILE);
}
const rotating = (authority: string, phase: Phase): Json => synthPki(phase === "none" ? base : planWith({ [authority]: phase })).json;

/** Every resource as "<type>.<name>" -> its configuration. */
function addresses(json: Json): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [type, byName] of Object.entries((json.resource ?? {}) as Record<string, Record<string, Json>>)) {
    for (const [name, config] of Object.entries(byName)) out.set(`${type}.${name}`, config);
  }
  return out;
}

/** The address of the resource a construct path names, e.g. ("tls_private_key", "etcd-ca-next_key"). */
function named(json: Json, type: string, stem: string): string {
  const found = Object.keys(resources(json, type)).filter((n) => new RegExp(`^(pki_)?${stem}_[0-9A-F]{8}$`).test(n));
  if (found.length !== 1) throw new Error(`expected one ${type} named ${stem}, found ${found.join(", ") || "none"}`);
  return `${type}.${found[0]}`;
}

/**
 * What applying `after` to a state made from `before` does: `moved` blocks of `after` rename addresses first (as
 * Terraform does); then an address only in `after` is created, one only in `before` destroyed, and one whose
 * arguments differ is replaced (every tls argument, and terraform_data's triggers_replace, forces replacement);
 * a lifecycle-only difference changes no infrastructure.
 */
function transition(before: Json, after: Json): { create: string[]; destroy: string[]; replace: string[] } {
  let text = JSON.stringify(before.resource ?? {});
  for (const m of (after.moved ?? []) as { from: string; to: string }[]) text = text.split(m.from).join(m.to).split(`"${m.from.split(".")[1]}"`).join(`"${m.to.split(".")[1]}"`);
  const old = addresses({ resource: JSON.parse(text) });
  const now = addresses(after);
  const args = (c: Json) => JSON.stringify({ ...c, lifecycle: undefined, depends_on: undefined });
  const replace = new Set([...now.keys()].filter((a) => old.has(a) && args(old.get(a)!) !== args(now.get(a)!)));
  // A resource whose arguments read a replaced one gets a new value at apply: it is replaced too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const a of now.keys()) {
      if (replace.has(a) || !old.has(a)) continue;
      if ([...replace].some((r) => args(now.get(a)!).includes(`${r}.`))) replace.add(a), (grew = true);
    }
  }
  return {
    create: [...now.keys()].filter((a) => !old.has(a)).sort(),
    destroy: [...old.keys()].filter((a) => !now.has(a)).sort(),
    replace: [...replace].sort(),
  };
}

/** The delivered content expression of a file on a host (staged name = file id). */
function delivered(json: Json, host: string, fileId: string): string {
  const d = Object.entries(resources(json, "terraform_data")).find(([n]) => n.startsWith(`delivery-${host}_`))![1];
  const p = (d.provisioner as Json[]).find((x) => x.file && String(x.file.destination).endsWith(`/${fileId}`));
  if (!p) throw new Error(`${host} gets no ${fileId}`);
  return p.file.content as string;
}
const pem = (address: string, attribute = "cert_pem") => `\${${address}.${attribute}}`;
const joined = (...refs: string[]) => `\${join("", [${refs.map((r) => r.slice(2, -1)).join(", ")}])}`;

const ETCD_LEAVES = ["apiserver-etcd-client_cert", "etcd-server-etcd-1_cert", "etcd-server-etcd-2_cert", "etcd-server-etcd-3_cert", "etcd-peer-etcd-1_cert", "etcd-peer-etcd-2_cert", "etcd-peer-etcd-3_cert", "etcd-healthcheck-client_cert"];
const ETCD_READERS = ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3"];
const delivery = (json: Json, host: string) => `terraform_data.${Object.keys(resources(json, "terraform_data")).find((n) => n.startsWith(`delivery-${host}_`))}`;

describe("etcd CA rotation, phase by phase", () => {
  const json = Object.fromEntries((["none", "trust", "reissue", "drop"] as const).map((p) => [p, rotating("etcd", p)])) as Record<Phase, Json>;
  const current = (j: Json, what: "key" | "cert" | "born") => named(j, what === "key" ? "tls_private_key" : what === "cert" ? "tls_self_signed_cert" : "terraform_data", `etcd-ca_${what}`);
  const next = (j: Json, what: "key" | "cert" | "born") => named(j, what === "key" ? "tls_private_key" : what === "cert" ? "tls_self_signed_cert" : "terraform_data", `etcd-ca-next_${what}`);
  const leaves = (j: Json) => ETCD_LEAVES.map((l) => named(j, "tls_locally_signed_cert", l));
  const marker = (j: Json, phase: string) => named(j, "terraform_data", `rotation-etcd_${phase}`);

  it("trust: creates the new CA and the trust marker, re-delivers to every host holding etcd/ca.crt, re-issues nothing", () => {
    const t = transition(json.none, json.trust);
    expect(t.create).toEqual([next(json.trust, "born"), marker(json.trust, "trust"), next(json.trust, "key"), next(json.trust, "cert")].sort());
    expect(t.destroy).toEqual([]);
    expect(t.replace).toEqual(ETCD_READERS.map((h) => delivery(json.trust, h)).sort());
    for (const h of ETCD_READERS) expect(delivered(json.trust, h, "etcdCaCert")).toBe(joined(pem(current(json.trust, "cert")), pem(next(json.trust, "cert"))));
    for (const l of leaves(json.trust)) expect(addresses(json.trust).get(l)!.ca_cert_pem).toBe(pem(current(json.trust, "cert")));
  });

  it("reissue: re-issues every etcd leaf with the new CA and re-delivers, keeping both CAs trusted", () => {
    const t = transition(json.trust, json.reissue);
    expect(t.create).toEqual([marker(json.reissue, "reissue")]);
    expect(t.destroy).toEqual([]);
    expect(t.replace).toEqual([...leaves(json.reissue), ...ETCD_READERS.map((h) => delivery(json.reissue, h))].sort());
    for (const l of leaves(json.reissue)) {
      expect(addresses(json.reissue).get(l)!.ca_cert_pem).toBe(pem(next(json.reissue, "cert")));
      expect(addresses(json.reissue).get(l)!.ca_private_key_pem).toBe(pem(next(json.reissue, "key"), "private_key_pem"));
    }
    for (const h of ETCD_READERS) expect(delivered(json.reissue, h, "etcdCaCert")).toBe(delivered(json.trust, h, "etcdCaCert"));
  });

  it("drop: destroys the old CA, re-delivers etcd/ca.crt with the new CA only, re-issues nothing", () => {
    const t = transition(json.reissue, json.drop);
    expect(t.create).toEqual([marker(json.drop, "drop")]);
    expect(t.destroy).toEqual([current(json.reissue, "key"), current(json.reissue, "cert"), current(json.reissue, "born")].sort());
    expect(t.replace).toEqual(ETCD_READERS.map((h) => delivery(json.drop, h)).sort());
    for (const h of ETCD_READERS) expect(delivered(json.drop, h, "etcdCaCert")).toBe(pem(next(json.drop, "cert")));
  });

  it("finish (entry removed): the new CA moves to the current slot, state only; only the markers go", () => {
    const t = transition(json.drop, json.none);
    expect(t.create).toEqual([]);
    expect(t.replace).toEqual([]);
    expect(t.destroy).toEqual(["trust", "reissue", "drop"].map((p) => marker(json.drop, p)).sort());
    expect(json.none.moved).toEqual(
      expect.arrayContaining([
        { from: next(json.drop, "key"), to: current(json.none, "key") },
        { from: next(json.drop, "cert"), to: current(json.none, "cert") },
        { from: next(json.drop, "born"), to: current(json.none, "born") },
      ]),
    );
  });

  it("outputs the trust bundle and when the signing CA expires", () => {
    expect(json.trust.output.etcd_ca_certificate.value).toBe(joined(pem(current(json.trust, "cert")), pem(next(json.trust, "cert"))));
    expect(json.trust.output.ca_not_after.value.etcd).toBe(`\${${current(json.trust, "cert")}.validity_end_time}`);
    expect(json.reissue.output.ca_not_after.value.etcd).toBe(`\${${next(json.reissue, "cert")}.validity_end_time}`);
    expect(json.drop.output.etcd_ca_certificate.value).toBe(pem(next(json.drop, "cert")));
  });

  it("touches nothing of the other authorities in any phase", () => {
    for (const p of ["trust", "reissue", "drop"] as const) {
      expect(delivered(json[p], "worker-1", "kubernetesCaCert")).toBe(delivered(json.none, "worker-1", "kubernetesCaCert"));
      expect(delivered(json[p], "cp-1", "serviceAccountPub")).toBe(delivered(json.none, "cp-1", "serviceAccountPub"));
    }
  });
});

describe("Kubernetes CA rotation: every consumer", () => {
  const json = Object.fromEntries((["none", "trust", "reissue", "drop"] as const).map((p) => [p, rotating("kubernetes", p)])) as Record<Phase, Json>;
  const cert = (j: Json, slot: "current" | "next") => named(j, "tls_self_signed_cert", slot === "current" ? "kubernetes-ca_cert" : "kubernetes-ca-next_cert");
  const key = (j: Json, slot: "current" | "next") => named(j, "tls_private_key", slot === "current" ? "kubernetes-ca_key" : "kubernetes-ca-next_key");
  const bundle = (j: Json) => joined(pem(cert(j, "current")), pem(cert(j, "next")));
  // The kubeconfig is a Terraform template: the CA data is one interpolation inside a quoted YAML scalar.
  const kubeconfigCa = (j: Json) => /certificate-authority-data: "(\$\{.*\})"\n/.exec(Object.values(resources(j, "local_sensitive_file"))[0].content as string)![1];

  it("trust: every node's ca.crt (kubelet client CA, kubeconfigs, the controller manager's root CA for kube-root-ca.crt) and the admin kubeconfig hold old + new; the old one still signs", () => {
    for (const h of ["cp-1", "cp-2", "cp-3", "worker-1", "worker-2"]) expect(delivered(json.trust, h, "kubernetesCaCert")).toBe(bundle(json.trust));
    expect(kubeconfigCa(json.trust)).toBe(`\${base64encode(${bundle(json.trust).slice(2, -1)})}`);
    expect(delivered(json.trust, "cp-1", "kubernetesCaSigningCert")).toBe(pem(cert(json.trust, "current")));
    expect(delivered(json.trust, "cp-1", "kubernetesCaKey")).toBe(pem(key(json.trust, "current"), "private_key_pem"));
  });

  it("reissue: the controller manager signs with the new CA, every Kubernetes leaf is signed by it, all still trust both", () => {
    expect(delivered(json.reissue, "cp-1", "kubernetesCaSigningCert")).toBe(pem(cert(json.reissue, "next")));
    expect(delivered(json.reissue, "cp-1", "kubernetesCaKey")).toBe(pem(key(json.reissue, "next"), "private_key_pem"));
    const byKubernetes = Object.values(resources(json.reissue, "tls_locally_signed_cert")).filter((c) => String(c.ca_cert_pem).includes("kubernetes-ca"));
    // apiserver, apiserver-kubelet-client, controller-manager, scheduler, addon-manager, admin, break-glass, kube-proxy, flannel, node-labeler; 5 kubelets
    expect(byKubernetes.length).toBe(10 + 5);
    for (const c of byKubernetes) expect(c.ca_cert_pem).toBe(pem(cert(json.reissue, "next")));
    expect(delivered(json.reissue, "worker-2", "kubernetesCaCert")).toBe(bundle(json.reissue));
  });

  it("drop: only the new CA is trusted, also by the admin kubeconfig", () => {
    expect(delivered(json.drop, "worker-1", "kubernetesCaCert")).toBe(pem(cert(json.drop, "next")));
    expect(kubeconfigCa(json.drop)).toBe(`\${base64encode(${pem(cert(json.drop, "next")).slice(2, -1)})}`);
  });
});

describe("front-proxy CA rotation", () => {
  it("bundles front-proxy-ca.crt (the API server's requestheader client CA) and re-signs the front-proxy client", () => {
    const trust = rotating("front-proxy", "trust");
    const reissue = rotating("front-proxy", "reissue");
    const next = named(trust, "tls_self_signed_cert", "front-proxy-ca-next_cert");
    const current = named(trust, "tls_self_signed_cert", "front-proxy-ca_cert");
    expect(delivered(trust, "cp-2", "frontProxyCaCert")).toBe(joined(pem(current), pem(next)));
    expect(transition(trust, reissue).replace).toContain(named(reissue, "tls_locally_signed_cert", "front-proxy-client_cert"));
    expect(addresses(reissue).get(named(reissue, "tls_locally_signed_cert", "front-proxy-client_cert"))!.ca_cert_pem).toBe(pem(next));
  });
});

describe("service-account key rotation", () => {
  const json = Object.fromEntries((["none", "trust", "reissue", "drop"] as const).map((p) => [p, rotating("service-account", p)])) as Record<Phase, Json>;
  const slot = (j: Json, s: "current" | "next") => named(j, "tls_private_key", s === "current" ? "service-account-key" : "service-account-key-next");

  it("accepts tokens of both keys (sa.pub) from trust to drop, signs with the new one from reissue", () => {
    const both = (j: Json) => joined(pem(slot(j, "current"), "public_key_pem"), pem(slot(j, "next"), "public_key_pem"));
    expect(delivered(json.trust, "cp-1", "serviceAccountPub")).toBe(both(json.trust));
    expect(delivered(json.trust, "cp-1", "serviceAccountKey")).toBe(pem(slot(json.trust, "current"), "private_key_pem"));
    expect(delivered(json.reissue, "cp-1", "serviceAccountPub")).toBe(both(json.reissue));
    expect(delivered(json.reissue, "cp-1", "serviceAccountKey")).toBe(pem(slot(json.reissue, "next"), "private_key_pem"));
    expect(delivered(json.drop, "cp-1", "serviceAccountPub")).toBe(pem(slot(json.drop, "next"), "public_key_pem"));
    expect(transition(json.reissue, json.drop).destroy).toEqual(
      [slot(json.reissue, "current"), named(json.reissue, "terraform_data", "service-account-key-born")].sort(),
    );
  });
});

describe("protection of the active trust anchors", () => {
  const json = synthPki(base).json;
  const anchors = (j: Json) => [
    ...["kubernetes", "etcd", "front-proxy"].flatMap((ca) => [named(j, "tls_private_key", `${ca}-ca_key`), named(j, "tls_self_signed_cert", `${ca}-ca_cert`)]),
    named(j, "tls_private_key", "service-account-key"),
  ];

  it("keeps the addresses CAs and the service-account key had before slots existed: an existing cluster moves nothing", () => {
    // Written down from the synthesized JSON of the commit before rotations (e07834d, clusters/local.yaml).
    expect(anchors(json).sort()).toEqual(
      [
        "tls_private_key.pki_kubernetes-ca_key_BA41EF47",
        "tls_self_signed_cert.pki_kubernetes-ca_cert_3F19445E",
        "tls_private_key.pki_etcd-ca_key_19C843C4",
        "tls_self_signed_cert.pki_etcd-ca_cert_EFDFB68A",
        "tls_private_key.pki_front-proxy-ca_key_77102750",
        "tls_self_signed_cert.pki_front-proxy-ca_cert_7ACCB222",
        "tls_private_key.pki_service-account-key_99AF7E46",
      ].sort(),
    );
  });

  it("sets prevent_destroy on every CA key and certificate and the service-account key, in every phase", () => {
    for (const phase of ["none", "trust", "reissue", "drop"] as const) {
      const j = rotating("etcd", phase);
      const protectedOnes = [...addresses(j).entries()].filter(([, c]) => c.lifecycle?.prevent_destroy === true).map(([a]) => a);
      const expected = [
        ...anchors(json).filter((a) => !(phase === "drop" && a.includes("etcd-ca"))),
        ...(phase === "none" ? [] : [named(j, "tls_private_key", "etcd-ca-next_key"), named(j, "tls_self_signed_cert", "etcd-ca-next_cert")]),
      ];
      expect([phase, protectedOnes.sort()]).toEqual([phase, expected.sort()]);
    }
  });

  it("refuses at plan, naming the field and the rotation path, a CA setting that would replace an active CA", () => {
    const edited = synthPki(planWith({}, { caValidityHours: 43800, ecdsaCurve: "P384" })).json;
    const cert = addresses(edited).get(named(edited, "tls_self_signed_cert", "etcd-ca_cert"))!;
    expect(cert.lifecycle.ignore_changes).toEqual(["validity_period_hours"]);
    expect(cert.lifecycle.postcondition).toEqual([
      {
        condition: "${self.validity_period_hours == 43800}",
        error_message:
          "pki.caValidityHours is 43800 in the description, but the active etcd CA was created with another value; hashicorp/tls would replace it, and every host and client trusts that exact one. " +
          'Set pki.caValidityHours back to the value it was created with, or change it through a rotation: set pki.rotation.etcd to "trust", apply, then "reissue", apply, then "drop", apply, then remove it and apply (docs/pki.md#ca-rotation).',
      },
    ]);
    const key = addresses(edited).get(named(edited, "tls_private_key", "kubernetes-ca_key"))!;
    expect(key.lifecycle.ignore_changes).toEqual(["algorithm", "ecdsa_curve", "rsa_bits"]);
    expect(key.lifecycle.postcondition[1].condition).toBe('${self.algorithm != "ECDSA" || self.ecdsa_curve == "P384"}');
    expect(key.lifecycle.postcondition[1].error_message).toMatch(/^pki\.ecdsaCurve is P384 in the description, but the active Kubernetes CA was created with another value;.* set pki\.rotation\.kubernetes to "trust"/);
    const sa = addresses(edited).get(named(edited, "tls_private_key", "service-account-key"))!;
    expect(sa.lifecycle.postcondition[1].error_message).toMatch(/^pki\.ecdsaCurve is P384 in the description, but the active service-account signing key was created/);
  });

  it("lets a rotation change those settings: the CA being replaced keeps its own, the new one gets the description's", () => {
    const j = synthPki(planWith({ etcd: "trust" }, { algorithm: "RSA", rsaBits: 3072 })).json;
    const old = addresses(j).get(named(j, "tls_private_key", "etcd-ca_key"))!;
    expect(old.lifecycle.postcondition).toBeUndefined();
    expect(old.lifecycle.ignore_changes).toEqual(["algorithm", "ecdsa_curve", "rsa_bits"]);
    const fresh = addresses(j).get(named(j, "tls_private_key", "etcd-ca-next_key"))!;
    expect(fresh).toMatchObject({ algorithm: "RSA", rsa_bits: 3072 });
    expect(fresh.lifecycle.postcondition[0].condition).toBe('${self.algorithm == "RSA"}');
    // Not rotated: still refused.
    expect(addresses(j).get(named(j, "tls_private_key", "kubernetes-ca_key"))!.lifecycle.postcondition[0].error_message).toMatch(/^pki\.algorithm is RSA/);
  });

  it("turns prevent_destroy off only when the description says so (to destroy the cluster)", () => {
    const j = synthPki(planWith({}, { protectAuthorities: false })).json;
    expect([...addresses(j).values()].filter((c) => c.lifecycle?.prevent_destroy === true)).toEqual([]);
    expect(addresses(j).get(named(j, "tls_self_signed_cert", "etcd-ca_cert"))!.lifecycle.postcondition).toHaveLength(1);
  });

  it("refuses at plan a leaf that would outlive the CA signing it, except while the trust phase still signs with the old CA", () => {
    const leaf = addresses(json).get(named(json, "tls_locally_signed_cert", "etcd-peer-etcd-2_cert"))!;
    expect(leaf.lifecycle.precondition).toEqual([
      {
        condition: `\${timecmp(timeadd(plantimestamp(), "8760h"), ${named(json, "tls_self_signed_cert", "etcd-ca_cert")}.validity_end_time) <= 0}`,
        error_message: expect.stringMatching(/^Certificate etcd-peer\/etcd-2, if issued now \(pki\.certValidityHours: 8760 h\), would be valid beyond the expiry of the etcd CA that signs it \(output ca_not_after\)\. Rotate that CA/),
      },
    ]);
    const trust = rotating("etcd", "trust");
    expect(addresses(trust).get(named(trust, "tls_locally_signed_cert", "etcd-peer-etcd-2_cert"))!.lifecycle).toBeUndefined();
    const reissue = rotating("etcd", "reissue");
    expect(addresses(reissue).get(named(reissue, "tls_locally_signed_cert", "etcd-peer-etcd-2_cert"))!.lifecycle.precondition[0].condition).toContain("etcd-ca-next_cert");
  });
});

describe("pki.rotation in the description", () => {
  it("accepts a phase per authority and rejects anything else, naming the field", () => {
    const withRotation = (rotation: unknown) => problemsOf(changed(FILE, (d) => (d.pki = { rotation })));
    expect(withRotation({ etcd: "trust", "service-account": "drop" })).toBe("");
    expect(withRotation({ etcd: "rotate" })).toMatch(/pki\.rotation\.etcd.*"trust" \(old \+ new trusted everywhere\), "reissue"/s);
    expect(withRotation({ ssh: "trust" })).toMatch(/pki\.rotation.*ssh/s);
  });

  it("warns while pki.protectAuthorities is off", () => {
    const { warnings } = parseDescription(stringify(changed(FILE, (d) => (d.pki = { protectAuthorities: false }))), FILE);
    expect(warnings).toEqual([expect.objectContaining({ path: "pki.protectAuthorities", message: expect.stringMatching(/^false: nothing keeps a plan from destroying the cluster's CAs/) })]);
    expect(parseDescription(stringify(changed(FILE, () => undefined)), FILE).warnings.filter((w) => w.path.startsWith("pki"))).toEqual([]);
  });
});

/**
 * The ordering checks, run by the real terraform binary on the synthesized markers (terraform_data, built in):
 * each phase's JSON reduced to its terraform_data resources (deliveries without their provisioners) and moves.
 */
const terraformReady = haveCommand("terraform");
if (!terraformReady) console.warn("skipping the rotation order checks: no terraform binary on PATH (they need no provider, only the binary)");
(terraformReady ? describe : describe.skip)("rotation order, planned by terraform", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "pki-rotation-tf-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const markersOnly = (json: Json): Json => ({
    resource: {
      terraform_data: Object.fromEntries(
        Object.entries(resources(json, "terraform_data")).map(([n, c]) => [n, n.startsWith("delivery-") ? { input: "delivered" } : c]),
      ),
    },
    ...(json.moved ? { moved: (json.moved as { from: string }[]).filter((m) => m.from.startsWith("terraform_data.")) } : {}),
  });
  const terraform = (args: string[]) =>
    spawnSync("terraform", args, { cwd: dir, encoding: "utf8", env: { ...process.env, TF_IN_AUTOMATION: "1", CHECKPOINT_DISABLE: "1", TF_CLI_CONFIG_FILE: "/dev/null" }, timeout: 60_000 });
  /** Applies one phase; plantimestamp() has whole seconds: the next plan must come at least a second later. */
  const apply = (json: Json) => {
    writeFileSync(path.join(dir, "main.tf.json"), JSON.stringify(markersOnly(json)));
    const r = terraform(["apply", "-auto-approve", "-input=false", "-no-color"]);
    spawnSync("sleep", ["1.1"]);
    return { status: r.status, output: `${r.stdout}${r.stderr}`.replace(/[│╷╵]/g, " ").replace(/\s+/g, " ") };
  };
  const j = (phase: Phase) => rotating("etcd", phase);

  beforeEach(() => expect(terraform(["init", "-input=false", "-no-color"]).status).toBe(0));

  it("applies the phases in order, and finishes by moving the new CA's marker into the current slot", () => {
    for (const phase of PHASES) expect([phase, apply(j(phase)).status]).toEqual([phase, 0]);
    const state = terraform(["state", "list"]).stdout.split("\n").filter(Boolean);
    expect(state.filter((a) => /etcd-ca/.test(a))).toEqual([named(j("none"), "terraform_data", "etcd-ca_born")]);
    expect(state.filter((a) => /rotation-/.test(a))).toEqual([]);
  });

  it("refuses a skipped phase before anything is changed", () => {
    expect(apply(j("none")).status).toBe(0);
    const reissue = apply(j("reissue"));
    expect(reissue.status).not.toBe(0);
    expect(reissue.output).toContain('pki.rotation.etcd is "reissue", but phase "trust" has not completed');
    expect(reissue.output).not.toContain("Creating...");
    expect(apply(j("trust")).status).toBe(0);
    const drop = apply(j("drop"));
    expect(drop.output).toContain('pki.rotation.etcd is "drop", but phase "reissue" has not completed');
    expect(drop.output).not.toContain("Destroying...");
  });

  it("refuses a new rotation started before the last one was finished (drop, then trust again)", () => {
    for (const phase of ["none", "trust", "reissue", "drop"] as const) expect(apply(j(phase)).status).toBe(0);
    const again = apply(j("trust"));
    expect(again.status).not.toBe(0);
    expect(again.output).toContain('pki.rotation.etcd is "trust", but the etcd CA it would replace does not exist before this plan');
  });

  it("lets a phase be applied again (a retry after a failed delivery)", () => {
    for (const phase of ["none", "trust", "trust", "reissue", "reissue"] as const) expect([phase, apply(j(phase)).status]).toEqual([phase, 0]);
  });
});
