#!/usr/bin/env bash
# Realizes a cluster PKI with openssl from the certificate table the app exports (pki-spec.json, written by
# `npm run vm-test-files` from src/pki/catalog.ts and bundle.ts): the CAs, every issued certificate with its
# subject, SANs and usages, the service-account key pair, the encryption configuration, and per host the files of
# its bundle with their owner ids and modes.
#
#   make-pki.sh <pki-spec.json> <output directory>
#
# Output: cas/<ca>.{crt,key}, certs/<certificate key, "/" as "_">.{crt,key}, sa.{key,pub}, encryption-config.yaml,
# hosts/<host>.tsv (source relative to the output, destination path, uid, gid, mode; one file per line).
# Needs bash, openssl (1.1.1 or later) and jq. Used by the NixOS VM test at build time (keys in the Nix store: test
# only) and by __tests__/vm-test.test.ts.
set -euo pipefail

[ $# -eq 2 ] || {
  echo "usage: $0 <pki-spec.json> <output directory>" >&2
  exit 2
}
spec=$1
out=$2
umask 077
mkdir -p "$out/cas" "$out/certs" "$out/hosts"

algorithm=$(jq -r '.key.algorithm' "$spec")
curve=$(jq -r '.key.ecdsaCurve // "P256"' "$spec")
bits=$(jq -r '.key.rsaBits // 2048' "$spec")
ca_days=$(($(jq -r '.caValidityHours' "$spec") / 24))
cert_days=$(($(jq -r '.certValidityHours' "$spec") / 24))

new_key() {
  if [ "$algorithm" = RSA ]; then
    openssl genpkey -algorithm RSA -pkeyopt "rsa_keygen_bits:$bits" -out "$1" 2>/dev/null
  else
    case $curve in
    P256) name=prime256v1 ;;
    P384) name=secp384r1 ;;
    *)
      echo "$0: unknown ECDSA curve $curve in $spec" >&2
      exit 1
      ;;
    esac
    openssl genpkey -algorithm EC -pkeyopt "ec_paramgen_curve:$name" -pkeyopt ec_param_enc:named_curve -out "$1"
  fi
}

# The CAs: self-signed, CA:TRUE, cert signing (as the pki stack's tls_self_signed_cert).
while IFS=$'\t' read -r id cn; do
  new_key "$out/cas/$id.key"
  openssl req -x509 -new -key "$out/cas/$id.key" -subj "/CN=$cn" -days "$ca_days" -sha256 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,digitalSignature" \
    -out "$out/cas/$id.crt"
done < <(jq -r '.cas[] | [.id, .commonName] | @tsv' "$spec")

# Leaves: digital signature (+ key encipherment for RSA only), their extended usages, their SANs.
key_usage="critical,digitalSignature"
[ "$algorithm" = RSA ] && key_usage="$key_usage,keyEncipherment"
count=$(jq '.certificates | length' "$spec")
for ((i = 0; i < count; i++)); do
  cert=$(jq -c ".certificates[$i]" "$spec")
  key=$(jq -r '.key' <<<"$cert")
  file="$out/certs/${key//\//_}"
  issuer=$(jq -r '.issuer' <<<"$cert")
  subject=$(jq -r '(if .organization then "/O=\(.organization)" else "" end) + "/CN=\(.commonName)"' <<<"$cert")
  usages=$(jq -r '[.usages[] | {server_auth: "serverAuth", client_auth: "clientAuth"}[.]] | join(",")' <<<"$cert")
  sans=$(jq -r '[(.dnsNames[] | "DNS:\(.)"), (.ipAddresses[] | "IP:\(.)")] | join(",")' <<<"$cert")
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=$key_usage"
    echo "extendedKeyUsage=$usages"
    [ -z "$sans" ] || echo "subjectAltName=$sans"
  } >"$file.ext"
  new_key "$file.key"
  openssl req -new -key "$file.key" -subj "$subject" -out "$file.csr"
  openssl x509 -req -in "$file.csr" -CA "$out/cas/$issuer.crt" -CAkey "$out/cas/$issuer.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$cert_days" -sha256 -extfile "$file.ext" -out "$file.crt" 2>/dev/null
  rm "$file.csr" "$file.ext"
done

new_key "$out/sa.key"
openssl pkey -in "$out/sa.key" -pubout -out "$out/sa.pub"

secret=$(openssl rand -base64 "$(jq -r '.encryptionConfig.keyBytes' "$spec")")
jq -r --arg secret "$secret" '.encryptionConfig as $e | $e.template | split($e.secretMarker) | join($secret)' "$spec" >"$out/encryption-config.yaml"

# Per host: where each bundle file comes from in this output.
jq -r '.hosts | to_entries[] | .key as $host | .value[] |
  [$host,
   (.source | if .kind == "ca-cert" then "cas/\(.ca).crt"
     elif .kind == "ca-signing-cert" then "cas/\(.ca).crt"
     elif .kind == "ca-key" then "cas/\(.ca).key"
     elif .kind == "cert" then "certs/\(.certificate | gsub("/"; "_")).crt"
     elif .kind == "key" then "certs/\(.certificate | gsub("/"; "_")).key"
     elif .kind == "service-account-key" then "sa.key"
     elif .kind == "service-account-public-key" then "sa.pub"
     elif .kind == "encryption-config" then "encryption-config.yaml"
     else error("unknown source kind \(.kind)") end),
   .path, .uid, .gid, .mode] | @tsv' "$spec" |
  while IFS=$'\t' read -r host source path uid gid mode; do
    [ -e "$out/$source" ] || {
      echo "$0: $host needs $source, which was not made" >&2
      exit 1
    }
    printf '%s\t%s\t%s\t%s\t%s\n' "$source" "$path" "$uid" "$gid" "$mode" >>"$out/hosts/$host.tsv"
  done
# Hosts with no files (load balancers) get an empty list.
for host in $(jq -r '.hosts | keys[]' "$spec"); do touch "$out/hosts/$host.tsv"; done
# Readable by the Nix build user and the VMs' activation (which sets each file's mode and owner itself).
chmod -R u+rwX,go+rX "$out"
