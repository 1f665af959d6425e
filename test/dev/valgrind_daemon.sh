#!/usr/bin/env bash
# test/dev/valgrind_daemon.sh BUILD_DIR - valgrind over a real daemon, not only the unit tests:
# thread_server (no jail, so valgrind's own files stay reachable) started as root under
# valgrind, which follows its forks, then status, a request, reload through the control socket,
# SIGHUP, a log rotation with reopen, stop. Fails on any valgrind error in any of its
# processes, or when a step does not do what it says. Loopback only; a temp dir under /run.
# The sandbox is off: valgrind runs the program on a CPU of its own and knows neither seccomp
# filters nor Landlock (thread_server's default would start without them and log so); the
# sandboxed daemon is tested natively and under the sanitizers.
set -euo pipefail
build=${1:?usage: valgrind_daemon.sh BUILD_DIR}
bin=$(realpath "$build/examples/thread_server")
dir=$(mktemp -d /run/lust-vg-XXXXXX)
chmod 0755 "$dir"
port=
for p in $(shuf -i 20000-60000 -n 50); do
    if [ -z "$(ss -Hltn "sport = :$p")" ]; then port=$p; break; fi
done
[ -n "$port" ] || { echo "FAIL: no free port found"; exit 1; }
cleanup() { "$bin" -c "$dir/t.conf" stop > /dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT

cat > "$dir/t.conf" <<CONF
listen = {"127.0.0.1:$port"}
jail = none
pidfile = "$dir/t.pid"
logfile = "$dir/t.log"
control_socket = "$dir/t.ctl"
sandbox = off
CONF
echo "valgrind_daemon: the sandbox is off (valgrind knows neither seccomp filters nor Landlock)"
greet() { exec 3<> "/dev/tcp/127.0.0.1/$port"; IFS= read -r reply <&3; exec 3<&-; echo "$reply"; }

valgrind --error-exitcode=9 --trace-children=no --leak-check=full \
    --errors-for-leak-kinds=definite --log-file="$dir/vg.%p" "$bin" -c "$dir/t.conf" start
"$bin" -c "$dir/t.conf" status
[ "$(greet)" = "HI!" ]
sed -i 's/^listen.*/&\ngreeting = "AGAIN"/' "$dir/t.conf"
"$bin" -c "$dir/t.conf" reload
[ "$(greet)" = "AGAIN" ]
kill -HUP "$(cat "$dir/t.pid")"
mv "$dir/t.log" "$dir/t.log.1"
"$bin" -c "$dir/t.conf" reopen
grep -q "log reopened" "$dir/t.log"
"$bin" -c "$dir/t.conf" stop
grep -q "exiting with status 0" "$dir/t.log"
# Every process valgrind followed (the command, the middle child, the daemon) wrote a summary.
if grep -L 'ERROR SUMMARY: 0 errors' "$dir"/vg.* | grep -q . ||
    grep -l 'definitely lost: [1-9]' "$dir"/vg.*; then
    cat "$dir"/vg.*
    echo "FAIL: valgrind found errors in the daemon"
    exit 1
fi
echo "valgrind over the daemon: clean ($(ls "$dir"/vg.* | wc -l) processes)"
