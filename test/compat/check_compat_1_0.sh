#!/bin/bash
# check_compat_1_0.sh BIN - a binary built against liblust 1.0's declarations (server_1_0.c)
# against the library of this tree: it links only LUST_1.0 symbols, and as root it starts
# (jailed, as nobody), answers status, takes a reload through the control socket, refuses a
# bad one, logs at the levels it meant, and stops. Exit 77 (skipped) when the kernel does not see
# root (test/kernel_root.sh: fakeroot is not root).
set -euo pipefail
. "$(dirname "$0")/../kernel_root.sh"
kernel_root || { echo "SKIP: starts a daemon as root, and the kernel does not see root here"; exit 77; }
bin=$(realpath "$1")

undefined=$(nm -D --undefined-only --with-symbol-versions "$bin" | awk '{ print $2 }' | grep '^lust_')
echo "$undefined"
if echo "$undefined" | grep -v '@LUST_1\.0$'; then
    echo "FAIL: the 1.0 binary needs symbols of another node (above)"
    exit 1
fi

dir=$(mktemp -d /run/lust-compat-XXXXXX)
chmod 0755 "$dir"
mkdir -m 0755 "$dir/jail"
cleanup() { "$bin" -c "$dir/c.conf" stop > /dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
# No /proc in the jail: LeakSanitizer (ASan builds) would abort the daemon at exit.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
conf() {
    cat > "$dir/c.conf.new" <<CONF
jail = "$dir/jail"
pidfile = "$dir/c.pid"
logfile = "$dir/c.log"
control_socket = "$dir/c.ctl"
greeting = "$1"
CONF
    mv "$dir/c.conf.new" "$dir/c.conf"
}
expect() { # expect STATUS CMD...: run the daemon's command, require its exit status
    local want=$1 got=0
    shift
    "$bin" -c "$dir/c.conf" "$@" > "$dir/out" 2>&1 || got=$?
    cat "$dir/out"
    [ "$got" -eq "$want" ] || { echo "FAIL: '$*' exited $got, want $want"; exit 1; }
}
in_log() { grep -q -- "$1" "$dir/c.log" || { cat "$dir/c.log"; echo "FAIL: no '$1' in the log"; exit 1; }; }

conf HELLO
expect 0 start
pid=$(sed -n 's/.*started (pid \([0-9]*\)).*/\1/p' "$dir/out")
expect 0 status
for _ in $(seq 100); do grep -q "serving" "$dir/c.log" && break; sleep 0.1; done
in_log " INFO 1.0 daemon serving, greeting HELLO"
[ "$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")" = 65534 ] || { echo "FAIL: not nobody"; exit 1; }
conf AGAIN
expect 0 reload
in_log " NOTICE 1.0 daemon reloaded, greeting AGAIN"
conf ""
expect 1 reload
grep -q "greeting must not be empty" "$dir/out" || { echo "FAIL: no refusal sentence"; exit 1; }
expect 0 stop
expect 3 status
# Gone, or a zombie its new parent has not reaped yet: it runs no more.
state=$(awk '/^State:/ { print $2 }' "/proc/$pid/status" 2> /dev/null || true)
[ -z "$state" ] || [ "$state" = Z ] || { echo "FAIL: pid $pid still runs after stop"; exit 1; }
echo "compat OK: a liblust 1.0 binary started, reloaded and stopped against liblust $("$bin" -V)"
