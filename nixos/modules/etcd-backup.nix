# etcd snapshots on every member: a systemd timer runs scripts/lib/etcd-snapshot.sh (the file the tests run
# against a real etcd) with this member's client URL and the delivered health-check client certificate. The
# snapshots are 0600 in a root-only directory (0700), checked, and kept N; with a bucket in the description
# (GCP) each is also uploaded with the backup writer's key. Adding this to a running member starts nothing but
# the timer: etcd's own unit does not change, so a deploy never restarts etcd for it.
{
  config,
  lib,
  pkgs,
  hostFile,
  ...
}:
let
  h = hostFile;
  backup = h.backup or null;
in
{
  config = lib.mkIf (h.host.runsEtcd && backup != null) {
    systemd.services.etcd-backup = {
      description = "etcd snapshot of cluster ${h.cluster.name} (kept ${toString backup.keep} in ${backup.dir})";
      after = [ "etcd.service" ];
      path = [
        config.services.etcd.package
        pkgs.coreutils
        pkgs.gnugrep
        pkgs.jq
        pkgs.curl
        pkgs.openssl
      ];
      environment =
        import ../lib/etcd-client.nix { hostFile = h; }
        // {
          ETCD_BACKUP_DIR = backup.dir;
          ETCD_BACKUP_KEEP = toString backup.keep;
          ETCD_BACKUP_NAME = h.host.name;
        }
        // (
          if backup.gcs == null then
            { }
          else
            {
              ETCD_BACKUP_GCS_BUCKET = backup.gcs.bucket;
              ETCD_BACKUP_GCS_PREFIX = backup.gcs.prefix;
              ETCD_BACKUP_GCS_KEY = backup.gcs.keyFile;
            }
        );
      serviceConfig = {
        Type = "oneshot";
        User = "root";
        UMask = "0077";
        ExecStart = "${pkgs.bash}/bin/sh ${../../scripts/lib/etcd-snapshot.sh}";
        # Writes only its own directory.
        ProtectSystem = "strict";
        ReadWritePaths = [ backup.dir ];
        ProtectHome = true;
        PrivateTmp = true;
        NoNewPrivileges = true;
      };
    };

    systemd.timers.etcd-backup = {
      description = "etcd snapshots (${backup.interval})";
      wantedBy = [ "timers.target" ];
      timerConfig = {
        OnCalendar = backup.interval;
        # A snapshot missed while the host was down is taken at boot; members do not all snapshot at once.
        Persistent = true;
        RandomizedDelaySec = "5min";
      };
    };

    systemd.tmpfiles.rules = [
      "d ${backup.dir} 0700 root root -"
    ]
    ++ (if backup.gcs == null then [ ] else [ "d ${dirOf backup.gcs.keyFile} 0700 root root -" ]);
  };
}
