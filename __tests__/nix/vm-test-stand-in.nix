# Evaluates nixos/tests (the NixOS VM tests) with stand-in pkgs: testers.runNixOSTest returns its arguments,
# builders return their names, so the test's wiring (nodes, their modules and host files, the test script's facts)
# can be checked without nixpkgs. Each node's node.nix module is called with stand-in module arguments.
let
  drv = name: "/nix/store/00000000000000000000000000000000-${name}";
  lib = {
    genAttrs = names: f: builtins.listToAttrs (map (name: { inherit name; value = f name; }) names);
    concatMapStringsSep = separator: f: list: builtins.concatStringsSep separator (map f list);
    mkForce = value: { _type = "override"; priority = 50; content = value; };
    mkIf = condition: content: { _type = "if"; inherit condition content; };
  };
  pkgs = {
    inherit lib;
    kubernetes = {
      pause = drv "kubernetes-pause";
    };
    coredns = drv "coredns";
    busybox = drv "busybox";
    openssl = drv "openssl";
    jq = drv "jq";
    buildEnv = args: drv args.name;
    runCommand = name: env: script: drv name;
    dockerTools.buildImage = args: drv "${baseNameOf args.name}-${args.tag}-image";
    testers.runNixOSTest = args: args;
  };
  tests = import ../../nixos/tests { inherit pkgs; };
  moduleArgs = {
    inherit lib pkgs;
    config = { };
  };
in
builtins.mapAttrs (_: test: {
  inherit (test) name testScript;
  nodes = builtins.mapAttrs (_: node: {
    # Every import but the last (node.nix's module) as a path; the last called with stand-in arguments.
    roleModules = map toString (builtins.genList (i: builtins.elemAt node.imports i) (builtins.length node.imports - 1));
    testModule =
      let
        module = (builtins.elemAt node.imports (builtins.length node.imports - 1)) moduleArgs;
      in
      {
        hostFile = module._module.args.hostFile;
        access = module._module.args.access;
        nodeInterface = module.k8sNixos.nodeInterface;
        vlans = module.virtualisation.vlans;
        address = (builtins.head module.networking.interfaces.eth1.ipv4.addresses.content);
        pkiScript = module.system.activationScripts.vm-test-pki.text;
      };
  }) test.nodes;
}) tests
