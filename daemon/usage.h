/* usage.h: counters since install (sessions, massage and heat time, each motor's run time), for planning
 * service. Kept in memory and written to the state directory whole and atomically, off the loop, when the
 * daemon asks (at the end of each session, now and then while the chair is busy, at exit): never on a tick.
 * A kill -9 or a power cut loses at most what was counted since the last write. */
#pragma once

#include <stdint.h>
#include <systemd/sd-event.h>

#define USAGE_FILE     "usage"
#define USAGE_FILE_MAX 16384 /* a counter a line; a larger file is not chaird's */
#define USAGE_MAX      32    /* counters at most; a name is [a-z0-9-], at most 47 characters */
#define USAGE_NAME_MAX 48

struct usage;

/* Loads the counters of the state directory dir_fd (state_dir names it in the journal; -1: none); lines
 * that cannot be read are left out, counted in one line of the journal. A missing or unreadable file starts
 * every counter at 0; an odd or too large one is set aside as usage.broken. */
int usage_new(sd_event *event, int dir_fd, const char *state_dir, struct usage **ret);
/* Writes what is not on the disk yet (here, at exit), and frees. */
struct usage *usage_free(struct usage *u);
static inline void usage_freep(struct usage **u)
{
        usage_free(*u);
}
/* Adds amount to a counter, made (at 0) if new. -EINVAL for a bad name, -E2BIG past USAGE_MAX counters. */
int usage_add(struct usage *u, const char *name, uint64_t amount);
/* Starts writing the counters to the disk when something was counted since the last save (one more write
 * after the one under way, when there is one). */
void usage_save(struct usage *u);
size_t usage_count(const struct usage *u);
/* The i-th counter, in the order they were made. */
const char *usage_name(const struct usage *u, size_t i);
uint64_t usage_value(const struct usage *u, size_t i);
/* A counter by name; 0 when there is none. */
uint64_t usage_get(const struct usage *u, const char *name);
/* A save is asked for or under way, for tests. */
bool usage_saving(const struct usage *u);
