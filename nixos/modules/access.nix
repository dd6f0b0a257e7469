# How operators and deploy-rs reach a machine: sshd with key authentication only, the cluster description's
# keys, and (for a non-root SSH user) passwordless sudo. Shared by the base images and the host
# configurations, so the first boot of an image already accepts deploy-rs and the PKI delivery.
{ lib, access, ... }:
let
  user = access.user;
  keys = access.authorizedKeys;
in
{
  config = {
    services.openssh = {
      enable = true;
      openFirewall = true;
      settings = {
        PasswordAuthentication = false;
        KbdInteractiveAuthentication = false;
        PermitRootLogin = if user == "root" then "prohibit-password" else "no";
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
          extraGroups = [ "wheel" ];
          openssh.authorizedKeys.keys = keys;
        };
      })
    ];
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
