/* test/pidfile_fixture.c - the pid file runners' fixture; pidfile_fixture.h says what it is. */
#include "pidfile_fixture.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lust/pidfile.h>

#include "lust_test.h"

char *tmpdir, *pidpath;

void tmp_setup(void)
{
    tmpdir = new_dir("/tmp", "lust-pidfile", 0700);
    ck_assert_ptr_nonnull(tmpdir);
    pidpath = path_in(tmpdir, "test.pid");
}

void tmp_teardown(void)
{
    remove_tree(tmpdir);
    free(pidpath);
    free(tmpdir);
}

static void __attribute__((noreturn))
child_hold(const char *path, enum holder_kind kind, int ready, int go)
{
    struct lust_pidfile *pf = NULL;
    int r = 0;
    /* Not Check's handler, which would take the whole test's process group down with it. */
    signal(SIGTERM, kind == HOLD_DEAF ? SIG_IGN : SIG_DFL);
    if (kind == HOLD_PIDFILE || kind == HOLD_AND_RELEASE || kind == HOLD_DEAF) {
        r = lust_pidfile_open(path, &pf, NULL);
    } else {
        int fd =
            open(path, (kind == HOLD_READ_LOCK ? O_RDONLY : O_RDWR) | O_CREAT | O_CLOEXEC, 0600);
        struct flock fl = {.l_type = kind == HOLD_READ_LOCK ? F_RDLCK : F_WRLCK,
                           .l_whence = SEEK_SET};
        r = fd < 0 || fcntl(fd, kind == HOLD_READ_LOCK ? F_SETLK : F_OFD_SETLK, &fl) < 0;
    }
    char status = r == 0 ? 'y' : 'n';
    if (write(ready, &status, 1) != 1)
        _exit(2);
    char c;
    while (read(go, &c, 1) < 0 && errno == EINTR)
        ;
    if (kind == HOLD_AND_RELEASE && lust_pidfile_release(pf) != 0)
        _exit(3);
    _exit(0);
}

struct holder spawn_holder(const char *path, enum holder_kind kind)
{
    int ready[2], go[2];
    ck_assert_int_eq(pipe2(ready, O_CLOEXEC), 0);
    ck_assert_int_eq(pipe2(go, O_CLOEXEC), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        child_hold(path, kind, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    char status = 0;
    ck_assert_int_eq(read(ready[0], &status, 1), 1);
    close(ready[0]);
    ck_assert_int_eq(status, 'y');
    return (struct holder){.pid = pid, .go = go[1]};
}

int finish_holder(struct holder h)
{
    close(h.go);
    int st;
    ck_assert_int_eq(waitpid(h.pid, &st, 0), h.pid);
    return st;
}

void kill_holder(struct holder h)
{
    ck_assert_int_eq(kill(h.pid, SIGKILL), 0);
    int st;
    ck_assert_int_eq(waitpid(h.pid, &st, 0), h.pid);
    ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(h.go);
}
