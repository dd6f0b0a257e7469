/** Cross-field rules of a parsed description. Each finding names the field, the value and the fix. */
import { cidrSize, formatIp, hostNumber, overlaps, parseCidr, parseIp, contains } from "./ipv4";
import { DEFAULT_API_HOST_NUMBER, layoutHosts } from "./layout";
import { resolveLibvirtNetwork, type CommittedNetwork } from "./libvirt-network";
import { MACHINE_NAME_MAX, machineName } from "./names";
import { RFC1123_LABEL, ROLE_POOLS, type Description } from "./schema";

export interface Finding {
  readonly severity: "error" | "warning";
  /** Dotted field path, e.g. "pools.etcd.count". */
  readonly path: string;
  readonly message: string;
  /** Line of the description file the finding points at, when known. */
  readonly line?: number;
}

const error = (path: string, message: string): Finding => ({ severity: "error", path, message });
const warning = (path: string, message: string): Finding => ({ severity: "warning", path, message });

export function etcdMemberCount(d: Description): number {
  return d.topology === "stacked" ? d.pools.controlPlane.count : (d.pools.etcd?.count ?? 0);
}

/**
 * Every rule; `committed` is what the repository remembers of the cluster's libvirt network (its bridge and
 * DHCP range are checked as they will be, see libvirt-network.ts).
 */
export function validateDescription(d: Description, committed: CommittedNetwork = { kind: "none" }): Finding[] {
  const base = [...checkTargetAndTopology(d), ...checkCidrs(d), ...checkHosts(d), ...checkAccess(d), ...checkPki(d), ...checkBackup(d)];
  // The range checks need a valid subnet and hosts inside it.
  const network = d.target === "libvirt" && d.libvirt && !base.some((f) => f.severity === "error") ? resolveLibvirtNetwork(d, committed).findings : [];
  return [...base, ...network];
}

function checkBackup(d: Description): Finding[] {
  if (d.backup.bucket !== undefined && d.target !== "gcp") {
    return [error("backup.bucket", `"${d.backup.bucket}" is set, but uploading snapshots to a bucket exists only on GCP; on ${d.target} remove it and copy snapshots off the members with scripts/etcd-pull-snapshot.sh`)];
  }
  if (d.backup.bucket !== undefined && !d.backup.enabled) {
    return [error("backup.bucket", `"${d.backup.bucket}" is set, but backup.enabled is false, so nothing would be uploaded; remove the bucket or enable backups`)];
  }
  return [];
}

function checkPki(d: Description): Finding[] {
  const { earlyRenewalHours, certValidityHours, caValidityHours } = d.pki;
  const findings: Finding[] = [];
  if (earlyRenewalHours >= certValidityHours) {
    findings.push(error("pki.earlyRenewalHours", `${earlyRenewalHours} is not below pki.certValidityHours ${certValidityHours}: every apply would renew every certificate; use a value well below it (default 720)`));
  }
  if (!d.pki.protectAuthorities) {
    findings.push(warning("pki.protectAuthorities", "false: nothing keeps a plan from destroying the cluster's CAs and service-account key; set it only to destroy the cluster, and back to true otherwise"));
  }
  if (certValidityHours > caValidityHours) {
    findings.push(error("pki.certValidityHours", `${certValidityHours} exceeds pki.caValidityHours ${caValidityHours}: a certificate cannot outlive its CA; lower it or raise caValidityHours`));
  }
  return findings;
}

function checkTargetAndTopology(d: Description): Finding[] {
  const findings: Finding[] = [];
  if (d.target === "libvirt" && !d.libvirt) {
    findings.push(error("libvirt", 'target is "libvirt" but the libvirt section is missing; add libvirt: { poolPath, baseImage }'));
  }
  if (d.target === "gcp" && !d.gcp) {
    findings.push(error("gcp", 'target is "gcp" but the gcp section is missing; add gcp: { project, region, zones, image, adminSourceRanges }'));
  }
  if (d.pools.controlPlane.count === 0) {
    findings.push(error("pools.controlPlane.count", "got 0: a cluster needs at least one control-plane host (3 for high availability)"));
  }
  const etcdCount = d.pools.etcd?.count ?? 0;
  if (d.topology === "stacked" && etcdCount > 0) {
    findings.push(error("pools.etcd", `got ${etcdCount} etcd hosts, but topology "stacked" runs etcd on the control-plane hosts; remove pools.etcd or set topology: external-etcd`));
  }
  const members = etcdMemberCount(d);
  const membersField = d.topology === "stacked" ? "pools.controlPlane.count" : "pools.etcd.count";
  if (members === 0 && !(d.topology === "stacked" && d.pools.controlPlane.count === 0)) {
    findings.push(error(membersField, "got 0 etcd members: etcd needs at least 1 member (3 or 5 for high availability)"));
  } else if (members > 0 && members % 2 === 0) {
    findings.push(warning(membersField, `got ${members} etcd members: an even count tolerates no more member failures (${Math.floor((members - 1) / 2)}) than ${members - 1} members would, and needs a larger quorum; use an odd count`));
  }
  // Control-plane nodes always register with node-role.kubernetes.io/control-plane:NoSchedule (as kubeadm's do), so
  // only workers take pods without a toleration.
  if ((d.pools.worker?.count ?? 0) === 0 && d.pools.controlPlane.count > 0) {
    findings.push(
      error(
        "pools.worker.count",
        `got ${d.pools.worker === undefined ? "no worker pool" : "0"}: no node would schedule ordinary pods (control-plane nodes carry the taint node-role.kubernetes.io/control-plane:NoSchedule, so every pod without a toleration stays Pending); add pools.worker with count of at least 1`,
      ),
    );
  }
  // The data disk belongs to etcd members: etcd (external) or controlPlane (stacked).
  const etcdPool = d.topology === "stacked" ? "controlPlane" : "etcd";
  for (const pool of ["etcd", "controlPlane", "worker", "loadBalancer"] as const) {
    const size = d.pools[pool]?.etcdDataGiB;
    if (size !== undefined && pool !== etcdPool) {
      findings.push(error(`pools.${pool}.etcdDataGiB`, `got ${size}, but the hosts of pools.${pool} run no etcd member (topology "${d.topology}"); set it on pools.${etcdPool}`));
    }
  }
  const lbCount = d.pools.loadBalancer?.count ?? 0;
  if (d.target === "gcp" && lbCount > 0) {
    findings.push(error("pools.loadBalancer", `got ${lbCount} load-balancer hosts, but the load-balancer role exists only on libvirt; on GCP the cloud load balancers serve the API: remove pools.loadBalancer`));
  }
  if (d.target === "libvirt" && d.topology === "stacked" && lbCount > 0) {
    findings.push(error("pools.loadBalancer", `got ${lbCount} load-balancer hosts, but with topology "stacked" the control-plane hosts hold the API VIP: remove pools.loadBalancer`));
  }
  if (d.target === "libvirt" && d.topology === "external-etcd") {
    if (lbCount === 0) {
      findings.push(error("pools.loadBalancer.count", "got 0: with topology external-etcd on libvirt the load balancers hold the API VIP; set at least 1 (2 for high availability)"));
    } else if (lbCount === 1) {
      findings.push(warning("pools.loadBalancer.count", "got 1: a single load balancer is a single point of failure for the API; use 2"));
    }
  }
  if (d.gcp) {
    d.gcp.zones.forEach((zone, i) => {
      if (!zone.startsWith(`${d.gcp!.region}-`)) {
        findings.push(error(`gcp.zones.${i}`, `zone "${zone}" is not in region "${d.gcp!.region}"; use a zone named "${d.gcp!.region}-<letter>"`));
      }
    });
    // Provider names built from the cluster name are checked on the plan (src/gcp/derived-names.ts); host names
    // become GCE hostnames, which must be RFC 1035: every label starts with a letter.
    d.network.domain.split(".").forEach((label) => {
      if (!/^[a-z]/.test(label)) {
        findings.push(error("network.domain", `"${d.network.domain}" has the label "${label}", which starts with a digit: GCE hostnames need RFC 1035 labels (a letter first); e.g. "k8s-${label}" or "k8s.internal"`));
      }
    });
    for (const pool of ROLE_POOLS) {
      const spec = d.pools[pool];
      if (spec && spec.count > 0 && !/^[a-z]/.test(spec.namePrefix)) {
        findings.push(error(`pools.${pool}.namePrefix`, `"${spec.namePrefix}" starts with a digit: GCE hostnames need RFC 1035 labels (a letter first); start namePrefix with a letter`));
      }
    }
    const longestHost = Math.max(...layoutHosts(d).map((slot) => slot.name.length));
    if (longestHost + 1 + d.network.domain.length > 253) {
      findings.push(error("network.domain", `host names under "${d.network.domain}" would be longer than the 253 characters GCE allows for a hostname; use a shorter domain`));
    }
    const seen = new Set<string>();
    d.gcp.zones.forEach((zone, i) => {
      if (seen.has(zone)) findings.push(error(`gcp.zones.${i}`, `zone "${zone}" is listed twice; list each zone once`));
      seen.add(zone);
    });
    d.gcp.adminSourceRanges.forEach((range, i) => {
      if (parseCidr(range)?.prefix === 0) {
        findings.push(warning(`gcp.adminSourceRanges.${i}`, `"${range}" opens SSH and the Kubernetes API to the whole internet; list your operators' ranges instead`));
      }
    });
  }
  return findings;
}

function checkCidrs(d: Description): Finding[] {
  const findings: Finding[] = [];
  const blocks = [
    { path: "network.nodeCidr", value: d.network.nodeCidr },
    { path: "kubernetes.podCidr", value: d.kubernetes.podCidr },
    { path: "kubernetes.serviceCidr", value: d.kubernetes.serviceCidr },
  ];
  for (let i = 0; i < blocks.length; i++) {
    for (let j = i + 1; j < blocks.length; j++) {
      if (overlaps(parseCidr(blocks[i].value)!, parseCidr(blocks[j].value)!)) {
        findings.push(error(blocks[j].path, `${blocks[j].value} overlaps ${blocks[i].path} ${blocks[i].value}; node, pod and service CIDRs must be disjoint`));
      }
    }
  }
  const pod = parseCidr(d.kubernetes.podCidr)!;
  const perNode = d.kubernetes.nodePodCidrPrefix;
  const kubeletNodes = d.pools.controlPlane.count + (d.pools.worker?.count ?? 0);
  if (perNode < pod.prefix) {
    findings.push(error("kubernetes.nodePodCidrPrefix", `/${perNode} is larger than the pod CIDR ${d.kubernetes.podCidr}; use a prefix of at least ${pod.prefix}`));
  } else if (2 ** (perNode - pod.prefix) < kubeletNodes) {
    findings.push(
      error("kubernetes.podCidr", `${d.kubernetes.podCidr} holds only ${2 ** (perNode - pod.prefix)} per-node /${perNode} blocks but the cluster has ${kubeletNodes} Kubernetes nodes; widen it to /${perNode - Math.ceil(Math.log2(kubeletNodes))} or use a longer nodePodCidrPrefix`),
    );
  }
  const service = parseCidr(d.kubernetes.serviceCidr)!;
  if (service.prefix > 28) {
    findings.push(error("kubernetes.serviceCidr", `${d.kubernetes.serviceCidr} is too small: the DNS service takes its 10th address; use /28 or wider (e.g. /24)`));
  }
  const node = parseCidr(d.network.nodeCidr)!;
  if (node.prefix > 29) {
    findings.push(error("network.nodeCidr", `${d.network.nodeCidr} is too small for a cluster; use /29 or wider (e.g. /24)`));
  }
  return findings;
}

/** Collects findings keyed by (field, kind, other owner), so a clash between two pools is reported once. */
class ClashLog {
  private readonly clashes = new Map<string, { path: string; first: string; count: number; describe: (first: string, more: number) => string }>();
  add(key: string, path: string, first: string, describe: (first: string, more: number) => string): void {
    const entry = this.clashes.get(key);
    if (entry) entry.count += 1;
    else this.clashes.set(key, { path, first, count: 1, describe });
  }
  findings(): Finding[] {
    return [...this.clashes.values()].map((c) => error(c.path, c.describe(c.first, c.count - 1)));
  }
}

const andMore = (more: number) => (more > 0 ? ` (and ${more} more host${more === 1 ? "" : "s"})` : "");

function checkHosts(d: Description): Finding[] {
  const findings: Finding[] = [];
  const clashes = new ClashLog();
  const node = parseCidr(d.network.nodeCidr)!;
  const size = cidrSize(node);
  // GCP also reserves the second-to-last address of a subnet.
  const lastUsable = d.target === "gcp" ? size - 3 : size - 2;
  const describeRange = `host numbers 2 to ${lastUsable} (${formatIp(node.network + 2)} to ${formatIp(node.network + lastUsable)})`;
  const names = new Map<string, string>();
  const addresses = new Map<number, string>();

  const apiPath = "network.apiAddress";
  const apiNumber = d.network.apiAddress ? hostNumber(node, parseIp(d.network.apiAddress)!) : DEFAULT_API_HOST_NUMBER;
  if (d.network.apiAddress && !contains(node, parseIp(d.network.apiAddress)!)) {
    findings.push(error(apiPath, `${d.network.apiAddress} is outside network.nodeCidr ${d.network.nodeCidr}; pick an address inside it`));
  } else if (apiNumber < 2 || apiNumber > lastUsable) {
    findings.push(error(apiPath, `${formatIp(node.network + apiNumber)} is the subnet's network, gateway or broadcast address; use one of ${describeRange}`));
  } else {
    addresses.set(apiNumber, apiPath);
  }

  for (const slot of layoutHosts(d)) {
    const poolPath = `pools.${slot.pool}`;
    if (!RFC1123_LABEL.test(slot.name)) {
      clashes.add(`label:${poolPath}`, `${poolPath}.namePrefix`, slot.name, (first, more) =>
        `host name "${first}"${andMore(more)} is not an RFC 1123 label (at most 63 characters); shorten namePrefix "${slot.spec.namePrefix}"`);
    }
    const machine = machineName(d.name, slot.name);
    if (machine.length > MACHINE_NAME_MAX) {
      clashes.add(`machine:${poolPath}`, `${poolPath}.namePrefix`, machine, (first, more) =>
        `machine name "${first}"${andMore(more)} (cluster name + host name) is longer than ${MACHINE_NAME_MAX} characters; shorten name or namePrefix`);
    }
    const owner = names.get(slot.name);
    if (owner && owner !== poolPath) {
      clashes.add(`name:${poolPath}:${owner}`, `${poolPath}.namePrefix`, slot.name, (first, more) =>
        `host name "${first}"${andMore(more)} is also used by ${owner}; give the pools different namePrefix values`);
    }
    names.set(slot.name, poolPath);

    const address = formatIp(node.network + slot.hostNumber);
    const where = (first: string, more: number) => `host ${first}${andMore(more)} (addressOffset ${slot.spec.addressOffset})`;
    if (slot.hostNumber >= size) {
      clashes.add(`outside:${poolPath}`, `${poolPath}.addressOffset`, slot.name, (first, more) =>
        `${where(first, more)} gets host number ${slot.hostNumber}, outside network.nodeCidr ${d.network.nodeCidr}; lower the offset or widen the subnet`);
      continue;
    }
    if (slot.hostNumber < 2 || slot.hostNumber > lastUsable) {
      clashes.add(`reserved:${poolPath}`, `${poolPath}.addressOffset`, slot.name, (first, more) =>
        `${where(first, more)} gets reserved address ${address} of ${d.network.nodeCidr}; use ${describeRange}`);
      continue;
    }
    const taken = addresses.get(slot.hostNumber);
    if (taken && taken !== poolPath) {
      clashes.add(`address:${poolPath}:${taken}`, `${poolPath}.addressOffset`, slot.name, (first, more) =>
        `${where(first, more)} gets ${address}, already used by ${taken}; move this pool's addressOffset so the address ranges do not overlap`);
    }
    if (!taken) addresses.set(slot.hostNumber, poolPath);
  }
  return [...findings, ...clashes.findings()];
}

function checkAccess(d: Description): Finding[] {
  if (d.ssh.authorizedKeys.length === 0) {
    return [error("ssh.authorizedKeys", "got no SSH public key: deploy-rs and the PKI delivery log in with it; add at least one (e.g. the contents of ~/.ssh/id_ed25519.pub)")];
  }
  return [];
}
