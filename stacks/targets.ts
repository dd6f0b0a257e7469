/** Picks the target implementation named in the plan. */
import type { Target as TargetName } from "../src/cluster/plan-types";
import type { Target } from "../constructs/target";
import { gcpTarget } from "../constructs/gcp";
import { libvirtTarget } from "../constructs/libvirt";

const TARGETS: Record<TargetName, Target> = { libvirt: libvirtTarget, gcp: gcpTarget };

export function targetFor(name: TargetName): Target {
  return TARGETS[name];
}
