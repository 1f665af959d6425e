# test/kernel_root.sh - sourced by the shell tests. kernel_root succeeds when the kernel sees this
# shell as root, as not_root() in test/lust_test.c decides for the Check runners: effective uid 0
# and CAP_SETGID, CAP_SETUID, CAP_NET_BIND_SERVICE and CAP_SYS_CHROOT, read from the shell's own
# /proc/self/status. `id -u` asks libc, and under fakeroot libc answers 0.
kernel_root() {
    local key first second rest euid='' eff=0
    while read -r key first second rest; do
        case $key in
        Uid:) euid=$second ;;
        CapEff:) eff=$first ;;
        esac
    done < /proc/self/status
    local need=$((1 << 6 | 1 << 7 | 1 << 10 | 1 << 18))
    [ "$euid" = 0 ] && (((16#$eff & need) == need))
}
