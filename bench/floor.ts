/**
 * The floor of the benchmark: what every synth pays before building a stack. Node with the same loader as the
 * app (tsx), cdktf, constructs and every provider module the app imports, and nothing else.
 */
import * as path from "node:path";
import { providerModules } from "./modules";

require("cdktf");
require("constructs");
for (const specifier of providerModules(path.resolve(__dirname, ".."))) require(specifier);
