/* api.h: chaird's D-Bus API on the system bus: io.chaird.Chair1 at /io/chaird/Chair1, one object per
 * program, typed errors, authorization (docs/dbus.md). */
#pragma once

#include "chaird-bus.h"
#include "daemon.h"

struct api;

/* Connects to the system bus, publishes the objects, owns the name and hears of d's changes. d must outlive
 * the API. */
int api_new(struct daemon *d, struct api **ret);
/* Waits for an install still writing its file, flushes what is queued and leaves the bus. */
struct api *api_free(struct api *a);
static inline void api_freep(struct api **a)
{
        api_free(*a);
}
