#!/bin/bash
# check_debian.sh SOURCE_DIR - the packaging check that CI runs (as root).
# Builds liblust1 and liblust-dev from a scratch copy of the tree (dpkg-buildpackage writes into
# the parent folder), requires lintian to report no errors, enforces debian/liblust1.symbols
# against the built library (a removed or unlisted symbol fails even while 1.0.0 is in
# development), installs both packages (README.md and NEWS among liblust-dev's documents),
# builds and runs a consumer with pkg-config alone, checks with dpkg-shlibdeps that a binary
# using the 1.2 entry point depends on liblust1 (>= 1.2.0) and a 1.0 one on (>= 1.0.0), then
# purges them and checks that nothing is left.
# The packages are built as nobody, with `dpkg-buildpackage --rules-requires-root`, in a copy where
# README's test build already ran: its build/ directory makes `debian/rules build` a no-op for
# make, so everything, the tests included, runs in `fakeroot debian/rules binary`, as on a buildd
# given such a tree. The root tests must skip there, and the others pass.
set -euo pipefail
src=$(cd "${1:-.}" && pwd)
. "$src/test/kernel_root.sh"
kernel_root || { echo "SKIP: the packaging check installs packages; run as root"; exit 77; }

tmp=$(mktemp -d)
chmod 0755 "$tmp"
cleanup() {
    apt-get purge -y liblust-dev liblust1 > /dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

cmake_version=$(sed -n 's/^project(lust VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
deb_version=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ "$cmake_version" != "$deb_version" ]; then
    echo "FAIL: debian/changelog is at $deb_version but CMakeLists.txt at $cmake_version"
    exit 1
fi

mkdir "$tmp/pkg" "$tmp/home" "$tmp/pkg/liblust-$deb_version"
git -C "$src" ls-files -z | (cd "$src" && xargs -0 cp --parents -t "$tmp/pkg/liblust-$deb_version")
chown -R nobody:nogroup "$tmp/pkg" "$tmp/home"
cd "$tmp/pkg/liblust-$deb_version"
builder() { setpriv --reuid=nobody --regid=nogroup --clear-groups env HOME="$tmp/home" "$@"; }
echo "--- README's test build (configure and build), as nobody"
{ builder cmake --preset default && builder cmake --build --preset default -j2; } \
    > "$tmp/readme.log" 2>&1 || { tail -60 "$tmp/readme.log"; exit 1; }
echo "--- dpkg-buildpackage --rules-requires-root -us -uc -b, as nobody"
builder dpkg-buildpackage --rules-requires-root -us -uc -b > "$tmp/build.log" 2>&1 ||
    { tail -60 "$tmp/build.log"; exit 1; }
grep -E 'dpkg-gensymbols|warning' "$tmp/build.log" || true
faked=$(grep -c 'fakeroot only pretends' obj-*/Testing/Temporary/LastTest.log || true)
echo "SKIP sentences in the package build that name fakeroot: $faked"
[ "$faked" -ge 4 ] || { echo "FAIL: the root runners did not run under fakeroot"; exit 1; }

echo "--- lintian"
lintian --fail-on error --tag-display-limit 0 "$tmp"/pkg/*.deb

echo "--- symbols file against the built library"
# dpkg-gensymbols only reports a missing symbol when the package version is above the symbol's;
# a version above 1.0.0 makes it compare for real, and -c4 fails on any difference at all.
dpkg-gensymbols -v"$deb_version+ci" -c4 -pliblust1 -Pdebian/liblust1 -O"$tmp/symbols.out"

echo "--- examples in liblust-dev"
dpkg -c "$tmp"/pkg/liblust-dev_*.deb > "$tmp/dev.list"
for f in thread_server.c thread_server.conf thread_server.service thread_server.logrotate \
    simple_server.c skeleton.c CMakeLists.txt; do
    grep -q "/usr/share/doc/liblust-dev/examples/$f\$" "$tmp/dev.list" ||
        { echo "FAIL: liblust-dev lacks examples/$f"; cat "$tmp/dev.list"; exit 1; }
done

echo "--- manual pages in liblust-dev"
for f in man/man7/lust.7.gz man/man5/lust.conf.5.gz man/man3/lust_pidfile.3.gz \
    man/man3/lust_pidfile_open.3.gz man/man3/lust_server_main.3.gz lust/lust-server.8.in \
    doc/liblust-dev/examples/thread_server.8; do
    grep -Eq "/usr/share/$f(\.gz)?( -> .*)?\$" "$tmp/dev.list" ||
        { echo "FAIL: liblust-dev lacks /usr/share/$f"; cat "$tmp/dev.list"; exit 1; }
done

echo "--- install, consume, purge"
apt-get install -y "$tmp"/pkg/liblust1_*.deb "$tmp"/pkg/liblust-dev_*.deb > "$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; exit 1; }
cc -std=c99 -Wall -Werror -o "$tmp/consumer" "$src/test/consumer/consumer.c" \
    $(pkg-config --cflags --libs lust)
"$tmp/consumer" /usr/lib/
for doc in README.md NEWS; do
    [ -e "/usr/share/doc/liblust-dev/$doc" ] || [ -e "/usr/share/doc/liblust-dev/$doc.gz" ] ||
        { echo "FAIL: liblust-dev lacks /usr/share/doc/liblust-dev/$doc"; exit 1; }
done

echo "--- manual pages render from the installed package"
for page in "3 lust_pidfile_open" "7 lust" "5 lust.conf"; do
    # shellcheck disable=SC2086
    out=$(MANWIDTH=80 man -P cat $page 2> "$tmp/man.err") ||
        { echo "FAIL: man $page"; cat "$tmp/man.err"; exit 1; }
    name=${page#* }
    if ! printf '%s\n' "$out" | grep -q "^NAME" || ! printf '%s\n' "$out" | grep -q "$name"; then
        echo "FAIL: man $page does not render its page"
        printf '%s\n' "$out" | head
        exit 1
    fi
    echo "man $page: $(printf '%s\n' "$out" | sed -n '/^NAME/{n;p;q}' | sed 's/^ *//')"
done

echo "--- autopkgtest (debian/tests), each test run directly against the installed packages"
for t in $(sed -n 's/^Tests: //p' debian/tests/control); do
    mkdir "$tmp/autopkgtest-$t"
    AUTOPKGTEST_TMP="$tmp/autopkgtest-$t" "debian/tests/$t" > "$tmp/autopkgtest-$t.log" 2>&1 ||
        { echo "FAIL: debian/tests/$t"; tail -40 "$tmp/autopkgtest-$t.log"; exit 1; }
    tail -1 "$tmp/autopkgtest-$t.log"
done

echo "--- dpkg-shlibdeps: the liblust1 a binary depends on"
# A daemon built with today's lust_server_main() calls an entry point of LUST_1.2 and must get
# (>= 1.2.0): a 1.1 library would refuse its new members only at run time. One built against
# the frozen 1.0 declarations (test/compat) links only LUST_1.0 and must still get (>= 1.0.0).
bindir=$tmp/deps/debian/deps/usr/bin
# DEBIAN/ marks the package's root for dpkg-shlibdeps, which warns about a binary without one.
mkdir -p "$bindir" "$tmp/deps/debian/deps/DEBIAN"
printf 'Source: deps\n\nPackage: deps\nArchitecture: any\n' > "$tmp/deps/debian/control"
cc -Wall -Werror -pthread -o "$bindir/thread_server" \
    /usr/share/doc/liblust-dev/examples/thread_server.c $(pkg-config --cflags --libs lust)
cc -Wall -Werror -o "$bindir/server_1_0" -I"$src/test/compat" "$src/test/compat/server_1_0.c" \
    $(pkg-config --cflags --libs lust)
shlibdeps() { (cd "$tmp/deps" && dpkg-shlibdeps -O "debian/deps/usr/bin/$1"); }
for want in "thread_server liblust1 (>= 1.2.0)" "server_1_0 liblust1 (>= 1.0.0)"; do
    bin=${want%% *}
    line=$(shlibdeps "$bin")
    echo "$bin: $line"
    case "$line" in
    *"${want#* }"*) ;;
    *) echo "FAIL: $bin should depend on ${want#* }"; exit 1 ;;
    esac
done

apt-get purge -y liblust-dev liblust1 > "$tmp/purge.log" 2>&1 || { cat "$tmp/purge.log"; exit 1; }
left=$(ls /usr/include/lust.h /usr/include/lust /usr/lib/*/liblust.so* /usr/lib/*/pkgconfig/lust.pc \
    /usr/lib/*/cmake/lust /usr/share/man/man3/lust_* /usr/share/man/man7/lust.7* /usr/share/lust \
    2>/dev/null || true)
if [ -n "$left" ]; then
    echo "FAIL: files left after purge: $left"
    exit 1
fi
echo "packaging OK: liblust1 and liblust-dev $deb_version built, lintian-clean, installed, consumed, purged"
