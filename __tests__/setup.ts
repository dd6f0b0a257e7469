import { Testing } from "cdktf";

// Every app, script and tool a test starts inherits this: no calls to the HashiCorp checkpoint service.
process.env.CHECKPOINT_DISABLE ??= "1";
Testing.setupJest();
