#!/bin/bash
# check_abi_gate.sh SOURCE_DIR CMAKE C_COMPILER - the ABI check must see what it guards.
# Copies the library's sources to a scratch directory, builds liblust.so there with debug info,
# and runs test/dev/check_abi.sh against the committed baselines: once as it is (must pass),
# then once per planted change that would break binaries built against an older header (each
# must fail): a member inserted into struct lust_server_ops, two of its callbacks swapped, a
# callback's return type changed, two members of struct lust_daemon_opts swapped, a symbol moved
# between released version nodes. Members appended at the end of either struct must pass.
set -euo pipefail
src=$(cd "$1" && pwd)
cmake=$2 cc=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/src"
cp -r "$src/CMakeLists.txt" "$src/cmake" "$src/include" "$src/lib" "$src/lust.pc.in" "$tmp/src/"
mkdir -p "$tmp/src/test"
cp -r "$src/test/abi" "$tmp/src/test/"
"$cmake" -S "$tmp/src" -B "$tmp/build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DLUST_BUILD_EXAMPLES=OFF -DBUILD_TESTING=OFF -DLUST_MANPAGES=OFF > "$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log"; exit 1; }

server=include/lust/server.h daemon=include/lust/daemon.h map=lib/liblust.map
for f in $server $daemon $map; do cp "$tmp/src/$f" "$tmp/$(basename "$f").orig"; done

# plant FILE PERL_SUBSTITUTION: change FILE in the scratch copy; fails if nothing changed.
plant() {
    perl -0pi -e "$2" "$tmp/src/$1"
    if cmp -s "$tmp/src/$1" "$tmp/$(basename "$1").orig"; then
        echo "FAIL: the planted change did not apply to $1 (the header changed?): $2"
        exit 1
    fi
}

status=0
# gate NAME WANT: build the scratch tree, run the check, expect WANT (pass or fail).
gate() {
    cmake --build "$tmp/build" -j2 --target lust > "$tmp/build.log" 2>&1 ||
        { cat "$tmp/build.log"; echo "FAIL: $1 does not build"; exit 1; }
    if sh "$src/test/dev/check_abi.sh" "$tmp/src" "$tmp/build/liblust.so" "$tmp/src/test/abi" \
        "$tmp/src/include" "$tmp/build/include" > "$tmp/gate.log" 2>&1; then
        got=pass
    else
        got=fail
    fi
    if [ "$got" = "$2" ]; then
        echo "ok: $1: the gate says $got"
    else
        cat "$tmp/gate.log"
        echo "FAIL: $1: the gate says $got, want $2"
        status=1
    fi
    for f in $server $daemon $map; do cp "$tmp/$(basename "$f").orig" "$tmp/src/$f"; done
}

gate "the tree as it is" pass

plant $server 's/(\n    int \(\*run\)\()/\n    int (*planted)(struct lust_server *srv, void *user_data);$1/'
gate "a member inserted before run in struct lust_server_ops" fail

plant $server 's/(    int \(\*before_jail\)\([^;]*;\n)(.*?)(    int \(\*before_drop_privs\)\([^;]*;\n)/$3$2$1/s'
gate "before_jail and before_drop_privs swapped" fail

plant $server 's/void \(\*shutdown\)\(/int (*shutdown)(/'
gate "shutdown returning int instead of void" fail

plant $daemon 's/(    int umask;[^\n]*\n)(    int timeout_ms;[^\n]*\n)/$2$1/'
gate "umask and timeout_ms of struct lust_daemon_opts swapped" fail

plant $map 's/(\n    lust_config_cfg;\n)/$1    lust_config_control;\n/; s/(LUST_1.1 \{\n  global:\n)    lust_config_control;\n/$1    lust_config_foreground;\n/; s/(\n    lust_config_free;)/$1/; s/\n    lust_config_foreground;\n    lust_config_free;/\n    lust_config_free;/'
gate "symbols swapped between the released nodes LUST_1.0 and LUST_1.1" fail

plant $server 's/(struct lust_server_ops \{.*?)(\n\};)/$1\n    int (*planted)(struct lust_server *srv, void *user_data);$2/s'
gate "a member appended to struct lust_server_ops" pass

plant $daemon 's/(struct lust_daemon_opts \{.*?)(\n\};)/$1\n    int planted;$2/s'
gate "a member appended to struct lust_daemon_opts (in its padding)" pass

exit $status
