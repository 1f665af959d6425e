/*
 * test/bench/holder.h - the pid file's lock holder, and stopping it: what floor_daemon and
 * hand_daemon share, both written without liblust.
 *
 * The kernel, not the file's text, says who runs: F_GETLK names the process holding the write
 * lock. A holder is signalled through a pidfd taken and then re-checked against the lock, so a
 * pid reused in between is never signalled; without pidfds (kernels before 5.3, valgrind 3.19)
 * a blocking read lock waits for the kernel to drop the holder's lock at its exit.
 */
#ifndef BENCH_HOLDER_H
#define BENCH_HOLDER_H

#include <sys/types.h>

/* The pid holding a write lock on fd; 0 when unlocked; -1 on error or an unusable pid (another
 * pid namespace: l_pid 0; an OFD lock: -1; a read lock, which is no server's). */
pid_t holder_of(int fd);

/* TERM to pid, the holder of fd's lock, then wait until it is gone; KILL after timeout_ms
 * (-1: no limit). Returns 0 when it is gone (or was already), -1 when it could not be stopped;
 * the reason is printed to stderr after prog's name. */
int holder_stop(const char *prog, int fd, pid_t pid, int timeout_ms);

#endif
