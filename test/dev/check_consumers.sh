#!/bin/sh
# check_consumers.sh BUILD_DIR CONSUMER_DIR CC CMAKE
# Installs the build into a temporary prefix, then builds and runs two downstream programs from
# it: one with `pkg-config --cflags --libs lust` alone, one a CMake project with
# find_package(lust CONFIG REQUIRED) and lust::lust. Each must load the installed library.
set -eu
build=$1 src=$2 cc=$3 cmake=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix

"$cmake" --install "$build" --prefix "$prefix" > "$tmp/install.log"
pcdir=$(dirname "$(find "$prefix" -name lust.pc)")

# lust.pc keeps the configure-time prefix; relocate it the way pkg-config allows.
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --define-variable=prefix="$prefix" --cflags --libs lust)
libdir=$(PKG_CONFIG_PATH=$pcdir pkg-config --define-variable=prefix="$prefix" --variable=libdir lust)
# shellcheck disable=SC2086
"$cc" -std=c99 -Wall -Werror -o "$tmp/pc_consumer" "$src/consumer.c" $flags -Wl,-rpath,"$libdir"
"$tmp/pc_consumer" "$prefix"

"$cmake" -S "$src/cmake" -B "$tmp/cm" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    > "$tmp/cm.log" || { cat "$tmp/cm.log"; exit 1; }
"$cmake" --build "$tmp/cm" > "$tmp/cmb.log" || { cat "$tmp/cmb.log"; exit 1; }
"$tmp/cm/consumer" "$prefix"

# The installed package must not need pkg-config: libconfuse is then found by its header and
# library alone. And the target names its include directory once.
"$cmake" -S "$src/cmake" -B "$tmp/np" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    -DPKG_CONFIG_EXECUTABLE=/nonexistent/pkg-config > "$tmp/np.log" || { cat "$tmp/np.log"; exit 1; }
"$cmake" --build "$tmp/np" > "$tmp/npb.log" || { cat "$tmp/npb.log"; exit 1; }
"$tmp/np/consumer" "$prefix"
targets=$(find "$prefix" -name lustTargets.cmake)
includes=$(sed -n 's/.*INTERFACE_INCLUDE_DIRECTORIES "\(.*\)"/\1/p' "$targets")
if [ "$(printf '%s' "$includes" | tr ';' '\n' | sort | uniq -d)" != "" ]; then
    echo "FAIL: lust::lust lists an include directory twice: $includes"
    exit 1
fi
echo "consumers OK: pkg-config and find_package(lust) builds (with and without pkg-config) ran against $prefix"
