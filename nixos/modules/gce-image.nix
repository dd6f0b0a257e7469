# The GCE base image's file name: nixos-gce.raw.tar.gz (upload it under the name clusters/<cluster>.yaml gives).
{ lib, ... }:
{
  config = {
    image.baseName = lib.mkDefault "nixos-gce";
  };
}
