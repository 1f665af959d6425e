#!/bin/bash
# check_fakeroot_skips.sh COMMAND [ARG...] - a root test run under fakeroot by a user the kernel
# does not see as root, as a buildd's `fakeroot debian/rules binary` runs the tests, skips: it
# exits 77 with a SKIP sentence instead of failing at its first chroot or setresuid. Run as root,
# this script becomes nobody first. Exit 77 itself when fakeroot is missing or nobody cannot
# execute COMMAND (a build tree under a private directory).
set -euo pipefail
. "$(dirname "$0")/kernel_root.sh"
# Under fakeroot already (the package build's binary target), which does not nest.
as=()
if [ -n "${FAKEROOTKEY:-}" ]; then
    fr=()
else
    command -v fakeroot > /dev/null || { echo "SKIP: fakeroot is not installed"; exit 77; }
    fr=(fakeroot)
fi
if kernel_root; then
    as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    "${as[@]}" test -x "$1" -a -r "$1" ||
        { echo "SKIP: nobody cannot execute $1 (a private directory on its path)"; exit 77; }
fi
# libfakeroot comes first in the list of libraries, which AddressSanitizer refuses by default.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

faked=$("${as[@]}" "${fr[@]}" id -u)
[ "$faked" = 0 ] || { echo "FAIL: fakeroot id -u says $faked, so fakeroot fakes nothing here"; exit 1; }

rc=0
out=$("${as[@]}" "${fr[@]}" "$@" 2>&1) || rc=$?
echo "$out"
if [ "$rc" -ne 77 ] || ! grep -q '^SKIP: ' <<< "$out"; then
    echo "FAIL: under fakeroot $1 exited $rc; a root test must skip (77, a SKIP sentence)"
    exit 1
fi
