/*
 * A downstream program, built outside the liblust tree from an installed prefix. It proves the
 * headers, the library and its version agree, and that the library it loaded is the installed
 * one (argv[1] is the prefix), not the build tree's.
 */
#include <stdio.h>
#include <string.h>

#include <lust.h>

int main(int argc, char **argv)
{
    if (strcmp(lust_version(), LUST_VERSION_STRING) != 0) {
        fprintf(stderr, "headers %s but library %s\n", LUST_VERSION_STRING, lust_version());
        return 1;
    }
    if (argc > 1) {
        FILE *maps = fopen("/proc/self/maps", "r");
        char line[4096];
        int found = 0;
        while (maps && fgets(line, sizeof line, maps))
            if (strstr(line, "liblust.so") && strstr(line, argv[1]))
                found = 1;
        if (maps)
            fclose(maps);
        if (!found) {
            fprintf(stderr, "liblust was not loaded from %s\n", argv[1]);
            return 1;
        }
    }
    printf("consumer: liblust %s\n", lust_version());
    return 0;
}
