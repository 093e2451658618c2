/* engine.h: runs one program's compiled timeline on the chair, on absolute CLOCK_MONOTONIC deadlines. */
#pragma once

#include <systemd/sd-event.h>

#include "catalog.h"
#include "chair.h"
#include "timeline.h"

enum engine_state {
        ENGINE_IDLE,
        ENGINE_SCANNING, /* the body scan before the timeline starts */
        ENGINE_RUNNING,
        ENGINE_PAUSED,
        _ENGINE_STATE_MAX,
};

/* Why a program ended (the Finished signal's reason). */
enum finish_reason {
        FINISH_COMPLETED,
        FINISH_STOPPED,
        FINISH_FAULT,
        FINISH_EMERGENCY_STOP,
        FINISH_TIMEOUT,
        _FINISH_REASON_MAX,
};
DECLARE_STRING_TABLE(finish_reason, enum finish_reason);

/* What changed, for the owner's callback (a bit set). */
enum {
        ENGINE_CHANGED_STATE = 1u << 0,
        ENGINE_CHANGED_PROGRAM = 1u << 1, /* program, duration */
        ENGINE_CHANGED_PHASE = 1u << 2,
        ENGINE_CHANGED_INTENSITY = 1u << 3,
};

struct engine;

struct engine_callbacks {
        void (*changed)(struct engine *e, unsigned what, void *userdata);
        /* The program ended; the engine is idle again (the chair may still be winding down). */
        void (*finished)(struct engine *e, const char *program_id, enum finish_reason reason,
                         void *userdata);
};

/* time_scale > 1 runs programs that much faster (simulator and tests only). session_cap_usec ends any
 * program that has run that long (pauses included, scaled like the rest) with FINISH_TIMEOUT. */
int engine_new(sd_event *event, struct chair *chair, const struct chair_config *config, double time_scale,
               const struct engine_callbacks *cb, void *userdata, struct engine **ret);
struct engine *engine_free(struct engine *e);
static inline void engine_freep(struct engine **e)
{
        engine_free(*e);
}

/* Starts a program (taking a reference on it) for duration_usec (0: its own) at an intensity (0: the chair's
 * present one, engine_intensity(); a given one stays the chair's after the program). Begins with
 * the body scan where the chair has one. -EBUSY while one runs, -EINVAL for a duration the program cannot
 * run for, -ERANGE for one beyond the session cap. */
int engine_start(struct engine *e, struct catalog_entry *program, usec_t duration_usec, unsigned intensity);
/* Starts a timeline compiled or built by the caller, for entry's program (benchmarks: programs cannot say
 * setpoints 10 ms apart). Takes ownership of t on success; errors as engine_start(). */
int engine_start_timeline(struct engine *e, struct catalog_entry *entry, struct timeline *t,
                          unsigned intensity);
/* Stops the program gracefully: roller parked, air released, heat and foot rollers off, the recline back
 * upright when the program would have returned it. Finished(reason). -ENOENT when no program runs. */
int engine_stop(struct engine *e, enum finish_reason reason);
/* Ends the program at once, without winding down: the caller has made the chair safe (a fault). */
void engine_abort(struct engine *e, enum finish_reason reason);
/* -ENOENT without a program, -EALREADY when already paused (resp. not paused). */
int engine_pause(struct engine *e);
int engine_resume(struct engine *e);
/* The chair's intensity: applies at once to what runs now and to what follows, programs started later
 * included. */
void engine_set_intensity(struct engine *e, unsigned intensity);
/* A person's own settings during a session (Adjust): each holds until the session ends or is reset, and the
 * program's later setpoints keep it. An adjusted depth or airbag intensity is the person's choice as it
 * stands: the session's intensity no longer shifts it. */
struct engine_adjust {
        unsigned speed;            /* roller speed 1-6; 0: the program's */
        unsigned depth;            /* roller depth 1-5; 0: the program's */
        int width;                 /* enum width; -1: the program's */
        bool area;                 /* the roller's work moves into from..to */
        struct position from, to;  /* equal for a spot */
        unsigned airbag_intensity; /* 1-5; 0: the program's */
        int foot;                  /* foot-roller speed 0-6; -1: the program's */
};
#define ENGINE_ADJUST_NONE ((struct engine_adjust){.width = -1, .foot = -1})

/* Merges the fields changes sets into the present adjustment and applies it at once (to what runs now; to
 * what a paused or scanning session does when it goes on). -ENOENT when no program runs. */
int engine_adjust(struct engine *e, const struct engine_adjust *changes);
/* Clears every adjustment: the program's own settings again, at once. -ENOENT when no program runs. */
int engine_adjust_reset(struct engine *e);
const struct engine_adjust *engine_adjustment(const struct engine *e);
/* Puts another program in the running one's place (manual mode changed by Adjust), compiled for
 * duration_usec: it goes on at the present program time, every track doing what the new one does then, the
 * session cap counted from the first start. -ENOENT when no program runs, -EINVAL when the duration does not
 * reach beyond the present time (or the format's minimum), -ERANGE beyond the session cap. */
int engine_replace(struct engine *e, struct catalog_entry *entry, usec_t duration_usec);
/* The roller's setpoint again, e.g. after the shoulders moved. */
void engine_reapply_roller(struct engine *e);

/* The chair reports changes (the body scan's end, among others). */
void engine_on_chair(struct engine *e, unsigned chair_changes);
/* A person's own heat level for a zone: holds for the rest of the program, whatever the program says. */
void engine_override_heat(struct engine *e, size_t heater);

/* For benchmarks and tests: called after each setpoint is applied, with the CLOCK_MONOTONIC deadline it was
 * due at; and once with s == NULL when the program completes, with the deadline of its end. */
typedef void (*engine_trace_t)(struct engine *e, const struct setpoint *s, usec_t due_usec, void *userdata);
void engine_set_trace(struct engine *e, engine_trace_t trace, void *userdata);

enum engine_state engine_state(const struct engine *e);
const struct program *engine_program(const struct engine *e);   /* NULL when idle */
const char *engine_phase(const struct engine *e);               /* NULL before the first phase */
bool engine_phase_index(const struct engine *e, size_t *ret);   /* false before the first phase */
const struct timeline *engine_timeline(const struct engine *e); /* what runs, compiled; NULL when idle */
usec_t engine_elapsed(const struct engine *e);                  /* program time */
usec_t engine_finished_elapsed(const struct engine *e); /* program time the last one ran, once ended */
usec_t engine_duration(const struct engine *e);
unsigned engine_intensity(const struct engine *e);
