/*
 * test/lust_test.h - the few lines every Check runner shares.
 *
 * Each test/check_MODULE.c defines its suite and ends with LUST_TEST_MAIN(suite_fn). Check's
 * fork mode runs each test in its own process, so chroot, setuid or a daemonized child cannot
 * leak from one test into the next. Runners whose tests need root call LUST_TEST_MAIN_ROOT:
 * they exit 77 with a sentence when not root, which CTest reports as skipped.
 */
#ifndef LUST_TEST_H
#define LUST_TEST_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int lust_test_run(Suite *suite)
{
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#define LUST_TEST_MAIN(suite_fn)          \
    int main(void)                        \
    {                                     \
        return lust_test_run(suite_fn()); \
    }

#define LUST_TEST_MAIN_ROOT(suite_fn)                                                   \
    int main(void)                                                                      \
    {                                                                                   \
        if (geteuid() != 0) {                                                           \
            printf("SKIP: %s needs root (chroot, setresuid, low ports); run as root\n", \
                   #suite_fn);                                                          \
            return 77;                                                                  \
        }                                                                               \
        return lust_test_run(suite_fn());                                               \
    }

#endif
