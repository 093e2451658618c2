/* history.h: the record of sessions and faults, newest first, bounded, kept in the state directory. The
 * file is written whole and atomically (writer.h) at each new record, never on a tick: a power cut or a
 * kill -9 loses at most the record being written, and a file damaged by hand loses only its bad lines. */
#pragma once

#include <systemd/sd-event.h>

#include "util.h"

#define HISTORY_FILE "history"

struct history_record {
        usec_t start_usec;    /* CLOCK_REALTIME */
        usec_t duration_usec; /* program time it ran; 0 for a fault outside a session */
        char program[65];     /* "manual" for manual mode, "" for a fault outside a session */
        char profile[65];     /* "" without one */
        char reason[32];      /* as Finished says it; "fault" for a fault outside a session */
        char fault[32];       /* the fault that ended it, "" for none */
};

struct history;

/* Loads state_dir's history, keeping at most max records (the newest); lines that cannot be read are left
 * out with a line in the journal each. A missing file is an empty history. */
int history_new(sd_event *event, const char *state_dir, unsigned max, struct history **ret);
/* Writes what is not on the disk yet, and frees. */
struct history *history_free(struct history *h);
static inline void history_freep(struct history **h)
{
        history_free(*h);
}
/* Adds a record as the newest (the oldest goes past the bound) and starts writing the file. */
void history_add(struct history *h, const struct history_record *r);
size_t history_count(const struct history *h);
/* The i-th record, 0 the newest. */
const struct history_record *history_get(const struct history *h, size_t i);

/* For tests: a record as its line in the file, and read back. */
int history_format_record(const struct history_record *r, char *buf, size_t size);
int history_parse_record(const char *line, struct history_record *ret);
