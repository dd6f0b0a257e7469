# The serial console's facts, shared by nixos/modules/console.nix and the tests (scripts/console-password.sh
# writes the same file). builtins only.
{
  # libvirt: the domain's serial console (`virsh console`); GCP: serial port 1 (`gcloud compute
  # connect-to-serial-port`). Both are the first UART of the guest.
  device = "ttyS0";
  grubUnit = 0;
  speed = 115200;
  # Root's console password: one crypt(3) hash (e.g. `mkpasswd -m sha-512`), in a root-only file delivered over
  # SSH, never through the Nix store. NixOS reads it at every activation (boot, deploy).
  credentialDir = "/var/lib/console-credentials";
  passwordHashFile = "/var/lib/console-credentials/root-password-hash";
}
