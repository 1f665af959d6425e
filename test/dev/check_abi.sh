#!/bin/sh
# check_abi.sh LIB BASELINE HEADER_DIR...
# Compares the built library with the checked-in ABI baseline. Any change abidiff reports, other
# than an added symbol, fails: a changed parameter type sets only bit 4 of abidiff's status, so
# every non-zero status is a failure. A library without debug info would compare as unchanged
# whatever was done to it, so that is refused first.
#
# After adding functions on purpose, refresh the baseline with `cmake --build BUILD --target
# abi-baseline` and commit it; removing or changing one needs a new SONAME instead.
set -eu
lib=$1 baseline=$2; shift 2
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "FAIL: $lib has no .debug_info; the ABI check needs a build with -g"
    exit 1
fi
hd=""
for d in "$@"; do hd="$hd --hd2 $d"; done
set +e
# shellcheck disable=SC2086
abidiff --no-added-syms --drop-private-types $hd "$baseline" "$lib"
rc=$?
set -e
if [ $rc -ne 0 ]; then
    echo "FAIL: abidiff exit status $rc: the ABI of $lib differs from $baseline (see above)"
    exit 1
fi
echo "ABI OK: $lib matches $baseline (additions allowed)"
