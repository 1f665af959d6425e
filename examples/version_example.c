/*
 * examples/version_example.c - the smallest program that links liblust.
 *
 *     cc -o version_example version_example.c $(pkg-config --cflags --libs lust)
 */
#include <stdio.h>

#include <lust.h>

int main(void)
{
    printf("liblust %s (built against %s)\n", lust_version(), LUST_VERSION_STRING);
    return 0;
}
