# Identity of a cluster host, from its generated host file, and the account-id contract with the PKI delivery.
{ config, hostFile, ... }:
let
  accounts = hostFile.pki.accounts;
in
{
  config = {
    networking.hostName = hostFile.host.name;
    networking.domain = hostFile.host.domain;

    # The PKI delivery chowns by number before this configuration first activates, so the owning accounts must
    # have exactly the ids it used (src/pki/accounts.ts). nixpkgs gives kubernetes a static id; etcd is pinned
    # by the etcd role module.
    assertions = [
      {
        assertion =
          !(config.users.users ? kubernetes)
          || (
            config.users.users.kubernetes.uid == accounts.kubernetes.uid
            && config.users.groups.kubernetes.gid == accounts.kubernetes.gid
          );
        message = "users.users.kubernetes must have uid/gid ${toString accounts.kubernetes.uid}/${toString accounts.kubernetes.gid}: the numeric owner of the delivered PKI files (src/pki/accounts.ts)";
      }
    ];
  };
}
