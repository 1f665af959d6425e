#!/bin/sh
# check_abi.sh SOURCE_DIR LIB ABI_DIR HEADER_DIR...
# Compares the built library's ABI with every baseline in ABI_DIR: liblust-X.Y.Z.abi, the ABI
# of each release (never edited), and liblust.abi, the tree's own (refreshed with the
# abi-baseline target when something is added on purpose). Anything abidiff reports other than
# an added symbol fails, with one allowance: members added at the end of the structs listed in
# ABI_DIR/growable, which are cut from the build's dump (abi_cut_growth.awk) before a baseline
# that lacks them is compared. Every non-zero abidiff status is a failure (a changed parameter
# type sets only bit 4).
#
# Both sides are XML written by abi_dump.sh with the same options. Reading the library itself
# with --drop-private-types against a baseline written without source locations would not do:
# abidiff then finds no type of the baseline in a public header and filters every change to
# them as private, so a reordered callback struct passed as "ABI OK". Nor would an abidiff
# suppression for the growable structs: it hides a reorder that comes with an addition.
# A library without debug info would compare as unchanged whatever was done to it, so that is
# refused first. Removing or changing a function needs a new SONAME instead.
set -eu
src=$1 lib=$2 abidir=$3; shift 3
here=$(dirname "$0")
if ! readelf -S "$lib" | grep -q '\.debug_info'; then
    echo "FAIL: $lib has no .debug_info; the ABI check needs a build with -g"
    exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$here/abi_dump.sh" "$src" "$lib" "$tmp/build.abi" "$@"

# The size of struct $1 in baseline $2, and the offset of its last member there ("" if none).
struct_size() {
    sed -n "s/.*<class-decl name='$1' size-in-bits='\([0-9]*\)'.*/\1/p" "$2" | head -n 1
}
last_member() {
    awk -v pat="<class-decl name='$1' size-in-bits=" '
        index($0, pat) { inside = 1 }
        inside && /<data-member / { o = $0; sub(".*layout-offset-in-bits=\x27", "", o);
                                    sub("\x27.*", "", o); if (o + 0 > max) max = o + 0 }
        inside && /<\/class-decl>/ { print max; exit }' "$2"
}

status=0
for base in "$abidir"/*.abi; do
    cp "$tmp/build.abi" "$tmp/cut.abi"
    for name in $(grep -v '^#' "$abidir/growable"); do
        size=$(struct_size "$name" "$base")
        [ -n "$size" ] || continue
        awk -v name="$name" -v size="$size" -v last="$(last_member "$name" "$base")" \
            -f "$here/abi_cut_growth.awk" "$tmp/cut.abi" > "$tmp/next.abi"
        mv "$tmp/next.abi" "$tmp/cut.abi"
    done
    set +e
    abidiff --no-added-syms "$base" "$tmp/cut.abi"
    rc=$?
    set -e
    if [ $rc -ne 0 ]; then
        echo "FAIL: abidiff exit status $rc: the ABI of $lib differs from $base (see above)"
        status=1
    else
        echo "ABI OK: $lib keeps everything $base has (additions allowed)"
    fi
done
exit $status
