/** Lookups in a synthesized stack (cdk.tf.json), shared by the target test helpers. */
export type Json = Record<string, any>;

/** Every resource of `type`, as [logical id, config] pairs. */
export function resourcesOf(stack: Json, type: string): Array<[string, Json]> {
  return Object.entries((stack.resource?.[type] ?? {}) as Record<string, Json>);
}

/** The one resource of `type` whose `name` attribute is `name`, with its logical id; throws unless there is exactly one. */
export function named(stack: Json, type: string, name: string): { id: string; config: Json } {
  const found = resourcesOf(stack, type).filter(([, config]) => config.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${type} named "${name}", found ${found.length}: ${resourcesOf(stack, type).map(([, c]) => c.name).join(", ")}`);
  }
  return { id: found[0][0], config: found[0][1] };
}
