/** Constructor checks shared by the pki constructs: each error names the construct and the value. */
import type { Construct } from "constructs";

export function requirePositiveHours(scope: Construct, name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${scope.node.path}: ${name} must be a positive whole number of hours (got ${value})`);
  }
}

export function requireText(scope: Construct, name: string, value: string): void {
  if (value.trim() === "") throw new Error(`${scope.node.path}: ${name} must not be empty`);
}
