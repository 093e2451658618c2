/* history.h: the record of sessions and faults, newest first, bounded, kept in the state directory.
 *
 * The file is a log of one line per record. A record is appended when it is made (a write to the page cache,
 * at once), then an fdatasync runs off the loop: a kill -9 loses nothing once history_add() returned, a
 * power cut at most the record being synced. A line cut short (a cut in the middle of its write) or damaged
 * by hand is left out at the next start with a line in the journal, and the file is written again without
 * it. Past the bound (and some slack, so that not every record rewrites the file), or after an append
 * failed, the records in memory are written to "history.new", synced off the loop, and renamed over the
 * file; records made meanwhile go to both, so that whichever file is in place holds every record. */
#pragma once

#include <systemd/sd-event.h>

#include "util.h"

#define HISTORY_FILE "history"
#define HISTORY_NEW  "history.new" /* a rewrite, until it takes the file's place */

struct history_record {
        usec_t start_usec;    /* CLOCK_REALTIME */
        usec_t duration_usec; /* program time it ran; 0 for a fault outside a session */
        char program[65];     /* "manual" for manual mode, "" for a fault outside a session */
        char profile[65];     /* "" without one */
        char reason[32];      /* as Finished says it; "fault" for a fault outside a session */
        char fault[32];       /* the fault that ended it, "" for none */
};

struct history;

/* Loads the history of the state directory dir_fd (state_dir names it in the journal; -1: none), keeping
 * at most max records (the newest); lines that cannot be read are left out, counted in one line of the
 * journal (and the file written again without them). A missing file is an empty history; an odd one, or one
 * larger than (max + a tenth) lines of HISTORY_LINE_MAX, is set aside as history.broken. Fails only for want
 * of memory: an unreadable file is a history that starts afresh. */
int history_new(sd_event *event, int dir_fd, const char *state_dir, unsigned max, struct history **ret);
/* Waits for the writes under way, syncs, and frees. */
struct history *history_free(struct history *h);
static inline void history_freep(struct history **h)
{
        history_free(*h);
}
/* Adds a record as the newest (the oldest goes past the bound), and appends it to the file. */
void history_add(struct history *h, const struct history_record *r);
size_t history_count(const struct history *h);
/* The i-th record, 0 the newest; NULL past the last. */
const struct history_record *history_get(const struct history *h, size_t i);
/* Records in the file now (the bound plus the slack at most), for tests. */
size_t history_file_records(const struct history *h);
/* A sync or a rewrite is under way, for tests. */
bool history_busy(const struct history *h);
bool history_rewriting(const struct history *h);

/* A record as its line in the file (with its '\n'), and read back (a line without its '\n' is refused:
 * it was cut short). */
int history_format_record(const struct history_record *r, char *buf, size_t size);
int history_parse_record(const char *line, struct history_record *ret);
