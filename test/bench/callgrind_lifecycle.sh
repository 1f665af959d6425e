#!/bin/sh
# callgrind_lifecycle.sh - deterministic costs of start, status and stop: thread_server beside
# hand_daemon (its job written by hand) and floor_daemon (the bare minimum).
#
#     test/bench/callgrind_lifecycle.sh [BUILD_DIR [RESULTS_DIR [EXTRA_CONFIG]]]
#
# BUILD_DIR defaults to build/release (`cmake --workflow --preset release`). Run as root from
# the top of the tree, on loopback ports 18180-18182; needs valgrind (callgrind_annotate) and
# strace. Everything runs in a fresh /run/lust-cg-XXXXXX, removed at the end; the raw data
# (callgrind files, callgrind_annotate listings, strace and LD_DEBUG logs) stay in RESULTS_DIR
# (default: a fresh /tmp/lust-cg-results-XXXXXX). EXTRA_CONFIG is a file of lines appended to
# thread_server's and hand_daemon's generated config (e.g. `control_socket = "none"`).
#
# Per program and phase it prints:
#   instructions  callgrind's Ir. start counts every process until the daemon is ready: the
#                 starting process (all of it), the intermediate one, and the daemon up to the
#                 readiness report (--dump-before=lust_daemon_ready, hand_daemon's tell, or
#                 floor_daemon's report). A dump before each fork zeroes the counters the child
#                 would otherwise inherit, so nothing is counted twice. Split by object: ld.so
#                 (the dynamic linker, lazy binding included), libc, liblust, libconfuse, the
#                 program itself, other (libgcc_s ...). Then the top functions by self cost,
#                 merged over the processes.
#   lazy binds    calls of _dl_fixup (first calls through the PLT), from the same callgrind data.
#   syscalls      from `strace -f`: for start, every process until the daemon's readiness
#                 report, which is where its count is cut; for status and stop, all.
#   LD_DEBUG      for status and stop, the symbol bindings that glibc reports after it
#                 transferred control to the program (LD_DEBUG=libs,bindings): the lazy ones, and
#                 those of anything dlopen()ed. (Not for start: the daemon closes every inherited
#                 descriptor, LD_DEBUG_OUTPUT's too, and later lines would land in whatever file
#                 reuses its number.)
# Under valgrind 3.19 pidfd_open is ENOSYS: the stop commands then wait on the pid file's lock
# and thread_server's start polls /proc/PID/stat every 50 ms, a little noise in the starting
# process's count (shown apart, per process). During the start under callgrind the jail holds
# the directories of the daemon's dump path, so the jail scan counts a few entries that an
# empty jail (strace's and LD_DEBUG's runs, lifecycle_bench) does not have. Exit status: 0, 1 on failure, 77 when not root.
set -eu

BUILD=${1:-build/release}
RESULTS=${2:-}
EXTRA=${3:-}
PORT=18180
TS=$BUILD/examples/thread_server
HAND=$BUILD/test/bench/hand_daemon
FLOOR=$BUILD/test/bench/floor_daemon
PROGS="thread_server hand floor"

if [ "$(id -u)" != 0 ]; then
    echo "callgrind_lifecycle: needs root (jail, user drop, /run); skipped"
    exit 77
fi
for tool in valgrind callgrind_annotate strace; do
    command -v $tool >/dev/null || {
        echo "callgrind_lifecycle: $tool is missing (apt-get install valgrind strace)" >&2
        exit 1
    }
done
for p in "$TS" "$HAND" "$FLOOR"; do
    [ -x "$p" ] || {
        echo "callgrind_lifecycle: $p: not built (cmake --workflow --preset release)" >&2
        exit 1
    }
done
TS=$(realpath "$TS")
HAND=$(realpath "$HAND")
FLOOR=$(realpath "$FLOOR")

W=$(mktemp -d /run/lust-cg-XXXXXX)
chmod 755 "$W" # a jail's every component is root's and writable by no one else
[ -n "$RESULTS" ] || RESULTS=$(mktemp -d /tmp/lust-cg-results-XXXXXX)
mkdir -p "$RESULTS"
RESULTS=$(realpath "$RESULTS")

# The command line of program $1 for verb $2.
cmd() {
    case $1 in
    thread_server) echo "$TS -c $W/$1/conf $2" ;;
    hand) echo "$HAND -c $W/$1/conf $2" ;;
    floor) echo "$FLOOR -p $W/$1/pid -l 127.0.0.1:$(port $1) $2" ;;
    esac
}

port() {
    case $1 in
    thread_server) echo $PORT ;;
    hand) echo $((PORT + 1)) ;;
    floor) echo $((PORT + 2)) ;;
    esac
}

# The function each daemon calls to report "ready" to the starting process.
ready_fn() {
    case $1 in
    thread_server) echo lust_daemon_ready ;;
    hand) echo tell ;;
    floor) echo report ;;
    esac
}

# The readiness report as strace shows it.
ready_re() {
    case $1 in
    thread_server) echo 'send(to)?\([0-9]+, "R [0-9]+\\n"' ;;
    hand) echo 'write\([0-9]+, "0 [0-9]+\\n"' ;;
    floor) echo 'write\([0-9]+, "\\0\\0\\0\\0' ;;
    esac
}

cleanup() {
    for p in $PROGS; do
        [ -d "$W/$p" ] && $(cmd $p stop) >/dev/null 2>&1 || true
    done
    rm -rf "$W"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

for p in $PROGS; do
    mkdir -p "$W/$p/jail"
    cat >"$W/$p/conf" <<EOF
listen = {"127.0.0.1:$(port $p)"}
pidfile = "$W/$p/pid"
jail = "$W/$p/jail"
user = "nobody"
logfile = "$W/$p/log"
control_socket = "$W/$p/ctl"
EOF
    # thread_server's default sandbox is off here, as in lifecycle_bench's daemon: valgrind
    # knows neither seccomp nor Landlock, and the sandbox's cost is lifecycle_bench's to show.
    if [ $p = thread_server ]; then
        echo "sandbox = off" >>"$W/$p/conf"
    fi
    if [ -n "$EXTRA" ] && [ $p != floor ]; then
        cat "$EXTRA" >>"$W/$p/conf"
    fi
done

run() { # program, verb: runs it natively, quietly, failing the script if it fails
    $(cmd "$1" "$2") >"$W/$1/out" 2>&1 || {
        echo "callgrind_lifecycle: \`$(cmd "$1" "$2")\` failed:" >&2
        cat "$W/$1/out" "$W/$1/log" >&2 2>/dev/null
        exit 1
    }
}

holder() { # the pid in program $1's pid file
    tr -dc 0-9 <"$W/$1/pid"
}

# callgrind's files: per function self cost, by object; calls of _dl_fixup. Reads the files
# named on its command line; prints "obj<TAB>fn<TAB>Ir" lines and a "#fixups N" line.
cg_self() {
    awk '
    function nm(s, tab,   id) {
        if (match(s, /^\([0-9]+\)/)) {
            id = substr(s, 1, RLENGTH)
            if (length(s) > RLENGTH) tab[id] = substr(s, RLENGTH + 2)
            return tab[id]
        }
        return s
    }
    FNR == 1 { ob = ""; fn = ""; after = 0; delete obs; delete fns }
    /^ob=/ { ob = nm(substr($0, 4), obs); next }
    /^cob=/ { nm(substr($0, 5), obs); next }
    /^fn=/ { fn = nm(substr($0, 4), fns); next }
    /^cfn=/ { cfn = nm(substr($0, 5), fns); next }
    /^calls=/ { split(substr($0, 7), a, " "); if (cfn == "_dl_fixup") fix += a[1]; after = 1; next }
    /^[0-9+*-]/ { if (after) { after = 0; next } self[ob "\t" fn] += $2 }
    END { for (k in self) print k "\t" self[k]; print "#fixups\t\t" fix + 0 }
    ' "$@"
}

obj_class() { # reads cg_self lines, prints "total ld.so libc liblust libconfuse program other fixups"
    awk -F'\t' '
    $1 == "#fixups" { fix = $3; next }
    {
        c = "other"
        if ($1 ~ /ld-linux/) c = "ld"
        else if ($1 ~ /libc\.so/) c = "libc"
        else if ($1 ~ /liblust/) c = "lust"
        else if ($1 ~ /libconfuse/) c = "confuse"
        else if ($1 ~ /(thread_server|hand_daemon|floor_daemon)$/) c = "prog"
        s[c] += $3; t += $3
    }
    END { printf "%9d %8d %8d %8d %8d %8d %8d %6d\n", t, s["ld"], s["libc"], s["lust"], s["confuse"], s["prog"], s["other"], fix }'
}

# Inclusive Ir of the steps worth naming, summed over the counted files (they overlap: lazy
# binding is also inside the step that made the first call).
STEPS='_dl_start _dl_fixup dlopen@@GLIBC_2.34
lust_config_load cfg_init cfg_parse lust_config_free cfg_free lust_privs_lookup getpwnam getgrnam
lust_pidfile_query lust_daemonize become_server daemon_main bind_all listen_on control_listen
lust_privs_jail_enter lust_privs_drop lust_pidfile_open take_pidfile lust_log_setup_fd
start_signal_thread pthread_create@@GLIBC_2.34 malloc_trim lust_log_v logline cmd_stop cmd_status
remove_control exit'
steps() {
    for f in "$@"; do
        callgrind_annotate --inclusive=yes --threshold=100 "$f" 2>/dev/null
    done | awk -v steps="$STEPS" '
    BEGIN { n = split(steps, a); for (i = 1; i <= n; i++) want[a[i]] = i }
    /^ *[0-9,]+ +\(/ {
        fn = $0; sub(/^[^:]*:/, "", fn); sub(/ \[.*/, "", fn)
        if (fn in want) { c = $1; gsub(/,/, "", c); sum[fn] += c }
    }
    END { for (k in sum) printf "%d %s %d\n", want[k], k, sum[k] }' | sort -n |
        awk '{ printf "%s %s=%d", (NR % 4 == 1 && NR > 1 ? "\n   " : ""), $2, $3 } END { print "" }'
}

top_fns() { # reads cg_self lines, prints the N costliest functions
    grep -v '^#fixups' | sort -t"$(printf '\t')" -k3,3nr | head -n "$1" |
        awk -F'\t' '{ o = $1; sub(/.*\//, "", o); printf "      %8d  %s [%s]\n", $3, $2, o }'
}

# One callgrind run of program $1, verb $2, into $RESULTS/cg/$1.$2; for start the daemon is
# stopped afterwards. Leaves the list of files that count in $W/files.
callgrind_phase() {
    p=$1 verb=$2
    out=$RESULTS/cg/$p.$verb
    rm -rf "$out"
    mkdir -p "$out"
    # The jailed daemon dumps inside its jail, as nobody: the same path below the jail. Only
    # for start (the daemon it starts is the one that dumps there), and emptied afterwards:
    # every start scans its jail, and the hand-written floor scans nothing.
    if [ "$verb" = start ]; then
        mkdir -p "$W/$p/jail$out"
        chown nobody "$W/$p/jail$out"
    fi
    valgrind --tool=callgrind --trace-children=yes --vgdb=no --callgrind-out-file="$out/cg.%p" \
        --dump-before=fork --dump-before="$(ready_fn "$p")" \
        $(cmd "$p" "$verb") >"$W/$p/out" 2>"$out/valgrind.log" || {
        echo "callgrind_lifecycle: \`$(cmd "$p" "$verb")\` under callgrind failed" >&2
        cat "$W/$p/out" "$out/valgrind.log" >&2
        exit 1
    }
    daemon=""
    if [ "$verb" = start ]; then
        daemon=$(holder "$p")
        run "$p" stop
        cp "$W/$p/jail$out"/cg.* "$out/" 2>/dev/null || true
        find "$W/$p/jail" -mindepth 1 -delete
    fi
    # Everything but the daemon's part after it reported ready.
    echo "$daemon" >"$out/daemon"
    ls "$out"/cg.* | grep -v "/cg\.$daemon\$" >"$out/counted"
    cp "$out/counted" "$W/files"
    for f in $(cat "$W/files"); do
        callgrind_annotate --threshold=100 --inclusive=no "$f" >"$f.annotate" 2>/dev/null || true
    done
}

# Syscalls of one run under strace -f; for start, cut at the daemon's readiness report.
strace_phase() {
    p=$1 verb=$2
    log=$RESULTS/strace/$p.$verb
    mkdir -p "$RESULTS/strace"
    rm -f "$log"
    # -D: the tracer is a detached grandchild, so this returns once `start` does, while the
    # daemon is still traced.
    strace -D -f -o "$log" $(cmd "$p" "$verb") >"$W/$p/out" 2>&1 || {
        echo "callgrind_lifecycle: \`$(cmd "$p" "$verb")\` under strace failed" >&2
        exit 1
    }
    daemon=0
    if [ "$verb" = start ]; then
        daemon=$(holder "$p")
        run "$p" stop
        for _ in $(seq 100); do # the tracer writes the daemon's exit last
            grep -q "^$daemon  *+++ exited" "$log" && break
            sleep 0.05
        done
    fi
    awk -v daemon="$daemon" -v ready="$(ready_re "$p")" '
    $2 ~ /^<\.\.\./ || $2 ~ /^(\+\+\+|---)/ { next }
    $1 == daemon && cut { next }
    {
        name = $2; sub(/\(.*/, "", name)
        if (name !~ /^[a-z_0-9]+$/) next
        n[name]++; total++
        if ($1 == daemon && $0 ~ ready) cut = 1
    }
    END {
        printf "%d", total
        for (k in n) printf " %s:%d", k, n[k]
        printf "\n"
    }' "$log" >"$log.count"
}

ld_debug_phase() { # bindings reported after control passed to the program, all processes
    p=$1 verb=$2
    mkdir -p "$RESULTS/ld"
    rm -f "$RESULTS/ld/$p.$verb".*
    LD_DEBUG=libs,bindings LD_DEBUG_OUTPUT=$RESULTS/ld/$p.$verb $(cmd "$p" "$verb") \
        >"$W/$p/out" 2>&1 || exit 1
    cat "$RESULTS/ld/$p.$verb".* |
        awk '/transferring control/ { on = 1 } on && /binding file/ { n++ } END { print n + 0 }'
}

echo "callgrind_lifecycle: thread_server $TS"
echo "                     hand          $HAND"
echo "                     floor         $FLOOR"
echo "raw data in $RESULTS"

for p in $PROGS; do
    callgrind_phase "$p" start
    cg_self $(cat "$W/files") >"$RESULTS/$p.start.self"
    run "$p" start
    for verb in status stop; do
        callgrind_phase "$p" $verb
        cg_self $(cat "$W/files") >"$RESULTS/$p.$verb.self"
    done
    strace_phase "$p" start
    run "$p" start
    strace_phase "$p" status
    strace_phase "$p" stop
    run "$p" start
    ld_debug_phase "$p" status >"$RESULTS/$p.status.ld"
    ld_debug_phase "$p" stop >"$RESULTS/$p.stop.ld"
done

for verb in start status stop; do
    echo
    echo "== $verb: instructions (callgrind Ir) by object; lazy bindings; syscalls"
    printf "%-14s %9s %8s %8s %8s %8s %8s %8s %6s %8s %8s\n" program total ld.so libc liblust \
        libconfuse program other lazy syscalls LD_DEBUG
    for p in $PROGS; do
        row=$(obj_class <"$RESULTS/$p.$verb.self")
        sc=$(cut -d' ' -f1 "$RESULTS/strace/$p.$verb.count")
        ld=-
        [ -f "$RESULTS/$p.$verb.ld" ] && ld=$(cat "$RESULTS/$p.$verb.ld")
        printf "%-14s %s %8s %8s\n" "$p" "$row" "$sc" "$ld"
    done
    if [ $verb = start ]; then
        echo "  per process, in pid order (starting, intermediate, daemon until ready), then the"
        echo "  daemon from ready to its exit (idle, then its side of the stop):"
        for p in $PROGS; do
            printf "    %-14s" "$p"
            for f in $(cat "$RESULTS/cg/$p.start/counted"); do
                pid=${f##*/cg.}
                echo "${pid%%.*} $(sed -n 's/^totals: //p' "$f")"
            done | awk '{ s[$1] += $2 } END { for (p in s) print p, s[p] }' | sort -n |
                awk '{ printf " %9d", $2 }'
            printf "   after ready: %s\n" \
                "$(sed -n 's/^totals: //p' "$RESULTS/cg/$p.start/cg.$(cat "$RESULTS/cg/$p.start/daemon")")"
        done
    fi
    for p in thread_server hand; do
        printf "  steps, %s (inclusive Ir, overlapping):\n   " "$p"
        steps $(cat "$RESULTS/cg/$p.$verb/counted")
    done
    for p in thread_server hand; do
        echo "  top functions, $p (self Ir):"
        top_fns 14 <"$RESULTS/$p.$verb.self"
    done
    for p in thread_server hand; do
        printf "  syscalls, %s:\n   " "$p"
        tr ' ' '\n' <"$RESULTS/strace/$p.$verb.count" | sed 1d | sort -t: -k2,2nr |
            awk -F: '{ printf "%s %s:%s", (NR % 8 == 1 && NR > 1 ? "\n    " : ""), $1, $2 } END { print "" }'
    done
done
