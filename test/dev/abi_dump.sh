#!/bin/sh
# abi_dump.sh SOURCE_DIR LIB OUT HEADER_DIR... - write LIB's ABI as libabigail XML to OUT.
# The one way both the ABI check and the abi-baseline target write it, so a baseline and the
# build compared with it always come from the same options: public types only (those the
# header dirs declare; opaque handles are left out), no source locations (moving code does not
# churn the baseline), and no machine path (SOURCE_DIR is cut from what is left).
set -eu
src=$1 lib=$2 out=$3; shift 3
hd=""
for d in "$@"; do hd="$hd --headers-dir $d"; done
# shellcheck disable=SC2086
abidw --no-corpus-path --no-comp-dir-path --no-show-locs --drop-private-types $hd \
    --out-file "$out" "$lib"
sed -i "s#$src/##g" "$out"
