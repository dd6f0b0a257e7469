# etcd member's own data disk (host file `etcd.dataDisk`, written when the member has one: see
# docs/day-2.md, "Data disks and migration"). Three guarantees:
#   - formatted on first use only: etcd-data-format.service runs mkfs only on a device on which blkid finds no
#     signature at all and whose first MiB is zeros; a device with anything on it is never formatted;
#   - never mounted empty over existing data: the format unit refuses when the data directory on the root disk
#     holds files (data from before the disk, to be moved by scripts/etcd-move-data.sh);
#   - no etcd without the disk: etcd requires the mount (RequiresMountsFor), and its pre-start check refuses a data
#     directory that is not the mounted data disk, and a member whose data is gone (etcd-data-check below).
{
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  disk = if h.etcd == null then null else h.etcd.dataDisk or null;
  enabled = h.host.runsEtcd && disk != null;
  # Also on hosts without a data disk: an attribute name (fileSystems.<dataDir>) must evaluate everywhere.
  dataDir = if disk == null then "/var/lib/etcd" else disk.dataDir;
  files = h.pki.files;
  # On the root disk, outside the data directory: "this host has been an etcd member with data". Written at every
  # start that finds data; read when the data directory is empty.
  rootMarker = "/var/lib/etcd-member";
  otherMembers = lib.filter (m: m.name != h.host.name) h.etcd.members;
  deviceUnit = "${lib.replaceStrings [ "/" "-" ] [ "-" "\\x2d" ] (lib.removePrefix "/" disk.device)}.device";
  mountUnit = "${lib.replaceStrings [ "/" "-" ] [ "-" "\\x2d" ] (lib.removePrefix "/" dataDir)}.mount";

  formatScript = pkgs.writeShellScript "etcd-data-format" ''
    export PATH=${lib.makeBinPath [ pkgs.util-linux pkgs.e2fsprogs pkgs.coreutils ]}
    export ETCD_DATA_DEVICE=${lib.escapeShellArg disk.device} ETCD_DATA_DIR=${lib.escapeShellArg dataDir} ETCD_DATA_LABEL=${lib.escapeShellArg disk.label}
    exec ${pkgs.runtimeShell} ${./etcd-data/format.sh}
  '';

  # Runs as root before etcd (ExecStartPre with "+").
  checkScript = pkgs.writeShellScript "etcd-data-check" ''
    export PATH=${lib.makeBinPath [ pkgs.util-linux pkgs.coreutils pkgs.etcd ]}
    export ETCD_DATA_DIR=${lib.escapeShellArg dataDir} ETCD_DATA_DEVICE=${lib.escapeShellArg disk.device}
    export ETCD_DATA_MEMBER=${lib.escapeShellArg h.host.name} ETCD_DATA_OWNER=etcd:etcd
    export ETCD_DATA_MARKER=${rootMarker} ETCD_DATA_JOIN_ENV=/etc/etcd/join.env
    export ETCD_DATA_IDENTITY=${lib.escapeShellArg "cluster ${h.cluster.name} member ${h.host.name}"}
    export ETCD_DATA_PEERS=${lib.escapeShellArg (lib.concatMapStringsSep "," (m: m.clientUrl) otherMembers)}
    export ETCD_DATA_CA=${files.etcdCaCert} ETCD_DATA_CERT=${files.etcdHealthcheckClientCert} ETCD_DATA_KEY=${files.etcdHealthcheckClientKey}
    exec ${pkgs.runtimeShell} ${./etcd-data/check.sh}
  '';
in
{
  config = lib.mkIf enabled {
    # The same directory as nixos/modules/etcd.nix sets; two different values fail the evaluation.
    services.etcd.dataDir = dataDir;

    fileSystems.${dataDir} = {
      device = disk.device;
      fsType = "ext4";
      # nofail: a missing disk must not stop the boot (SSH stays reachable); etcd requires the mount instead.
      options = [
        "nofail"
        "noatime"
        "x-systemd.requires=etcd-data-format.service"
        "x-systemd.after=etcd-data-format.service"
      ];
    };

    systemd.services.etcd-data-format = {
      description = "Create the file system of etcd's data disk if the disk is blank";
      requires = [ deviceUnit ];
      after = [ deviceUnit ];
      before = [ mountUnit ];
      unitConfig.DefaultDependencies = false;
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        ExecStart = formatScript;
      };
    };

    systemd.services.etcd = {
      unitConfig.RequiresMountsFor = [ dataDir ];
      serviceConfig.ExecStartPre = [ "+${checkScript}" ];
    };
  };
}
