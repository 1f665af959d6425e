/*
 * test/tsan_planted_race.c - a data race planted on purpose, for the ThreadSanitizer build.
 *
 * A thread loads a config, and liblust itself stores the result in *out; the main thread reads
 * that pointer with nothing ordering the two (a relaxed flag is no synchronisation). The test
 * tsan_catches_a_planted_race expects ThreadSanitizer to report it, with lust_config_load_fd on
 * the stack, and the process to exit 66: a TSan build whose library or tests lost the
 * instrumentation, or whose options stopped halting on a report, fails there instead of
 * passing every other test in silence.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lust/config.h>

static struct lust_config *shared;
static atomic_int loaded;

static void *load(void *arg)
{
    int fd = *(int *)arg;
    int r = lust_config_load_fd("race", fd, "/race.conf", NULL, &shared);
    atomic_store_explicit(&loaded, r < 0 ? -1 : 1, memory_order_relaxed);
    return NULL;
}

int main(void)
{
    int fd = memfd_create("race", MFD_CLOEXEC);
    const char *text = "user = \"race\"\n";
    if (fd < 0 || write(fd, text, strlen(text)) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return 2;
    pthread_t t;
    if (pthread_create(&t, NULL, load, &fd) != 0)
        return 2;
    while (!atomic_load_explicit(&loaded, memory_order_relaxed))
        usleep(1000);
    if (atomic_load(&loaded) < 0)
        return 2;
    printf("user %s\n", lust_config_user(shared)); /* the race: no happens-before with load() */
    pthread_join(t, NULL);
    lust_config_free(shared);
    close(fd);
    return 0;
}
