/**
 * The upload half of scripts/lib/etcd-snapshot.sh (GCP backup bucket), with stand-ins for etcdctl (a snapshot
 * file) and curl (Google's token and upload endpoints, recorded): the token request is a JWT bearer grant signed
 * with the uploader's key (verified here with its public key) for the Cloud Storage scope; the upload never
 * overwrites (ifGenerationMatch=0), goes to <prefix>/<snapshot name>, and carries the snapshot itself; a missing
 * key keeps the snapshot and fails the unit with a message. The real-etcd half is in etcd-backup-restore.test.ts.
 */
import { spawnSync } from "node:child_process";
import { createPublicKey, createVerify, generateKeyPairSync } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { REPO } from "./nix/eval";

const haveTools = spawnSync("sh", ["-c", "command -v openssl && command -v jq"]).status === 0;
const describeTools = haveTools ? describe : describe.skip;
if (!haveTools) console.warn("skipping the snapshot upload test: openssl or jq is not installed");

const SHIMS: Readonly<Record<string, string>> = {
  etcdctl: `case "$1 $2" in
"snapshot save") printf 'snapshot-bytes' >"$3" ;;
"snapshot status") echo '{"hash":1,"revision":42,"totalKey":7,"totalSize":20480}' ;;
esac`,
  // curl: records its arguments (one per line, then a separator) and what it posted, answers like Google.
  curl: `for a in "$@"; do printf '%s\\n' "$a"; done >>"$CALLS"; echo "--" >>"$CALLS"
for a in "$@"; do case $a in @*) cat "\${a#@}" >"$UPLOADED" ;; esac; done
case "$*" in
*oauth2.googleapis.com/token*) echo '{"access_token":"ya29.test-token","expires_in":3599,"token_type":"Bearer"}' ;;
*storage.googleapis.com/upload*) echo '{"name":"ok"}' ;;
esac`,
};

describeTools("etcd snapshot upload to the backup bucket", () => {
  let dir: string;
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), "etcd-upload-"));
    mkdirSync(path.join(dir, "bin"));
    for (const [name, body] of Object.entries(SHIMS)) {
      writeFileSync(path.join(dir, "bin", name), `#!/usr/bin/env bash\n${body}\n`);
      chmodSync(path.join(dir, "bin", name), 0o755);
    }
    const key = { type: "service_account", client_email: "gcp-etcd-backup@p.iam.gserviceaccount.com", private_key: privateKey.export({ type: "pkcs8", format: "pem" }) };
    writeFileSync(path.join(dir, "key.json"), JSON.stringify(key), { mode: 0o600 });
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function snapshot(keyFile = path.join(dir, "key.json")) {
    const r = spawnSync("sh", [path.join(REPO, "scripts/lib/etcd-snapshot.sh")], {
      encoding: "utf8",
      timeout: 30_000,
      env: {
        PATH: `${path.join(dir, "bin")}:${process.env.PATH ?? ""}`,
        CALLS: path.join(dir, "calls"),
        UPLOADED: path.join(dir, "uploaded"),
        ETCD_BACKUP_DIR: path.join(dir, "backups"),
        ETCD_BACKUP_KEEP: "3",
        ETCD_BACKUP_NAME: "etcd-2",
        ETCD_BACKUP_GCS_BUCKET: "acme-etcd-backups",
        ETCD_BACKUP_GCS_PREFIX: "gcp/etcd-2",
        ETCD_BACKUP_GCS_KEY: keyFile,
      },
    });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  /** Each curl call as its argument list. */
  const curlCalls = (): string[][] =>
    readFileSync(path.join(dir, "calls"), "utf8")
      .split("--\n")
      .filter(Boolean)
      .map((call) => call.split("\n").filter(Boolean));

  it("asks for a token with a JWT signed by the uploader's key, then uploads the snapshot without overwriting", () => {
    const r = snapshot();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const [name] = readdirSync(path.join(dir, "backups")).filter((f) => f.endsWith(".db"));
    expect(r.stdout).toContain(`uploaded gs://acme-etcd-backups/gcp/etcd-2/${name}`);

    const [token, upload, ...more] = curlCalls();
    expect(more).toEqual([]);
    expect(token).toContain("https://oauth2.googleapis.com/token");
    expect(token).toContain("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer");
    const jwt = token.find((a) => a.startsWith("assertion="))!.slice("assertion=".length);
    const [header, claims, signature] = jwt.split(".");
    const decode = (part: string) => JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    expect(decode(header)).toEqual({ alg: "RS256", typ: "JWT" });
    const c = decode(claims);
    expect(c).toMatchObject({
      iss: "gcp-etcd-backup@p.iam.gserviceaccount.com",
      scope: "https://www.googleapis.com/auth/devstorage.read_write",
      aud: "https://oauth2.googleapis.com/token",
    });
    expect(c.exp - c.iat).toBe(600);
    const verify = createVerify("RSA-SHA256").update(`${header}.${claims}`);
    expect(verify.verify(createPublicKey(publicKey.export({ type: "spki", format: "pem" })), Buffer.from(signature, "base64url"))).toBe(true);

    expect(upload).toContain("Authorization: Bearer ya29.test-token");
    const url = new URL(upload.find((a) => a.startsWith("https://storage.googleapis.com/"))!);
    expect(url.pathname).toBe("/upload/storage/v1/b/acme-etcd-backups/o");
    expect(Object.fromEntries(url.searchParams)).toEqual({ uploadType: "media", ifGenerationMatch: "0", name: `gcp/etcd-2/${name}` });
    expect(readFileSync(path.join(dir, "uploaded"), "utf8")).toBe("snapshot-bytes");
    // The private key was only ever in a temporary file of the root-only backup directory, now gone.
    expect(readdirSync(path.join(dir, "backups")).sort()).toEqual([name, `${name}.status.json`]);
  });

  it("keeps the snapshot but fails, naming the missing key, when the key was not placed yet", () => {
    const r = snapshot(path.join(dir, "absent.json"));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/kept etcd-2-\d{8}T\d{6}Z\.db here, but not uploaded: the backup writer key .*absent\.json is missing/);
    expect(readdirSync(path.join(dir, "backups")).filter((f) => f.endsWith(".db"))).toHaveLength(1);
  });
});
