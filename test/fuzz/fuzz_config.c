/*
 * test/fuzz/fuzz_config.c - libFuzzer target over the config loader.
 *
 * Each input is a config file, handed to lust_config_load_fd() through a memfd so the reading
 * code runs too. The daemon options cover every libconfuse type, a list, a plain section and
 * a titled multi section. A loaded config is walked with the typed accessors.
 *
 * Built two ways: with libFuzzer (CMake -DLUST_FUZZ=ON, clang; see .ci/run), and with
 * replay.c as a plain program that CTest runs over the seed corpus and every input a fuzzer
 * run once found (test/fuzz/corpus), so they stay regression tests in every build.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <lust/config.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static cfg_opt_t sub_opts[] = {
    CFG_STR("path", "/srv", CFGF_NONE),
    CFG_INT("weight", 1, CFGF_NONE),
    CFG_FLOAT("ratio", 0.5, CFGF_NONE),
    CFG_END(),
};

static cfg_opt_t opts[] = {
    CFG_STR_LIST("listen", "{\"127.0.0.1:8080\"}", CFGF_NONE),
    CFG_STR("greeting", "HI!", CFGF_NONE),
    CFG_INT("port", 8080, CFGF_NONE),
    CFG_INT_LIST("ports", "{1, 2}", CFGF_NONE),
    CFG_FLOAT("rate", 1.5, CFGF_NONE),
    CFG_BOOL("verbose", cfg_false, CFGF_NONE),
    CFG_SEC("limits", sub_opts, CFGF_NONE),
    CFG_SEC("backend", sub_opts, CFGF_MULTI | CFGF_TITLE),
    CFG_SEC("pool", sub_opts, CFGF_MULTI),
    CFG_END(),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz.conf", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
        close(fd);
        return 0;
    }
    struct lust_config *conf;
    if (lust_config_load_fd("fuzz", fd, "/fuzz.conf", opts, &conf) == 0) {
        size_t sum = strlen(lust_config_user(conf)) + strlen(lust_config_group(conf)) +
                     strlen(lust_config_pidfile(conf)) + strlen(lust_config_logfile(conf));
        const char *jail = lust_config_jail(conf);
        sum += jail ? strlen(jail) : 0;
        sum += (size_t)lust_config_log_level(conf) + lust_config_umask(conf) +
               lust_config_foreground(conf) + (size_t)lust_config_start_timeout(conf) +
               (size_t)lust_config_stop_timeout(conf);
        cfg_t *cfg = lust_config_cfg(conf);
        for (unsigned i = 0; i < cfg_size(cfg, "listen"); i++)
            sum += strlen(cfg_getnstr(cfg, "listen", i));
        for (unsigned i = 0; i < cfg_size(cfg, "backend"); i++) {
            cfg_t *sec = cfg_getnsec(cfg, "backend", i);
            sum += strlen(cfg_title(sec)) + strlen(cfg_getstr(sec, "path"));
        }
        const char *greeting = cfg_getstr(cfg, "greeting");
        sum += greeting ? strlen(greeting) : 0;
        (void)sum;
        lust_config_free(conf);
    }
    close(fd);
    return 0;
}
