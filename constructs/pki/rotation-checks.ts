/**
 * The order of a rotation, enforced at plan. Each applied phase leaves a marker (terraform_data holding the plan
 * time of its apply), created only after every host's delivery of that apply succeeded. Planning a phase
 * requires the previous phase's marker from an earlier apply, so a phase cannot be skipped, nor started before the
 * previous one reached every host; "trust" requires the slot it replaces to predate the plan (refusing a new
 * rotation started before the last one was finished). Markers are removed with the rotation entry.
 */
import { DataResource, Fn, type ITerraformDependable } from "cdktf";
import { Construct } from "constructs";
import { phaseOrderMessage, ROTATION_PHASES, type Authority, type AuthorityState } from "../../src/pki/rotation";
import { createdBeforeThisPlan } from "./protection";

export interface RotationChecksProps {
  readonly authority: Authority;
  readonly state: AuthorityState;
  /** Creation marker of the slot a rotation replaces (the current slot); needed in phase "trust". */
  readonly currentBorn?: DataResource;
  /** Every delivery of the stack: a phase is complete once all of them succeeded. */
  readonly deliveries: readonly ITerraformDependable[];
}

export class RotationChecks extends Construct {
  /** By phase: the markers of the phases applied so far, this one included. */
  readonly markers: Readonly<Partial<Record<(typeof ROTATION_PHASES)[number], DataResource>>>;

  constructor(scope: Construct, id: string, props: RotationChecksProps) {
    super(scope, id);
    const phase = props.state.phase;
    if (phase === undefined) throw new Error(`${this.node.path}: ${props.authority} is not being rotated`);
    const upTo = ROTATION_PHASES.slice(0, ROTATION_PHASES.indexOf(phase) + 1);
    const markers: Partial<Record<(typeof ROTATION_PHASES)[number], DataResource>> = {};
    for (const p of upTo) {
      const guard = p !== phase ? undefined : p === "trust" ? props.currentBorn : markers[upTo[upTo.indexOf(p) - 1]];
      if (p === phase && !guard) throw new Error(`${this.node.path}: phase "${p}" has nothing to check against`);
      markers[p] = new DataResource(this, p, {
        input: { created: Fn.plantimestamp() },
        lifecycle: {
          ignoreChanges: ["input"],
          ...(guard ? { precondition: [{ condition: createdBeforeThisPlan(guard), errorMessage: phaseOrderMessage(props.authority, p) }] } : {}),
        },
        dependsOn: [...props.deliveries],
      });
    }
    this.markers = markers;
  }
}
