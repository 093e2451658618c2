/* daemon.h: chaird's core: the loop, the chair, the engine, the programs and the fault latch, behind narrow
 * functions. Its context is private; the D-Bus API (api.c) calls these and hears of changes through an
 * observer, so that the core runs and is tested without a bus. */
#pragma once

#include <sys/types.h>
#include <systemd/sd-event.h>

#include "catalog.h"
#include "chair.h"
#include "config.h"
#include "engine.h"
#include "options.h"
#include "profiles.h"
#include "safety.h"

/* Properties of the main object, as bits of a "changed" set. */
enum {
        PROP_STATE = 1u << 0,
        PROP_PROGRAM = 1u << 1,
        PROP_PHASE = 1u << 2,
        PROP_ELAPSED = 1u << 3,
        PROP_DURATION = 1u << 4,
        PROP_INTENSITY = 1u << 5,
        PROP_HEAT = 1u << 6,
        PROP_TEMPERATURES = 1u << 7,
        PROP_POSITIONS = 1u << 8,
        PROP_RECLINE = 1u << 9,
        PROP_FAULT = 1u << 10, /* Fault and FaultMessage */
        PROP_LOCKED = 1u << 11,
        PROP_SHOULDERS = 1u << 12,
        PROP_PROFILES = 1u << 13, /* Profiles and Profile */
        PROP_SESSION = 1u << 14,  /* what runs, for front-ends; with any of the session's own properties */
};

/* Who hears of what the core does (api.c), on the loop. */
/* Properties changed; sensor readings at most once a control tick (positions) or a second. */
typedef void (*daemon_changed_t)(unsigned props, void *userdata);
/* A program ended; the properties it changed were reported just before. */
typedef void (*daemon_finished_t)(const char *program, enum finish_reason reason, void *userdata);
/* The programs were reloaded: old is the set before (freed after the call). */
typedef void (*daemon_programs_changed_t)(const struct catalog *old, const struct catalog *now,
                                          void *userdata);

struct daemon;

/* Loads the config and the programs and puts every output safe; at start it comes up in fault "interrupted"
 * when the last run ended while the chair was active. No D-Bus: that is api.c's. */
int daemon_new(const struct options *o, struct daemon **ret);
struct daemon *daemon_free(struct daemon *d);
static inline void daemon_freep(struct daemon **d)
{
        daemon_free(*d);
}
/* Sets who hears of changes; each may be NULL (and all, to stop hearing). */
void daemon_set_observer(struct daemon *d, daemon_changed_t on_changed, daemon_finished_t on_finished,
                         daemon_programs_changed_t on_programs_changed, void *userdata);
/* Says READY=1 to systemd, runs the loop until SIGTERM, then puts every output safe. */
int daemon_run(struct daemon *d);

/* What the core holds, for reading (borrowed). */
sd_event *daemon_event(const struct daemon *d);
const struct options *daemon_options(const struct daemon *d);
const struct chair_config *daemon_config(const struct daemon *d);
const struct chair *daemon_chair(const struct daemon *d);
const struct catalog *daemon_catalog(const struct daemon *d);
const char *daemon_state(const struct daemon *d); /* idle, scanning, running, ... as last reported */
enum fault daemon_fault(const struct daemon *d);
const char *daemon_fault_message(const struct daemon *d);
bool daemon_locked(const struct daemon *d);
unsigned daemon_intensity(const struct daemon *d);
const struct program *daemon_program(const struct daemon *d); /* NULL when none runs */
const char *daemon_phase(const struct daemon *d);             /* NULL before the first phase */
usec_t daemon_elapsed(const struct daemon *d);
usec_t daemon_duration(const struct daemon *d);
struct history;
struct usage;
const struct history *daemon_history(const struct daemon *d); /* history.h */
const struct usage *daemon_usage(const struct daemon *d);     /* usage.h */
const struct profiles *daemon_profiles(const struct daemon *d);
const struct profile *daemon_profile(const struct daemon *d); /* the selected one; NULL for none */

/* The session that runs or is paused, as a front-end shows it (borrowed; program NULL when idle). */
struct daemon_session {
        const struct program *program;
        bool manual;                            /* manual mode's (StartManual) */
        const char *profile;                    /* selected at its start; "" for none */
        const struct timeline *timeline;        /* each phase's start */
        bool has_phase;                         /* false during the body scan */
        size_t phase;                           /* index into program->phases */
        const struct engine_adjust *adjustment; /* what the person changed (Adjust) */
        usec_t ends_at_usec;   /* CLOCK_REALTIME at its end if it runs on; 0 while scanning or paused */
        usec_t remaining_usec; /* program time left, as at its last change */
};
void daemon_session(const struct daemon *d, struct daemon_session *ret);

/* Commands. The caller has decided that its sender may ask (authorization is the API's); the core refuses
 * whatever moves or heats while a fault is latched (-ENOTRECOVERABLE) or the emergency-stop button is
 * pressed
 * (-EPERM). Each command's outputs go to the drivers before it returns. */

/* -ENOENT: no such program; -EBUSY: one runs; -ERANGE: longer than the session cap; -EINVAL: a duration the
 * program cannot run for. intensity 0: the chair's present one. */
int daemon_start(struct daemon *d, const char *program_id, usec_t duration_usec, unsigned intensity);
/* Profiles (profiles.h). Selecting one ("" for none) puts its shoulder offset in use at once (none: 0); its
 * intensity, heat and program apply at each Start. -ENOENT for an unknown name. */
int daemon_select_profile(struct daemon *d, const char *name);
/* profiles_wait and profiles_unwait of the daemon's profiles; the folder they are kept in, for messages. */
int daemon_profile_wait(struct daemon *d, const char *name, profiles_done_t done, void *userdata);
void daemon_profile_unwait(struct daemon *d, void *userdata);
const char *daemon_profiles_dir(const struct daemon *d);
/* Adds or replaces a profile (and reselects it when it is the selected one). -E2BIG past the bound. */
int daemon_save_profile(struct daemon *d, const struct profile *p);
/* -ENOENT; deleting the selected profile selects none. */
int daemon_delete_profile(struct daemon *d, const char *name);
/* The axes as they are now, as a saved position of the selected profile (replacing one of that name).
 * -ENOENT without a selected profile, -EOPNOTSUPP without a recline, -E2BIG past the positions' bound,
 * -EAGAIN while an axis's position is not known. */
int daemon_save_position(struct daemon *d, const char *name);
/* -ENOENT without a selected profile or without that position. */
int daemon_delete_position(struct daemon *d, const char *name);
/* Manual mode: runs program (taken, freed on failure too), built by the caller from a person's choices and
 * checked against the chair, as program PROGRAM_MANUAL_ID for duration_usec (0: its own). Errors as
 * daemon_start(). */
int daemon_start_manual(struct daemon *d, struct program *program, usec_t duration_usec);
/* Manual mode changed: program (taken) takes the running manual session's place from the present time on,
 * for duration_usec (0: the session's). -ENOENT when no manual session runs; -EINVAL when the duration is
 * not beyond the present time; -ERANGE beyond the session cap. */
int daemon_change_manual(struct daemon *d, struct program *program, usec_t duration_usec);
/* A person's adjustments (merged into theirs so far), or with changes NULL, none: applied at once and kept
 * until the program ends. -ENOENT when no program runs. */
int daemon_adjust(struct daemon *d, const struct engine_adjust *changes);
/* Moves the shoulder position in use by offset_mm (positive: down the back); the roller follows at once.
 * -ERANGE off the config's shoulder range, -EOPNOTSUPP without a roller. */
int daemon_adjust_shoulders(struct daemon *d, int offset_mm);
unsigned daemon_shoulders(const struct daemon *d); /* mm from the top of the track */

/* The program ends gracefully; outside a program, whatever moves or heats stops. Always allowed. */
void daemon_stop(struct daemon *d);
/* -ENOENT: no program; -EALREADY: already paused (not paused). Pausing is allowed while faulted. */
int daemon_pause(struct daemon *d);
int daemon_resume(struct daemon *d);
/* Latches fault emergency-stop; why says who asked. Always allowed. */
void daemon_emergency_stop(struct daemon *d, const char *why);
/* The program ends, air out of every bag at once, rollers stop, the legrest opens. Always allowed. */
void daemon_release(struct daemon *d);
/* -ENOENT: no such preset; -EOPNOTSUPP: no recline. */
int daemon_recline(struct daemon *d, const char *preset); /* a preset, or a saved position of the profile */
/* direction 1: toward reclined/extended, -1: toward upright. -EOPNOTSUPP: the chair lacks the axis. */
int daemon_jog(struct daemon *d, enum axis axis, int direction);
/* INTENSITY_MIN to INTENSITY_MAX (-ERANGE otherwise). */
int daemon_set_intensity(struct daemon *d, unsigned intensity);
/* heater: an index into the config's heaters; level 0 to HEAT_LEVELS (-ERANGE otherwise). Level 0 is always
 * allowed: it is stopping. */
int daemon_set_heat(struct daemon *d, size_t heater, unsigned level);
void daemon_set_locked(struct daemon *d, bool locked);

/* Asked to clear the latched fault: done(0) once it is cleared (or there was none), done(-EBUSY, why) while
 * its cause is still there, judged on inputs read afresh from the buses (the last poll may be a poll period
 * old: a button released just now must count); done(-ECANCELED) when chaird stops first. done is called
 * once, maybe before this returns; why is valid during the call. */
typedef void (*daemon_reset_done_t)(int r, const char *why, void *userdata);
void daemon_reset_fault(struct daemon *d, daemon_reset_done_t done, void *userdata);

/* Loads the programs again: every valid file; a broken one is left out (the program it held before stays)
 * and listed in the catalog's broken files. -EINVAL when some file is broken (its diagnostics in diags),
 * the valid ones loaded all the same; -ENOMEM. */
int daemon_reload_programs(struct daemon *d, struct diag_list *diags);

/* For benchmarks: runs a timeline built by the caller as program program_id's, tracing each setpoint. */
int daemon_start_timeline(struct daemon *d, const char *program_id, struct timeline *t, engine_trace_t trace,
                          void *userdata);
