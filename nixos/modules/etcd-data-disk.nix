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
  replaceDoc = "docs/day-2.md#replace-an-etcd-member";

  formatScript = pkgs.writeShellScript "etcd-data-format" ''
    export PATH=${lib.makeBinPath [ pkgs.util-linux pkgs.e2fsprogs pkgs.coreutils ]}
    export ETCD_DATA_DEVICE=${lib.escapeShellArg disk.device} ETCD_DATA_DIR=${lib.escapeShellArg dataDir} ETCD_DATA_LABEL=${lib.escapeShellArg disk.label}
    exec ${pkgs.runtimeShell} ${./etcd-data/format.sh}
  '';

  # Runs as root before etcd (ExecStartPre with "+").
  checkScript = pkgs.writeShellScript "etcd-data-check" ''
    set -eu
    export PATH=${lib.makeBinPath [ pkgs.util-linux pkgs.coreutils pkgs.etcd ]}
    dir=${lib.escapeShellArg dataDir}
    member=${lib.escapeShellArg h.host.name}
    identity=${lib.escapeShellArg "cluster ${h.cluster.name} member ${h.host.name}"}
    marker=${rootMarker}
    fail() {
      echo "etcd-data-check: $*" >&2
      exit 1
    }
    mountpoint -q "$dir" || fail "$dir is not mounted: etcd runs only on its data disk (${disk.device}); is the disk attached?"
    source=$(findmnt -n -o SOURCE --target "$dir")
    [ "$(readlink -f "$source")" = "$(readlink -f ${lib.escapeShellArg disk.device})" ] || fail "$dir is mounted from $source, not from the data disk ${disk.device}"
    chown etcd:etcd "$dir"
    chmod 0700 "$dir"
    if [ -d "$dir/member" ]; then
      echo "$identity" > "$marker.tmp" && mv "$marker.tmp" "$marker"
      exit 0
    fi
    # No data. A first bootstrap, a member added by the member-replace procedure, or a member whose data is gone.
    joining=0
    if [ -r /etc/etcd/join.env ]; then
      while IFS= read -r line; do
        [ "$line" = ETCD_INITIAL_CLUSTER_STATE=existing ] && joining=1
      done < /etc/etcd/join.env
    fi
    if [ -f "$marker" ] && [ "$joining" = 0 ]; then
      fail "the data directory $dir is empty, but this host has been member $member before ($marker on the root disk: $(cat "$marker")). Its data is gone; starting it would rejoin the cluster under its old identity with no data. Replace the member instead: ${replaceDoc} (etcdctl member remove, etcdctl member add, start with ETCD_INITIAL_CLUSTER_STATE=existing)."
    fi
    ${lib.optionalString (otherMembers != [ ]) ''
      # Ask the other members: a member that has started before is listed as "started" under its name.
      listed=$(etcdctl --endpoints=${lib.concatMapStringsSep "," (m: m.clientUrl) otherMembers} \
        --cacert=${files.etcdCaCert} --cert=${files.etcdHealthcheckClientCert} --key=${files.etcdHealthcheckClientKey} \
        --dial-timeout=3s --command-timeout=5s member list 2>/dev/null || true)
      case "$listed" in
      *", started, $member, "*)
        fail "the data directory $dir is empty, but the other members list $member as a started member: its data is gone. Starting it would rejoin under its old identity with no data. Replace the member: ${replaceDoc} (etcdctl member remove, etcdctl member add, start with ETCD_INITIAL_CLUSTER_STATE=existing)."
        ;;
      esac
    ''}
    echo "etcd-data-check: $dir is empty and no member $member has started before: bootstrapping or joining as a new member"
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
