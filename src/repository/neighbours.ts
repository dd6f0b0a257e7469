/**
 * Checks of one description against the other descriptions of the repository (clusters/*.yaml) and against
 * the generated files it would overwrite. A cluster name owns nixos/clusters/<name>/, state/<name>/ and every
 * provider name built from it, so two descriptions may not share one; on one libvirt host two clusters may not
 * share a storage pool directory or overlapping NAT subnets; and a base image carries the SSH keys of the
 * cluster it was built for. Reads files; the cluster model (src/cluster) stays pure.
 */
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import * as path from "node:path";
import { parseCidr, overlaps, formatCidr } from "../cluster/ipv4";
import { MAX_DESCRIPTION_BYTES } from "../cluster/load";
import { DEFAULT_LIBVIRT_URI, type Description } from "../cluster/schema";
import type { Finding } from "../cluster/validate";
import { readYaml } from "../cluster/yaml-source";
import { sourceFileOfGenerated } from "../nix/emit";
import { clusterDir } from "../nix/index-file";

/** Folder of the descriptions, relative to the repository root. */
export const DESCRIPTIONS_DIR = "clusters";

/** What the checks need of another description; read leniently, so a half-edited neighbour still counts. */
export interface Neighbour {
  /** Path relative to the repository root, "/"-separated. */
  readonly file: string;
  readonly name?: string;
  readonly target?: string;
  readonly nodeCidr?: string;
  readonly libvirt?: { readonly uri: string; readonly poolPath?: string; readonly baseImage?: string };
  readonly ssh?: { readonly user: string; readonly authorizedKeys: readonly string[] };
}

const asString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const asObject = (v: unknown): Record<string, unknown> => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** The fields the checks use, with the schema's defaults where they have one (no full schema parse: quick). */
function neighbourOf(file: string, value: unknown): Neighbour {
  const d = asObject(value);
  const libvirt = d.libvirt === undefined ? undefined : asObject(d.libvirt);
  const ssh = asObject(d.ssh);
  const keys = Array.isArray(ssh.authorizedKeys) ? ssh.authorizedKeys.filter((k): k is string => typeof k === "string") : [];
  return {
    file,
    name: asString(d.name),
    target: asString(d.target),
    nodeCidr: asString(asObject(d.network).nodeCidr),
    ...(libvirt ? { libvirt: { uri: asString(libvirt.uri) ?? DEFAULT_LIBVIRT_URI, poolPath: asString(libvirt.poolPath), baseImage: asString(libvirt.baseImage) } } : {}),
    ssh: { user: asString(ssh.user) ?? "root", authorizedKeys: keys },
  };
}

export function fromDescription(file: string, d: Description): Neighbour {
  return {
    file,
    name: d.name,
    target: d.target,
    nodeCidr: d.network.nodeCidr,
    ...(d.libvirt ? { libvirt: { uri: d.libvirt.uri, poolPath: d.libvirt.poolPath, baseImage: d.libvirt.baseImage } } : {}),
    ssh: { user: d.ssh.user, authorizedKeys: d.ssh.authorizedKeys },
  };
}

function realOrNull(file: string): string | undefined {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
}

/**
 * The other descriptions in clusters/ (every *.yaml and *.yml but the one at `resolved`), sorted by path.
 * Files that are not readable YAML are left out: their own synth reports them.
 */
export function otherDescriptions(root: string, resolved: string): Neighbour[] {
  const dir = path.join(root, DESCRIPTIONS_DIR);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch {
    return [];
  }
  const found: Neighbour[] = [];
  for (const name of names) {
    const full = path.join(dir, name);
    const real = realOrNull(full);
    if (!real || real === resolved) continue;
    try {
      if (!statSync(real).isFile() || statSync(real).size > MAX_DESCRIPTION_BYTES) continue;
      const source = readYaml(readFileSync(real, "utf8"));
      if (source.findings.length === 0) found.push(neighbourOf(`${DESCRIPTIONS_DIR}/${name}`, source.value));
    } catch {
      continue;
    }
  }
  return found;
}

const error = (p: string, message: string): Finding => ({ severity: "error", path: p, message });
const warning = (p: string, message: string): Finding => ({ severity: "warning", path: p, message });

/** A libvirt-host path compared as written, without trailing or doubled slashes. */
const hostPath = (p: string) => path.posix.normalize(p).replace(/(.)\/$/, "$1");

/** A base image as terraform reads it: a URL as written, a local path resolved against the repository root. */
const imageKey = (root: string, image: string) => (/^https?:\/\//.test(image) ? image : path.resolve(root, image));

const sameKeys = (a: Neighbour["ssh"], b: Neighbour["ssh"]) =>
  !!a && !!b && a.user === b.user && [...a.authorizedKeys].sort().join("\n") === [...b.authorizedKeys].sort().join("\n");

/** A node subnet of the same size, in 10.240.0.0/12, that overlaps none of `taken` (for the fix in a message). */
function freeSubnet(prefix: number, taken: readonly string[]): string | undefined {
  const blocks = taken.map(parseCidr).filter((c): c is NonNullable<typeof c> => !!c);
  const size = 2 ** (32 - prefix);
  const start = parseCidr("10.240.0.0/12")!.network;
  for (let network = start; network + size <= start + 2 ** 20; network += size) {
    const candidate = { network, prefix };
    if (!blocks.some((b) => overlaps(b, candidate))) return formatCidr(candidate);
  }
  return undefined;
}

export interface NeighbourCheck {
  /** The description being synthesized, as parsed. */
  readonly description: Description;
  /** Its path relative to the repository root (as shown and written into generated files). */
  readonly file: string;
  /** Its resolved absolute path (symlinks followed). */
  readonly resolved: string;
  /** Repository root (absolute). */
  readonly root: string;
  /** The flake folder the generated files go to (absolute). */
  readonly nixosDir: string;
  /** The other descriptions; default: those in clusters/. */
  readonly others?: readonly Neighbour[];
}

/** Every finding of the description against its neighbours and the generated files it would replace. */
export function checkNeighbours(check: NeighbourCheck): Finding[] {
  const { description: d, file, root } = check;
  const others = check.others ?? otherDescriptions(root, check.resolved);
  const self = fromDescription(file, d);
  const findings: Finding[] = [];

  const namesakes = others.filter((o) => o.name === d.name);
  for (const o of namesakes) {
    findings.push(
      error("name", `"${d.name}" is also the name of ${o.file}: a cluster name owns nixos/${clusterDir(d.name)}/, state/${d.name}/ and every resource name built from it, so synthesizing this file would take that cluster over; give this cluster its own name (and, for a copied example, its own addresses and poolPath)`),
    );
  }
  findings.push(...ownershipFindings(check, namesakes));

  if (self.libvirt) {
    for (const o of others) {
      if (o.target !== "libvirt" || !o.libvirt || o.name === d.name) continue;
      const sameHost = o.libvirt.uri === self.libvirt.uri;
      if (sameHost && o.libvirt.poolPath && hostPath(o.libvirt.poolPath) === hostPath(self.libvirt.poolPath!)) {
        findings.push(
          error("libvirt.poolPath", `${self.libvirt.poolPath} is also the storage pool directory of ${o.file} (cluster "${o.name}") on ${self.libvirt.uri}: libvirt refuses a second pool on the same directory, and the clusters' disks would share it; use a directory of this cluster's own, e.g. /var/lib/libvirt/pools/k8s-${d.name}`),
        );
      }
      const mine = parseCidr(d.network.nodeCidr)!;
      const theirs = o.nodeCidr ? parseCidr(o.nodeCidr) : undefined;
      if (sameHost && theirs && overlaps(mine, theirs)) {
        const taken = others.filter((n) => n.target === "libvirt" && n.libvirt?.uri === self.libvirt!.uri && n.nodeCidr).map((n) => n.nodeCidr!);
        const free = freeSubnet(mine.prefix, [...taken, d.kubernetes.podCidr, d.kubernetes.serviceCidr]);
        findings.push(
          error("network.nodeCidr", `${d.network.nodeCidr} overlaps ${o.nodeCidr}, the node subnet of ${o.file} (cluster "${o.name}") on the same libvirt host ${self.libvirt.uri}: libvirt cannot run two NAT networks on overlapping subnets; pick a disjoint subnet${free ? `, e.g. ${free}` : ""} (and move network.apiAddress into it)`),
        );
      }
      if (o.libvirt.baseImage && imageKey(root, o.libvirt.baseImage) === imageKey(root, self.libvirt.baseImage!)) {
        if (sameKeys(self.ssh, o.ssh)) {
          findings.push(
            warning("libvirt.baseImage", `${self.libvirt.baseImage} is also the base image of ${o.file} (cluster "${o.name}"); that is fine while both list the same ssh.user and ssh.authorizedKeys, because an image carries the SSH keys of the cluster it was built for: give this cluster its own image once the keys differ`),
          );
        } else {
          findings.push(
            error("libvirt.baseImage", `${self.libvirt.baseImage} is also the base image of ${o.file} (cluster "${o.name}"), and an image carries the SSH keys of the cluster it was built for, which differ from this description's ssh section: build this cluster's own image (nix build ./nixos#${d.name}-image -o nixos/result-${d.name}) and set baseImage to nixos/result-${d.name}/nixos.qcow2`),
          );
        }
      }
    }
  }
  return findings;
}

/** The generated files of this name: refused while the description they were written from still exists. */
function ownershipFindings(check: NeighbourCheck, namesakes: readonly Neighbour[]): Finding[] {
  const { description: d, file, root, nixosDir } = check;
  const index = path.join(nixosDir, ...clusterDir(d.name).split("/"), "default.nix");
  let owner: string | undefined;
  try {
    owner = sourceFileOfGenerated(readFileSync(index, "utf8"));
  } catch {
    return [];
  }
  if (!owner || owner === file) return [];
  const ownerPath = path.resolve(root, owner);
  if (realOrNull(ownerPath) === check.resolved) return [];
  const shownDir = path.relative(root, path.dirname(index)).split(path.sep).join("/") || path.dirname(index);
  if (existsSync(ownerPath)) {
    if (namesakes.some((n) => n.file === owner)) return [];
    return [
      error("name", `the generated files ${shownDir}/ of cluster "${d.name}" were written from ${owner}, which still exists: two descriptions cannot own one cluster; give this cluster its own name, or delete ${owner} if this file replaces it`),
    ];
  }
  return [warning("name", `${shownDir}/ was written from ${owner}, which no longer exists: taking it over for ${file} (a renamed description); commit the regenerated files`)];
}
