/**
 * Exact, fully qualified provider requirements in every stack's `terraform.required_providers`.
 *
 * A provider binding (prebuilt `@cdktf/provider-*` package or one generated from a schema) records the provider
 * version it was generated for in `terraformGeneratorMetadata.providerVersion`; that version, and nothing looser,
 * is what the synthesized JSON requires. Source addresses carry the registry host, so Terraform and OpenTofu
 * (whose default registries differ) name the same provider. A stack that uses a provider it does not configure
 * fails here, at synthesis: Terraform would silently take `hashicorp/<name>` for it.
 */
import { Aspects, type IAspect, TerraformDataSource, TerraformProvider, TerraformResource, TerraformStack } from "cdktf";
import type { IConstruct } from "constructs";

/** Registry host of every provider source address written into the synthesized JSON. */
export const PROVIDER_REGISTRY_HOST = "registry.terraform.io";
/** Namespace Terraform assumes for a source address with no namespace ("google" means "hashicorp/google"). */
const DEFAULT_NAMESPACE = "hashicorp";
/** Built into Terraform and OpenTofu (terraform_remote_state, terraform_data): never in required_providers. */
const BUILT_IN_PROVIDER = "terraform";
const EXACT_VERSION = /^\d+\.\d+\.\d+$/;
const ADDRESS_PART = /^[a-z0-9][a-z0-9._-]*$/i;

/** "google" -> "registry.terraform.io/hashicorp/google"; "dmacvicar/libvirt" -> "registry.terraform.io/dmacvicar/libvirt". */
export function qualifiedProviderSource(source: string): string {
  const parts = source.split("/");
  if (parts.length > 3 || !parts.every((p) => ADDRESS_PART.test(p))) {
    throw new Error(`provider source "${source}" is not a Terraform provider address ([<host>/]<namespace>/<type>)`);
  }
  if (parts.length === 3) return parts.join("/");
  const [namespace, type] = parts.length === 2 ? parts : [DEFAULT_NAMESPACE, parts[0]];
  return `${PROVIDER_REGISTRY_HOST}/${namespace}/${type}`;
}

export interface ProviderRequirement {
  readonly source: string;
  readonly version: string;
}

/** The exact requirement of a provider construct, from the version its binding was generated for. */
export function providerRequirement(provider: TerraformProvider): ProviderRequirement {
  const name = provider.terraformResourceType;
  const source = provider.terraformProviderSource;
  if (!source) {
    throw new Error(`provider "${name}" at ${provider.node.path} has no source address; regenerate its binding`);
  }
  const version = provider.terraformGeneratorMetadata?.providerVersion;
  if (!version || !EXACT_VERSION.test(version)) {
    throw new Error(
      `provider "${name}" (${source}) at ${provider.node.path} records no exact provider version ` +
        `(got ${JSON.stringify(version ?? null)}); its binding must be generated for one provider version, e.g. "1.2.3"`,
    );
  }
  return { source: qualifiedProviderSource(source), version };
}

/** Runs once per stack at synthesis, when the construct tree is complete. */
class PinProviderRequirements implements IAspect {
  constructor(private readonly stack: TerraformStack) {}

  visit(node: IConstruct): void {
    if (node !== this.stack) return;
    const own = this.stack.node.findAll().filter((c) => TerraformStack.of(c) === this.stack);
    const pinned = new Map<string, ProviderRequirement>();
    for (const provider of own.filter((c): c is TerraformProvider => TerraformProvider.isTerraformProvider(c))) {
      const name = provider.terraformResourceType;
      const requirement = providerRequirement(provider);
      const earlier = pinned.get(name);
      if (earlier && (earlier.source !== requirement.source || earlier.version !== requirement.version)) {
        throw new Error(
          `stack "${this.stack.node.id}" configures provider "${name}" from two bindings: ` +
            `${earlier.source} ${earlier.version} and ${requirement.source} ${requirement.version}; use one`,
        );
      }
      pinned.set(name, requirement);
      this.stack.addOverride(`terraform.required_providers.${name}`, { ...requirement });
    }
    const used = new Set(
      own
        .filter((c): c is TerraformResource | TerraformDataSource => TerraformResource.isTerraformResource(c) || TerraformDataSource.isTerraformDataSource(c))
        .map((c) => c.terraformGeneratorMetadata?.providerName)
        .filter((name): name is string => name !== undefined && name !== BUILT_IN_PROVIDER),
    );
    const missing = [...used].filter((name) => !pinned.has(name)).sort();
    if (missing.length > 0) {
      throw new Error(`stack "${this.stack.node.id}" uses provider(s) ${missing.join(", ")} without configuring them; add the provider construct to the stack`);
    }
  }
}

/** Makes every provider requirement of `stack` exact and fully qualified, and checks none is missing. */
export function pinProviderRequirements(stack: TerraformStack): void {
  Aspects.of(stack).add(new PinProviderRequirements(stack));
}
