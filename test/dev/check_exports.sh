#!/bin/sh
# check_exports.sh LIB MAP SYMBOLS
# Fails when the built library's exports and the version script disagree in any way: a symbol
# exported but not in the map, one exported without a version, a name the map lists that is not
# exported (a typo, or a missing LUST_API), a SONAME other than liblust.so.1, or a map and
# debian/liblust1.symbols that list different names.
set -eu
lib=$1 map=$2 symbols=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
status=0

soname=$(readelf -d "$lib" | sed -n 's/.*Library soname: \[\(.*\)\]/\1/p')
if [ "$soname" != "liblust.so.1" ]; then
    echo "FAIL: SONAME is '$soname', want liblust.so.1"; status=1
fi

# Names the map lists, by node: "NODE NAME" lines, comments and the local catch-all removed.
strip_comments() { perl -0pe 's{/\*.*?\*/}{}gs' "$1"; }
strip_comments "$map" | awk '
    /^[ \t]*[A-Z0-9_.]+[ \t]*\{/ { node = $1; next }
    /local:/ { local = 1; next }
    /global:/ { local = 0; next }
    /\}/ { local = 0; next }
    !local && /^[ \t]*[A-Za-z_][A-Za-z0-9_]*;/ { gsub(/[ \t;]/, ""); print node, $0 }
' | sort > "$tmp/map"
[ -s "$tmp/map" ] || { echo "FAIL: no names found in $map"; exit 1; }
if strip_comments "$map" | grep -v '^[ \t]*\*;' | grep -q '[*?]'; then
    echo "FAIL: $map uses a glob outside 'local: *;': name every symbol"; status=1
fi

# What the library defines and exports, with versions: "NAME@@NODE", or "NAME" if unversioned.
nm -D --defined-only --with-symbol-versions "$lib" | awk '$2 != "A" { print $3 }' | sort > "$tmp/exported"
while read -r sym; do
    case "$sym" in
    *@@*) name=${sym%@@*} node=${sym#*@@} ;;
    *@*) name=${sym%@*} node=${sym#*@} ;;
    *) echo "FAIL: $sym is exported without a version"; status=1; continue ;;
    esac
    case "$name" in
    lust_*) ;;
    *) echo "FAIL: $name@$node is exported but is not a lust_ name"; status=1 ;;
    esac
    case "$name" in
    lust__*) echo "FAIL: internal $name is exported"; status=1 ;;
    esac
    if ! grep -qx "$node $name" "$tmp/map"; then
        echo "FAIL: $name@$node is exported but the map does not list it in $node"; status=1
    fi
    echo "$node $name" >> "$tmp/got"
done < "$tmp/exported"
touch "$tmp/got"
sort -o "$tmp/got" "$tmp/got"
comm -23 "$tmp/map" "$tmp/got" | while read -r node name; do
    echo "FAIL: the map lists $name in $node but the library does not export it (typo, or no LUST_API?)"
    echo x >> "$tmp/missing"
done
[ -e "$tmp/missing" ] && status=1

# debian/liblust1.symbols must list exactly the same name@node pairs (and each node itself).
sed -n 's/^ \([A-Za-z_0-9]*\)@\([A-Z0-9_.]*\) .*/\2 \1/p' "$symbols" | awk '$1 != $2' | sort > "$tmp/deb"
if ! cmp -s "$tmp/map" "$tmp/deb"; then
    echo "FAIL: $symbols and $map list different symbols (< map, > symbols file):"
    diff "$tmp/map" "$tmp/deb" || true
    status=1
fi
for node in $(awk '{ print $1 }' "$tmp/map" | sort -u); do
    grep -q "^ $node@$node " "$symbols" || { echo "FAIL: $symbols lacks the node line $node@$node"; status=1; }
done

if [ $status -eq 0 ]; then
    echo "exports OK: $(wc -l < "$tmp/got") symbols, all versioned and listed; SONAME $soname"
fi
exit $status
