/* test/check_pidfile.c - pid files: locking, the kernel's word on the holder, hostile files. */
#include "lust_test.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <lust.h>

#include "pidfile_fixture.h"

#define SENTINEL ((pid_t)424242)

static int query(pid_t *holder)
{
    return lust_pidfile_query(pidpath, holder);
}

START_TEST(open_writes_our_pid_in_a_0600_file_with_cloexec)
{
    umask(0); /* the 0600 must come from the library, not from the umask */
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    ck_assert_str_eq(read_file(pidpath), want);
    struct stat st;
    ck_assert_int_eq(stat(pidpath, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    ck_assert_int_eq(lust_pidfile_pid(pf), getpid());
    int fd = lust_pidfile_fd(pf);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ne(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
    ck_assert_int_eq(lust_pidfile_release(pf), 0);
}
END_TEST

START_TEST(null_handle_accessors_are_harmless)
{
    ck_assert_int_eq(lust_pidfile_fd(NULL), -1);
    ck_assert_int_eq(lust_pidfile_pid(NULL), -1);
    ck_assert_int_eq(lust_pidfile_release(NULL), 0);
}
END_TEST

START_TEST(a_leftover_world_readable_file_is_made_0600)
{
    write_file(pidpath, "123\n", 4, 0644);
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    struct stat st;
    ck_assert_int_eq(stat(pidpath, &st), 0);
    ck_assert_uint_eq(st.st_mode & 07777, 0600);
    lust_pidfile_release(pf);
}
END_TEST

START_TEST(a_second_opener_gets_EEXIST_and_the_holder_pid)
{
    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    struct lust_pidfile *pf = (struct lust_pidfile *)&pf; /* must stay untouched */
    struct lust_pidfile *before = pf;
    pid_t other = SENTINEL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, &other), -EEXIST);
    ck_assert_int_eq(other, h.pid);
    ck_assert_ptr_eq(pf, before);
    ck_assert_ptr_nonnull(strstr(lust_error(), pidpath));
    finish_holder(h);
}
END_TEST

START_TEST(a_losing_start_does_not_touch_the_file)
{
    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    struct stat before, after;
    ck_assert_int_eq(stat(pidpath, &before), 0);
    char text[64];
    ck_assert_ptr_nonnull(read_text(pidpath, text, sizeof text));
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -EEXIST);
    ck_assert_int_eq(stat(pidpath, &after), 0);
    ck_assert_str_eq(read_file(pidpath), text);
    ck_assert_int_eq(after.st_size, before.st_size);
    ck_assert(after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
              after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
    finish_holder(h);
}
END_TEST

struct race_result {
    pid_t pid;
    int r;
    pid_t holder;
};

#define RACERS 50

static void racer(int start, int results, int hold)
{
    char c;
    /* Everyone blocks here until the test closes the start pipe: they all run at once. */
    while (read(start, &c, 1) < 0 && errno == EINTR)
        ;
    struct race_result res = {.pid = getpid(), .holder = -99};
    struct lust_pidfile *pf = NULL;
    res.r = lust_pidfile_open(pidpath, &pf, &res.holder);
    if (write(results, &res, sizeof res) != (ssize_t)sizeof res)
        _exit(2);
    if (res.r == 0) /* the winner keeps the lock until every loser has reported */
        while (read(hold, &c, 1) < 0 && errno == EINTR)
            ;
    _exit(0);
}

START_TEST(fifty_racers_one_winner_and_every_loser_names_it)
{
    int start[2], results[2], hold[2];
    ck_assert_int_eq(pipe2(start, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(results, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(hold, O_CLOEXEC), 0);
    pid_t kids[RACERS];
    for (int i = 0; i < RACERS; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            close(start[1]);
            close(results[0]);
            close(hold[1]);
            racer(start[0], results[1], hold[0]);
        }
    }
    close(start[0]);
    close(results[1]);
    close(hold[0]);
    close(start[1]); /* go */

    struct race_result res[RACERS];
    int winners = 0;
    pid_t winner = 0;
    for (int i = 0; i < RACERS; i++) {
        ck_assert_int_eq(read(results[0], &res[i], sizeof res[i]), (ssize_t)sizeof res[i]);
        if (res[i].r == 0) {
            winners++;
            winner = res[i].pid;
        }
    }
    ck_assert_int_eq(winners, 1);
    for (int i = 0; i < RACERS; i++) {
        if (res[i].pid == winner)
            continue;
        ck_assert_int_eq(res[i].r, -EEXIST);
        ck_assert_int_eq(res[i].holder, winner);
    }
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)winner);
    ck_assert_str_eq(read_file(pidpath), want);
    pid_t who = SENTINEL;
    ck_assert_int_eq(query(&who), LUST_PIDFILE_RUNNING);
    ck_assert_int_eq(who, winner);

    close(hold[1]);
    for (int i = 0; i < RACERS; i++) {
        int st;
        ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
        ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    close(results[0]);
}
END_TEST

/* A `stop` removing the file while a `start` opens it: the start must never end up holding an
 * inode that is no longer at the path (a second start would then create a new file and run
 * beside it). Each iteration checks, while holding, that the path still names our file. */
#define CHURN_ROUNDS  10000
#define CHURN_OPENERS 3

static int churn_open(void)
{
    for (int i = 0; i < CHURN_ROUNDS; i++) {
        struct lust_pidfile *pf = NULL;
        int r = lust_pidfile_open(pidpath, &pf, NULL);
        if (r == -EEXIST || r == -EAGAIN)
            continue;
        if (r < 0)
            return 1;
        struct stat mine, there;
        if (fstat(lust_pidfile_fd(pf), &mine) < 0 || stat(pidpath, &there) < 0 ||
            mine.st_ino != there.st_ino)
            return 2;
        if (lust_pidfile_release(pf) < 0)
            return 3;
    }
    return 0;
}

START_TEST(a_concurrent_remove_never_leaves_a_start_holding_an_unlinked_file)
{
    pid_t kids[CHURN_OPENERS + 1]; /* the last one removes */
    for (int i = 0; i <= CHURN_OPENERS; i++) {
        kids[i] = fork();
        ck_assert_int_ge(kids[i], 0);
        if (kids[i] == 0) {
            if (i < CHURN_OPENERS)
                _exit(churn_open());
            for (int j = 0; j < 2 * CHURN_ROUNDS; j++) {
                int r = lust_pidfile_remove(pidpath);
                if (r < 0 && r != -EBUSY)
                    _exit(4);
            }
            _exit(0);
        }
    }
    for (int i = 0; i <= CHURN_OPENERS; i++) {
        int st;
        ck_assert_int_eq(waitpid(kids[i], &st, 0), kids[i]);
        ck_assert(WIFEXITED(st));
        ck_assert_int_eq(WEXITSTATUS(st), 0);
    }
}
END_TEST

#define THREADS 8

struct thread_try {
    pthread_barrier_t *start;
    struct lust_pidfile *pf;
    pid_t holder;
    int r;
};

static void *thread_open(void *arg)
{
    struct thread_try *t = arg;
    pthread_barrier_wait(t->start);
    t->r = lust_pidfile_open(pidpath, &t->pf, &t->holder);
    return NULL;
}

START_TEST(threads_of_one_process_get_one_handle)
{
    pthread_barrier_t start;
    ck_assert_int_eq(pthread_barrier_init(&start, NULL, THREADS), 0);
    pthread_t tid[THREADS];
    struct thread_try t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        t[i] = (struct thread_try){.start = &start, .holder = SENTINEL};
        ck_assert_int_eq(pthread_create(&tid[i], NULL, thread_open, &t[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    int winners = 0;
    for (int i = 0; i < THREADS; i++) {
        if (t[i].r == 0) {
            winners++;
        } else {
            ck_assert_int_eq(t[i].r, -EEXIST);
            ck_assert_int_eq(t[i].holder, getpid());
        }
    }
    ck_assert_int_eq(winners, 1);
    for (int i = 0; i < THREADS; i++)
        if (t[i].r == 0)
            ck_assert_int_eq(lust_pidfile_release(t[i].pf), 0);
    pthread_barrier_destroy(&start);
}
END_TEST

START_TEST(a_running_holder_is_reported_with_its_pid)
{
    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(r, LUST_PIDFILE_RUNNING);
    ck_assert_int_eq(who, h.pid);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 0);
    finish_holder(h);
}
END_TEST

START_TEST(a_file_naming_live_unrelated_processes_is_stale)
{
    char text[32];
    pid_t live[] = {1, getpid(), getppid()};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        int n = snprintf(text, sizeof text, "%ld\n", (long)live[i]);
        write_file(pidpath, text, (size_t)n, 0600);
        pid_t who = SENTINEL;
        int r = query(&who);
        ck_assert_int_eq(r, LUST_PIDFILE_STALE);
        ck_assert_int_eq(who, SENTINEL);
        ck_assert_int_eq(lust_pidfile_lsb_status(r), 1);
    }
}
END_TEST

START_TEST(a_sigkilled_holder_reads_dead_and_is_taken_over_at_once)
{
    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    kill_holder(h);
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(r, LUST_PIDFILE_STALE);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 1);
    ck_assert_int_eq(who, SENTINEL);
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    ck_assert_str_eq(read_file(pidpath), want);
    lust_pidfile_release(pf);
}
END_TEST

START_TEST(a_clean_release_leaves_status_3)
{
    struct holder h = spawn_holder(pidpath, HOLD_AND_RELEASE);
    int st = finish_holder(h);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(r, LUST_PIDFILE_EMPTY);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 3);
    ck_assert_int_eq(who, SENTINEL);
    ck_assert_str_eq(read_file(pidpath), "");
}
END_TEST

START_TEST(no_file_is_not_running)
{
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(r, LUST_PIDFILE_NONE);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 3);
    ck_assert_int_eq(who, SENTINEL);
}
END_TEST

START_TEST(a_read_lock_is_foreign_and_never_named_as_holder)
{
    write_file(pidpath, "1\n", 2, 0600);
    struct holder h = spawn_holder(pidpath, HOLD_READ_LOCK);
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(r, LUST_PIDFILE_FOREIGN);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 4);
    ck_assert_int_eq(who, SENTINEL);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, &who), -EBUSY);
    ck_assert_int_eq(who, SENTINEL);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -EBUSY);
    finish_holder(h);
}
END_TEST

START_TEST(an_ofd_lock_is_running_with_no_pid_to_signal)
{
    struct holder h = spawn_holder(pidpath, HOLD_OFD_LOCK);
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(r, LUST_PIDFILE_RUNNING_UNKNOWN);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 0);
    ck_assert_int_eq(who, SENTINEL);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, &who), -EEXIST);
    ck_assert_int_eq(who, 0); /* "unknown", never -1 */
    finish_holder(h);
}
END_TEST

/* In a child of the holder: 0 when a query names the parent as the holder. */
static int query_names_the_parent(void *arg)
{
    pid_t h = 0;
    (void)arg;
    return lust_pidfile_query(pidpath, &h) == LUST_PIDFILE_RUNNING && h == getppid() ? 0 : 1;
}

/* The child holds no lock: the query must name the parent, and release (of arg) only closes. */
static int query_then_release(void *pf)
{
    return query_names_the_parent(NULL) == 0 && lust_pidfile_release(pf) == 0 ? 0 : 1;
}

/* LAB-2: the holder's lock must survive the holder calling every path helper on its own file. */
START_TEST(the_holder_keeps_its_lock_through_every_path_helper)
{
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    pid_t who = SENTINEL;
    ck_assert_int_eq(query(&who), LUST_PIDFILE_RUNNING);
    ck_assert_int_eq(who, getpid());
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -EBUSY);
    struct lust_pidfile *again;
    who = SENTINEL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &again, &who), -EEXIST);
    ck_assert_int_eq(who, getpid());

    ck_assert_int_eq(exit_code(in_child(query_names_the_parent, NULL)), 0);
    ck_assert_int_eq(access(pidpath, F_OK), 0);
    lust_pidfile_release(pf);
}
END_TEST

START_TEST(release_in_a_forked_child_leaves_the_holder_alone)
{
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)getpid());
    ck_assert_int_eq(exit_code(in_child(query_then_release, pf)), 0);
    /* Read through the handle: opening the path here would drop our own lock (LAB-2). */
    char text[32] = "";
    ck_assert_int_gt(pread(lust_pidfile_fd(pf), text, sizeof text - 1, 0), 0);
    ck_assert_str_eq(text, want);
    ck_assert_int_eq(exit_code(in_child(query_names_the_parent, NULL)), 0);
    lust_pidfile_release(pf);
}
END_TEST

static const struct {
    const char *name;
    const char *text;
} hostile[] = {
    {"empty", ""},
    {"not a number", "hello\n"},
    {"zero", "0\n"},
    {"minus one", "-1\n"},
    {"negative", "-4242\n"},
    {"huge", "99999999999999999999999999999999\n"},
    {"no newline, spaces", "  12 34"},
    {"binary", "\x01\xff\n\0\x7f"},
};

/* Anything but our format (empty, or one pid and a newline) is not ours: a careless config
 * may name /etc/passwd or a copy of it. It is never read as a pid, overwritten or removed. */
START_TEST(hostile_content_is_never_a_pid_and_never_overwritten)
{
    const char *text = hostile[_i].text;
    size_t len = strlen(text);
    write_file(pidpath, text, len, 0600);
    pid_t who = SENTINEL;
    int r = query(&who);
    ck_assert_int_eq(who, SENTINEL);
    struct lust_pidfile *pf = NULL;
    if (len == 0) {
        ck_assert_int_eq(r, LUST_PIDFILE_EMPTY);
        ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, &who), 0);
        ck_assert_int_eq(who, SENTINEL);
        char want[32];
        snprintf(want, sizeof want, "%ld\n", (long)getpid());
        ck_assert_str_eq(read_file(pidpath), want);
        lust_pidfile_release(pf);
        return;
    }
    ck_assert_int_eq(r, -EBADMSG);
    ck_assert_int_eq(lust_pidfile_lsb_status(r), 4);
    ck_assert_ptr_nonnull(strstr(lust_error(), "holds something other than a pid"));
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, &who), -EBADMSG);
    ck_assert_int_eq(who, SENTINEL);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -EBADMSG);
    struct stat st;
    ck_assert_int_eq(stat(pidpath, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)len);
    ck_assert_int_eq(memcmp(read_file(pidpath), text, len), 0);
}
END_TEST

START_TEST(megabytes_of_digits_are_left_alone)
{
    size_t len = 4u << 20;
    char *big = malloc(len);
    ck_assert_ptr_nonnull(big);
    memset(big, '9', len);
    write_file(pidpath, big, len, 0600);
    free(big);
    pid_t who = SENTINEL;
    ck_assert_int_eq(query(&who), -EBADMSG);
    ck_assert_int_eq(who, SENTINEL);
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -EBADMSG);
    struct stat st;
    ck_assert_int_eq(stat(pidpath, &st), 0);
    ck_assert_int_eq(st.st_size, (off_t)len);
}
END_TEST

START_TEST(a_stale_pid_of_ours_is_taken_over_and_removable)
{
    write_file(pidpath, "4242\n", 5, 0600);
    ck_assert_int_eq(query(NULL), LUST_PIDFILE_STALE);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), 0);
    ck_assert_int_eq(access(pidpath, F_OK), -1);
    write_file(pidpath, "4242\n", 5, 0600);
    struct lust_pidfile *pf = NULL;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    lust_pidfile_release(pf);
}
END_TEST

START_TEST(a_symlink_is_refused_and_its_target_untouched)
{
    char target[160];
    snprintf(target, sizeof target, "%s/target", tmpdir);
    write_file(target, "precious", 8, 0600);
    ck_assert_int_eq(symlink(target, pidpath), 0);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -ELOOP);
    ck_assert_int_eq(lust_pidfile_query(pidpath, NULL), -ELOOP);
    ck_assert_int_eq(lust_pidfile_lsb_status(-ELOOP), 4);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -ELOOP);
    ck_assert_str_eq(read_file(target), "precious");
    struct stat st;
    ck_assert_int_eq(lstat(pidpath, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
}
END_TEST

START_TEST(a_fifo_is_refused)
{
    ck_assert_int_eq(mkfifo(pidpath, 0600), 0);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -EPERM);
    ck_assert_int_eq(lust_pidfile_query(pidpath, NULL), -EPERM);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -EPERM);
}
END_TEST

START_TEST(a_hard_linked_file_is_refused)
{
    char other[160];
    snprintf(other, sizeof other, "%s/other", tmpdir);
    write_file(other, "precious", 8, 0600);
    ck_assert_int_eq(link(other, pidpath), 0);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -EPERM);
    ck_assert_str_eq(read_file(other), "precious");
}
END_TEST

START_TEST(a_group_writable_file_is_refused)
{
    write_file(pidpath, "1\n", 2, 0620);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), -EPERM);
    ck_assert_str_eq(read_file(pidpath), "1\n");
}
END_TEST

START_TEST(remove_unlinks_an_unlocked_file_and_refuses_a_locked_one)
{
    ck_assert_int_eq(lust_pidfile_remove(pidpath), 0); /* nothing there: success */
    write_file(pidpath, "1\n", 2, 0600);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), 0);
    ck_assert_int_eq(access(pidpath, F_OK), -1);

    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), -EBUSY);
    ck_assert_int_eq(access(pidpath, F_OK), 0);
    pid_t who = 0;
    ck_assert_int_eq(query(&who), LUST_PIDFILE_RUNNING);
    ck_assert_int_eq(who, h.pid);
    kill_holder(h);
    ck_assert_int_eq(lust_pidfile_remove(pidpath), 0);
    ck_assert_int_eq(query(NULL), LUST_PIDFILE_NONE);
}
END_TEST

START_TEST(a_missing_directory_fails_with_the_path_named)
{
    char path[200];
    snprintf(path, sizeof path, "%s/no/such.pid", tmpdir);
    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(path, &pf, NULL), -ENOENT);
    ck_assert_ptr_nonnull(strstr(lust_error(), path));
}
END_TEST

/* The holder, reaped: it must have died of sig. */
static void assert_died_of(struct holder h, int sig)
{
    int st;
    ck_assert_int_eq(waitpid(h.pid, &st, 0), h.pid);
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == sig, "holder status %#x", st);
    close(h.go);
}

START_TEST(stop_terminates_the_holder_and_removes_the_file)
{
    struct holder h = spawn_holder(pidpath, HOLD_PIDFILE);
    pid_t pid = SENTINEL;
    ck_assert_int_eq(lust_pidfile_stop(pidpath, 10000, &pid), LUST_PIDFILE_STOPPED);
    ck_assert_int_eq(pid, h.pid);
    ck_assert_int_eq(access(pidpath, F_OK), -1);
    assert_died_of(h, SIGTERM);
}
END_TEST

START_TEST(stop_kills_a_holder_deaf_to_term_after_the_timeout)
{
    struct holder h = spawn_holder(pidpath, HOLD_DEAF);
    pid_t pid = SENTINEL;
    ck_assert_int_eq(lust_pidfile_stop(pidpath, 200, &pid), LUST_PIDFILE_KILLED);
    ck_assert_int_eq(pid, h.pid);
    ck_assert_int_eq(access(pidpath, F_OK), -1);
    assert_died_of(h, SIGKILL);
}
END_TEST

START_TEST(stop_with_nobody_holding_the_file_removes_a_stale_one)
{
    pid_t pid = SENTINEL;
    ck_assert_int_eq(lust_pidfile_stop(pidpath, 1000, &pid), LUST_PIDFILE_NOT_RUNNING);
    write_file(pidpath, "1\n", 2, 0600);
    ck_assert_int_eq(lust_pidfile_stop(pidpath, 1000, &pid), LUST_PIDFILE_NOT_RUNNING);
    ck_assert_int_eq(pid, SENTINEL);
    ck_assert_int_eq(access(pidpath, F_OK), -1);
}
END_TEST

START_TEST(stop_signals_no_holder_it_cannot_name_and_not_itself)
{
    struct holder h = spawn_holder(pidpath, HOLD_READ_LOCK);
    pid_t pid = SENTINEL;
    ck_assert_int_eq(lust_pidfile_stop(pidpath, 100, &pid), -EBUSY);
    ck_assert_int_eq(pid, SENTINEL);
    ck_assert_int_eq(kill(h.pid, 0), 0);
    ck_assert_int_eq(finish_holder(h), 0);
    ck_assert_int_eq(unlink(pidpath), 0);

    struct lust_pidfile *pf;
    ck_assert_int_eq(lust_pidfile_open(pidpath, &pf, NULL), 0);
    ck_assert_int_eq(lust_pidfile_stop(pidpath, 100, NULL), -EDEADLK);
    ck_assert_int_eq(lust_pidfile_release(pf), 0);
}
END_TEST

START_TEST(lsb_codes_for_every_result)
{
    ck_assert_int_eq(lust_pidfile_lsb_status(LUST_PIDFILE_NONE), 3);
    ck_assert_int_eq(lust_pidfile_lsb_status(LUST_PIDFILE_RUNNING), 0);
    ck_assert_int_eq(lust_pidfile_lsb_status(LUST_PIDFILE_RUNNING_UNKNOWN), 0);
    ck_assert_int_eq(lust_pidfile_lsb_status(LUST_PIDFILE_FOREIGN), 4);
    ck_assert_int_eq(lust_pidfile_lsb_status(LUST_PIDFILE_STALE), 1);
    ck_assert_int_eq(lust_pidfile_lsb_status(LUST_PIDFILE_EMPTY), 3);
    ck_assert_int_eq(lust_pidfile_lsb_status(-EACCES), 4);
    ck_assert_int_eq(lust_pidfile_lsb_status(-EPERM), 4);
    ck_assert_int_eq(lust_pidfile_lsb_status(99), 4);
}
END_TEST

static Suite *pidfile_suite(void)
{
    Suite *s = suite_create("pidfile");
    TCase *tc = tcase_create("pidfile");
    tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
    tcase_set_timeout(tc, 20);
    tcase_add_test(tc, open_writes_our_pid_in_a_0600_file_with_cloexec);
    tcase_add_test(tc, null_handle_accessors_are_harmless);
    tcase_add_test(tc, a_leftover_world_readable_file_is_made_0600);
    tcase_add_test(tc, a_second_opener_gets_EEXIST_and_the_holder_pid);
    tcase_add_test(tc, a_losing_start_does_not_touch_the_file);
    tcase_add_test(tc, fifty_racers_one_winner_and_every_loser_names_it);
    tcase_add_test(tc, a_concurrent_remove_never_leaves_a_start_holding_an_unlinked_file);
    tcase_add_test(tc, threads_of_one_process_get_one_handle);
    tcase_add_test(tc, a_running_holder_is_reported_with_its_pid);
    tcase_add_test(tc, a_file_naming_live_unrelated_processes_is_stale);
    tcase_add_test(tc, a_sigkilled_holder_reads_dead_and_is_taken_over_at_once);
    tcase_add_test(tc, a_clean_release_leaves_status_3);
    tcase_add_test(tc, no_file_is_not_running);
    tcase_add_test(tc, a_read_lock_is_foreign_and_never_named_as_holder);
    tcase_add_test(tc, an_ofd_lock_is_running_with_no_pid_to_signal);
    tcase_add_test(tc, the_holder_keeps_its_lock_through_every_path_helper);
    tcase_add_test(tc, release_in_a_forked_child_leaves_the_holder_alone);
    tcase_add_loop_test(tc, hostile_content_is_never_a_pid_and_never_overwritten, 0,
                        (int)(sizeof hostile / sizeof hostile[0]));
    tcase_add_test(tc, megabytes_of_digits_are_left_alone);
    tcase_add_test(tc, a_stale_pid_of_ours_is_taken_over_and_removable);
    tcase_add_test(tc, a_symlink_is_refused_and_its_target_untouched);
    tcase_add_test(tc, a_fifo_is_refused);
    tcase_add_test(tc, a_hard_linked_file_is_refused);
    tcase_add_test(tc, a_group_writable_file_is_refused);
    tcase_add_test(tc, remove_unlinks_an_unlocked_file_and_refuses_a_locked_one);
    tcase_add_test(tc, a_missing_directory_fails_with_the_path_named);
    tcase_add_test(tc, stop_terminates_the_holder_and_removes_the_file);
    tcase_add_test(tc, stop_kills_a_holder_deaf_to_term_after_the_timeout);
    tcase_add_test(tc, stop_with_nobody_holding_the_file_removes_a_stale_one);
    tcase_add_test(tc, stop_signals_no_holder_it_cannot_name_and_not_itself);
    tcase_add_test(tc, lsb_codes_for_every_result);
    suite_add_tcase(s, tc);
    return s;
}

LUST_TEST_MAIN(pidfile_suite)
