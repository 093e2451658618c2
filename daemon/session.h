/* session.h: the bookkeeping around the chair's sessions: the history of sessions and faults, the usage
 * counters, the record of the session that runs (for one cut short), the profiles and the one selected,
 * the relay-pair motors' saved positions, and the marker of an active chair. It observes the core: the core
 * calls the session_on_*() hooks as things happen and never reads anything back that steers the chair. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "chair.h"
#include "engine.h"
#include "history.h"
#include "profiles.h"
#include "safety.h"
#include "usage.h"

struct session;

/* Opens the records in the state directory state_fd (named state_dir in the journal; -1: none, nothing
 * is kept) for the chair c driven by engine e (both borrowed, outliving the session). time_scale and
 * tick_usec: the simulator's pace and the control tick, for counting run time. An unreadable file starts
 * afresh with a word in the journal; fails only for want of memory. */
int session_new(sd_event *event, int state_fd, const char *state_dir, const struct chair_config *c,
                struct chair *chair, struct engine *e, double time_scale, usec_t tick_usec,
                struct session **ret);
/* Writes what is not on the disk yet, and frees. */
struct session *session_free(struct session *s);
static inline void session_freep(struct session **s)
{
        session_free(*s);
}

/* At start: whether the last chaird ended with the chair active (the marker left behind; what it said in
 * what), for the core to latch. If so, the saved positions are dropped (the motors may have moved: they
 * home) and the session it cut short is recorded as interrupted (that record names the fault); else the
 * saved positions are given back to the chair. */
bool session_restore(struct session *s, char *what, size_t size);

/* Hooks, called by the core. */
void session_on_active(struct session *s);                  /* the chair is busy: the marker goes down */
void session_on_idle(struct session *s);                    /* idle and safe: the marker goes */
void session_on_tick(struct session *s, usec_t now);        /* run time counted */
void session_on_motion(struct session *s);                  /* a motor stopped or started */
void session_on_program(struct session *s);                 /* the engine runs a program */
void session_on_fault(struct session *s, enum fault fault); /* a fault latched (its first cause) */
void session_on_reset(struct session *s); /* the fault was reset: the next one is recorded */
void session_on_finished(struct session *s, const char *program, enum finish_reason reason,
                         enum fault fault);
/* At exit, the chair made safe (safe) or not, a fault latched or not: the positions written as they are
 * now, and the marker removed on a clean end. */
void session_on_exit(struct session *s, bool safe, bool faulted);

const struct history *session_history(const struct session *s);
const struct usage *session_usage(const struct session *s);
struct profiles *session_profiles(const struct session *s);
/* The profile selected ("" for none), and the one the session under way started with. */
const char *session_selected(const struct session *s);
void session_select(struct session *s, const char *name);
const char *session_started_with(const struct session *s);
