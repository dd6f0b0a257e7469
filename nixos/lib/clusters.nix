# Reads the generated cluster files (clusters/<cluster>/default.nix and hosts/*.nix, written by `cdktf synth`)
# and the apply-time outputs saved next to them, into plain data: one entry per cluster, one node per host.
# builtins only, so tests evaluate it without nixpkgs.
{ clustersDir }:
let
  entries = if builtins.pathExists clustersDir then builtins.readDir clustersDir else { };
  names = builtins.filter (
    name: entries.${name} == "directory" && builtins.pathExists (clustersDir + "/${name}/default.nix")
  ) (builtins.attrNames entries);

  loadCluster =
    name:
    let
      dir = clustersDir + "/${name}";
      index = import (dir + "/default.nix");
      outputsPath = dir + "/${index.outputs.file}";
      shownOutputs = "nixos/clusters/${name}/${index.outputs.file}";
      hasOutputs = builtins.pathExists outputsPath;
      outputs = builtins.fromJSON (builtins.readFile outputsPath);
      # The address deploy-rs connects to: planned (libvirt DHCP reservation), or what the compute stack reported
      # at apply (GCP; saved by `npm run outputs`).
      deployHostname =
        hostFile:
        if hostFile.deploy.hostnameSource == "plan" then
          hostFile.deploy.hostname
        else if !hasOutputs then
          throw "cluster ${name}: ${shownOutputs} is missing, so the address deploy-rs connects to for ${hostFile.host.name} is unknown. After `cdktf deploy`, run `${index.outputs.command}` (it saves the compute stack's `hosts` output there and adds the file to git: a flake only sees files git knows)."
        else if !(outputs ? ${hostFile.host.name}) then
          throw "cluster ${name}: ${shownOutputs} has no entry for ${hostFile.host.name} (saved before the host was added?). Run `${index.outputs.command}` again after `cdktf deploy`."
        else
          outputs.${hostFile.host.name}.ssh_address;
      node =
        hostName:
        let
          hostFile = import index.hostFiles.${hostName};
        in
        if hostFile.host.name != hostName || hostFile.cluster.name != name then
          throw "cluster ${name}: host file for ${hostName} describes ${hostFile.host.name} of cluster ${hostFile.cluster.name}; run `cdktf synth` for ${index.cluster.sourceFile}"
        else
          {
            # deploy-rs node and nixosConfiguration name: "<cluster>-<host>", the machine name.
            name = hostFile.host.machineName;
            cluster = name;
            host = hostName;
            inherit hostFile;
            deployHostname = deployHostname hostFile;
          };
    in
    {
      inherit name index;
      # In plan order (load balancers, etcd, control plane, workers); scripts/deploy-cluster.sh deploys in role order.
      nodes = map node index.hosts;
      # Whether every node's deploy address is known (always on libvirt; on GCP once outputs are saved).
      deployable = !index.outputs.required || hasOutputs;
    };
in
builtins.listToAttrs (
  map (name: {
    inherit name;
    value = loadCluster name;
  }) names
)
