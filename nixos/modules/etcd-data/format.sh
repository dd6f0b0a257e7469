#!/bin/sh
# Formats etcd's data disk on first use only (nixos/modules/etcd-data-disk.nix runs it before the mount).
# Environment: ETCD_DATA_DEVICE (the disk), ETCD_DATA_DIR (the mount point), ETCD_DATA_LABEL (file system label).
# Never formats a device on which blkid finds any signature, or whose first MiB is not zeros; refuses when the
# mount point on the root disk holds files (they would be hidden by the mount).
set -eu
dev=$ETCD_DATA_DEVICE
dir=$ETCD_DATA_DIR
if mountpoint -q "$dir"; then
  echo "etcd-data-format: $dir is already mounted ($(findmnt -n -o SOURCE --target "$dir")); nothing to do"
  exit 0
fi
if [ -d "$dir" ] && [ -n "$(ls -A "$dir")" ]; then
  echo "etcd-data-format: $dir on the root disk holds files (etcd data from before the data disk?); refusing to mount $dev over them." >&2
  echo "Move the data onto the disk with scripts/etcd-move-data.sh (docs/day-2.md#data-disks-and-migration)." >&2
  exit 1
fi
[ -e "$dev" ] || { echo "etcd-data-format: $dev does not exist; is the data disk attached?" >&2; exit 1; }
rc=0
blkid -p "$dev" >/dev/null 2>&1 || rc=$?
case "$rc" in
0) echo "etcd-data-format: $dev has a file system or other signature; not formatting it"; exit 0 ;;
2) ;;
*) echo "etcd-data-format: blkid -p $dev failed (status $rc); not formatting it" >&2; exit 1 ;;
esac
if ! cmp -s -n 1048576 "$dev" /dev/zero; then
  echo "etcd-data-format: blkid finds nothing on $dev but its first MiB is not blank; refusing to format it (inspect it by hand)" >&2
  exit 1
fi
echo "etcd-data-format: $dev is blank; creating its ext4 file system (label $ETCD_DATA_LABEL)"
mkfs.ext4 -q -L "$ETCD_DATA_LABEL" -m 0 "$dev"
