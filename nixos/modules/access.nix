# How operators and deploy-rs reach a machine: sshd with key authentication only, the cluster description's
# keys, and (for a non-root SSH user) passwordless sudo. Shared by the base images and the host
# configurations, so the first boot of an image already accepts deploy-rs and the PKI delivery.
#
# sshd's one host key is the Ed25519 key the compute stack made for this host (Terraform, tls_private_key), so the
# operator knows it before the first connection. The target hands it over before first boot (access.hostKey, from
# src/ssh/host-key-channel.ts): libvirt on a read-only config disk, GCP in the instance metadata. k8s-ssh-host-key
# installs it before sshd starts, at every boot and on activation; without a handed-over key (a host created before
# this), the key the host has stays. It is copied at run time: never in the Nix store.
{
  lib,
  pkgs,
  access,
  ...
}:
let
  user = access.user;
  keys = access.authorizedKeys;
  hostKey = access.hostKey;
  keyPath = hostKey.path;
  fromMetadata = hostKey.source == "gce-metadata";

  # Writes the handed-over private key to "$new"; exits 0 (keeping the current key) when there is none.
  fetchKey =
    if fromMetadata then
      ''
        # The metadata server answers this instance only; 404 (no retry) when the key is not set.
        if ! curl --silent --show-error --fail --max-time 5 --retry 12 --retry-delay 5 --retry-connrefused \
            -H 'Metadata-Flavor: Google' -o "$new" \
            ${lib.escapeShellArg "http://169.254.169.254/computeMetadata/v1/instance/attributes/${hostKey.metadataKey}"}; then
          echo "k8s-ssh-host-key: no host key in the instance metadata (${hostKey.metadataKey}); keeping ${keyPath}" >&2
          exit 0
        fi
      ''
    else
      ''
        device=/dev/disk/by-label/${hostKey.label}
        # udev may not have named the CD-ROM yet this early in boot: wait for it, bounded.
        for attempt in 1 2 3 4 5 6 7 8 9 10; do
          [ ! -b "$device" ] || break
          sleep 1
        done
        if [ ! -b "$device" ]; then
          echo "k8s-ssh-host-key: no config disk labelled ${hostKey.label}; keeping ${keyPath}" >&2
          exit 0
        fi
        mnt=$(mktemp -d /run/k8s-ssh-host-key.XXXXXX)
        mount -t iso9660 -o ro,nodev,nosuid,noexec "$device" "$mnt"
        status=0
        cat "$mnt/${hostKey.file}" > "$new" || status=$?
        umount "$mnt"
        rmdir "$mnt"
        [ "$status" = 0 ] || exit "$status"
      '';
in
{
  config = {
    services.openssh = {
      enable = true;
      openFirewall = true;
      # Only the Ed25519 key: the operator's side (Terraform's host_key, known_hosts) knows this one, and Terraform's
      # SSH client prefers ECDSA and RSA host keys when a server offers them, which would fail its check.
      hostKeys = [
        {
          type = "ed25519";
          path = keyPath;
        }
      ];
      settings = {
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        PermitRootLogin = if user == "root" then "prohibit-password" else "no";
        # Terraform's SSH client forwards the operator's ssh-agent to every host the PKI delivery logs in to
        # (agent = true); refused, so root on a host can never use it to reach other machines.
        AllowAgentForwarding = false;
      };
    };

    # Accounts come only from the configuration (and so keys only from the cluster description): nothing on the
    # machine (GCP's guest agent included) can add users or keys behind its back.
    users.mutableUsers = false;

    users.users = lib.mkMerge [
      (lib.mkIf (user == "root") { root.openssh.authorizedKeys.keys = keys; })
      (lib.mkIf (user != "root") {
        ${user} = {
          isNormalUser = true;
          # The PKI delivery's first script is uploaded straight into this directory (src/pki/script-paths.ts).
          homeMode = "700";
          extraGroups = [ "wheel" ];
          openssh.authorizedKeys.keys = keys;
        };
      })
    ];
    systemd.services.k8s-ssh-host-key = {
      description = "Install the SSH host key handed over by the compute stack";
      wantedBy = [
        "multi-user.target"
        "sshd.service"
      ];
      before = [ "sshd.service" ];
      after = if fromMetadata then [ "network-online.target" ] else [ ];
      wants = if fromMetadata then [ "network-online.target" ] else [ ];
      path = [
        pkgs.coreutils
        pkgs.diffutils
        pkgs.util-linux
        pkgs.curl
        pkgs.openssh
        pkgs.systemd
      ];
      script = ''
        umask 077
        key=${lib.escapeShellArg keyPath}
        new=$(mktemp "$key.XXXXXX")
        trap 'rm -f "$new" "$new.pub"' EXIT
        ${fetchKey}
        # A usable Ed25519 private key, or nothing changes.
        ssh-keygen -y -f "$new" > "$new.pub"
        case "$(cut -d' ' -f1 "$new.pub")" in
          ssh-ed25519) ;;
          *) echo "k8s-ssh-host-key: the handed-over key is not an Ed25519 key; keeping $key" >&2; exit 1 ;;
        esac
        if cmp -s "$new" "$key"; then exit 0; fi
        chmod 0644 "$new.pub"
        mv -f "$new.pub" "$key.pub"
        mv -f "$new" "$key"
        echo "k8s-ssh-host-key: installed $key ($(ssh-keygen -l -f "$key.pub"))"
        # A running sshd (activation on a running host) picks it up on restart; existing sessions stay. --no-block:
        # sshd is ordered after this unit, so waiting here for its restart would wait for ourselves.
        systemctl --no-block try-restart sshd.service
      '';
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
      };
    };

    # A non-root SSH user activates through sudo (deploy-rs) and installs PKI files through `sudo -n`.
    security.sudo.wheelNeedsPassword = lib.mkIf (user != "root") false;

    nix.settings = {
      experimental-features = [
        "nix-command"
        "flakes"
      ];
      # deploy-rs copies the (unsigned) closure as the SSH user.
      trusted-users = [
        "root"
        user
      ];
    };
  };
}
