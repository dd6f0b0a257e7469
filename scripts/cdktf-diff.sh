#!/bin/sh
# `cdktf diff`, without leaving cdktf's plan files behind: cdktf-cli runs `terraform plan -out plan` in every stack
# folder and never removes the file, a zip whose `tfstate` holds the stack's whole state, keys included. The synth
# step already makes cdktf.out 0700 and removes stale plans; this removes them right after the diff, also when it
# fails or is interrupted. Usage: npm run diff -- [stack...] [cdktf diff options]
set -u
cd "$(dirname "$0")/.." || exit 1
umask 077
export CHECKPOINT_DISABLE=${CHECKPOINT_DISABLE:-1}
trap 'rm -f cdktf.out/stacks/*/plan' EXIT
trap 'exit 130' INT TERM
npx cdktf diff "$@"
