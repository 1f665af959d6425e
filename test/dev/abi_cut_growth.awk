# abi_cut_growth.awk - cut from an ABI dump (abi_dump.sh) what a newer build added at the end
# of a growable struct, so it can be compared strictly with an older baseline.
#     awk -v name=lust_server_ops -v size=BITS -v last=BITS -f abi_cut_growth.awk build.abi
# size is the struct's size in the baseline, last the offset of its last member there. Members
# after `last` go, and a larger size becomes `size`; everything else is left for abidiff to
# judge, so a member inserted earlier still shows (the baseline's last member moves past
# `last` and is missing).
BEGIN { pat = "<class-decl name='" name "' size-in-bits='" }
index($0, pat) {
    inside = 1
    n = $0
    sub(".*size-in-bits='", "", n)
    sub("'.*", "", n)
    if (n + 0 > size + 0)
        sub("size-in-bits='" n "'", "size-in-bits='" size "'")
}
inside && /<data-member / {
    off = $0
    sub(".*layout-offset-in-bits='", "", off)
    sub("'.*", "", off)
    skipping = off + 0 > last + 0
}
{ if (!skipping) print }
inside && /<\/data-member>/ { skipping = 0 }
inside && /<\/class-decl>/ { inside = 0 }
