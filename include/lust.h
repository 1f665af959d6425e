/*
 * lust.h - liblust, the Little Unix Server Toolkit: everything in one include.
 *
 * Each module has its own header under lust/, usable alone; this one includes them all.
 * Link with `pkg-config --cflags --libs lust` or CMake's `find_package(lust)` + `lust::lust`.
 */
#ifndef LUST_H
#define LUST_H

#include <lust/common.h>
#include <lust/version.h>
#include <lust/error.h>
#include <lust/notify.h>
#include <lust/pidfile.h>
#include <lust/daemon.h>
#include <lust/privs.h>
#include <lust/sandbox.h>
#include <lust/config.h>
#include <lust/server.h>
#include <lust/log.h>

#endif
