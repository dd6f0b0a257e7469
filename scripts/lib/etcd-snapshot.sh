# One etcd snapshot of this member's cluster (POSIX sh). The NixOS module nixos/modules/etcd-backup.nix runs
# exactly this file from its systemd timer (etcd-backup.service); tests run it against a real etcd.
#
#   1. `etcdctl snapshot save` through this member's client URL into a temporary file (umask 077) in the backup
#      directory, which is created 0700 and owned by root;
#   2. the snapshot is checked with `etcdutl snapshot status` (etcd >= 3.5; else `etcdctl snapshot status`): its
#      hash, revision and key count are written next to it as <snapshot>.status.json;
#   3. only then it is renamed to <member>-<UTC time>.db (0600), so a listed snapshot is always complete;
#   4. all but the newest ETCD_BACKUP_KEEP snapshots of this member are removed (with their status files);
#   5. with ETCD_BACKUP_GCS_BUCKET set, the snapshot is uploaded to gs://<bucket>/<prefix>/<file> with the key of
#      a service account that may only create objects (the upload never overwrites: ifGenerationMatch=0).
#
# Inputs (environment):
#   ETCDCTL_ENDPOINTS ETCDCTL_CACERT ETCDCTL_CERT ETCDCTL_KEY   etcdctl's own: this member, with a client cert
#   ETCD_BACKUP_DIR          where snapshots are kept (created 0700)
#   ETCD_BACKUP_KEEP         how many of this member's snapshots to keep (>= 1)
#   ETCD_BACKUP_NAME         the member name, the file name prefix
#   ETCD_BACKUP_GCS_BUCKET   optional: bucket for a copy off the host
#   ETCD_BACKUP_GCS_PREFIX   object name prefix there (e.g. <cluster>/<member>)
#   ETCD_BACKUP_GCS_KEY      the uploading service account's JSON key file (0600, root only)
set -eu
umask 077
export ETCDCTL_API=3

: "${ETCD_BACKUP_DIR:?ETCD_BACKUP_DIR is not set}"
: "${ETCD_BACKUP_KEEP:?ETCD_BACKUP_KEEP is not set}"
: "${ETCD_BACKUP_NAME:?ETCD_BACKUP_NAME is not set}"
case $ETCD_BACKUP_KEEP in
'' | *[!0-9]* | 0) echo "etcd-snapshot: ETCD_BACKUP_KEEP must be a whole number >= 1, not \"$ETCD_BACKUP_KEEP\"" >&2; exit 2 ;;
esac

snapshot_status() {
  if command -v etcdutl >/dev/null 2>&1; then
    etcdutl snapshot status --write-out=json "$1"
  else
    etcdctl snapshot status --write-out=json "$1"
  fi
}

mkdir -p "$ETCD_BACKUP_DIR"
chmod 0700 "$ETCD_BACKUP_DIR"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
name="$ETCD_BACKUP_NAME-$stamp.db"
partial="$ETCD_BACKUP_DIR/.$name.partial"
# etcdctl itself writes "$partial.part" first.
trap 'rm -f "$partial" "$partial.part" "$partial.status" "$partial.key"' EXIT

if ! saved=$(etcdctl snapshot save "$partial" 2>&1); then
  echo "etcd-snapshot: etcdctl snapshot save failed: $saved" >&2
  exit 1
fi
# Refuses a truncated or corrupt file (the status command verifies the file's hash); the status is kept.
if ! status=$(snapshot_status "$partial" 2>&1); then
  echo "etcd-snapshot: the new snapshot failed its check, not kept: $status" >&2
  exit 1
fi
printf '%s\n' "$status" >"$partial.status"
chmod 0600 "$partial" "$partial.status"
mv "$partial.status" "$ETCD_BACKUP_DIR/$name.status.json"
mv "$partial" "$ETCD_BACKUP_DIR/$name"
echo "etcd-snapshot: $ETCD_BACKUP_DIR/$name ($status)"

# Keep the newest N of this member's snapshots (names sort by time).
ls "$ETCD_BACKUP_DIR" | grep -E "^$ETCD_BACKUP_NAME-[0-9]{8}T[0-9]{6}Z\.db\$" | sort -r | tail -n +"$((ETCD_BACKUP_KEEP + 1))" |
  while read -r old; do
    rm -f "$ETCD_BACKUP_DIR/$old" "$ETCD_BACKUP_DIR/$old.status.json"
    echo "etcd-snapshot: removed $old (keeping $ETCD_BACKUP_KEEP)"
  done

[ -n "${ETCD_BACKUP_GCS_BUCKET:-}" ] || exit 0

# --- copy off the host: Google Cloud Storage --------------------------------------------------------------------
# An OAuth token for the service account of the key (JWT bearer grant, RFC 7523), signed here with openssl.
key=${ETCD_BACKUP_GCS_KEY:?ETCD_BACKUP_GCS_KEY is not set (the backup writer key file)}
if [ ! -r "$key" ]; then
  echo "etcd-snapshot: kept $name here, but not uploaded: the backup writer key $key is missing (see docs/day-2.md, \"Copies off the host\")" >&2
  exit 1
fi
b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
email=$(jq -r .client_email "$key")
now=$(date +%s)
header=$(printf '{"alg":"RS256","typ":"JWT"}' | b64url)
claims=$(jq -cn --arg iss "$email" --argjson now "$now" \
  '{iss: $iss, scope: "https://www.googleapis.com/auth/devstorage.read_write", aud: "https://oauth2.googleapis.com/token", iat: $now, exp: ($now + 600)}' | b64url)
pem="$partial.key"
jq -r .private_key "$key" >"$pem"
signature=$(printf '%s.%s' "$header" "$claims" | openssl dgst -sha256 -sign "$pem" | b64url)
rm -f "$pem"
token=$(curl --silent --show-error --fail --max-time 30 https://oauth2.googleapis.com/token \
  --data-urlencode grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer \
  --data-urlencode "assertion=$header.$claims.$signature" | jq -r .access_token)
object="${ETCD_BACKUP_GCS_PREFIX:+$ETCD_BACKUP_GCS_PREFIX/}$name"
encoded=$(jq -rn --arg o "$object" '$o | @uri')
curl --silent --show-error --fail --max-time 600 -X POST --data-binary "@$ETCD_BACKUP_DIR/$name" \
  -H "Authorization: Bearer $token" -H "Content-Type: application/octet-stream" \
  "https://storage.googleapis.com/upload/storage/v1/b/$ETCD_BACKUP_GCS_BUCKET/o?uploadType=media&ifGenerationMatch=0&name=$encoded" >/dev/null
echo "etcd-snapshot: uploaded gs://$ETCD_BACKUP_GCS_BUCKET/$object"
