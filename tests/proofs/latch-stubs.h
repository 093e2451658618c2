/* latch-stubs.h: what the fault latch's proof (latch.c) puts around daemon/daemon.c: the chair, the engine,
 * the safety supervisor, the session records, the catalog and profiles, sd-event and the clock
 * (latch-stubs.c, which says what each assumes), and what they record for the harness's assertions. */
#pragma once

#include "../../daemon/engine.h"
#include "../../daemon/safety.h"

#include "stubs.h"

/* What the stubs record (ghost state: none of it is chaird's). proof_seq orders the events below. */
extern unsigned proof_seq;
extern bool proof_estop;                     /* the emergency-stop input as the chair has read it */
extern enum engine_state proof_engine;       /* the engine's state */
extern bool proof_engine_manual;             /* the program it runs is manual mode's */
extern unsigned proof_cause_clear_seq;       /* when safety_cause() last said "nothing"; 0: never */
extern const struct safety_trip *proof_trip; /* the trip whose on_safety_trip() runs; NULL otherwise */
extern bool proof_safe_since_trip;           /* chair_safe() ran since that trip arrived */
extern bool proof_backed_off;                /* that trip's back-off was asked for */
extern bool proof_releasing;                 /* daemon_release() runs */

/* The chair's one input read at a time (chair_refresh()): its callback, when it started. */
struct proof_refresh {
        bool pending;
        unsigned started_seq;
        chair_refreshed_t done;
        void *userdata;
};
extern struct proof_refresh proof_refresh;

/* The event sources daemon.c keeps: enabled (SD_EVENT_OFF, _ON, _ONESHOT) and when due. */
enum { SRC_TICK, SRC_LINGER, SRC_RESET_TIMEOUT, SRC_GUARD, SRC_EMIT, SRC_CHECK, _SRC_MAX };
struct proof_source {
        int enabled;
        usec_t at;
};
extern struct proof_source proof_sources[_SRC_MAX];
/* The chair_move_axis() under way is the legrest's, to its open end (Release's exception). */
bool proof_release_move_ok(void);

/* The harness's hooks (latch.c), which the stubs call. */
/* Something is driven: a motor, a heating element, a pump or valve that inflates, a roller. */
void proof_output(const char *what);
/* A safety trip arrives, from within safety_check(). */
void proof_trip_arrives(const struct safety_trip *t);
/* session_on_reset(): daemon.c has just cleared the latched fault. */
void proof_reset_cleared(void);
/* The engine's callbacks (daemon.c's on_engine_changed() and on_engine_finished()). */
void proof_engine_changed(unsigned what);
void proof_engine_finished(enum finish_reason reason);
