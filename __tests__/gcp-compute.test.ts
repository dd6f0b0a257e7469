/** The GCP compute stack: instances, image, service account, and both API load balancers. */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { loadCluster } from "../src/cluster/load";
import type { ClusterPlan } from "../src/cluster/plan-types";
import { changed, planFromObject, REPO_ROOT } from "./helpers/descriptions";
import { named, refTo, resourcesOf, synthGcp, throughRemoteState, type Json } from "./helpers/gcp-synth";

const EXAMPLE = "clusters/gcp.yaml";
const STACKED = "__tests__/fixtures/gcp-stacked.yaml";

const plans: Record<string, ClusterPlan> = {
  [EXAMPLE]: loadCluster(EXAMPLE, REPO_ROOT).plan,
  [STACKED]: loadCluster(STACKED, REPO_ROOT).plan,
};

const INSTANCE = "google_compute_instance";
const GROUP = "google_compute_instance_group";
const MEMBERSHIP = "google_compute_instance_group_membership";
const BACKEND = "google_compute_region_backend_service";
const RULE = "google_compute_forwarding_rule";

function instancesByName(compute: Json): Record<string, Json> {
  return Object.fromEntries(resourcesOf(compute, INSTANCE).map(([, c]) => [c.name as string, c]));
}

describe.each([EXAMPLE, STACKED])("GCP compute stack of %s", (file) => {
  const plan = plans[file];
  const gcp = plan.gcp!;
  const c = plan.cluster;
  const { network, compute } = synthGcp(plan);
  const instances = instancesByName(compute);
  const controlPlane = plan.hosts.filter((h) => h.runsControlPlane);
  const cpZones = [...new Set(controlPlane.map((h) => h.zone!))].sort();

  it("configures one google provider with the description's project and region", () => {
    expect(compute.provider.google).toHaveLength(1);
    expect(compute.provider.google[0]).toMatchObject({ project: gcp.project, region: gcp.region });
  });

  it("creates one instance per planned host with its machine type, zone, address, disk and hostname", () => {
    expect(Object.keys(instances).sort()).toEqual(plan.hosts.map((h) => `${c}-${h.name}`).sort());
    for (const h of plan.hosts) {
      const i = instances[`${c}-${h.name}`];
      const pool = h.pool as "etcd" | "controlPlane" | "worker";
      expect(i.machine_type).toBe(gcp.machineTypes[pool]);
      expect(i.zone).toBe(h.zone);
      expect(i.hostname).toBe(h.fqdn);
      expect(i.network_interface).toHaveLength(1);
      expect(i.network_interface[0].network_ip).toBe(h.address);
      expect(throughRemoteState(network, i.network_interface[0].subnetwork)).toBe(refTo(network, "google_compute_subnetwork", `${c}-nodes`, "self_link"));
      expect(i.boot_disk.initialize_params).toMatchObject({ size: h.diskGiB, type: gcp.bootDiskType });
      expect(i.can_ip_forward).toBeUndefined();
    }
  });

  it("spreads every pool over the zones in order: the n-th host of a pool goes to zone n mod #zones", () => {
    const pools = [...new Set(plan.hosts.map((h) => h.pool))];
    for (const pool of pools) {
      const members = plan.hosts.filter((h) => h.pool === pool);
      members.forEach((h, n) => expect(instances[`${c}-${h.name}`].zone).toBe(gcp.zones[n % gcp.zones.length]));
    }
    expect(new Set(controlPlane.map((h) => instances[`${c}-${h.name}`].zone)).size).toBe(Math.min(controlPlane.length, gcp.zones.length));
  });

  it("tags each host with its roles; stacked control-plane hosts also carry the etcd tag", () => {
    for (const h of plan.hosts) {
      const expected = [
        ...(h.runsEtcd ? [`${c}-etcd`] : []),
        ...(h.runsControlPlane ? [`${c}-control-plane`] : []),
        ...(h.roles.includes("worker") ? [`${c}-worker`] : []),
        ...(h.runsKubelet ? [`${c}-node`] : []),
      ];
      expect(instances[`${c}-${h.name}`].tags).toEqual(expected);
    }
    const etcdTagged = Object.values(instances).filter((i) => i.tags.includes(`${c}-etcd`)).map((i) => i.network_interface[0].network_ip);
    expect(etcdTagged.sort()).toEqual(plan.etcdMembers.map((m) => m.address).sort());
    if (plan.topology === "stacked") {
      for (const h of controlPlane) expect(instances[`${c}-${h.name}`].tags).toContain(`${c}-etcd`);
    }
  });

  it("runs Shielded VM with Secure Boot off and vTPM plus integrity monitoring on", () => {
    for (const i of Object.values(instances)) {
      expect(i.shielded_instance_config).toEqual({ enable_secure_boot: false, enable_vtpm: true, enable_integrity_monitoring: true });
    }
  });

  it("never replaces an instance for a new image; stops and destroys only hosts that are neither etcd members nor control plane", () => {
    for (const h of plan.hosts) {
      const i = instances[`${c}-${h.name}`];
      expect(i.lifecycle.ignore_changes).toContain("boot_disk[0].initialize_params[0].image");
      const critical = h.runsEtcd || h.runsControlPlane;
      // Lifted only by the change review for a change it allowed (__tests__/day2-review.test.ts).
      expect({ host: h.name, stop: i.allow_stopping_for_update, preventDestroy: i.lifecycle.prevent_destroy }).toEqual({
        host: h.name,
        stop: !critical,
        preventDestroy: critical,
      });
    }
  });

  it("blocks project-wide SSH keys and OS Login, sets no SSH login keys (they are baked into the image), and hands each host its own SSH host key", () => {
    const keys = resourcesOf(compute, "tls_private_key");
    for (const i of Object.values(instances)) {
      expect(Object.keys(i.metadata).sort()).toEqual(["block-project-ssh-keys", "enable-oslogin", "k8s-ssh-host-ed25519-key"]);
      expect(i.metadata).toMatchObject({ "block-project-ssh-keys": "TRUE", "enable-oslogin": "FALSE" });
      expect(i.metadata_startup_script).toBeUndefined();
      // Only a reference to the host's own Ed25519 key reaches the JSON.
      const ref = /^\$\{tls_private_key\.([^.]+)\.private_key_openssh\}$/.exec(i.metadata["k8s-ssh-host-ed25519-key"] as string);
      expect(ref).not.toBeNull();
      const key = keys.find(([id]) => id === ref![1]);
      expect(key?.[1]).toMatchObject({ algorithm: "ED25519" });
      expect(ref![1]).toMatch(new RegExp(`^host-keys_ssh-host-key-${i.hostname.split(".")[0]}_[0-9A-F]{8}$`));
    }
    expect(new Set(Object.values(instances).map((i) => i.metadata["k8s-ssh-host-ed25519-key"])).size).toBe(Object.keys(instances).length);
  });

  it("runs every host as the cluster's own service account with only the logging and monitoring write scopes", () => {
    const accounts = resourcesOf(compute, "google_service_account");
    expect(accounts).toHaveLength(1);
    const [accountId, account] = accounts[0];
    expect(account.account_id).toBe(`${c}-nodes`);
    for (const i of Object.values(instances)) {
      expect(i.service_account.email).toBe(`\${google_service_account.${accountId}.email}`);
      expect([...i.service_account.scopes].sort()).toEqual([
        "https://www.googleapis.com/auth/logging.write",
        "https://www.googleapis.com/auth/monitoring.write",
      ]);
    }
    const grants = resourcesOf(compute, "google_project_iam_member").map(([, g]) => g);
    expect(grants.map((g) => g.role).sort()).toEqual(["roles/logging.logWriter", "roles/monitoring.metricWriter"]);
    for (const g of grants) expect(g).toMatchObject({ project: gcp.project, member: `\${google_service_account.${accountId}.member}` });
  });

  it("keeps one unmanaged instance group per zone holding control-plane hosts, with exactly those hosts", () => {
    const groups = resourcesOf(compute, GROUP).map(([, g]) => g);
    expect(groups.map((g) => g.zone).sort()).toEqual(cpZones);
    for (const zone of cpZones) {
      const group = named(compute, GROUP, `${c}-cp-${zone}`);
      expect(group.config.zone).toBe(zone);
      expect(group.config.instances).toBeUndefined();
      expect(throughRemoteState(network, group.config.network)).toBe(refTo(network, "google_compute_network", `${c}-net`, "self_link"));
      const members = resourcesOf(compute, MEMBERSHIP)
        .map(([, m]) => m)
        .filter((m) => m.instance_group === `\${${GROUP}.${group.id}.name}`);
      const expected = controlPlane.filter((h) => h.zone === zone).map((h) => refTo(compute, INSTANCE, `${c}-${h.name}`, "self_link"));
      expect(members.map((m) => m.instance).sort()).toEqual(expected.sort());
      for (const m of members) expect(m.zone).toBe(zone);
    }
    expect(resourcesOf(compute, MEMBERSHIP)).toHaveLength(controlPlane.length);
  });

  it("re-adds a re-created control-plane instance to its group in the same apply", () => {
    for (const h of controlPlane) {
      const id = named(compute, INSTANCE, `${c}-${h.name}`).id;
      const membership = resourcesOf(compute, MEMBERSHIP).find(([, m]) => m.instance === `\${${INSTANCE}.${id}.self_link}`)![1];
      expect(membership.lifecycle.replace_triggered_by).toEqual([`${INSTANCE}.${id}.instance_id`]);
    }
  });

  it("wires the external balancer: reserved external address -> EXTERNAL backend service -> every zone's group", () => {
    const rule = named(compute, RULE, `${c}-api-external`).config;
    expect(rule).toMatchObject({ load_balancing_scheme: "EXTERNAL", ip_protocol: "TCP", port_range: "6443", region: gcp.region });
    expect(throughRemoteState(network, rule.ip_address)).toBe(refTo(network, "google_compute_address", `${c}-api-external`, "address"));
    expect(rule.backend_service).toBe(refTo(compute, BACKEND, `${c}-api-external`, "id"));
    const backend = named(compute, BACKEND, `${c}-api-external`).config;
    expect(backend).toMatchObject({ load_balancing_scheme: "EXTERNAL", protocol: "TCP", region: gcp.region });
    expect(backend.backend.map((b: Json) => b.group).sort()).toEqual(cpZones.map((z) => refTo(compute, GROUP, `${c}-cp-${z}`, "self_link")).sort());
    for (const b of backend.backend) expect(b.balancing_mode).toBe("CONNECTION");
  });

  it("wires the internal balancer: the planned internal address on the subnetwork -> INTERNAL backend service -> the same groups", () => {
    const rule = named(compute, RULE, `${c}-api-internal`).config;
    expect(rule).toMatchObject({ load_balancing_scheme: "INTERNAL", ip_protocol: "TCP", ports: ["6443"], region: gcp.region });
    const address = throughRemoteState(network, rule.ip_address);
    expect(address).toBe(refTo(network, "google_compute_address", `${c}-api-internal`, "address"));
    expect(named(network, "google_compute_address", `${c}-api-internal`).config.address).toBe(plan.api.address);
    expect(throughRemoteState(network, rule.subnetwork)).toBe(refTo(network, "google_compute_subnetwork", `${c}-nodes`, "self_link"));
    expect(rule.backend_service).toBe(refTo(compute, BACKEND, `${c}-api-internal`, "id"));
    const internal = named(compute, BACKEND, `${c}-api-internal`).config;
    const external = named(compute, BACKEND, `${c}-api-external`).config;
    expect(internal).toMatchObject({ load_balancing_scheme: "INTERNAL", protocol: "TCP", region: gcp.region });
    expect(internal.backend).toEqual(external.backend);
  });

  it("health-checks the API on both balancers with a regional HTTPS /readyz check on 6443", () => {
    const check = named(compute, "google_compute_region_health_check", `${c}-api`);
    expect(check.config).toMatchObject({ region: gcp.region, https_health_check: { port: 6443, request_path: "/readyz" } });
    // Every 2 s, out after 2 failures, back after 2 successes: an unready API server is out within 4 s (docs/ha.md).
    expect(check.config).toMatchObject({ check_interval_sec: 2, timeout_sec: 2, unhealthy_threshold: 2, healthy_threshold: 2 });
    for (const name of [`${c}-api-external`, `${c}-api-internal`]) {
      expect(named(compute, BACKEND, name).config.health_checks).toEqual([`\${google_compute_region_health_check.${check.id}.id}`]);
    }
  });

  it("outputs every host's internal address, its public address (if any) and where SSH connects", () => {
    const hosts = compute.output.hosts.value as Record<string, Json>;
    expect(Object.keys(hosts).sort()).toEqual(plan.hosts.map((h) => h.name).sort());
    for (const h of plan.hosts) {
      const natIp = `${refTo(compute, INSTANCE, `${c}-${h.name}`, "network_interface[0].access_config[0].nat_ip").slice(0, -1)}}`;
      const out = hosts[h.name];
      expect(out.address).toBe(h.address);
      if (gcp.publicAddresses) {
        expect(instances[`${c}-${h.name}`].network_interface[0].access_config).toEqual([{ network_tier: "PREMIUM" }]);
        expect(out.external_address).toBe(natIp);
        expect(out.ssh_address).toBe(natIp);
      } else {
        expect(instances[`${c}-${h.name}`].network_interface[0].access_config).toBeUndefined();
        expect(out.external_address).toBeNull();
        expect(out.ssh_address).toBe(h.address);
      }
    }
  });
});

describe("GCP compute stack: the boot image", () => {
  it("creates a UEFI-compatible image from the uploaded tarball and boots every host from it", () => {
    const { compute } = synthGcp(plans[EXAMPLE]);
    const images = resourcesOf(compute, "google_compute_image");
    expect(images).toHaveLength(1);
    const [imageId, image] = images[0];
    expect(image.raw_disk).toEqual({ source: "https://storage.googleapis.com/nixos-k8s-example-images/nixos-gce.tar.gz", container_type: "TAR" });
    expect(image.guest_os_features.map((f: Json) => f.type)).toContain("UEFI_COMPATIBLE");
    expect(image.name).toMatch(/^gcp-nixos-[0-9a-f]{10}$/);
    expect(image.lifecycle).toEqual({ create_before_destroy: true });
    for (const i of Object.values(instancesByName(compute))) {
      expect(i.boot_disk.initialize_params.image).toBe(`\${google_compute_image.${imageId}.self_link}`);
    }
  });

  it("names a new image after a new tarball, without touching the instances' configuration", () => {
    const before = synthGcp(plans[EXAMPLE]).compute;
    const plan = planFromObject(changed(EXAMPLE, (d) => (d.gcp.image = { tarball: "gs://nixos-k8s-example-images/v2/nixos gce.tar.gz" })));
    const after = synthGcp(plan).compute;
    const [[idBefore, imageBefore]] = resourcesOf(before, "google_compute_image");
    const [[idAfter, imageAfter]] = resourcesOf(after, "google_compute_image");
    expect(idAfter).toBe(idBefore);
    expect(imageAfter.name).not.toBe(imageBefore.name);
    expect(imageAfter.raw_disk.source).toBe("https://storage.googleapis.com/nixos-k8s-example-images/v2/nixos%20gce.tar.gz");
    expect(after.resource[INSTANCE]).toEqual(before.resource[INSTANCE]);
  });

  it("boots from an image family, in the cluster's project unless the description names another", () => {
    const { compute } = synthGcp(plans[STACKED]);
    expect(resourcesOf(compute, "google_compute_image")).toHaveLength(0);
    for (const i of Object.values(instancesByName(compute))) {
      expect(i.boot_disk.initialize_params.image).toBe("projects/shared-images-project/global/images/family/nixos-k8s");
    }
    const own = synthGcp(planFromObject(changed(EXAMPLE, (d) => (d.gcp.image = { family: "nixos-k8s" })))).compute;
    for (const i of Object.values(instancesByName(own))) {
      expect(i.boot_disk.initialize_params.image).toBe("projects/nixos-k8s-example/global/images/family/nixos-k8s");
    }
  });

  it("boots from an existing image given by self-link", () => {
    const selfLink = "projects/my-images/global/images/nixos-k8s-2505";
    const { compute } = synthGcp(planFromObject(changed(EXAMPLE, (d) => (d.gcp.image = { selfLink }))));
    expect(resourcesOf(compute, "google_compute_image")).toHaveLength(0);
    for (const i of Object.values(instancesByName(compute))) expect(i.boot_disk.initialize_params.image).toBe(selfLink);
  });
});

describe("GCP compute stack: growing the cluster", () => {
  const before = synthGcp(plans[EXAMPLE]).compute;

  it("adds a worker in the next zone and leaves every existing resource as it was", () => {
    const after = synthGcp(planFromObject(changed(EXAMPLE, (d) => (d.pools.worker.count = 4)))).compute;
    const added = named(after, INSTANCE, "gcp-worker-4").config;
    expect(added.zone).toBe("europe-west1-b");
    for (const [type, byId] of Object.entries(before.resource as Record<string, Record<string, Json>>)) {
      // The known_hosts file gains the new host's line; nothing else changes.
      if (type === "local_sensitive_file") continue;
      for (const [id, config] of Object.entries(byId)) expect(after.resource[type][id]).toEqual(config);
    }
  });

  it("adds a fourth control-plane host to the first zone's existing group", () => {
    const after = synthGcp(planFromObject(changed(EXAMPLE, (d) => (d.pools.controlPlane.count = 4)))).compute;
    expect(named(after, INSTANCE, "gcp-cp-4").config.zone).toBe("europe-west1-b");
    expect(after.resource[GROUP]).toEqual(before.resource[GROUP]);
    const group = named(after, GROUP, "gcp-cp-europe-west1-b").id;
    const members = resourcesOf(after, MEMBERSHIP).filter(([, m]) => m.instance_group === `\${${GROUP}.${group}.name}`);
    expect(members.map(([, m]) => m.instance).sort()).toEqual(
      ["gcp-cp-1", "gcp-cp-4"].map((n) => refTo(after, INSTANCE, n, "self_link")).sort(),
    );
    for (const [id, config] of Object.entries(before.resource[INSTANCE] as Record<string, Json>)) expect(after.resource[INSTANCE][id]).toEqual(config);
  });

  it("balances over only the zones that hold control-plane hosts", () => {
    const single = synthGcp(planFromObject(changed(EXAMPLE, (d) => (d.pools.controlPlane.count = 1)))).compute;
    expect(resourcesOf(single, GROUP).map(([, g]) => g.name)).toEqual(["gcp-cp-europe-west1-b"]);
    expect(named(single, BACKEND, "gcp-api-internal").config.backend).toHaveLength(1);
  });
});

describe("GCP compute stack: names", () => {
  it("fits a 34-character cluster name into every Compute Engine limit, with a valid service account id", () => {
    const name = "a-rather-long-cluster-name-for-gcp";
    expect(name).toHaveLength(34);
    const plan = planFromObject(changed(EXAMPLE, (d) => (d.name = name)));
    const { network, compute } = synthGcp(plan);
    const names = [network, compute].flatMap((stack) =>
      Object.entries(stack.resource as Record<string, Record<string, Json>>)
        .filter(([type]) => type.startsWith("google_compute_"))
        .flatMap(([, byId]) => Object.values(byId).flatMap((r) => (r.name === undefined ? [] : [r.name as string]))),
    );
    expect(names.length).toBeGreaterThan(25);
    for (const n of names) expect(n).toMatch(/^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/);
    const [[, account]] = resourcesOf(compute, "google_service_account");
    expect(account.account_id).toMatch(/^[a-z][-a-z0-9]{4,28}[a-z0-9]$/);
    expect(account.account_id.startsWith("a-rather-long-cluster")).toBe(true);
    expect(synthGcp(plan).compute.resource.google_service_account).toEqual(compute.resource.google_service_account);
  });
});

describe("GCP target sources", () => {
  const dir = path.join(REPO_ROOT, "constructs", "gcp");
  const sources = readdirSync(dir)
    .filter((f) => f.endsWith(".ts"))
    .map((f) => ({ file: f, text: readFileSync(path.join(dir, f), "utf8") }));

  it("imports provider classes by deep path only, never the package barrel", () => {
    expect(sources.length).toBeGreaterThan(5);
    for (const { file, text } of sources) {
      expect({ file, barrel: /from\s+["']@cdktf\/provider-google["']|require\(\s*["']@cdktf\/provider-google["']\s*\)/.test(text) }).toEqual({ file, barrel: false });
    }
    expect(sources.some(({ text }) => text.includes('"@cdktf/provider-google/lib/compute-instance"'))).toBe(true);
  });

  it("never imports the other target", () => {
    for (const { file, text } of sources) expect({ file, libvirt: /from\s+["'][^"']*libvirt/.test(text) }).toEqual({ file, libvirt: false });
  });
});
