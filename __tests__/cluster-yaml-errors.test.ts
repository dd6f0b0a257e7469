/**
 * Every kind of broken description file gets one report in plain words: the file, the field (or line), the value
 * and the fix; never the YAML or schema library's wording, advice or stack trace.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadCluster, MAX_DESCRIPTION_BYTES, parseDescription } from "../src/cluster/load";
import { REPO_ROOT } from "./helpers/descriptions";

const LOCAL_TEXT = readFileSync(path.join(REPO_ROOT, "clusters/local.yaml"), "utf8");

function reportFor(text: string, file = "clusters/x.yaml"): string {
  try {
    parseDescription(text, file);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error("expected the description to be refused");
}

/** Library wording that must never reach the user. */
const JARGON = [/Invalid input/, /expected object, received/, /parseAllDocuments/, /Map keys must be unique/, /resource exhaustion/, /YAMLParseError/, /ZodError/, /\n\s+at /];

const cases: Array<[string, string, RegExp]> = [
  ["an empty file", "", /^ {2}- \(top level\): the file is empty \(or holds only comments\); a description starts with `name:` and `target:`, e\.g\. copy clusters\/local\.yaml/m],
  ["a file of comments only", "# nothing yet\n", /the file is empty \(or holds only comments\)/],
  ["a list instead of a mapping", "- name: local\n", /\(top level\): the file holds a list, not a description; a description is a mapping of sections: name, target/],
  ["plain text", "hello\n", /the file holds the text "hello", not a description/],
  ["a missing section", LOCAL_TEXT.replace(/^network:\n(?: {2}.*\n)+/m, ""), /^ {2}- network: section `network` is missing; add it/m],
  ["an empty section", LOCAL_TEXT.replace(/^network:\n(?: {2}.*\n)+/m, "network:\n"), /^ {2}- network \(line 14\): section `network` is empty \(nothing after `network:`\); give it its fields/m],
  ["a key given twice", LOCAL_TEXT.replace("libvirt:\n", "pools:\n  worker: { count: 1 }\nlibvirt:\n"), /^ {2}- pools \(line 31\): key `pools` appears twice, lines 25 and 31; keep one of them$/m],
  ["a nested key given twice", "name: a\nnetwork:\n  nodeCidr: 10.0.0.0/24\n  domain: x\n  nodeCidr: 10.1.0.0/24\n", /network\.nodeCidr \(line 5\): key `nodeCidr` appears twice, lines 3 and 5 in network; keep one of them/],
  ["a tab as indentation", LOCAL_TEXT.replace("  nodeCidr", "\tnodeCidr"), /^ {2}- line 15: YAML syntax error at column 1: a tab is used for indentation; YAML indents with spaces only \(the line reads: nodeCidr: 10\.240\.0\.0\/24\)/m],
  ["an unclosed quote", 'name: "local\ntarget: libvirt\n', /YAML syntax error at column \d+: a quote or bracket is not closed/],
  ["an unclosed flow mapping", "pools: { worker: 1\nname: x\n", /^ {2}- line \d+: YAML syntax error/m],
  ["a second key on one line", LOCAL_TEXT.replace("name: local", "name: local: lab"), /line 3: YAML syntax error at column 7: a value holds a second `key: value` on the same line.*\(the line reads: name: local: lab\)/],
  ["two documents", `${LOCAL_TEXT}---\nname: other\n`, /^ {2}- line 35: the file holds 2 YAML documents \(the second starts at line 35\); a description is one document: remove the `---` separator/m],
  ["an alias to no anchor", `${LOCAL_TEXT}extra: *nowhere\n`, /the alias `\*nowhere` refers to no anchor `&nowhere` defined above it/],
  [
    "an alias bomb",
    ["a: &a [x, x, x, x, x, x, x, x, x]", "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]", "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]", "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]", "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]", ""].join("\n"),
    /the file expands to too many values through aliases \(`\*name`\), more than 100: that is an alias bomb, not a description/,
  ],
  ["collections nested thousands deep", `a: ${"[".repeat(5000)}${"]".repeat(5000)}\n`, /^ {2}- line 1: YAML syntax error at column \d+: the YAML nests too deeply \(or expands too far\) for a description/m],
  ["a key that is a list", "? [a, b]\n: 1\n", /line 1: a key is a list or mapping .*; keys are plain field names/],
  ["a binary tag", LOCAL_TEXT.replace("name: local", "name: !!binary bG9jYWw="), /name \(line 3\): the tag `!!binary` is not supported in a description; write the value plainly/],
  ["a custom tag", LOCAL_TEXT.replace("name: local", "name: !secret local"), /the tag `!secret` is not supported in a description/],
  ["an unknown target", LOCAL_TEXT.replace("target: libvirt", "target: aws"), /^ {2}- target \(line 4\): got "aws"; use one of "libvirt", "gcp"$/m],
  ["a value that is not a number", LOCAL_TEXT.replace("worker:       { count: 2, vcpu: 2", "worker:       { count: 2, vcpu: two"), /pools\.worker\.vcpu \(line 29\): expected a number, got the text "two"$/m],
  ["a fractional count", LOCAL_TEXT.replace("worker:       { count: 2,", "worker:       { count: 2.5,"), /pools\.worker\.count \(line 29\): expected a whole number, got the number 2\.5/],
  ["an unknown backend type", `${LOCAL_TEXT}backend: { type: s3 }\n`, /backend\.type \(line 35\): got "s3"; use one of "local", "gcs"$/m],
  ["an RSA size not offered", `${LOCAL_TEXT}pki: { algorithm: RSA, rsaBits: 1000 }\n`, /pki\.rsaBits \(line 35\): got 1000; use one of 2048, 3072, 4096$/m],
  ["a field with no value", LOCAL_TEXT.replace("  nodeCidr: 10.240.0.0/24", "  nodeCidr:"), /network\.nodeCidr \(line 15\): field `network\.nodeCidr` has no value; give it text/],
];

describe("a broken description file gets one report in plain words", () => {
  it.each(cases)("%s", (_what, text, expected) => {
    const report = reportFor(text);
    expect(report).toMatch(/^clusters\/x\.yaml: the cluster description has \d+ problems?; nothing was synthesized:\n/);
    expect(report).toMatch(expected);
    for (const jargon of JARGON) expect(report).not.toMatch(jargon);
  });

  it("names only the first YAML error, since the parser's later ones follow from it", () => {
    const report = reportFor(LOCAL_TEXT.replace("  nodeCidr", "\tnodeCidr"));
    expect(report).toMatch(/has 1 problem;/);
    expect(report).toMatch(/fix this first \(the parser reports 3 more errors after it, usually consequences of this one\)/);
  });

  it("accepts anchors, aliases and merge keys within the limit", () => {
    const text = LOCAL_TEXT.replace(
      /^pools:\n(?: {2}.*\n)+/m,
      ["pools:", "  loadBalancer: &small { count: 2, vcpu: 1, memoryMiB: 1024, diskGiB: 10 }", "  etcd: { <<: *small, count: 3 }", "  controlPlane: { count: 3 }", "  worker: { count: 2 }", ""].join("\n"),
    );
    const { description } = parseDescription(text, "clusters/x.yaml");
    expect(description.pools.etcd).toMatchObject({ count: 3, vcpu: 1, memoryMiB: 1024, diskGiB: 10 });
  });
});

describe("files that are not descriptions", () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(path.join(os.tmpdir(), "yaml-errors-"));
    mkdirSync(path.join(root, "clusters"));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const refusal = (file: string) => {
    try {
      loadCluster(file, root);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error("expected a refusal");
  };

  it("refuses a huge file without parsing it", () => {
    writeFileSync(path.join(root, "clusters/huge.yaml"), `# ${"x".repeat(MAX_DESCRIPTION_BYTES)}\n`);
    expect(refusal("clusters/huge.yaml")).toMatch(/clusters\/huge\.yaml: [\s\S]*the file is \d+ bytes; a description is a few kilobytes \(at most 1048576\): is CLUSTER_CONFIG pointing at the right file\?/);
  });

  it("refuses a binary file", () => {
    writeFileSync(path.join(root, "clusters/image.yaml"), Buffer.from([0x51, 0x46, 0x49, 0xfb, 0x00, 0x00, 0x00, 0x03]));
    expect(refusal("clusters/image.yaml")).toMatch(/the file is not a text file \(a NUL byte at offset 4\); a description is YAML text/);
  });

  it("refuses bytes that are not UTF-8", () => {
    writeFileSync(path.join(root, "clusters/latin1.yaml"), Buffer.from("name: caf\xe9\n", "latin1"));
    expect(refusal("clusters/latin1.yaml")).toMatch(/the file is not a text file \(bytes that are not UTF-8\)/);
  });

  it("refuses a directory", () => {
    mkdirSync(path.join(root, "clusters/dir.yaml"));
    expect(refusal("clusters/dir.yaml")).toMatch(/cannot read the description file: it is a directory, not a file; set CLUSTER_CONFIG/);
  });

  it("refuses a symlink that resolves outside the repository, by its resolved path", () => {
    const outside = mkdtempSync(path.join(os.tmpdir(), "yaml-errors-outside-"));
    try {
      writeFileSync(path.join(outside, "real.yaml"), LOCAL_TEXT);
      symlinkSync(path.join(outside, "real.yaml"), path.join(root, "clusters/linked.yaml"));
      expect(refusal("clusters/linked.yaml")).toMatch(/clusters\/linked\.yaml: [\s\S]*the description resolves \(through a symlink\) to .*real\.yaml, outside the repository; keep cluster descriptions inside the repository/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("follows a symlink that stays inside the repository", () => {
    writeFileSync(path.join(root, "clusters/real.yaml"), LOCAL_TEXT);
    symlinkSync("real.yaml", path.join(root, "clusters/current.yaml"));
    expect(loadCluster("clusters/current.yaml", root).plan.cluster).toBe("local");
  });
});
