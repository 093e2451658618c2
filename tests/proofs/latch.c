/* latch.c: the proof of the fault latch (daemon/daemon.c, the real file, with the stubs of latch-stubs.c):
 * for every sequence of up to PROOF_STEPS events, each one of
 *   a safety trip arriving (any fault, any back-off), EmergencyStop, Start (a catalog program or the
 *   profile's, with the profile's heat), StartManual, a manual change, Resume, Pause, Recline (a preset or a
 *   saved position), Jog, SetHeat (any level, 0 too), SetIntensity, Adjust, AdjustShoulders, Release, Stop,
 *   ResetFault, the chair's read of the inputs ending (well or with an error), the reset's timeout, the
 *   idle guard, the control tick, the deferred safety check and the tick's linger firing (each only while
 *   enabled), or nothing,
 * with the emergency-stop input and the clock changing before each, from a start with or without a latched
 * fault (chaird comes up in "interrupted") and an engine in any state (idle when a fault is latched), it
 * proves:
 * - once a fault is latched (a trip, EmergencyStop), no output leaves its safe value until a ResetFault
 *   clears it: nothing is driven, heated or inflated (latch-stubs.c says which calls drive), and the engine
 *   stays idle. Exactly two exceptions, each bounded: the trip's own back-off (chair_back_off(): only from
 *   on_safety_trip(), once, after chair_safe(), with the motor, direction and time the trip gives) and
 *   Release opening the legrest (only from daemon_release(), only the legrest, only to its open end 1.0,
 *   never while the emergency-stop input is pressed). Heat level 0, venting and holding are safe values;
 * - a latched fault is cleared only when safety_cause() has said that no row's cause is there, after the
 *   inputs were read afresh: by a chair_refresh() that began after the fault latched and ended without an
 *   error, and only from that read's end (never from a timeout, a read that failed, or the idle guard's
 *   read); and daemon.c's fault is the latch the harness sees after every event (set by every trip and
 *   EmergencyStop, cleared by nothing else);
 * - a ResetFault that answers 0 left the fault cleared (or none was latched), unless a new trip latched
 *   after the clear; each ResetFault is answered once;
 * - memory safety of those paths (bounds, pointers, signed overflow, unwinding). */
#include "../../daemon/daemon.c"

#include "latch-stubs.h"

#ifndef PROOF_STEPS
#define PROOF_STEPS 4
#endif

static struct daemon daemon_of_proof;
static struct daemon *const d = &daemon_of_proof;

/* Ghost state: the latch as the harness sees it. */
static bool latched;
static unsigned latch_seq;    /* when it latched */
static bool trip_after_clear; /* a trip latched after the last clear */
static bool in_fresh_read;    /* the reset's read ends well: its callback runs */
static unsigned fresh_started_seq, fresh_done_seq;

void proof_output(const char *what)
{
        if (!latched)
                return;
        if (proof_releasing && proof_release_move_ok() && !proof_estop)
                return; /* Release opens the legrest */
        assert(!"latch: an output leaves its safe value while a fault is latched");
}

static void latch_begins(void)
{
        if (!latched)
                latch_seq = ++proof_seq;
        latched = true;
        trip_after_clear = true;
}

void proof_trip_arrives(const struct safety_trip *t)
{
        const struct safety_trip *outer = proof_trip;
        bool safe = proof_safe_since_trip, backed = proof_backed_off;

        latch_begins();
        proof_trip = t;
        proof_safe_since_trip = proof_backed_off = false;
        on_safety_trip(t, d);
        proof_trip = outer;
        proof_safe_since_trip = safe;
        proof_backed_off = backed;
}

void proof_reset_cleared(void)
{
        assert(latched && "reset: clears a fault that was latched");
        assert(in_fresh_read && "reset: cleared only at the end of a read of the inputs that went well");
        assert(fresh_started_seq > latch_seq &&
               "reset: cleared on inputs read afresh, after the fault latched");
        assert(proof_cause_clear_seq > fresh_done_seq &&
               "reset: cleared only when safety_cause() said nothing");
        latched = false;
        trip_after_clear = false;
}

void proof_engine_changed(unsigned what)
{
        on_engine_changed(d->engine, what, d);
}

void proof_engine_finished(enum finish_reason reason)
{
        on_engine_finished(d->engine, "x", reason, d);
}

/* ResetFault's callers. */
#define WAITERS PROOF_STEPS
static struct waiter {
        bool asked, answered;
} waiters[WAITERS];
static size_t n_waiters;

static void reset_done(int r, const char *why, void *userdata)
{
        struct waiter *w = userdata;

        assert(w->asked && !w->answered && "reset: each ResetFault is answered once");
        w->answered = true;
        assert((r < 0 || d->fault == FAULT_NONE || trip_after_clear) &&
               "reset: answered 0 while the fault is still latched");
}

static void observed(unsigned props, void *userdata)
{
}

static void finished(const char *program, enum finish_reason reason, void *userdata)
{
}

static bool fires(int src)
{
        if (proof_sources[src].enabled == SD_EVENT_OFF || proof_now < proof_sources[src].at)
                return false;
        if (proof_sources[src].enabled == SD_EVENT_ONESHOT)
                proof_sources[src].enabled = SD_EVENT_OFF;
        return true;
}

static sd_event_source *src(int i)
{
        return (sd_event_source *) &proof_sources[i];
}

enum {
        EV_TRIP,
        EV_ESTOP,
        EV_START,
        EV_START_MANUAL,
        EV_CHANGE_MANUAL,
        EV_RESUME,
        EV_PAUSE,
        EV_RECLINE,
        EV_JOG,
        EV_SET_HEAT,
        EV_SET_INTENSITY,
        EV_ADJUST,
        EV_ADJUST_SHOULDERS,
        EV_RELEASE,
        EV_STOP,
        EV_RESET,
        EV_READ_ENDS,
        EV_RESET_TIMEOUT,
        EV_GUARD,
        EV_TICK,
        EV_CHECK,
        EV_LINGER,
        EV_NOTHING,
        _EV_MAX,
};

static void read_ends(void)
{
        struct proof_refresh r = proof_refresh;
        int error = nondet_bool() ? 0 : -EIO;

        if (!r.pending)
                return;
        proof_refresh.pending = false;
        if (r.done == on_guard_read) {
                on_guard_read(d->chair, error, r.userdata);
                return;
        }
        assert(r.done == on_inputs_read && "chair_refresh: only the reset and the idle guard read");
        if (!error) {
                in_fresh_read = true;
                fresh_started_seq = r.started_seq;
                fresh_done_seq = ++proof_seq;
        }
        on_inputs_read(d->chair, error, r.userdata);
        in_fresh_read = false;
}

static void event(unsigned ev)
{
        static struct program manual;
        static struct engine_adjust adjust;

        switch (ev) {
        case EV_TRIP:
                safety_check(d->safety, now_usec());
                break;
        case EV_ESTOP:
                latch_begins();
                daemon_emergency_stop(d, "a button");
                break;
        case EV_START:
                daemon_start(d, nondet_bool() ? "" : "x", 0, nondet_bool() ? 0 : 3);
                break;
        case EV_START_MANUAL:
                daemon_start_manual(d, &manual, 0);
                break;
        case EV_CHANGE_MANUAL:
                daemon_change_manual(d, &manual, 0);
                break;
        case EV_RESUME:
                daemon_resume(d);
                break;
        case EV_PAUSE:
                daemon_pause(d);
                break;
        case EV_RECLINE:
                daemon_recline(d, "flat");
                break;
        case EV_JOG:
                daemon_jog(d, nondet_bool() ? AXIS_LEGREST : AXIS_BACKREST, nondet_bool() ? 1 : -1);
                break;
        case EV_SET_HEAT: {
                unsigned level = nondet_unsigned();
                __CPROVER_assume(level <= HEAT_LEVELS + 1);
                daemon_set_heat(d, nondet_bool() ? 0 : 2, level);
                break;
        }
        case EV_SET_INTENSITY:
                daemon_set_intensity(d, nondet_bool() ? 1 : 5);
                break;
        case EV_ADJUST:
                daemon_adjust(d, nondet_bool() ? &adjust : NULL);
                break;
        case EV_ADJUST_SHOULDERS:
                daemon_adjust_shoulders(d, nondet_bool() ? 10 : -10);
                break;
        case EV_RELEASE:
                proof_releasing = true;
                daemon_release(d);
                proof_releasing = false;
                break;
        case EV_STOP:
                daemon_stop(d);
                break;
        case EV_RESET:
                __CPROVER_assume(n_waiters < WAITERS);
                waiters[n_waiters].asked = true;
                daemon_reset_fault(d, reset_done, &waiters[n_waiters]);
                n_waiters++;
                break;
        case EV_READ_ENDS:
                read_ends();
                break;
        case EV_RESET_TIMEOUT:
                if (fires(SRC_RESET_TIMEOUT))
                        on_reset_timeout(src(SRC_RESET_TIMEOUT), proof_now, d);
                break;
        case EV_GUARD:
                if (d->guard && fires(SRC_GUARD))
                        on_guard(src(SRC_GUARD), proof_now, d);
                break;
        case EV_TICK:
                if (fires(SRC_TICK))
                        on_tick(src(SRC_TICK), proof_now, d);
                break;
        case EV_CHECK:
                if (fires(SRC_CHECK))
                        on_check(src(SRC_CHECK), d);
                break;
        case EV_LINGER:
                if (fires(SRC_LINGER))
                        on_linger(src(SRC_LINGER), proof_now, d);
                break;
        default:
                break;
        }
}

int main(void)
{
        static struct options options = {.time_scale = 1.0};
        static struct chair_config config;
        static struct heater_config heaters[2] = {{.zone = "seat"}, {.zone = "back"}};
        static char chair, engine, catalog, safety, session;

        config.axis[AXIS_BACKREST] = nondet_bool();
        config.axis[AXIS_LEGREST] = nondet_bool();
        config.heaters = heaters;
        config.n_heaters = nondet_bool() ? 2 : 1;
        config.n_zones = nondet_bool() ? 2 : 0;
        config.n_presets = 1;

        d->options = &options;
        d->config = &config;
        d->chair = (struct chair *) &chair;
        d->engine = (struct engine *) &engine;
        d->catalog = (struct catalog *) &catalog;
        d->safety = (struct safety *) &safety;
        d->session = (struct session *) &session;
        d->state_fd = -1;
        d->tick = src(SRC_TICK);
        d->linger = src(SRC_LINGER);
        d->reset_timeout = src(SRC_RESET_TIMEOUT);
        d->guard = nondet_bool() ? src(SRC_GUARD) : NULL;
        d->guard_usec = USEC_PER_SEC;
        d->emit_source = src(SRC_EMIT);
        d->check_source = src(SRC_CHECK);
        d->tick_usec = 100 * USEC_PER_MSEC;
        daemon_set_observer(d, observed, finished, NULL, NULL);

        /* The start: as daemon_new() leaves it, faulted ("interrupted") or not; the engine in any state
         * while no fault is latched (a latch aborts it). */
        proof_estop = nondet_bool();
        if (nondet_bool()) {
                latch_begins();
                d->fault = FAULT_INTERRUPTED;
                proof_engine = ENGINE_IDLE;
        } else {
                proof_engine = (enum engine_state) nondet_unsigned();
                __CPROVER_assume(proof_engine < _ENGINE_STATE_MAX);
        }
        trip_after_clear = false;
        proof_sources[SRC_TICK].enabled = nondet_bool() ? SD_EVENT_ON : SD_EVENT_OFF;
        proof_sources[SRC_GUARD].enabled = SD_EVENT_ON;
        update_state(d);

        for (int step = 0; step < PROOF_STEPS; step++) {
                usec_t dt = nondet_u64();
                unsigned ev = nondet_unsigned();

                __CPROVER_assume(dt <= 60 * USEC_PER_SEC);
                __CPROVER_assume(ev < _EV_MAX);
                proof_now += dt;
                proof_estop = nondet_bool();
                event(ev);
                assert(latched == (d->fault != FAULT_NONE) && "latch: daemon.c's fault is the latch");
                assert((!latched || proof_engine == ENGINE_IDLE) &&
                       "latch: the engine stays idle while latched");
        }
        return 0;
}
