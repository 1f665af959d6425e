#!/bin/bash
# examples/demo.sh [BUILD_DIR] - run thread_server the way an operator would, as root:
# start, status, one request on loopback, reload with a new greeting, another request, stop,
# then show its log; it fails if the daemon answers wrongly. thread_server runs in its default
# sandbox (seccomp: Seccomp 2 in its status; its log names the promises). Everything lives in
# /run/thread_server-demo (config, pid file, log, jail) and is removed at the end.
set -euo pipefail
build=${1:-build/release}
bin=$build/examples/thread_server
# A build of the installed examples directory alone puts the binaries at its top.
[ -x "$bin" ] || [ ! -x "$build/thread_server" ] || bin=$build/thread_server
dir=/run/thread_server-demo
port=${DEMO_PORT:-8080}

[ "$(id -u)" -eq 0 ] || { echo "demo.sh: run as root (the daemon starts as root and drops to nobody)"; exit 1; }
[ -x "$bin" ] || { echo "demo.sh: $bin not found; build first"; exit 1; }

rm -rf "$dir"
mkdir -m 0755 -p "$dir/jail"
cat > "$dir/thread_server.conf" <<CONF
listen   = {"127.0.0.1:$port"}
greeting = "HI!"
jail     = "$dir/jail"
pidfile  = "$dir/thread_server.pid"
logfile  = "$dir/thread_server.log"
control_socket = "$dir/thread_server.ctl"
CONF
cleanup() { "$bin" -c "$dir/thread_server.conf" stop > /dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

run() { echo "\$ $*"; "$@"; }
run "$bin" -c "$dir/thread_server.conf" start
run "$bin" -c "$dir/thread_server.conf" status
echo "\$ (a client connects to 127.0.0.1:$port)"
exec 3<> "/dev/tcp/127.0.0.1/$port"
IFS= read -r reply <&3
exec 3<&-
echo "server says: $reply"
[ "$reply" = "HI!" ] || { echo "demo.sh: expected HI!"; exit 1; }
echo "\$ (the greeting is changed in the config, by rename, as editors do)"
sed 's/"HI!"/"HELLO AGAIN!"/' "$dir/thread_server.conf" > "$dir/thread_server.conf.new"
mv "$dir/thread_server.conf.new" "$dir/thread_server.conf"
run "$bin" -c "$dir/thread_server.conf" reload
exec 3<> "/dev/tcp/127.0.0.1/$port"
IFS= read -r reply <&3
exec 3<&-
echo "server says: $reply"
[ "$reply" = "HELLO AGAIN!" ] || { echo "demo.sh: expected HELLO AGAIN! after reload"; exit 1; }
pid=$(cat "$dir/thread_server.pid")
echo "\$ grep -E 'Uid|NoNewPrivs|CapBnd|Seccomp:' /proc/$pid/status; readlink /proc/$pid/root"
grep -E '^(Uid|NoNewPrivs|CapBnd|Seccomp):' "/proc/$pid/status"
readlink "/proc/$pid/root"
run "$bin" -c "$dir/thread_server.conf" stop
set +e
run "$bin" -c "$dir/thread_server.conf" status
st=$?
echo "(exit status $st means: not running)"
set -e
[ "$st" -eq 3 ] || { echo "demo.sh: status after stop should exit 3"; exit 1; }
echo "\$ cat $dir/thread_server.log"
cat "$dir/thread_server.log"
