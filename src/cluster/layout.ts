/** Where each pool's hosts go: names and host numbers in the node subnet. Shared by validation and planning. */
import type { Description, PoolName, PoolSpec } from "./schema";

/** Pools in plan order; a pool's hosts keep their names and addresses when other pools grow. */
export const POOL_ORDER: readonly PoolName[] = ["loadBalancer", "etcd", "controlPlane", "worker"];

export interface HostSlot {
  readonly pool: PoolName;
  readonly index: number;
  readonly name: string;
  /** Host number inside the node subnet: cidrhost(nodeCidr, hostNumber). */
  readonly hostNumber: number;
  readonly spec: PoolSpec;
}

export function poolsInUse(description: Description): Array<[PoolName, PoolSpec]> {
  return POOL_ORDER.flatMap((name) => {
    const spec = description.pools[name];
    return spec && spec.count > 0 ? [[name, spec] as [PoolName, PoolSpec]] : [];
  });
}

export function layoutHosts(description: Description): HostSlot[] {
  return poolsInUse(description).flatMap(([pool, spec]) =>
    Array.from({ length: spec.count }, (_, index) => ({
      pool,
      index,
      name: `${spec.namePrefix}-${index + 1}`,
      hostNumber: spec.addressOffset + index,
      spec,
    })),
  );
}

/** Default API address: cidrhost(nodeCidr, 2), just above the gateway. */
export const DEFAULT_API_HOST_NUMBER = 2;
