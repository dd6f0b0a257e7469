/**
 * A description checked against the other descriptions of the repository and the generated files it would
 * replace: the cluster name owns its files; one libvirt host cannot hold two clusters on one pool directory or
 * overlapping subnets; a base image carries the SSH keys of the cluster it was built for.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { loadClusterForSynth } from "../src/repository/load";
import { EXAMPLES, REPO_ROOT } from "./helpers/descriptions";

let root: string;
const nixosDir = () => path.join(root, "nixos");

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "neighbours-"));
  cpSync(path.join(REPO_ROOT, "clusters"), path.join(root, "clusters"), { recursive: true });
  cpSync(path.join(REPO_ROOT, "nixos", "clusters"), path.join(root, "nixos", "clusters"), { recursive: true });
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Writes a copy of an example with `change` applied; returns its path relative to the root. */
function copyOf(example: string, file: string, change: (d: Record<string, any>) => void): string {
  const d = parse(readFileSync(path.join(root, example), "utf8")) as Record<string, any>;
  change(d);
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), stringify(d));
  return file;
}

/** A copied example moved off the original's addresses, pool and image (what a careful copy changes). */
const ownResources = (d: Record<string, any>) => {
  d.network.nodeCidr = "10.250.0.0/24";
  d.network.apiAddress = "10.250.0.2";
  d.libvirt.poolPath = "/var/lib/libvirt/pools/k8s-lab";
  d.libvirt.baseImage = "nixos/result-lab/nixos.qcow2";
};

function refusal(file: string): string {
  try {
    loadClusterForSynth(file, root, nixosDir());
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`expected ${file} to be refused`);
}

const warningsOf = (file: string) => loadClusterForSynth(file, root, nixosDir()).warnings.map((w) => `${w.path}: ${w.message}`);

describe("the cluster name owns its files", () => {
  it.each(EXAMPLES)("%s passes against the other examples and its committed files", (file) => {
    expect(loadClusterForSynth(file, REPO_ROOT, path.join(REPO_ROOT, "nixos")).warnings).toEqual([]);
  });

  it("refuses a copied example that keeps the original's name, naming both files", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", ownResources);
    expect(refusal(lab)).toMatch(
      /^clusters\/lab\.yaml: the cluster description has 1 problem; nothing was synthesized:\n {2}- name: "local" is also the name of clusters\/local\.yaml: a cluster name owns nixos\/clusters\/local\/, state\/local\/ and every resource name built from it, so synthesizing this file would take that cluster over; give this cluster its own name/,
    );
    // And the original is refused the same way while the copy exists: neither may take the other's files.
    expect(refusal("clusters/local.yaml")).toMatch(/name: "local" is also the name of clusters\/lab\.yaml/);
  });

  it("accepts the copy once it has its own name", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      ownResources(d);
      d.name = "lab";
    });
    expect(loadClusterForSynth(lab, root, nixosDir()).plan.cluster).toBe("lab");
  });

  it("refuses to overwrite generated files written from another description that still exists", () => {
    // The committed files of local-stacked say they came from a description outside clusters/ (no namesake there).
    const index = path.join(root, "nixos/clusters/local-stacked/default.nix");
    writeFileSync(index, readFileSync(index, "utf8").replace("from clusters/local-stacked.yaml;", "from experiments/stacked.yaml;"));
    copyOf("clusters/local-stacked.yaml", "experiments/stacked.yaml", () => undefined);
    expect(refusal("clusters/local-stacked.yaml")).toMatch(
      /name: the generated files nixos\/clusters\/local-stacked\/ of cluster "local-stacked" were written from experiments\/stacked\.yaml, which still exists: two descriptions cannot own one cluster; give this cluster its own name, or delete experiments\/stacked\.yaml if this file replaces it/,
    );
  });

  it("lets a renamed description take over its generated files, with a warning", () => {
    renameSync(path.join(root, "clusters/local.yaml"), path.join(root, "clusters/home.yaml"));
    expect(warningsOf("clusters/home.yaml")).toEqual([
      "name: nixos/clusters/local/ was written from clusters/local.yaml, which no longer exists: taking it over for clusters/home.yaml (a renamed description); commit the regenerated files",
    ]);
  });
});

describe("clusters on one libvirt host", () => {
  it("refuses a second cluster on the same storage pool directory", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      ownResources(d);
      d.name = "lab";
      d.libvirt.poolPath = "/var/lib/libvirt/pools/k8s-local/";
    });
    expect(refusal(lab)).toMatch(
      /libvirt\.poolPath: \/var\/lib\/libvirt\/pools\/k8s-local\/ is also the storage pool directory of clusters\/local\.yaml \(cluster "local"\) on qemu:\/\/\/system: libvirt refuses a second pool on the same directory.*; use a directory of this cluster's own, e\.g\. \/var\/lib\/libvirt\/pools\/k8s-lab/,
    );
  });

  it("refuses an overlapping node subnet and proposes a free one", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      ownResources(d);
      d.name = "lab";
      d.network.nodeCidr = "10.241.0.0/23";
      d.network.apiAddress = "10.241.0.2";
    });
    expect(refusal(lab)).toMatch(
      /network\.nodeCidr: 10\.241\.0\.0\/23 overlaps 10\.241\.0\.0\/24, the node subnet of clusters\/local-stacked\.yaml \(cluster "local-stacked"\) on the same libvirt host qemu:\/\/\/system: libvirt cannot run two NAT networks on overlapping subnets; pick a disjoint subnet, e\.g\. 10\.240\.2\.0\/23 \(and move network\.apiAddress into it\)/,
    );
  });

  it("allows the same pool directory and subnet on another libvirt host", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      d.name = "lab";
      d.libvirt.uri = "qemu+ssh://root@lab-host/system";
      d.libvirt.baseImage = "nixos/result-lab/nixos.qcow2";
    });
    expect(loadClusterForSynth(lab, root, nixosDir()).warnings).toEqual([]);
  });

  it("refuses another cluster's base image when the SSH keys differ", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      ownResources(d);
      d.name = "lab";
      d.libvirt.baseImage = "nixos/result-libvirt/nixos.qcow2";
      d.ssh.authorizedKeys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKey0 lab@example"];
    });
    expect(refusal(lab)).toMatch(
      /libvirt\.baseImage: nixos\/result-libvirt\/nixos\.qcow2 is also the base image of clusters\/local\.yaml \(cluster "local"\), and an image carries the SSH keys of the cluster it was built for, which differ from this description's ssh section: build this cluster's own image \(nix build \.\/nixos#lab-image -o nixos\/result-lab\) and set baseImage to nixos\/result-lab\/nixos\.qcow2/,
    );
  });

  it("only warns about a shared base image while the SSH keys are the same, saying why", () => {
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      ownResources(d);
      d.name = "lab";
      d.libvirt.baseImage = "./nixos/result-libvirt/nixos.qcow2";
    });
    expect(warningsOf(lab)).toEqual([
      expect.stringMatching(/^libvirt\.baseImage: \.\/nixos\/result-libvirt\/nixos\.qcow2 is also the base image of clusters\/local\.yaml \(cluster "local"\); that is fine while both list the same ssh\.user and ssh\.authorizedKeys, because an image carries the SSH keys of the cluster it was built for/),
    ]);
  });

  it("still compares with a neighbour that is itself invalid", () => {
    copyOf("clusters/local-stacked.yaml", "clusters/local-stacked.yaml", (d) => (d.pools.worker.count = "many"));
    const lab = copyOf("clusters/local.yaml", "clusters/lab.yaml", (d) => {
      ownResources(d);
      d.name = "lab";
      d.libvirt.poolPath = "/var/lib/libvirt/pools/k8s-local-stacked";
    });
    expect(refusal(lab)).toMatch(/libvirt\.poolPath: .* is also the storage pool directory of clusters\/local-stacked\.yaml/);
  });
});
