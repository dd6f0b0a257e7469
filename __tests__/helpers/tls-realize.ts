/**
 * Realizes the synthesized hashicorp/tls resources with openssl, as `terraform apply` would with the tls provider:
 * each tls_private_key, tls_self_signed_cert, tls_cert_request and tls_locally_signed_cert becomes a PEM made from
 * its synthesized arguments (subject, SANs, allowed_uses, validity, issuer). Across phases (successive JSONs) a
 * resource is made again exactly when Terraform would replace it: its arguments, or anything they reference,
 * changed; `moved` blocks carry material to the new address. Only what is asked for (and what it references) is made.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { randomBytes } from "node:crypto";

type Json = Record<string, any>;

interface Made {
  /** Arguments with references replaced by the referenced material's identity: changes exactly when Terraform replaces. */
  readonly signature: string;
  readonly pem: Record<string, string>;
  readonly identity: number;
}

const REF = /\$\{([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}/g;

function openssl(args: string[], cwd: string): void {
  const r = spawnSync("openssl", args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${r.stderr}`);
}

const KEY_USAGE: Record<string, string> = { digital_signature: "digitalSignature", key_encipherment: "keyEncipherment", cert_signing: "keyCertSign" };
const EXTENDED_USAGE: Record<string, string> = { server_auth: "serverAuth", client_auth: "clientAuth" };

export class TlsRealizer {
  private json: Json = {};
  private made = new Map<string, Made>();
  private previous = new Map<string, Made>();
  private counter = 0;
  private readonly dir: string;

  constructor(scratch: string) {
    this.dir = mkdtempSync(path.join(scratch, "tls-"));
  }

  /** Starts a phase: the next synthesized JSON. Material of unchanged resources is kept (moved ones follow). */
  phase(json: Json): void {
    const carried = new Map([...this.previous, ...this.made]);
    for (const m of (json.moved ?? []) as { from: string; to: string }[]) {
      // As Terraform: a move whose destination already exists is blocked.
      const from = carried.get(m.from);
      if (from && !carried.has(m.to)) carried.set(m.to, from), carried.delete(m.from);
    }
    this.previous = carried;
    this.made = new Map();
    this.json = json;
  }

  /** The value of a content expression of a delivery ("${ref}" or "${join("", [ref, ref])}"). */
  evaluate(expression: string): string {
    const join = /^\$\{join\("", \[(.*)\]\)\}$/.exec(expression);
    if (join) return join[1].split(", ").map((ref) => this.evaluate(`\${${ref}}`)).join("");
    const m = /^\$\{([a-z_]+)\.([A-Za-z0-9_-]+)\.([a-z_]+)\}$/.exec(expression);
    if (!m) throw new Error(`cannot evaluate ${expression}`);
    return this.realize(`${m[1]}.${m[2]}`).pem[m[3]] ?? (() => {
      throw new Error(`${m[1]}.${m[2]} has no ${m[3]}`);
    })();
  }

  private config(address: string): Json {
    const [type, name] = address.split(".");
    const config = this.json.resource?.[type]?.[name];
    if (!config) throw new Error(`no resource ${address} in this phase`);
    return config;
  }

  private realize(address: string): Made {
    const done = this.made.get(address);
    if (done) return done;
    const { lifecycle: _l, depends_on: _d, ...args } = this.config(address);
    const signature = JSON.stringify(args).replace(REF, (_all, type, name, attribute) => `<${this.realize(`${type}.${name}`).identity}:${attribute}>`);
    const before = this.previous.get(address);
    const result = before && before.signature === signature ? before : { signature, pem: this.create(address, args), identity: ++this.counter };
    this.made.set(address, result);
    return result;
  }

  private value(expression: string): string {
    return this.evaluate(expression);
  }

  private file(name: string, content: string): string {
    const file = path.join(this.dir, `${this.counter}-${name}`);
    writeFileSync(file, content, { mode: 0o600 });
    return file;
  }

  private create(address: string, args: Json): Record<string, string> {
    const type = address.split(".")[0];
    const id = `${++this.counter}`;
    const out = (suffix: string) => path.join(this.dir, `${id}.${suffix}`);
    const subject = (s: Json) => `/CN=${s.common_name}${s.organization ? `/O=${s.organization}` : ""}`;
    switch (type) {
      case "tls_private_key": {
        if (args.algorithm !== "ECDSA") throw new Error(`${address}: only ECDSA keys are realized here`);
        const curve = { P256: "P-256", P384: "P-384" }[args.ecdsa_curve as string];
        openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", `ec_paramgen_curve:${curve}`, "-out", out("key")], this.dir);
        openssl(["pkey", "-in", out("key"), "-pubout", "-out", out("pub")], this.dir);
        return { private_key_pem: readFileSync(out("key"), "utf8"), public_key_pem: readFileSync(out("pub"), "utf8") };
      }
      case "tls_self_signed_cert": {
        const key = this.file("ca.key", this.value(args.private_key_pem));
        const ext = this.file(
          "ca.cnf",
          [
            "[req]",
            "distinguished_name = dn",
            "[dn]",
            "[ext]",
            `basicConstraints = critical,CA:${args.is_ca_certificate ? "TRUE" : "FALSE"}`,
            `keyUsage = critical,${(args.allowed_uses as string[]).map((u) => KEY_USAGE[u]).join(",")}`,
            "subjectKeyIdentifier = hash",
            "",
          ].join("\n"),
        );
        openssl(["req", "-x509", "-new", "-key", key, "-subj", subject(args.subject[0]), "-config", ext, "-extensions", "ext", "-days", String(args.validity_period_hours / 24), "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-out", out("crt")], this.dir);
        return { cert_pem: readFileSync(out("crt"), "utf8") };
      }
      case "tls_cert_request": {
        const key = this.file("leaf.key", this.value(args.private_key_pem));
        openssl(["req", "-new", "-key", key, "-subj", subject(args.subject[0]), "-out", out("csr")], this.dir);
        const sans = [...(args.dns_names ?? []).map((d: string) => `DNS:${d}`), ...(args.ip_addresses ?? []).map((ip: string) => `IP:${ip}`)];
        // The SANs travel with the request, as in the CSR tls_cert_request makes; the signer copies them.
        return { cert_request_pem: readFileSync(out("csr"), "utf8"), sans: sans.join(",") };
      }
      case "tls_locally_signed_cert": {
        const request = /^\$\{tls_cert_request\.([A-Za-z0-9_-]+)\.cert_request_pem\}$/.exec(args.cert_request_pem);
        if (!request) throw new Error(`${address}: unexpected cert_request_pem ${args.cert_request_pem}`);
        const csr = this.realize(`tls_cert_request.${request[1]}`).pem;
        const uses = args.allowed_uses as string[];
        const ext = this.file(
          "leaf.cnf",
          [
            "[ext]",
            "basicConstraints = critical,CA:FALSE",
            `keyUsage = critical,${uses.filter((u) => KEY_USAGE[u]).map((u) => KEY_USAGE[u]).join(",")}`,
            `extendedKeyUsage = ${uses.filter((u) => EXTENDED_USAGE[u]).map((u) => EXTENDED_USAGE[u]).join(",")}`,
            ...(csr.sans ? [`subjectAltName = ${csr.sans}`] : []),
            "subjectKeyIdentifier = hash",
            "authorityKeyIdentifier = keyid",
            "",
          ].join("\n"),
        );
        const ca = this.file("issuer.crt", this.value(args.ca_cert_pem));
        const caKey = this.file("issuer.key", this.value(args.ca_private_key_pem));
        const csrFile = this.file("leaf.csr", csr.cert_request_pem);
        openssl(["x509", "-req", "-in", csrFile, "-CA", ca, "-CAkey", caKey, "-extfile", ext, "-extensions", "ext", "-days", String(args.validity_period_hours / 24), "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-out", out("crt")], this.dir);
        return { cert_pem: readFileSync(out("crt"), "utf8") };
      }
      default:
        throw new Error(`${address}: cannot realize ${type}`);
    }
  }
}
