#!/bin/sh
# check_headers.sh CC CXX INCLUDE_DIR... -- HEADER...
# Each public header must compile alone as strict C99 (so it includes what it uses and needs no
# GNU extension) and lust.h must compile as C++ (extern "C" guards present, no C-only syntax).
set -eu
cc=$1 cxx=$2; shift 2
incs=""
while [ "$1" != "--" ]; do incs="$incs -I$1"; shift; done
shift
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0
for h in "$@"; do
    printf '#include <%s>\n#include <%s>\nint lust_header_test_dummy;\n' "$h" "$h" > "$tmp/t.c"
    # shellcheck disable=SC2086
    if ! $cc -std=c99 -pedantic -Werror -Wall -Wextra $incs -c "$tmp/t.c" -o "$tmp/t.o"; then
        echo "FAIL: $h does not compile alone as C99 (or is not idempotent)"; status=1
    fi
done
printf '#include <lust.h>\nint main() { return lust_version() == 0; }\n' > "$tmp/t.cc"
# shellcheck disable=SC2086
if ! $cxx -std=c++11 -pedantic -Werror -Wall -Wextra $incs -c "$tmp/t.cc" -o "$tmp/t.o"; then
    echo "FAIL: lust.h does not compile as C++"; status=1
fi
[ $status -eq 0 ] && echo "headers OK: $# headers compiled alone as C99, lust.h as C++"
exit $status
