/*
 * lib/server_config.c - the config as every thread of the daemon reads it: held snapshots.
 *
 * The framework's thread replaces the config on a reload while run() and its threads read it.
 * A config is never changed once loaded, and counts its holders (lib/config.c). srv->config is
 * the one in force and holds one reference. A hold and the swap that replaces it take the same
 * small lock, so a hold can never pick up a config whose last reference is being dropped:
 * after the swap nobody can find the old one, and whoever found it before already counted
 * itself. The old config is freed by whoever lets go of it last: the swap, a holder's
 * lust_config_release(), or a thread that asks lust_server_config() again or ends.
 *
 * lust_server_config() keeps one hold per thread (a pthread key, released by the key's
 * destructor when the thread ends). While no reload happened, the thread's snapshot is still
 * the one in force and the call costs one atomic load; after one, it takes the lock once.
 *
 * During the reload() hook the new config is not in force yet: on the framework's thread only,
 * lust_server_config() shows the candidate (trial), so every other thread keeps reading the
 * config in force and never sees one the hook then refuses.
 */
#include "server_internal.h"

#include <lust/config.h>
#include <lust/error.h>

static _Thread_local struct lust_config *trial;

static void release_thread_hold(void *config)
{
    lust_config_release(config);
}

int lust__server_config_init(struct lust_server *srv, struct lust_config *config)
{
    int r = pthread_key_create(&srv->thread_config, release_thread_hold);
    if (r != 0)
        return lust__fail(r, "pthread_key_create");
    srv->thread_config_made = 1;
    atomic_store_explicit(&srv->config, config, memory_order_release);
    return 0;
}

/* A new reference to the config in force. */
static struct lust_config *hold(struct lust_server *srv)
{
    pthread_mutex_lock(&srv->config_lock);
    struct lust_config *c = atomic_load_explicit(&srv->config, memory_order_relaxed);
    if (c)
        lust__config_hold(c);
    pthread_mutex_unlock(&srv->config_lock);
    return c;
}

struct lust_config *lust__server_config_swap(struct lust_server *srv, struct lust_config *fresh)
{
    pthread_mutex_lock(&srv->config_lock);
    struct lust_config *old = atomic_load_explicit(&srv->config, memory_order_relaxed);
    atomic_store_explicit(&srv->config, fresh, memory_order_release);
    pthread_mutex_unlock(&srv->config_lock);
    return old;
}

void lust__server_config_trial(struct lust_config *fresh)
{
    trial = fresh;
}

struct lust_config *lust_server_config_hold(struct lust_server *srv)
{
    LUST__REQUIRE(srv != NULL, NULL);
    if (trial) {
        lust__config_hold(trial);
        return trial;
    }
    return hold(srv);
}

struct cfg_t *lust_server_config(struct lust_server *srv)
{
    LUST__REQUIRE(srv != NULL, NULL);
    if (trial)
        return lust_config_cfg(trial);
    struct lust_config *mine = pthread_getspecific(srv->thread_config);
    if (mine && mine == atomic_load_explicit(&srv->config, memory_order_acquire))
        return lust_config_cfg(mine);
    struct lust_config *now = hold(srv);
    if (!now)
        return NULL;
    /* Without a slot (out of memory) the hold is never released: a leak, never a pointer
     * that dies under the caller. */
    if (pthread_setspecific(srv->thread_config, now) == 0)
        lust_config_release(mine);
    return lust_config_cfg(now);
}

void lust__server_config_drop_thread(struct lust_server *srv)
{
    if (!srv->thread_config_made)
        return;
    struct lust_config *mine = pthread_getspecific(srv->thread_config);
    if (mine && pthread_setspecific(srv->thread_config, NULL) == 0)
        lust_config_release(mine);
}

struct lust_config *lust__server_config_keep(struct lust_server *srv)
{
    lust__server_config_drop_thread(srv);
    if (srv->thread_config_made) {
        pthread_key_delete(srv->thread_config);
        srv->thread_config_made = 0;
    }
    return lust__server_config_swap(srv, NULL);
}

void lust__server_config_fini(struct lust_server *srv)
{
    lust_config_release(lust__server_config_keep(srv));
}
