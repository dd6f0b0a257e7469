/**
 * Prints the stacks of a synthesized app in apply order, one id per line, read from <outdir>/manifest.json
 * (default cdktf.out). `--reverse` prints the destroy order. For plain terraform/tofu without cdktf:
 *
 *   for s in $(node --import tsx scripts/apply-order.ts); do
 *     terraform -chdir=cdktf.out/stacks/$s init && terraform -chdir=cdktf.out/stacks/$s apply
 *   done
 */
import { applyOrder, readManifest } from "../src/export/manifest";

function main(argv: readonly string[]): number {
  const reverse = argv.includes("--reverse");
  const rest = argv.filter((a) => a !== "--reverse");
  if (rest.some((a) => a.startsWith("-")) || rest.length > 1) {
    process.stderr.write("usage: apply-order [--reverse] [cdktf output directory, default cdktf.out]\n");
    return 2;
  }
  try {
    const order = applyOrder(readManifest(rest[0] ?? "cdktf.out"));
    process.stdout.write(`${(reverse ? order.reverse() : order).join("\n")}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`apply-order: ${(e as Error).message}\n`);
    return 1;
  }
}

process.exitCode = main(process.argv.slice(2));
