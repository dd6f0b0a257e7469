/**
 * Preload for the "barrel imports" variant: requires every prebuilt provider package through its barrel
 * (`@cdktf/provider-google`, ...), as an app importing `{ ComputeInstance } from "@cdktf/provider-google"` does.
 */
import * as path from "node:path";
import { providerBarrels } from "./modules";

for (const barrel of providerBarrels(path.resolve(__dirname, ".."))) require(barrel);
