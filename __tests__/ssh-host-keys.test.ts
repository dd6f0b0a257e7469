/**
 * The hosts' SSH host keys in the compute stack (constructs/ssh/host-keys.ts): one Ed25519 tls_private_key per
 * host, handed to that host only (libvirt: its config disk, attached to its domain; GCP: its instance metadata, see
 * gcp-compute.test.ts), never as key material in the JSON; the operator's known_hosts file with every name and
 * address of each host and that host's public key, 0600 in a 0700 folder; the public keys as a compute output.
 */
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";
import { resourcesOf, synthLibvirt, type Json } from "./helpers/libvirt-synth";
import { synthGcp } from "./helpers/gcp-synth";
import { Lazy, TerraformOutput, TerraformStack, Testing } from "cdktf";
import { knownHostsNames } from "../constructs/ssh/host-keys";
import { loadCluster } from "../src/cluster/load";

/** `text` as a regular expression that matches it literally. */
const escaped = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const KEY_REF = (host: string) => new RegExp(`^\\$\\{tls_private_key\\.host-keys_ssh-host-key-${host}_[0-9A-F]{8}\\.private_key_openssh\\}$`);

describe.each(["clusters/local.yaml", "clusters/local-stacked.yaml"])("SSH host keys on libvirt, %s", (file) => {
  const plan = loadCluster(file, REPO_ROOT).plan;
  const { compute } = synthLibvirt(plan);
  const text = JSON.stringify(compute);

  it("makes one Ed25519 key per host, and no other key", () => {
    const keys = resourcesOf(compute, "tls_private_key");
    expect(keys.map(([, k]) => k)).toEqual(plan.hosts.map(() => expect.objectContaining({ algorithm: "ED25519" })));
    expect(keys.map(([id]) => id.replace(/_[0-9A-F]{8}$/, "")).sort()).toEqual(plan.hosts.map((h) => `host-keys_ssh-host-key-${h.name}`).sort());
  });

  it("hands each host its own key on a config disk in the cluster's pool, attached to its domain", () => {
    const disks = Object.fromEntries(resourcesOf(compute, "libvirt_cloudinit_disk"));
    const domains = resourcesOf(compute, "libvirt_domain");
    expect(domains).toHaveLength(plan.hosts.length);
    for (const h of plan.hosts) {
      const [, domain] = domains.find(([, d]) => d.name === h.machineName)!;
      const diskId = /^\$\{libvirt_cloudinit_disk\.([^.]+)\.id\}$/.exec(domain.cloudinit as string)![1];
      const disk = disks[diskId] as Json;
      expect(disk).toMatchObject({ name: `${h.machineName}-config.iso`, meta_data: `instance-id: ${h.machineName}\nlocal-hostname: ${h.name}\n` });
      expect(disk.pool).toMatch(/^\$\{libvirt_pool\.[^.]+\.name\}$/);
      expect(disk.user_data).toMatch(KEY_REF(h.name));
    }
    expect(Object.keys(disks)).toHaveLength(plan.hosts.length);
  });

  it("keeps key material out of the JSON", () => {
    expect(text).not.toMatch(/PRIVATE KEY|-----BEGIN|ssh-ed25519 AAAA/);
  });

  it("writes the operator's known_hosts: every name and address of each host with its public key, 0600 in a 0700 folder", () => {
    const files = resourcesOf(compute, "local_sensitive_file");
    expect(files).toHaveLength(1);
    const [, f] = files[0];
    expect(f).toMatchObject({ filename: `../../../secrets/${plan.cluster}/known_hosts`, file_permission: "0600", directory_permission: "0700" });
    // One line per host, in the plan's order: its name, FQDN and address (SSH connects to that address here, listed
    // once), a space, and its public key without the trailing newline; the file ends with a newline.
    const lines = (f.content as string).split("\n");
    expect(lines.pop()).toBe("");
    expect(lines).toHaveLength(plan.hosts.length);
    plan.hosts.forEach((h, i) => {
      expect(lines[i]).toMatch(new RegExp(`^${escaped(`${h.name},${h.fqdn},${h.address}`)} \\$\\{trimspace\\(tls_private_key\\.host-keys_ssh-host-key-${h.name}_[0-9A-F]{8}\\.public_key_openssh\\)\\}$`));
    });
  });

  it("outputs each host's public key with its addresses", () => {
    const hosts = compute.output.hosts.value as Record<string, Json>;
    for (const h of plan.hosts) expect(hosts[h.name].ssh_host_key).toMatch(new RegExp(`^\\$\\{trimspace\\(tls_private_key\\.host-keys_ssh-host-key-${h.name}_[0-9A-F]{8}\\.public_key_openssh\\)\\}$`));
    expect(compute.output.known_hosts_path.value).toBe(`secrets/${plan.cluster}/known_hosts`);
  });
});

describe("SSH host keys on GCP", () => {
  const plan = loadCluster("clusters/gcp.yaml", REPO_ROOT).plan;
  const { compute } = synthGcp(plan);

  it("lists the address SSH connects to (the public one) in known_hosts too, each name once", () => {
    const [, f] = resourcesOf(compute, "local_sensitive_file")[0];
    const lines = (f.content as string).split("\n");
    expect(lines.pop()).toBe("");
    // The public address is known only at apply, and could equal another name: Terraform's distinct() decides then.
    plan.hosts.forEach((h, i) => {
      expect(lines[i]).toMatch(
        new RegExp(
          `^\\$\\{join\\(",", distinct\\(\\[${escaped(`"${h.name}", "${h.fqdn}", "${h.address}"`)}, google_compute_instance\\.[^.]+\\.network_interface\\[0\\]\\.access_config\\[0\\]\\.nat_ip\\]\\)\\)\\} \\$\\{trimspace\\(tls_private_key\\.host-keys_ssh-host-key-${h.name}_[0-9A-F]{8}\\.public_key_openssh\\)\\}$`,
        ),
      );
    });
  });

  it("hands each instance only its own key", () => {
    for (const [, i] of resourcesOf(compute, "google_compute_instance")) {
      expect(i.metadata["k8s-ssh-host-ed25519-key"]).toMatch(KEY_REF(String(i.hostname).split(".")[0]));
    }
    expect(JSON.stringify(compute)).not.toMatch(/PRIVATE KEY|-----BEGIN/);
  });

  it("adds a host's key with the host and changes no other host's", () => {
    const more = synthGcp(planFromObject(changed("clusters/gcp.yaml", (d) => (d.pools.worker.count = 4)), "clusters/gcp.yaml")).compute;
    const before = Object.fromEntries(resourcesOf(compute, "tls_private_key"));
    const after = Object.fromEntries(resourcesOf(more, "tls_private_key"));
    expect(Object.keys(after).filter((id) => !(id in before)).map((id) => id.replace(/_[0-9A-F]{8}$/, ""))).toEqual(["host-keys_ssh-host-key-worker-4"]);
    for (const id of Object.keys(before)) expect(after[id]).toEqual(before[id]);
  });
});

describe("the names of a known_hosts line", () => {
  it("lists each name once, in the order given", () => {
    expect(knownHostsNames(["cp-1", "cp-1.k8s.internal", "10.240.0.20", "10.240.0.20"])).toBe("cp-1,cp-1.k8s.internal,10.240.0.20");
    expect(knownHostsNames(["b", "a", "b", "a"])).toBe("b,a");
  });

  it("leaves the deduplication to Terraform when a name is known only at apply (after its own, of the names known)", () => {
    const stack = new TerraformStack(Testing.app(), "names");
    // A token standing for an attribute known at apply (in an expression, cdktf writes what it produces as is).
    const publicAddress = Lazy.stringValue({ produce: () => "google_compute_instance.cp-1.network_interface[0].access_config[0].nat_ip" });
    new TerraformOutput(stack, "names", { value: knownHostsNames(["cp-1", "cp-1", publicAddress]) });
    expect(JSON.parse(Testing.synth(stack)).output.names.value).toBe('${join(",", distinct(["cp-1", google_compute_instance.cp-1.network_interface[0].access_config[0].nat_ip]))}');
  });
});
