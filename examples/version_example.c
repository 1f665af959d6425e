/* examples/version_example.c - the smallest program that links liblust. */
#include <stdio.h>

#include <lust.h>

int main(void)
{
    printf("liblust %s (built against %s)\n", lust_version(), LUST_VERSION_STRING);
    return 0;
}
