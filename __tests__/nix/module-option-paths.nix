# Evaluates NixOS modules with stand-in arguments (a small `lib` whose mkIf/mkMerge/mkDefault/mkForce keep
# their structure, stand-in `pkgs`, `config` and `options`) and lists every option path they set, checked against the list
# of nixpkgs option paths in nixos/option-paths.json. No nixpkgs needed.
#
# Returns { unknown = [ "a.b.c" ... ]; used = [ declared patterns set ]; nixpkgsImports = [ ... ];
#   collected = { <pattern> = [ values set in active branches ]; }  for the patterns named in `collect`, and
#   collectedAt = { "<the path as set>" = [ { value; priority; } ]; }  the same by concrete path (e.g.
#   "systemd.services.serial-getty@ttyS0.enable"), each with its override priority (mkForce 50, mkDefault
#   1000, none 100) }.
# Values in active branches (mkIf conditions true for this host) are evaluated completely, so a missing host
# file attribute or a typo in a value fails the evaluation too.
{
  modules,
  hostFile ? null,
  access ? hostFile.ssh,
  optionsFile ? ../../nixos/option-paths.json,
  collect ? [ ],
}:
let
  declared = builtins.fromJSON (builtins.readFile optionsFile);
  segments = path: builtins.filter builtins.isString (builtins.split "\\." path);
  patterns = map (path: {
    inherit path;
    segments = segments path;
  }) (builtins.attrNames declared.options);

  segmentMatches = pattern: actual: pattern == actual || (pattern == "<name>" && actual != "*");
  # Whether `actual` (a list of segments) starts with all of `pattern` (exact = same length).
  matchesPrefix =
    pattern: actual:
    builtins.length actual <= builtins.length pattern
    && builtins.all (i: segmentMatches (builtins.elemAt pattern i) (builtins.elemAt actual i)) (
      builtins.genList (i: i) (builtins.length actual)
    );
  exactPattern =
    actual:
    let
      found = builtins.filter (
        p: builtins.length p.segments == builtins.length actual && matchesPrefix p.segments actual
      ) patterns;
    in
    if found == [ ] then null else (builtins.head found).path;
  isInner = actual: builtins.any (p: builtins.length p.segments > builtins.length actual && matchesPrefix p.segments actual) patterns;
  listInner = actual: builtins.any (p: builtins.length p.segments > builtins.length actual && matchesPrefix p.segments (actual ++ [ "*" ])) patterns;
  show = builtins.concatStringsSep ".";

  stub = name: {
    type = "derivation";
    inherit name;
    outPath = "/nix/store/00000000000000000000000000000000-${name}";
    version = "1.34.2";
  };
  pkgs = {
    bash = stub "bash";
    coreutils = stub "coreutils";
    curl = stub "curl";
    diffutils = stub "diffutils";
    etcd = stub "etcd";
    gnugrep = stub "gnugrep";
    openssh = stub "openssh";
    openssl = stub "openssl";
    jq = stub "jq";
    kubectl = stub "kubectl";
    kubernetes = stub "kubernetes";
    systemd = stub "systemd";
    util-linux = stub "util-linux";
    e2fsprogs = stub "e2fsprogs";
    runtimeShell = "/nix/store/00000000000000000000000000000000-bash/bin/bash";
    writeText = name: text: builtins.deepSeq text "/nix/store/00000000000000000000000000000000-${name}";
    writeShellScript = name: text: builtins.deepSeq text "/nix/store/00000000000000000000000000000000-${name}";
  };

  lib = rec {
    mkIf = condition: content: {
      _type = "if";
      inherit condition content;
    };
    mkMerge = contents: {
      _type = "merge";
      inherit contents;
    };
    mkOverride = priority: content: {
      _type = "override";
      inherit priority content;
    };
    mkDefault = mkOverride 1000;
    mkForce = mkOverride 50;
    concatStringsSep = builtins.concatStringsSep;
    escapeShellArg = arg: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString arg) + "'";
    hasSuffix =
      suffix: text:
      let
        n = builtins.stringLength text;
        m = builtins.stringLength suffix;
      in
      m <= n && builtins.substring (n - m) m text == suffix;
    recursiveUpdate =
      lhs: rhs:
      lhs
      // builtins.mapAttrs (
        name: value:
        if builtins.isAttrs value && builtins.isAttrs (lhs.${name} or null) then recursiveUpdate lhs.${name} value else value
      ) rhs;
    concatMapStringsSep = separator: f: list: builtins.concatStringsSep separator (map f list);
    mapAttrsToList = f: attrs: map (name: f name attrs.${name}) (builtins.attrNames attrs);
    filter = builtins.filter;
    replaceStrings = builtins.replaceStrings;
    optionalString = condition: text: if condition then text else "";
    makeBinPath = packages: builtins.concatStringsSep ":" (map (p: "${p}/bin") packages);
    removePrefix =
      prefix: text:
      let
        n = builtins.stringLength prefix;
      in
      if builtins.substring 0 n text == prefix then builtins.substring n (builtins.stringLength text - n) text else text;
    findFirst =
      predicate: default: list:
      let
        found = builtins.filter predicate list;
      in
      if found == [ ] then default else builtins.head found;
  };

  config = {
    services.kubernetes = {
      lib.mkKubeConfig = name: kubeconfig: builtins.deepSeq kubeconfig "/nix/store/00000000000000000000000000000000-${name}-kubeconfig";
      controllerManager.kubeconfig = { };
      scheduler.kubeconfig = { };
      # nixpkgs' flannel module's binding, in its shape.
      addonManager.bootstrapAddons = {
        flannel-crb = {
          kind = "ClusterRoleBinding";
          roleRef.name = "flannel";
          subjects = [
            {
              kind = "User";
              name = "flannel-client";
            }
          ];
        };
      };
      package = pkgs.kubernetes;
      addons.dns.enable = true;
    };
    services.etcd.enable = false;
    services.etcd.package = pkgs.etcd;
    # The project's own parameter (nixos/modules/node-network.nix) at its default.
    k8sNixos.nodeInterface = null;
    users.users = { };
    users.groups = { };
  };

  modulesPath = "/stand-in/nixpkgs/nixos/modules";

  # The definitions nixpkgs' modules give options the role modules read definitions of (not values): nixpkgs'
  # CoreDNS add-on, in the shape of its DNS add-on module.
  options.services.kubernetes.addonManager.addons.definitionsWithLocations = [
    {
      file = "${modulesPath}/services/cluster/kubernetes/addons/dns.nix";
      value = {
        coredns-sa.kind = "ServiceAccount";
        coredns-deploy = {
          kind = "Deployment";
          spec.replicas = 2;
          spec.template.spec = {
            serviceAccountName = "coredns";
            tolerations = [
              {
                effect = "NoSchedule";
                key = "node-role.kubernetes.io/master";
              }
              {
                key = "CriticalAddonsOnly";
                operator = "Exists";
              }
            ];
          };
        };
      };
    }
  ];

  args = {
    inherit
      config
      options
      lib
      pkgs
      hostFile
      access
      modulesPath
      ;
  };

  isWrapper = value: builtins.isAttrs value && value ? _type;
  unwrap =
    active: value:
    if value._type == "if" then
      [
        {
          active = active && (if builtins.isBool value.condition then value.condition else throw "an mkIf condition is not a boolean");
          value = value.content;
        }
      ]
    else if value._type == "merge" then
      map (content: {
        inherit active;
        value = content;
      }) value.contents
    else
      [
        {
          inherit active;
          value = value.content;
        }
      ];
  # Evaluates a value set at an option path completely, through mkIf (active branches only), mkMerge and
  # mkOverride/mkDefault/mkForce.
  forceLeaf =
    active: value:
    if !active then
      true
    else if isWrapper value then
      builtins.all (branch: forceLeaf branch.active branch.value) (unwrap active value)
    else
      builtins.deepSeq value true;

  # The plain values of the active branches of a value set at an option path.
  activeValues =
    active: value:
    if !active then
      [ ]
    else if isWrapper value then
      builtins.concatMap (branch: activeValues branch.active branch.value) (unwrap active value)
    else
      [ value ];

  # The same, each with the priority of the innermost override around it (100: none).
  activeDefinitions =
    active: priority: value:
    if !active then
      [ ]
    else if isWrapper value && value._type == "override" then
      activeDefinitions active value.priority value.content
    else if isWrapper value then
      builtins.concatMap (branch: activeDefinitions branch.active priority branch.value) (unwrap active value)
    else
      [ { inherit value priority; } ];

  # The option path is decided from the path alone, before the value is looked at: values of inactive branches
  # (mkIf false) may legitimately be invalid for this host and are never evaluated.
  walk =
    active: path: value:
    let
      pattern = exactPattern path;
    in
    if pattern != null then
      [
        (
          {
            used = builtins.seq (forceLeaf active value) pattern;
          }
          // (
            if builtins.elem pattern collect then
              {
                collected = {
                  inherit pattern;
                  path = show path;
                  values = activeValues active value;
                  definitions = activeDefinitions active 100 value;
                };
              }
            else
              { }
          )
        )
      ]
    else if isWrapper value then
      builtins.concatMap (branch: walk branch.active path branch.value) (unwrap active value)
    else if builtins.isAttrs value && isInner path then
      builtins.concatMap (name: walk active (path ++ [ name ]) value.${name}) (builtins.attrNames value)
    else if builtins.isList value && listInner path then
      builtins.concatMap (walk active (path ++ [ "*" ])) value
    else
      [ { unknown = show path; } ];

  evalModule =
    file:
    let
      imported = import file;
      module = if builtins.isFunction imported then imported args else imported;
      # `options`: the project's own module parameters (nixos/modules/node-network.nix), not nixpkgs option paths.
      allowed = [
        "config"
        "imports"
        "options"
      ];
      extra = builtins.filter (key: !(builtins.elem key allowed)) (builtins.attrNames module);
      imports = module.imports or [ ];
      fromNixpkgs = builtins.filter (i: builtins.isString i) imports;
      local = builtins.filter (i: !(builtins.isString i)) imports;
    in
    if extra != [ ] then
      throw "${toString file}: top-level attributes other than config/imports: ${builtins.concatStringsSep ", " extra}"
    else
      {
        results = walk true [ ] (module.config or { }) ++ builtins.concatMap (i: (evalModule i).results) local;
        nixpkgsImports =
          map (
            i:
            let
              prefix = "${modulesPath}/";
              n = builtins.stringLength prefix;
            in
            if builtins.substring 0 n i == prefix then builtins.substring n (builtins.stringLength i - n) i else throw "${toString file} imports ${i}, not a nixpkgs module"
          ) fromNixpkgs
          ++ builtins.concatMap (i: (evalModule i).nixpkgsImports) local;
      };

  evaluated = map evalModule modules;
  results = builtins.concatMap (e: e.results) evaluated;
  unique = list: builtins.attrNames (builtins.listToAttrs (map (name: { inherit name; value = true; }) list));
in
{
  unknown = unique (map (r: r.unknown) (builtins.filter (r: r ? unknown) results));
  used = unique (map (r: r.used) (builtins.filter (r: r ? used) results));
  nixpkgsImports = unique (builtins.concatMap (e: e.nixpkgsImports) evaluated);
  collectedAt = builtins.zipAttrsWith (_: builtins.concatLists) (
    map (r: { ${r.collected.path} = r.collected.definitions; }) (builtins.filter (r: r ? collected) results)
  );
  collected = builtins.listToAttrs (
    map (pattern: {
      name = pattern;
      value = builtins.concatMap (r: r.collected.values) (
        builtins.filter (r: r ? collected && r.collected.pattern == pattern) results
      );
    }) collect
  );
}
