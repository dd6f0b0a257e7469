/**
 * Every CA rotation, checked with openssl on certificates realized from the synthesized tls_* arguments: while a
 * phase rolls out host by host, some hosts hold the files of the phase before and some those of the new one. No
 * two may disagree: every trust file of either phase accepts every leaf of either phase (trust, reissue); after
 * drop, the new trust files accept every current leaf and refuse those of the old CA. The controller manager's
 * signer is one certificate matching ca.key; the service-account key that signs is accepted by sa.pub of the phase
 * before and after. Covers the Kubernetes CA (API server, kubelets, components, admin kubeconfig), the
 * front-proxy CA and the etcd CA without their daemons (the etcd CA also runs on a real etcd:
 * pki-rotation-etcd.test.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";
import { haveCommand } from "./helpers/netns";
import { resources, synthPki, type Json } from "./helpers/pki-synth";
import { TlsRealizer } from "./helpers/tls-realize";

const FILE = "clusters/local.yaml";
const base = loadCluster(FILE, REPO_ROOT).plan;
const PHASES = ["none", "trust", "reissue", "drop"] as const;
type Phase = (typeof PHASES)[number];
const synthFor = (authority: string, phase: Phase): Json =>
  synthPki(phase === "none" ? base : planFromObject(changed(FILE, (d) => (d.pki = { rotation: { [authority]: phase } })), FILE)).json;

/** The file provisioner content of `fileId` on `host`. */
function content(json: Json, host: string, fileId: string): string {
  const d = Object.entries(resources(json, "terraform_data")).find(([n]) => n.startsWith(`delivery-${host}_`))![1];
  return (d.provisioner as Json[]).find((p) => p.file && String(p.file.destination).endsWith(`/${fileId}`))!.file.content as string;
}

const CAS = [
  { ca: "kubernetes", stem: "kubernetes-ca", trustFile: "kubernetesCaCert", host: "worker-1" },
  { ca: "front-proxy", stem: "front-proxy-ca", trustFile: "frontProxyCaCert", host: "cp-2" },
  { ca: "etcd", stem: "etcd-ca", trustFile: "etcdCaCert", host: "etcd-3" },
] as const;

const ready = haveCommand("openssl");
if (!ready) console.warn("skipping the rotation chain checks: openssl is missing");

(ready ? describe : describe.skip).each(CAS)("$ca CA rotation: no two hosts disagree at any step", ({ ca, stem, trustFile, host }) => {
  let dir: string;
  const tls = new Map<Phase, { trust: string; leaves: Map<string, string> }>();
  let signing = new Map<Phase, { cert: string; key: string }>();

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "pki-chains-"));
    const realizer = new TlsRealizer(dir);
    signing = new Map();
    for (const phase of PHASES) {
      const json = synthFor(ca, phase);
      realizer.phase(json);
      const leaves = new Map<string, string>();
      for (const [name, c] of Object.entries(resources(json, "tls_locally_signed_cert"))) {
        if (new RegExp(`tls_self_signed_cert\\.pki_${stem}(-next)?_cert_`).test(String(c.ca_cert_pem))) leaves.set(name, realizer.evaluate(`\${tls_locally_signed_cert.${name}.cert_pem}`));
      }
      tls.set(phase, { trust: realizer.evaluate(content(json, host, trustFile)), leaves });
      if (ca === "kubernetes") signing.set(phase, { cert: realizer.evaluate(content(json, "cp-1", "kubernetesCaSigningCert")), key: realizer.evaluate(content(json, "cp-1", "kubernetesCaKey")) });
    }
  }, 120_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const file = (name: string, text: string) => {
    const f = path.join(dir, `${name}-${Math.random().toString(36).slice(2)}.pem`);
    writeFileSync(f, text, { mode: 0o600 });
    return f;
  };
  const verifies = (trust: string, leaf: string) => spawnSync("openssl", ["verify", "-CAfile", file("trust", trust), file("leaf", leaf)], { encoding: "utf8" }).status === 0;
  const certificates = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length;

  it.each([
    ["none", "trust"],
    ["trust", "reissue"],
  ] as const)("from %s to %s: either phase's trust file accepts either phase's leaves", (before, after) => {
    const leaves = new Map([...tls.get(before)!.leaves, ...[...tls.get(after)!.leaves].map(([n, p]) => [`${n} (${after})`, p] as const)]);
    expect(leaves.size).toBeGreaterThan(ca === "kubernetes" ? 20 : 1);
    for (const trustPhase of [before, after]) {
      for (const [name, leaf] of leaves) expect([trustPhase, name, verifies(tls.get(trustPhase)!.trust, leaf)]).toEqual([trustPhase, name, true]);
    }
  });

  it("re-issues every leaf of that CA in reissue, and only then", () => {
    const same = (a: Phase, b: Phase) => [...tls.get(a)!.leaves].every(([n, p]) => tls.get(b)!.leaves.get(n) === p);
    expect(same("none", "trust")).toBe(true);
    expect([...tls.get("reissue")!.leaves].some(([n, p]) => tls.get("trust")!.leaves.get(n) === p)).toBe(false);
    expect(same("reissue", "drop")).toBe(true);
    expect([certificates(tls.get("none")!.trust), certificates(tls.get("trust")!.trust), certificates(tls.get("reissue")!.trust), certificates(tls.get("drop")!.trust)]).toEqual([1, 2, 2, 1]);
  });

  it("from reissue to drop: both trust files accept the current leaves; the dropped CA's leaves are refused", () => {
    for (const trustPhase of ["reissue", "drop"] as const) {
      for (const [name, leaf] of tls.get("drop")!.leaves) expect([trustPhase, name, verifies(tls.get(trustPhase)!.trust, leaf)]).toEqual([trustPhase, name, true]);
    }
    for (const [name, leaf] of tls.get("none")!.leaves) expect([name, verifies(tls.get("drop")!.trust, leaf)]).toEqual([name, false]);
  });

  if (ca === "kubernetes") {
    it("gives kube-controller-manager's CSR signer exactly one certificate, the one ca.key belongs to, old until reissue", () => {
      const publicOf = (pem: string, kind: "x509" | "pkey") =>
        spawnSync("openssl", kind === "x509" ? ["x509", "-noout", "-pubkey", "-in", file("c", pem)] : ["pkey", "-pubout", "-in", file("k", pem)], { encoding: "utf8" }).stdout;
      for (const phase of PHASES) {
        const s = signing.get(phase)!;
        expect([phase, certificates(s.cert)]).toEqual([phase, 1]);
        expect([phase, publicOf(s.cert, "x509")]).toEqual([phase, publicOf(s.key, "pkey")]);
      }
      expect(signing.get("trust")!.cert).toBe(signing.get("none")!.cert);
      expect(signing.get("reissue")!.cert).not.toBe(signing.get("trust")!.cert);
      expect(tls.get("trust")!.trust).toContain(signing.get("reissue")!.cert.trim());
    });
  }
});

(ready ? describe : describe.skip)("service-account key rotation: tokens signed by either key stay accepted until drop", () => {
  it("accepts the signing key of the phase before in sa.pub of the next phase, and drops the old key last", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "pki-sa-"));
    try {
      const realizer = new TlsRealizer(dir);
      const byPhase = new Map<Phase, { signer: string; accepted: string[] }>();
      for (const phase of PHASES) {
        const json = synthFor("service-account", phase);
        realizer.phase(json);
        const key = realizer.evaluate(content(json, "cp-1", "serviceAccountKey"));
        const f = path.join(dir, `${phase}.key`);
        writeFileSync(f, key, { mode: 0o600 });
        const signer = spawnSync("openssl", ["pkey", "-pubout", "-in", f], { encoding: "utf8" }).stdout;
        const accepted = realizer.evaluate(content(json, "cp-1", "serviceAccountPub")).match(/-----BEGIN PUBLIC KEY-----[^-]+-----END PUBLIC KEY-----\n/g)!;
        byPhase.set(phase, { signer, accepted });
      }
      const accepts = (phase: Phase, signer: Phase) => byPhase.get(phase)!.accepted.includes(byPhase.get(signer)!.signer);
      expect(PHASES.map((p) => byPhase.get(p)!.accepted.length)).toEqual([1, 2, 2, 1]);
      expect([accepts("trust", "none"), accepts("reissue", "trust"), accepts("trust", "reissue"), accepts("drop", "reissue")]).toEqual([true, true, true, true]);
      expect(byPhase.get("reissue")!.signer).not.toBe(byPhase.get("trust")!.signer);
      expect(accepts("drop", "none")).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
