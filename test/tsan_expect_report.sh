#!/bin/sh
# tsan_expect_report.sh PROGRAM - passes only when PROGRAM, built with ThreadSanitizer, reports
# a data race with liblust's lust_config_load_fd on one side and exits 66 (TSan's exit code).
# What PROGRAM printed is shown either way.
out=$("$1" 2>&1)
rc=$?
printf '%s\n' "$out"
if [ "$rc" -ne 66 ]; then
    echo "FAIL: exit status $rc, want 66 (a ThreadSanitizer report)"
    exit 1
fi
if ! printf '%s\n' "$out" | grep -q 'WARNING: ThreadSanitizer: data race'; then
    echo "FAIL: no data race reported"
    exit 1
fi
if ! printf '%s\n' "$out" | grep -q 'lust_config_load_fd'; then
    echo "FAIL: the report does not show liblust's side of the race: is the library instrumented?"
    exit 1
fi
echo "ThreadSanitizer caught the planted race"
