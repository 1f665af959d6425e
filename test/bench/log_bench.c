/*
 * test/bench/log_bench.c - what one lust_log() line costs next to the floor: one pre-formatted
 * write(2) per line to an O_APPEND file.
 *
 *     log_bench [LINES [ROUNDS]]     (defaults 1000000 and 3; the best round is reported)
 *
 * For 1 and 4 threads it writes LINES lines of ~80 bytes both ways into a temporary directory,
 * prints lines/s and the ratio liblust/floor, and reads both files back to check that every
 * line is whole (no torn line, none glued to another, none missing). Exit status 1 if not.
 * Figures go to the original stdout: the log itself takes over stdout and stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lust/log.h>

#define MAX_THREADS 4
#define PAD         "the-quick-brown-fox-jumps"

static FILE *out;
static long lines_per_thread;

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
    for (long i = 0; i < lines_per_thread; i++)
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
static long check_file(const char *path, int threads, int ordered)
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
    if (total != threads * lines_per_thread)
        bad += labs(total - threads * lines_per_thread);
    return bad;
}

int main(int argc, char **argv)
{
    long lines = argc > 1 ? atol(argv[1]) : 1000000;
    int rounds = argc > 2 ? atoi(argv[2]) : 3;
    if (lines <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: log_bench [LINES [ROUNDS]]\n");
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

    fprintf(out, "log_bench: %ld lines of ~80 bytes, best of %d rounds, files in %s\n", lines,
            rounds, dir);
    int status = 0;
    int counts[] = {1, 4};
    for (size_t c = 0; c < sizeof counts / sizeof counts[0]; c++) {
        int threads = counts[c];
        lines_per_thread = lines / threads;
        double best_floor = 1e30, best_lust = 1e30;
        long bad_floor = 0, bad_lust = 0;
        for (int r = 0; r < rounds; r++) {
            unlink(floor_path);
            floor_fd = open(floor_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            if (floor_fd < 0)
                die(floor_path);
            double d = run(threads, floor_writer);
            best_floor = d < best_floor ? d : best_floor;
            close(floor_fd);
            bad_floor += check_file(floor_path, threads, 0);

            unlink(lust_path);
            int fd = lust_log_open(lust_path);
            if (fd < 0 || lust_log_reopen_fd(fd) < 0)
                die(lust_path);
            d = run(threads, lust_writer);
            best_lust = d < best_lust ? d : best_lust;
            bad_lust += check_file(lust_path, threads, 1);
        }
        double total = (double)(lines_per_thread * threads);
        double floor_rate = total / best_floor, lust_rate = total / best_lust;
        fprintf(out,
                "threads=%d  floor %.0f lines/s  liblust %.0f lines/s  ratio %.2f  "
                "bad lines: floor %ld liblust %ld  dropped %llu\n",
                threads, floor_rate, lust_rate, lust_rate / floor_rate, bad_floor, bad_lust,
                (unsigned long long)lust_log_dropped());
        if (bad_floor || bad_lust)
            status = 1;
    }
    unlink(floor_path);
    unlink(lust_path);
    rmdir(dir);
    return status;
}
