/*
 * test/bench/log_bench.c - what one lust_log() line costs next to the floor: one pre-formatted
 * write(2) per line to an O_APPEND file.
 *
 *     log_bench [LINES [BATCHES]]     (defaults 1000000 and 20)
 *
 * For 1 and 4 threads it writes LINES lines of ~80 bytes both ways into a temporary directory,
 * in BATCHES alternating batches (floor, liblust, floor, ...) so that load from other processes
 * hits both sides alike. It prints lines/s of each over all batches, the ratio liblust/floor,
 * and the median of the per-batch ratios; then it reads both files back to check that every
 * line is whole (no torn line, none glued to another, none missing). Exit status 1 if not.
 * Figures go to the original stdout: the log itself takes over stdout and stderr.
 *
 * Last, the stack one call touches: a thread with a stack of its own paints everything below
 * its frame with a pattern, makes the call, and finds the deepest byte that changed; also the
 * 4 KiB pages with a changed byte (stack pages a thread must have). For lust_log() the first
 * call of a thread (which formats the second's timestamp with localtime_r) and a later one, next
 * to the floor's snprintf() into a 128-byte buffer and write(2). Every function was called once
 * before, so no lazy binding is counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lust/log.h>

#define MAX_THREADS 4
#define PAD         "the-quick-brown-fox-jumps"

static FILE *out;
static long lines_per_thread; /* in one batch */
static long batch_start;      /* index of a batch's first line, per thread */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(out, "log_bench: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int floor_fd;

static void *floor_writer(void *arg)
{
    long t = (long)arg;
    char line[128];
    /* The same shape lust_log produces, formatted once: the floor is the write(2) alone. */
    int n = snprintf(line, sizeof line,
                     "2026-11-26T18:31:35.123+00:00 INFO bench t=%ld i=%07d %s\n", t, 0, PAD);
    for (long i = 0; i < lines_per_thread; i++)
        if (write(floor_fd, line, (size_t)n) != n)
            die("write");
    return NULL;
}

static void *lust_writer(void *arg)
{
    long t = (long)arg;
    for (long i = batch_start; i < batch_start + lines_per_thread; i++)
        lust_log(LUST_LOG_INFO, "bench t=%ld i=%07ld %s", t, i, PAD);
    return NULL;
}

static double run(int threads, void *(*fn)(void *))
{
    pthread_t th[MAX_THREADS];
    double start = now();
    for (long t = 0; t < threads; t++)
        if ((errno = pthread_create(&th[t], NULL, fn, (void *)t)) != 0)
            die("pthread_create");
    for (int t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    return now() - start;
}

/* Check each line: timestamp shape, "INFO bench t=T i=I PAD", per-thread order when asked. */
static long check_file(const char *path, int threads, int ordered, long per_thread)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        die(path);
    long next[MAX_THREADS] = {0}, bad = 0, total = 0;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) > 0) {
        long t, i;
        int used = 0;
        int ok = len > 30 && line[len - 1] == '\n' && line[4] == '-' && line[10] == 'T' &&
                 line[19] == '.' && (line[23] == '+' || line[23] == '-') && line[29] == ' ';
        line[len - 1] = '\0';
        ok = ok && sscanf(line + 30, "INFO bench t=%ld i=%ld " PAD "%n", &t, &i, &used) == 2 &&
             line[30 + used] == '\0' && t >= 0 && t < threads;
        if (ok && ordered)
            ok = i == next[t]++;
        bad += !ok;
        total++;
    }
    free(line);
    fclose(f);
    if (total != threads * per_thread)
        bad += labs(total - threads * per_thread);
    return bad;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int bench(int threads, long lines, int batches, const char *floor_path,
                 const char *lust_path)
{
    unlink(floor_path);
    unlink(lust_path);
    floor_fd = open(floor_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (floor_fd < 0)
        die(floor_path);
    int fd = lust_log_open(lust_path);
    if (fd < 0 || lust_log_reopen_fd(fd) < 0)
        die(lust_path);
    lines_per_thread = lines / threads / batches;
    double t_floor = 0, t_lust = 0, ratios[1000];
    for (int b = 0; b < batches; b++) {
        batch_start = b * lines_per_thread;
        double f = run(threads, floor_writer);
        double l = run(threads, lust_writer);
        t_floor += f;
        t_lust += l;
        ratios[b] = f / l;
    }
    close(floor_fd);
    qsort(ratios, (size_t)batches, sizeof ratios[0], cmp_double);
    long per_thread = lines_per_thread * batches;
    long bad_floor = check_file(floor_path, threads, 0, per_thread);
    long bad_lust = check_file(lust_path, threads, 1, per_thread);
    double total = (double)(per_thread * threads);
    fprintf(out,
            "threads=%d  floor %.0f lines/s  liblust %.0f lines/s  ratio %.2f (median of "
            "batches %.2f)  bad lines: floor %ld liblust %ld  dropped %llu\n",
            threads, total / t_floor, total / t_lust, t_floor / t_lust, ratios[batches / 2],
            bad_floor, bad_lust, (unsigned long long)lust_log_dropped());
    return bad_floor || bad_lust;
}

#define PROBE_STACK (256 * 1024)
#define PAINT       0xA5
#define FRAME_SLACK 512 /* the probe's own frame and memset's: never painted */

static void log_one(void)
{
    lust_log(LUST_LOG_INFO, "bench t=%ld i=%07ld %s", 0L, 1L, PAD);
}

static void floor_one(void)
{
    char line[128];
    int n = snprintf(line, sizeof line,
                     "2026-11-26T18:31:35.123+00:00 INFO bench t=%ld i=%07ld %s\n", 0L, 1L, PAD);
    if (write(floor_fd, line, (size_t)n) != n)
        die("write");
}

struct probe {
    char *stack; /* lowest address of the thread's stack */
    void (*fn)(void);
    size_t depth[2], pages[2]; /* first and second call */
};

/* Paint below this frame, call, measure. noinline: its frame must stay where it is. */
__attribute__((noinline)) static void probe_call(struct probe *p, int k)
{
    char *here = __builtin_frame_address(0);
    size_t span = (size_t)(here - p->stack) - FRAME_SLACK;
    memset(p->stack, PAINT, span);
    p->fn();
    size_t i = 0;
    while (i < span && (unsigned char)p->stack[i] == PAINT)
        i++;
    p->depth[k] = (size_t)(here - p->stack) - i;
    p->pages[k] = 0;
    for (size_t pg = 0; pg < span; pg += 4096) {
        size_t end = pg + 4096 < span ? pg + 4096 : span;
        for (size_t b = pg; b < end; b++) {
            if ((unsigned char)p->stack[b] != PAINT) {
                p->pages[k]++;
                break;
            }
        }
    }
}

static void *probe_thread(void *arg)
{
    probe_call(arg, 0);
    probe_call(arg, 1);
    return NULL;
}

/* Runs fn twice on a fresh thread; depth and pages of each call into *p. */
static void probe(void (*fn)(void), struct probe *p)
{
    pthread_attr_t attr;
    pthread_t t;

    p->fn = fn;
    p->stack = mmap(NULL, PROBE_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p->stack == MAP_FAILED)
        die("mmap");
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstack(&attr, p->stack, PROBE_STACK) != 0 ||
        (errno = pthread_create(&t, &attr, probe_thread, p)) != 0)
        die("pthread_create");
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    munmap(p->stack, PROBE_STACK);
}

static void stack_report(const char *floor_path, const char *lust_path)
{
    struct probe l, f;

    floor_fd = open(floor_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int fd = lust_log_open(lust_path);
    if (floor_fd < 0 || fd < 0 || lust_log_reopen_fd(fd) < 0)
        die("stack probe files");
    log_one(); /* binds every function on the way, on this thread */
    floor_one();
    probe(log_one, &l);
    probe(floor_one, &f);
    close(floor_fd);
    fprintf(out,
            "stack touched per call: lust_log %zu bytes (%zu pages) first in a thread, %zu bytes "
            "(%zu pages) after; floor snprintf+write %zu bytes (%zu pages)\n",
            l.depth[0], l.pages[0], l.depth[1], l.pages[1], f.depth[1], f.pages[1]);
}

int main(int argc, char **argv)
{
    long lines = argc > 1 ? atol(argv[1]) : 1000000;
    int batches = argc > 2 ? atoi(argv[2]) : 20;
    if (lines <= 0 || batches <= 0 || batches > 1000 || lines < 4L * batches) {
        fprintf(stderr, "usage: log_bench [LINES [BATCHES]]\n");
        return 2;
    }
    int saved = dup(STDOUT_FILENO);
    if (saved < 0 || (out = fdopen(saved, "w")) == NULL)
        die("stdout");
    setvbuf(out, NULL, _IOLBF, 0);
    char dir[] = "/tmp/lust-log-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        die("mkdtemp");
    char floor_path[64], lust_path[64];
    snprintf(floor_path, sizeof floor_path, "%s/floor.log", dir);
    snprintf(lust_path, sizeof lust_path, "%s/lust.log", dir);

    fprintf(out, "log_bench: %ld lines of ~80 bytes in %d alternating batches, files in %s\n",
            lines, batches, dir);
    int status = bench(1, lines, batches, floor_path, lust_path);
    status |= bench(4, lines, batches, floor_path, lust_path);
    stack_report(floor_path, lust_path);
    unlink(floor_path);
    unlink(lust_path);
    rmdir(dir);
    return status;
}
