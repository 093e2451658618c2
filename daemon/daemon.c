/* daemon.c: chaird's core: the loop, the chair, the engine, the programs, the fault latch and the control
 * tick. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>

#include "chaird-bus.h"
#include "daemon.h"
#include "log.h"
#include "session.h"
#include "writer.h"

/* The control tick when no Modbus bus sets a poll period. */
#define TICK_DEFAULT_USEC (100 * USEC_PER_MSEC)
/* After the chair falls idle, inputs are still read this long, so that the last positions and temperatures
 * arrive (and at start, the first ones). */
#define IDLE_LINGER_USEC USEC_PER_SEC
/* A chair with relay-pair motors whose pulses a board counts (a register, read by polling) is read this
 * often while idle: a motor that moves by itself (a welded relay) must be caught then too. Hall sensors on
 * GPIO lines report each pulse as an edge and need no wakeup. A chair with heaters is read every
 * safety.heat-idle-read while idle, for an element that heats by itself. */
#define IDLE_GUARD_USEC USEC_PER_SEC
/* At start and at exit, how long to wait for the safe state to be written. */
#define SAFE_STATE_TIMEOUT_USEC (2 * USEC_PER_SEC)
/* ElapsedUSec and Temperatures are emitted at most this often; Positions at most once a control tick. */
#define SLOW_PROPERTY_INTERVAL_USEC USEC_PER_SEC
/* A reset waits this long at most for the inputs to be read afresh (a dead bus fails sooner). */
#define RESET_READ_TIMEOUT_USEC (5 * USEC_PER_SEC)

static const unsigned slow_props = PROP_TEMPERATURES | PROP_ELAPSED;

struct reset_waiter {
        daemon_reset_done_t done;
        void *userdata;
        unsigned latches; /* latch() calls when it was asked */
};

struct daemon {
        const struct options *options;
        sd_event *event;
        struct chair_config *config;
        struct chair *chair;
        struct engine *engine;
        struct catalog *catalog;
        struct safety *safety;
        daemon_changed_t on_changed; /* the observer, all NULL when none */
        daemon_finished_t on_finished;
        daemon_programs_changed_t on_programs_changed;
        void *observer_userdata;

        const char *state; /* as last reported */
        /* The latched fault; the message in a fixed buffer, so that latching never depends on an
         * allocation. */
        enum fault fault;
        char fault_message[256];
        bool locked;
        bool winding_down; /* a program ended and the chair is parking / returning */

        /* ResetFault calls waiting for the inputs to be read afresh. */
        struct reset_waiter *resets;
        size_t n_resets;
        bool reading; /* a chair_refresh() for a reset is under way */
        /* latch() calls so far, and their number when the reset's read began: a fault latched during the
         * read, or after the reset was asked, is newer than that reset. */
        unsigned latches, read_latches;
        bool guarding;          /* a chair_refresh() of the idle guard is under way */
        sd_event_source *guard; /* the idle guard's reads (NULL: the chair needs none) */
        usec_t guard_usec;      /* their period */
        sd_event_source *reset_timeout;

        sd_event_source *tick;
        sd_event_source *linger; /* the tick's last second after the chair fell idle */
        usec_t tick_usec;
        usec_t ticked_usec;        /* when the control tick last ran its checks */
        sd_event_source *watchdog; /* pings systemd's watchdog after checking that the tick is alive */
        usec_t watchdog_usec;
        bool watchdog_starved; /* a ping was held back (logged once) */
        unsigned dirty;        /* properties to report */
        sd_event_source *emit_source;
        usec_t slow_emitted_usec;
        sd_event_source *check_source; /* a safety check once the present call is over */
        int state_fd; /* the state directory: every file chaird keeps is opened inside it; -1 without one */
        struct saved_file *lock_file; /* the child lock, kept across restarts */

        /* The records around the sessions (history, usage, profiles, positions, the marker): they observe
         * the core through its hooks. */
        struct session *session;
        usec_t session_ends_at, session_remaining; /* daemon_session's, as at the session's last change */
        unsigned intensity_after; /* the chair's own intensity, back when a session at a profile's ends; 0 */
};

/* --- reporting changes --- */

static void emit_now(struct daemon *d, unsigned props)
{
        props &= d->dirty;
        if (!props)
                return;
        d->dirty &= ~props;
        if (d->on_changed)
                d->on_changed(props, d->observer_userdata);
}

static bool ticking(const struct daemon *d)
{
        return d->tick && sd_event_source_get_enabled(d->tick, NULL) > 0;
}

static int on_emit(sd_event_source *s, void *userdata)
{
        struct daemon *d = userdata;

        /* Sensor readings go out with the control tick, at most once a tick (positions) or a second; when
         * the tick stops, the last of them go out now. */
        emit_now(d, ticking(d) ? ~(slow_props | PROP_POSITIONS) : ~0u);
        return 0;
}

/* When the session would end if it ran on: fixed at each of its changes, so that every reader sees the
 * same time between two changes (a front-end counts down from it without ticks). */
static void session_times(struct daemon *d)
{
        usec_t duration = engine_duration(d->engine), elapsed = engine_elapsed(d->engine);

        d->session_remaining = engine_program(d->engine) && duration > elapsed ? duration - elapsed : 0;
        d->session_ends_at = 0;
        if (engine_state(d->engine) == ENGINE_RUNNING)
                d->session_ends_at = now_realtime_usec() + (usec_t) llround((double) d->session_remaining /
                                                                            d->options->time_scale);
}

/* Marks properties changed; they go out at the end of this loop iteration (slow ones at most once a
 * second). */
static void changed(struct daemon *d, unsigned props)
{
        if (props & (PROP_STATE | PROP_PROGRAM | PROP_PHASE | PROP_DURATION | PROP_HEAT | PROP_SESSION)) {
                props |= PROP_SESSION;
                if (d->engine)
                        session_times(d);
        }
        d->dirty |= props;
        if (d->emit_source && props)
                sd_event_source_set_enabled(d->emit_source, SD_EVENT_ONESHOT);
}

/* --- state --- */

static const char *compute_state(struct daemon *d)
{
        if (d->fault)
                return "fault";
        switch (engine_state(d->engine)) {
        case ENGINE_SCANNING:
                return "scanning";
        case ENGINE_RUNNING:
                return "running";
        case ENGINE_PAUSED:
                return "paused";
        default:
                break;
        }
        if (d->winding_down && !chair_roller_parked(d->chair))
                return "stopping";
        d->winding_down = false;
        if (chair_moving(d->chair))
                return "homing";
        return "idle";
}

/* Recomputes State, and whether the control tick and input polling run. */
static void update_state(struct daemon *d)
{
        const char *s = compute_state(d);
        bool active = !streq(s, "idle") || chair_busy(d->chair);

        if (!streq_ptr(s, d->state)) {
                d->state = s;
                log_debug("State: %s", s);
                changed(d, PROP_STATE);
        }
        /* Idle costs nothing: no tick, no polling, no heartbeat (the board's own watchdog then holds it
         * safe, which is where it is anyway). */
        if (active && d->safety)
                session_on_active(d->session);
        if (active) {
                sd_event_source_set_enabled(d->linger, SD_EVENT_OFF);
                if (!ticking(d)) {
                        d->ticked_usec = now_usec(); /* the watchdog's grace starts with the tick */
                        sd_event_source_set_time_relative(d->tick, 0);
                        sd_event_source_set_enabled(d->tick, SD_EVENT_ON);
                        chair_set_active(d->chair, true);
                }
        } else if (ticking(d) && sd_event_source_get_enabled(d->linger, NULL) <= 0) {
                sd_event_source_set_time_relative(d->linger, IDLE_LINGER_USEC);
                sd_event_source_set_enabled(d->linger, SD_EVENT_ONESHOT);
        }
}

/* A command is done: its outputs go to the drivers now, so that the write to the board overlaps the answer
 * to the caller instead of waiting for it. */
static void command_done(struct daemon *d)
{
        update_state(d);
        chair_flush(d->chair);
}

static int on_linger(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        if (!streq(compute_state(d), "idle") || chair_busy(d->chair))
                return 0; /* active again; update_state keeps it going */
        sd_event_source_set_enabled(d->tick, SD_EVENT_OFF);
        chair_set_active(d->chair, false);
        on_emit(NULL, d);
        session_on_idle(d->session);
        return 0;
}

static int on_check(sd_event_source *s, void *userdata)
{
        struct daemon *d = userdata;

        safety_check(d->safety, now_usec());
        return 0;
}

/* The child lock's file in the state directory: one word. */
#define LOCK_FILE     "locked"
#define LOCK_FILE_MAX 16
#define LOCK_ON       "on\n"
#define LOCK_OFF      "off\n"

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        usec_t now = now_usec();

        safety_check(d->safety, now);
        d->ticked_usec = now;
        chair_tick(d->chair);
        session_on_tick(d->session, now);
        if (engine_state(d->engine) == ENGINE_RUNNING)
                d->dirty |= PROP_ELAPSED;
        emit_now(d, PROP_POSITIONS);
        if (now - d->slow_emitted_usec >= SLOW_PROPERTY_INTERVAL_USEC && (d->dirty & slow_props)) {
                d->slow_emitted_usec = now;
                emit_now(d, slow_props);
        }
        sd_event_source_set_time(s, next_period(usec, d->tick_usec, now));
        return 0;
}

/* --- the fault latch: the one shutdown path --- */

static _printf_(3, 4) void latch(struct daemon *d, enum fault fault, const char *fmt, ...)
{
        va_list ap;
        int r;

        d->latches++;
        if (!d->fault) { /* the first cause is the one to report */
                d->fault = fault;
                va_start(ap, fmt);
                vsnprintf(d->fault_message, sizeof(d->fault_message), fmt, ap);
                va_end(ap);
                log_fields(LOG_ERR, 0, NULL, NULL, fault_to_string(fault), "Fault %s: %s",
                           fault_to_string(fault), d->fault_message);
                changed(d, PROP_FAULT);
        }
        r = chair_safe(d->chair, 0);
        if (r < 0)
                log_error_errno(r, "Cannot put the outputs safe: %m");
        if (d->fault == fault && d->session)
                session_on_fault(d->session, fault);
        engine_abort(d->engine, fault == FAULT_EMERGENCY_STOP ? FINISH_EMERGENCY_STOP : FINISH_FAULT);
        d->winding_down = false;
        command_done(d);
}

static void on_safety_trip(const struct safety_trip *t, void *userdata)
{
        struct daemon *d = userdata;

        latch(d, t->fault, "%s", t->message);
        /* Away from what it met, once everything else is safe; never retried. */
        if (t->back_off_direction)
                chair_back_off(d->chair, t->back_off_motor, t->back_off_direction, t->back_off_usec);
}

/* What refuses every command that moves or heats. */
static int interlocked(const struct daemon *d)
{
        if (d->fault)
                return -ENOTRECOVERABLE;
        if (chair_estop_pressed(d->chair))
                return -EPERM;
        return 0;
}

/* Clears the fault if no lasting cause of one is there, and none latched since `since` (latch() calls).
 * unread: why the inputs could not be read afresh, or NULL. */
static int judge_reset(struct daemon *d, unsigned since, const char *unread, char *why, size_t size)
{
        if (!d->fault)
                return 0;
        if (unread) {
                snprintf(why, size, "its cause cannot be checked: %s", unread);
                return -EBUSY;
        }
        /* A stop that came after the reset was asked or while the inputs were read (an EmergencyStop() call,
         * a trip, also one that the reset of a waiter before this one brought back) is newer than this reset:
         * it is not cleared by it. */
        if (d->latches != since) {
                snprintf(why, size, "a fault came while the reset waited for the inputs (%s): reset again",
                         fault_to_string(d->fault));
                return -EBUSY;
        }
        if (safety_cause(d->safety, now_usec(), why, size))
                return -EBUSY;
        log_fields(LOG_NOTICE, 0, NULL, NULL, fault_to_string(d->fault), "Fault %s reset",
                   fault_to_string(d->fault));
        d->fault = FAULT_NONE;
        session_on_reset(d->session);
        d->fault_message[0] = '\0';
        changed(d, PROP_FAULT);
        /* The checks see the chair as the trip left it (nothing driven, every zone off) before anything can
         * be asked of it: a hazard trips once until a check sees it gone, and the trip itself took some away
         * (heat on too long, a motor driven too long). A call that came before the next tick would otherwise
         * find them still counted as present: heat asked for at once got no timeout at all. */
        safety_check(d->safety, now_usec());
        command_done(d);
        return 0;
}

static void answer_resets(struct daemon *d, const char *unread)
{
        struct reset_waiter *w = d->resets;
        size_t n = d->n_resets;

        d->resets = NULL;
        d->n_resets = 0;
        for (size_t i = 0; i < n; i++) {
                char why[256] = "";
                /* The earlier of when it was asked and when the read began (it may have joined a read under
                 * way, or waited for the idle guard's to end first). */
                unsigned since = d->latches - w[i].latches > d->latches - d->read_latches ? w[i].latches
                                                                                          : d->read_latches;
                int r = judge_reset(d, since, unread, why, sizeof(why));
                w[i].done(r, why, w[i].userdata);
        }
        free(w);
}

static void on_inputs_read(struct chair *c, int error, void *userdata)
{
        struct daemon *d = userdata;
        char unread[128];

        d->reading = false;
        sd_event_source_set_enabled(d->reset_timeout, SD_EVENT_OFF);
        if (error)
                snprintf(unread, sizeof(unread), "a bus could not be read (%s)", strerror(-error));
        answer_resets(d, error ? unread : NULL);
}

static int on_reset_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        answer_resets(userdata, "the buses did not answer in time");
        return 0;
}

/* A reset's read began: it judges the faults latched so far. */
static void reading(struct daemon *d)
{
        d->reading = true;
        d->read_latches = d->latches;
}

/* The idle guard's read is over: what it read has been checked. A reset that came meanwhile reads afresh now
 * (the guard's read may have begun before what the reset waits for, a button's release). */
static void on_guard_read(struct chair *c, int error, void *userdata)
{
        struct daemon *d = userdata;

        d->guarding = false;
        if (d->n_resets == 0 || d->reading)
                return;
        if (chair_refresh(d->chair, on_inputs_read, d) < 0) {
                sd_event_source_set_enabled(d->reset_timeout, SD_EVENT_OFF);
                answer_resets(d, "the inputs could not be read afresh");
        } else
                reading(d);
}

static int on_guard(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;

        sd_event_source_set_time(s, next_period(usec, d->guard_usec, now_usec()));
        if (ticking(d) || d->reading || d->guarding)
                return 0; /* the tick reads the inputs anyway, or a read is under way */
        if (chair_refresh(d->chair, on_guard_read, d) >= 0)
                d->guarding = true;
        return 0;
}

static bool polled(const struct chair_config *c, int io)
{
        return io != IO_NONE && c->buses[c->ios[io].bus].type != BUS_GPIO;
}

/* How often the idle chair must be read: a relay-pair motor that counts its pulses on a bus read by polling,
 * or a heater (its sensor is a register), needs it. 0: never, and the idle chair has no wakeup at all. */
static usec_t idle_guard_period(const struct chair_config *c)
{
        const struct motor_config *motors[_AXIS_MAX + 1] = {&c->roller.travel};
        usec_t period = 0;

        for (int a = 0; a < _AXIS_MAX; a++)
                motors[a + 1] = &c->axes[a];
        for (size_t i = 0; i < ELEMENTSOF(motors); i++)
                if (polled(c, motor_config_watched(motors[i])))
                        period = IDLE_GUARD_USEC;
        for (size_t h = 0; h < c->n_heaters; h++)
                if (polled(c, c->heaters[h].sensor) && (!period || c->safety.heat_idle_read_usec < period))
                        period = c->safety.heat_idle_read_usec;
        return period;
}

void daemon_reset_fault(struct daemon *d, daemon_reset_done_t done, void *userdata)
{
        char why[256] = "";
        struct reset_waiter *w;
        int r;

        if (!d->fault) {
                done(0, "", userdata);
                return;
        }
        w = realloc(d->resets, (d->n_resets + 1) * sizeof(*w));
        if (!w) {
                done(-ENOMEM, "out of memory", userdata);
                return;
        }
        d->resets = w;
        d->resets[d->n_resets++] = (struct reset_waiter){done, userdata, d->latches};
        /* Every wait has its guard, also one that joins a read whose own guard has already fired. */
        if (sd_event_source_get_enabled(d->reset_timeout, NULL) <= 0) {
                sd_event_source_set_time_relative(d->reset_timeout, RESET_READ_TIMEOUT_USEC);
                sd_event_source_set_enabled(d->reset_timeout, SD_EVENT_ONESHOT);
        }
        if (d->reading || d->guarding)
                /* The read under way answers this one too, or the guard's starts it when it is over. */
                return;
        r = chair_refresh(d->chair, on_inputs_read, d);
        if (r < 0) {
                sd_event_source_set_enabled(d->reset_timeout, SD_EVENT_OFF);
                snprintf(why, sizeof(why), "the inputs could not be read afresh (%s)", strerror(-r));
                answer_resets(d, why);
                return;
        }
        reading(d);
}

/* Resets still waiting when chaird stops are told so, while the bus can still carry the answer. */
static void cancel_resets(struct daemon *d)
{
        for (size_t i = 0; i < d->n_resets; i++)
                d->resets[i].done(-ECANCELED, "chaird is stopping", d->resets[i].userdata);
        d->resets = mfree(d->resets);
        d->n_resets = 0;
}

/* --- commands --- */

static void vent_and_hold(struct daemon *d)
{
        chair_hold(d->chair);
        for (size_t z = 0; z < d->config->n_zones; z++)
                chair_airbag(d->chair, z, VALVE_VENT, 0);
}

int daemon_start(struct daemon *d, const char *program_id, usec_t duration_usec, unsigned intensity)
{
        const struct profile *p = daemon_profile(d);
        struct catalog_entry *e;
        int r = interlocked(d);

        if (r < 0)
                return r;
        /* The profile's program when none is named, its intensity when none is given. */
        unsigned own = engine_intensity(d->engine);
        bool profiles_intensity = intensity == 0 && p && p->intensity;

        if (!program_id[0] && p)
                program_id = p->program;
        if (profiles_intensity)
                intensity = p->intensity;
        e = catalog_find(d->catalog, program_id);
        if (!e)
                return -ENOENT;
        r = engine_start(d->engine, e, duration_usec, intensity);
        if (r < 0)
                return r;
        /* A profile's intensity is that person's session's; the chair's own comes back after it. */
        d->intensity_after = profiles_intensity ? own : 0;
        /* Its heat holds against the program's, zone by zone, as SetHeat's does. */
        for (size_t i = 0; p && i < p->n_heat; i++) {
                bool found = false;
                for (size_t h = 0; h < d->config->n_heaters; h++)
                        if (streq(d->config->heaters[h].zone, p->heat[i].zone)) {
                                engine_override_heat(d->engine, h);
                                chair_heat(d->chair, h, p->heat[i].level);
                                found = true;
                        }
                if (!found) /* a file edited by hand, or a config changed since */
                        log_warning(
                                "Profile %s: this chair has no heat zone '%s'; its heat there is left out",
                                p->name, p->heat[i].zone);
        }
        d->winding_down = false;
        command_done(d);
        return 0;
}

int daemon_start_timeline(struct daemon *d, const char *program_id, struct timeline *t, engine_trace_t trace,
                          void *userdata)
{
        struct catalog_entry *e = catalog_find(d->catalog, program_id);
        int r = interlocked(d);

        if (r < 0)
                return r;
        if (!e)
                return -ENOENT;
        engine_set_trace(d->engine, trace, userdata);
        r = engine_start_timeline(d->engine, e, t, 0);
        if (r >= 0)
                command_done(d);
        return r;
}

void daemon_stop(struct daemon *d)
{
        if (engine_stop(d->engine, FINISH_STOPPED) < 0) {
                /* No program: whatever moves or heats on its own (a recline, a jog, heat set by hand)
                 * stops. */
                vent_and_hold(d);
                for (size_t h = 0; h < d->config->n_heaters; h++)
                        chair_heat(d->chair, h, 0);
                d->winding_down = false;
        }
        command_done(d);
}

int daemon_pause(struct daemon *d)
{
        int r = engine_pause(d->engine);

        if (r >= 0)
                command_done(d);
        return r;
}

int daemon_resume(struct daemon *d)
{
        int r = interlocked(d);

        if (r >= 0)
                r = engine_resume(d->engine);
        if (r >= 0)
                command_done(d);
        return r;
}

void daemon_emergency_stop(struct daemon *d, const char *why)
{
        latch(d, FAULT_EMERGENCY_STOP, "%s", why);
}

void daemon_release(struct daemon *d)
{
        engine_abort(d->engine, FINISH_STOPPED);
        vent_and_hold(d);
        /* Driving the legrest open frees a trapped leg; cutting power would leave it clamped. Not against a
         * pressed emergency stop, which means: nothing moves. */
        if (d->config->axis[AXIS_LEGREST] && !chair_estop_pressed(d->chair))
                chair_move_axis(d->chair, AXIS_LEGREST, 1.0);
        log_notice("Release: airbags vented, rollers stopped, legrest opening");
        d->winding_down = false;
        command_done(d);
}

int daemon_recline(struct daemon *d, const char *preset)
{
        const struct profile *p = daemon_profile(d);
        const struct profile_position *pos = p ? profile_position(p, preset) : NULL;
        int r = interlocked(d);

        /* A preset of the config first: a saved position cannot hide one. */
        if (r >= 0 && (!pos || chair_config_find_preset(d->config, preset)))
                r = chair_recline(d->chair, preset);
        else if (r >= 0)
                r = chair_recline_to(d->chair, pos->axis, pos->has);
        if (r >= 0)
                command_done(d);
        return r;
}

int daemon_jog(struct daemon *d, enum axis axis, int direction)
{
        int r = interlocked(d);

        if (r >= 0)
                r = chair_jog(d->chair, axis, direction, CHAIRD_JOG_HOLD_USEC);
        if (r >= 0)
                command_done(d);
        return r;
}

int daemon_set_intensity(struct daemon *d, unsigned intensity)
{
        int r = interlocked(d);

        if (intensity < INTENSITY_MIN || intensity > INTENSITY_MAX)
                return -ERANGE;
        if (r < 0)
                return r;
        engine_set_intensity(d->engine, intensity);
        d->intensity_after = 0; /* chosen now: it stays after the session */
        command_done(d);
        return 0;
}

int daemon_start_manual(struct daemon *d, struct program *program, usec_t duration_usec)
{
        _cleanup_(catalog_entry_unrefp) struct catalog_entry *e = NULL;
        int r = interlocked(d);

        if (r < 0) {
                program_free(program);
                return r;
        }
        r = catalog_entry_new(program, "", &e);
        if (r < 0)
                return r;
        r = engine_start(d->engine, e, duration_usec, 0);
        if (r < 0)
                return r;
        d->winding_down = false;
        command_done(d);
        return 0;
}

int daemon_change_manual(struct daemon *d, struct program *program, usec_t duration_usec)
{
        _cleanup_(catalog_entry_unrefp) struct catalog_entry *e = NULL;
        const struct program *now = engine_program(d->engine);
        int r = interlocked(d);

        if (r < 0 || !now || !streq(now->id, PROGRAM_MANUAL_ID)) {
                program_free(program);
                return r < 0 ? r : -ENOENT;
        }
        r = catalog_entry_new(program, "", &e);
        if (r < 0)
                return r;
        r = engine_replace(d->engine, e, duration_usec ?: engine_duration(d->engine));
        if (r < 0)
                return r;
        command_done(d);
        return 0;
}

int daemon_adjust(struct daemon *d, const struct engine_adjust *changes)
{
        int r = interlocked(d);

        if (r < 0)
                return r;
        r = changes ? engine_adjust(d->engine, changes) : engine_adjust_reset(d->engine);
        if (r < 0)
                return r;
        changed(d, PROP_SESSION);
        command_done(d);
        return 0;
}

int daemon_adjust_shoulders(struct daemon *d, int offset_mm)
{
        int r = interlocked(d);

        if (r < 0)
                return r;
        r = chair_set_shoulder_offset(d->chair, chair_shoulder_offset(d->chair) + offset_mm);
        if (r < 0)
                return r;
        engine_reapply_roller(d->engine);
        command_done(d);
        return 0;
}

void daemon_session(const struct daemon *d, struct daemon_session *ret)
{
        const struct program *p = engine_program(d->engine);

        *ret = (struct daemon_session){.program = p};
        if (!p)
                return;
        ret->manual = streq(p->id, PROGRAM_MANUAL_ID);
        ret->profile = session_started_with(d->session);
        ret->timeline = engine_timeline(d->engine);
        ret->has_phase = engine_phase_index(d->engine, &ret->phase);
        ret->adjustment = engine_adjustment(d->engine);
        ret->ends_at_usec = d->session_ends_at;
        ret->remaining_usec = d->session_remaining;
}

unsigned daemon_shoulders(const struct daemon *d)
{
        return (unsigned) lround(chair_shoulder_mm(d->chair));
}

int daemon_set_heat(struct daemon *d, size_t heater, unsigned level)
{
        int r = level == 0 ? 0 : interlocked(d); /* turning heat off is stopping */

        if (heater >= d->config->n_heaters || level > HEAT_LEVELS)
                return -ERANGE;
        if (r < 0)
                return r;
        engine_override_heat(d->engine, heater);
        chair_heat(d->chair, heater, level);
        command_done(d);
        return 0;
}

/* --- profiles --- */

const struct profiles *daemon_profiles(const struct daemon *d)
{
        return session_profiles(d->session);
}

const struct profile *daemon_profile(const struct daemon *d)
{
        const char *name = d->session ? session_selected(d->session) : "";

        return name[0] ? profiles_find(session_profiles(d->session), name) : NULL;
}

int daemon_profile_wait(struct daemon *d, const char *name, profiles_done_t done, void *userdata)
{
        return profiles_wait(session_profiles(d->session), name, done, userdata);
}

void daemon_profile_unwait(struct daemon *d, void *userdata)
{
        profiles_unwait(session_profiles(d->session), userdata);
}

const char *daemon_profiles_dir(const struct daemon *d)
{
        return profiles_dir(session_profiles(d->session));
}

int daemon_select_profile(struct daemon *d, const char *name)
{
        const struct profile *p = name[0] ? profiles_find(session_profiles(d->session), name) : NULL;

        if (name[0] && !p)
                return -ENOENT;
        if (!streq(session_selected(d->session), name)) {
                session_select(d->session, name);
                log_info("Profile %s selected", name[0] ? name : "(none)");
                changed(d, PROP_PROFILES);
        }
        chair_use_shoulder_offset(d->chair, p && p->has_shoulder_offset ? p->shoulder_offset_mm : 0);
        engine_reapply_roller(d->engine);
        command_done(d);
        return 0;
}

int daemon_save_profile(struct daemon *d, const struct profile *p)
{
        const struct profile *old = profiles_find(session_profiles(d->session), p->name);
        bool known = old;
        int offset = old && old->has_shoulder_offset ? old->shoulder_offset_mm : 0;
        int r = profiles_put(session_profiles(d->session), p);

        if (r < 0)
                return r;
        if (!known)
                changed(d, PROP_PROFILES);
        /* A new shoulder offset of the selected profile is in use at once; a save of other settings leaves
         * the shoulders as they are (an AdjustShoulders of this session stays). */
        if (streq(session_selected(d->session), p->name) &&
            (p->has_shoulder_offset ? p->shoulder_offset_mm : 0) != offset)
                return daemon_select_profile(d, p->name);
        return 0;
}

int daemon_delete_profile(struct daemon *d, const char *name)
{
        int r = profiles_delete(session_profiles(d->session), name);

        if (r < 0)
                return r; /* kept, and still selected if it was */
        if (streq(session_selected(d->session), name))
                daemon_select_profile(d, "");
        changed(d, PROP_PROFILES);
        return 0;
}

int daemon_save_position(struct daemon *d, const char *name)
{
        const struct profile *now = daemon_profile(d);
        struct profile p;
        struct profile_position pos = {};
        size_t i;

        if (!now)
                return -ENOENT;
        if (d->config->n_presets == 0)
                return -EOPNOTSUPP;
        snprintf(pos.name, sizeof(pos.name), "%s", name);
        for (int a = 0; a < _AXIS_MAX; a++)
                if (d->config->axis[a]) {
                        if (!chair_position(d->chair, (unsigned) a, &pos.axis[a]))
                                return -EAGAIN;
                        pos.axis[a] = fmin(fmax(pos.axis[a], 0.0), 1.0);
                        pos.has[a] = true;
                }
        p = *now;
        for (i = 0; i < p.n_positions && !streq(p.positions[i].name, name); i++)
                ;
        if (i == PROFILE_POSITIONS_MAX)
                return -E2BIG;
        p.positions[i] = pos;
        if (i == p.n_positions)
                p.n_positions++;
        return profiles_put(session_profiles(d->session), &p);
}

int daemon_delete_position(struct daemon *d, const char *name)
{
        const struct profile *now = daemon_profile(d);
        struct profile p;
        size_t i;

        if (!now)
                return -ENOENT;
        p = *now;
        for (i = 0; i < p.n_positions && !streq(p.positions[i].name, name); i++)
                ;
        if (i == p.n_positions)
                return -ENOENT;
        memmove(&p.positions[i], &p.positions[i + 1], (p.n_positions - i - 1) * sizeof(p.positions[0]));
        p.n_positions--;
        return profiles_put(session_profiles(d->session), &p);
}

void daemon_set_locked(struct daemon *d, bool locked)
{
        if (d->locked == locked)
                return;
        d->locked = locked;
        log_notice("Child lock %s", locked ? "on" : "off");
        changed(d, PROP_LOCKED);
        saved_file_save(d->lock_file); /* a restart or a power cut keeps it */
}

static int lock_text(void *userdata, char **ret_data, size_t *ret_size)
{
        struct daemon *d = userdata;

        *ret_data = strdup(d->locked ? LOCK_ON : LOCK_OFF);
        *ret_size = *ret_data ? strlen(*ret_data) : 0;
        return *ret_data ? 0 : -ENOMEM;
}

static void on_lock_written(struct saved_file *f, int result, uint64_t generation, void *userdata)
{
        if (result < 0)
                log_warning_errno(result,
                                  "Cannot save the child lock in %s: %m; it is written again at its next "
                                  "change",
                                  saved_file_path(f));
}

/* The child lock as it was left: on unless the file says off (a file chaird cannot read keeps a child
 * out). */
/* Whether the file must be written again (it was odd or unreadable: the lock it gives must last). */
static bool load_lock(struct daemon *d)
{
        _cleanup_free_ char *text = NULL;
        bool aside;
        int r = d->state_fd >= 0 ? read_kept_file(d->state_fd, LOCK_FILE, LOCK_FILE_MAX, &text, &aside)
                                 : -ENOENT;

        if (r == -ENOENT)
                return false;
        d->locked = r < 0 || !streq(text, LOCK_OFF);
        if (r < 0)
                log_warning("%s/" LOCK_FILE ": %s%s; the child lock is on", d->options->state_dir,
                            file_error_words(r), aside ? ", set aside as " LOCK_FILE ".broken" : "");
        else if (!streq(text, LOCK_ON) && !streq(text, LOCK_OFF))
                log_warning("%s/" LOCK_FILE " holds neither \"on\" nor \"off\"; the child lock is on",
                            d->options->state_dir);
        if (d->locked)
                log_notice("Child lock on, as it was left");
        return r < 0 || !streq(text, d->locked ? LOCK_ON : LOCK_OFF);
}

/* --- what the chair and the engine report --- */

static void on_chair(struct chair *c, unsigned changes, void *userdata)
{
        struct daemon *d = userdata;
        unsigned props = 0;

        if (!d->session)
                return; /* still starting: the first state is computed once everything is there */
        if (changes & CHAIR_CHANGED_POSITIONS)
                props |= PROP_POSITIONS;
        if (changes & CHAIR_CHANGED_TEMPERATURES)
                props |= PROP_TEMPERATURES;
        if (changes & CHAIR_CHANGED_RECLINE)
                props |= PROP_RECLINE;
        if (changes & CHAIR_CHANGED_HEAT)
                props |= PROP_HEAT;
        if (changes & CHAIR_CHANGED_SHOULDERS)
                props |= PROP_SHOULDERS;
        changed(d, props);
        if (changes & CHAIR_CHANGED_SCAN)
                engine_on_chair(d->engine, changes);
        /* Readings are checked as they come, not at the next tick: an obstacle stops within one poll, an
         * e-stop edge at once. They come from the drivers, never from inside a command. */
        if (d->safety && (changes & (CHAIR_CHANGED_SAFETY | CHAIR_CHANGED_POSITIONS |
                                     CHAIR_CHANGED_TEMPERATURES | CHAIR_CHANGED_ESTOP | CHAIR_CHANGED_COMM |
                                     CHAIR_CHANGED_BOARD_STOPPED | CHAIR_CHANGED_READ_BACK)))
                safety_check(d->safety, now_usec());
        /* Heat is asked for by commands and the engine: checked once the call is over (a heat timeout not
         * rested yet), before the loop does anything else. A trip in the middle of a command would leave it
         * to carry on against a chair made safe under it. */
        if (d->safety && (changes & CHAIR_CHANGED_HEAT))
                sd_event_source_set_enabled(d->check_source, SD_EVENT_ONESHOT);
        if (changes & CHAIR_CHANGED_MOTION)
                session_on_motion(d->session);
        if (changes & (CHAIR_CHANGED_MOTION | CHAIR_CHANGED_HEAT | CHAIR_CHANGED_SCAN))
                update_state(d);
}

static void on_engine_changed(struct engine *e, unsigned what, void *userdata)
{
        struct daemon *d = userdata;
        unsigned props = 0;

        if (what & ENGINE_CHANGED_PROGRAM)
                props |= PROP_PROGRAM | PROP_DURATION | PROP_ELAPSED;
        if (what & ENGINE_CHANGED_PROGRAM)
                session_on_program(d->session);
        if (what & ENGINE_CHANGED_PHASE)
                props |= PROP_PHASE;
        if (what & ENGINE_CHANGED_INTENSITY)
                props |= PROP_INTENSITY;
        changed(d, props);
        if (what & ENGINE_CHANGED_STATE)
                update_state(d);
}

static void on_engine_finished(struct engine *e, const char *program, enum finish_reason reason,
                               void *userdata)
{
        struct daemon *d = userdata;

        d->winding_down = reason != FINISH_FAULT && reason != FINISH_EMERGENCY_STOP;
        if (d->intensity_after) {
                engine_set_intensity(e, d->intensity_after);
                d->intensity_after = 0;
        }
        session_on_finished(d->session, program, reason, d->fault);
        d->dirty |= PROP_ELAPSED;
        update_state(d);
        /* The properties first, so that whoever hears Finished reads the state after it. */
        emit_now(d, ~(slow_props | PROP_POSITIONS));
        if (d->on_finished)
                d->on_finished(program, reason, d->observer_userdata);
}

/* systemd's watchdog is pinged only while the control tick runs and checks (when the chair is active), or
 * from a quiet loop (idle, no tick: this timer firing at all shows the loop is alive). A hung loop, or one
 * whose tick stopped, lets the watchdog kill and restart chaird, which then comes up "interrupted". */
static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct daemon *d = userdata;
        usec_t now = now_usec();
        bool healthy = !ticking(d) || now - d->ticked_usec <= d->watchdog_usec / 2;

        if (healthy) {
                sd_notify(false, "WATCHDOG=1");
                d->watchdog_starved = false;
        } else if (!d->watchdog_starved) {
                log_error("The control tick has not run its checks for %llu ms: holding back systemd's "
                          "watchdog",
                          (unsigned long long) ((now - d->ticked_usec) / USEC_PER_MSEC));
                d->watchdog_starved = true;
        }
        sd_event_source_set_time(s, next_period(usec, d->watchdog_usec / 2, now));
        return 0;
}

/* --- programs --- */

int daemon_reload_programs(struct daemon *d, struct diag_list *diags)
{
        struct catalog *old = d->catalog, *fresh = NULL;
        int r;

        r = catalog_load(d->options->program_dirs, d->config, old, diags, &fresh);
        diag_sort(diags);
        for (size_t i = 0; i < diags->n; i++) {
                _cleanup_free_ char *line = diag_format(&diags->items[i]);
                log_fields(diags->items[i].severity == SEVERITY_ERROR ? LOG_ERR : LOG_WARNING, 0, NULL, NULL,
                           NULL, "%s", line ?: "out of memory");
        }
        if (r < 0)
                return r;
        d->catalog = fresh;
        if (d->on_programs_changed)
                d->on_programs_changed(old, fresh, d->observer_userdata);
        catalog_free(old);
        log_info("%zu program%s loaded", fresh->n, fresh->n == 1 ? "" : "s");
        /* Each broken file is left out (a program it held before stays), never the whole set. */
        for (size_t i = 0; i < fresh->n_broken; i++)
                log_error("Program file %s is broken and left out: %s", fresh->broken[i].path,
                          fresh->broken[i].message);
        return fresh->n_broken ? -EINVAL : 0;
}

/* --- the loop --- */

static int on_sigterm(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;

        log_info("Stopping on signal %s", sigabbrev_np((int) si->ssi_signo) ?: "?");
        return sd_event_exit(d->event, 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        struct daemon *d = userdata;
        struct diag_list diags = {};

        log_info("Reloading programs (SIGHUP)");
        daemon_reload_programs(d, &diags);
        diag_list_clear(&diags);
        return 0;
}

/* --time-scale is for the simulator: only Modbus TCP on a loopback address or RTU on a pseudo-terminal. */
static bool bus_is_simulated(const struct bus_config *b)
{
        _cleanup_free_ char *real = NULL;

        switch (b->type) {
        case BUS_MODBUS_TCP:
                return streq(b->host, "localhost") || strncmp(b->host, "127.", 4) == 0 ||
                       streq(b->host, "::1");
        case BUS_MODBUS_RTU:
                real = realpath(b->device, NULL);
                return real && strncmp(real, "/dev/pts/", 9) == 0;
        default:
                return false;
        }
}

static usec_t tick_period(const struct chair_config *c)
{
        usec_t t = USEC_INFINITY;

        for (size_t i = 0; i < c->n_buses; i++)
                if (c->buses[i].type != BUS_GPIO && c->buses[i].poll_usec < t)
                        t = c->buses[i].poll_usec;
        return t == USEC_INFINITY ? TICK_DEFAULT_USEC : t;
}

static int load_config(struct daemon *d)
{
        struct diag_list diags = {};
        int r = chair_config_load_file(d->options->config_path, &diags, &d->config);

        diag_sort(&diags);
        for (size_t i = 0; i < diags.n; i++) {
                _cleanup_free_ char *line = diag_format(&diags.items[i]);
                log_error("%s", line ?: "out of memory");
        }
        diag_list_clear(&diags);
        if (r == -EINVAL)
                return log_error_errno(r, "The hardware config %s is not valid", d->options->config_path);
        if (r < 0)
                return log_error_errno(r, "Cannot read the hardware config %s: %m", d->options->config_path);
        return 0;
}

/* The control tick, the watchdog and the engine's timers go before D-Bus traffic, however much of it waits:
 * reading the chair's state, which every local user may do, must never disturb a massage. */
static int add_timer(struct daemon *d, sd_event_source **ret, usec_t usec, usec_t accuracy,
                     sd_event_time_handler_t handler, bool enabled)
{
        int r = sd_event_add_time(d->event, ret, CLOCK_MONOTONIC, usec, accuracy, handler, d);

        if (r >= 0)
                r = sd_event_source_set_priority(*ret, SD_EVENT_PRIORITY_IMPORTANT);
        if (r >= 0)
                r = sd_event_source_set_enabled(*ret, enabled ? SD_EVENT_ON : SD_EVENT_OFF);
        return r;
}

/* The state directory, made if missing, opened once: its files are opened and written inside this fd, so
 * that a link in their place is never followed. Without one (a read-only or odd path) chaird runs and keeps
 * nothing across restarts. Temporary files a cut write left behind go first. */
static void open_state_dir(struct daemon *d)
{
        const char *dir = d->options->state_dir;
        int n;

        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                log_warning_errno(-errno, "Cannot create the state directory %s: %m", dir);
        d->state_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (d->state_fd < 0) {
                log_error_errno(-errno,
                                "Cannot open the state directory %s: %m; nothing is kept across restarts",
                                dir);
                return;
        }
        n = remove_atomic_temps(d->state_fd);
        if (n > 0)
                log_info("%s: %d temporary file%s left by writes that were cut short; removed", dir, n,
                         n == 1 ? "" : "s");
}

/* Signals blocked before any thread starts (the bus threads inherit the mask): the loop takes them by
 * signalfd, and a signal must never land in a thread that would die of it. */
static void block_signals(void)
{
        sigset_t mask;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        sigprocmask(SIG_BLOCK, &mask, NULL);
}

/* The config, checked against --time-scale (which is for the simulator only). */
static int setup_config(struct daemon *d)
{
        int r = load_config(d);

        if (r < 0)
                return r;
        if (d->options->time_scale != 1.0)
                for (size_t i = 0; i < d->config->n_buses; i++)
                        if (!bus_is_simulated(&d->config->buses[i]))
                                return log_error_errno(EINVAL,
                                                       "--time-scale is for the simulator; bus %s is real "
                                                       "hardware",
                                                       d->config->buses[i].name);
        return 0;
}

/* The child lock as it was left, and its file. */
static int setup_lock(struct daemon *d)
{
        bool again = load_lock(d);
        int r = saved_file_new(d->event, d->state_fd, d->options->state_dir, LOCK_FILE, 0644, lock_text,
                               on_lock_written, d, &d->lock_file);

        if (r < 0)
                return log_error_errno(r, "Cannot keep the child lock in %s: %m", d->options->state_dir);
        if (again)
                saved_file_save(d->lock_file);
        return 0;
}

/* The parts: the chair (outputs safe first), the engine, the records around sessions, the programs. */
static int setup_parts(struct daemon *d)
{
        static const struct engine_callbacks engine_cb = {on_engine_changed, on_engine_finished};
        const struct options *o = d->options;
        struct diag_list diags = {};
        int r;

        /* Outputs first: the drivers start every output at its safe value and the wait makes sure it is
         * out. */
        r = chair_new(d->config, d->event, on_chair, d, &d->chair);
        if (r < 0)
                return r;
        r = chair_safe(d->chair, SAFE_STATE_TIMEOUT_USEC);
        if (r < 0)
                log_warning_errno(r, "The safe state could not be written yet (%m); the buses keep trying");
        r = engine_new(d->event, d->chair, d->config, o->time_scale, &engine_cb, d, &d->engine);
        if (r < 0)
                return log_error_errno(r, "Cannot create the engine: %m");
        d->tick_usec = tick_period(d->config);
        r = session_new(d->event, d->state_fd, o->state_dir, d->config, d->chair, d->engine, o->time_scale,
                        d->tick_usec, &d->session);
        if (r < 0)
                return r;
        /* A broken program file does not keep the chair from starting: it is left out and listed. */
        r = daemon_reload_programs(d, &diags);
        diag_list_clear(&diags);
        if (r == -ENOMEM)
                return log_error_errno(r, "Out of memory");
        return 0;
}

/* The tick, its linger, the reset timeout, the idle guard; the deferred emit and check; the signals. */
static int setup_sources(struct daemon *d)
{
        int r;

        /* Ticking at first, to read every input once; it stops after the linger if the chair is idle.
         * Accuracy 1 ms: sd-event's default (250 ms) would let a 100 ms tick, and with it the checks and the
         * watchdog's proof of them, slip by more than a tick. */
        if ((r = add_timer(d, &d->tick, 0, USEC_PER_MSEC, on_tick, true)) < 0 ||
            (r = add_timer(d, &d->linger, USEC_INFINITY, USEC_PER_MSEC, on_linger, false)) < 0 ||
            (r = add_timer(d, &d->reset_timeout, USEC_INFINITY, USEC_PER_MSEC, on_reset_timeout, false)) <
                    0 ||
            ((d->guard_usec = idle_guard_period(d->config)) &&
             (r = add_timer(d, &d->guard, now_usec() + d->guard_usec, 100 * USEC_PER_MSEC, on_guard, true)) <
                     0))
                return log_error_errno(r, "Cannot set up the timers: %m");
        d->ticked_usec = now_usec();
        chair_set_active(d->chair, true);
        r = sd_event_add_defer(d->event, &d->emit_source, on_emit, d);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->emit_source, SD_EVENT_OFF);
        r = sd_event_add_defer(d->event, &d->check_source, on_check, d);
        if (r >= 0)
                r = sd_event_source_set_priority(d->check_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(d->check_source, SD_EVENT_OFF);
        if ((r = sd_event_add_signal(d->event, NULL, SIGTERM, on_sigterm, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGINT, on_sigterm, d)) < 0 ||
            (r = sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d)) < 0)
                return log_error_errno(r, "Cannot watch signals: %m");
        return 0;
}

/* systemd's watchdog, when the unit asks for it. */
static int setup_watchdog(struct daemon *d)
{
        uint64_t watchdog_usec = 0;
        int r;

        if (sd_watchdog_enabled(false, &watchdog_usec) <= 0 || watchdog_usec == 0)
                return 0;
        d->watchdog_usec = watchdog_usec;
        r = add_timer(d, &d->watchdog, now_usec(), USEC_PER_MSEC, on_watchdog, true);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the watchdog: %m");
        log_info("systemd watchdog: pinged every %llu ms from the checked control tick",
                 (unsigned long long) (watchdog_usec / 2 / USEC_PER_MSEC));
        return 0;
}

int daemon_new(const struct options *o, struct daemon **ret)
{
        _cleanup_(daemon_freep) struct daemon *d = calloc(1, sizeof(*d));
        char what[256];
        int r;

        if (!d)
                return -ENOMEM;
        d->state_fd = -1;
        d->options = o;
        block_signals();
        r = setup_config(d);
        if (r < 0)
                return r;
        r = sd_event_default(&d->event);
        if (r < 0)
                return log_error_errno(r, "Cannot create the event loop: %m");
        open_state_dir(d);
        if ((r = setup_lock(d)) < 0 || (r = setup_parts(d)) < 0 || (r = setup_sources(d)) < 0)
                return r;
        r = safety_new(d->config, d->chair, o->time_scale, on_safety_trip, d, &d->safety);
        if (r < 0)
                return log_error_errno(r, "Out of memory");
        if (session_restore(d->session, what, sizeof(what)))
                latch(d, FAULT_INTERRUPTED,
                      "chaird ended while the chair was active or held a fault (%s); check the chair, then "
                      "reset",
                      what);
        r = setup_watchdog(d);
        if (r < 0)
                return r;
        update_state(d);
        *ret = TAKE_PTR(d);
        return 0;
}

void daemon_set_observer(struct daemon *d, daemon_changed_t on_changed, daemon_finished_t on_finished,
                         daemon_programs_changed_t on_programs_changed, void *userdata)
{
        d->on_changed = on_changed;
        d->on_finished = on_finished;
        d->on_programs_changed = on_programs_changed;
        d->observer_userdata = userdata;
}

int daemon_run(struct daemon *d)
{
        int r;

        /* The API owns the bus name by now (api_new requested it synchronously): clients can call. */
        sd_notify(false, "READY=1\nSTATUS=Ready");
        log_info("Ready: %zu program%s, config %s", d->catalog->n, d->catalog->n == 1 ? "" : "s",
                 d->options->config_path);
        r = sd_event_loop(d->event);
        sd_notify(false, "STOPPING=1");
        cancel_resets(d);
        /* Whatever ran ends here, and nothing is left driven. */
        engine_abort(d->engine, FINISH_STOPPED);
        bool safe = chair_safe(d->chair, SAFE_STATE_TIMEOUT_USEC) >= 0;
        if (!safe)
                log_error("The safe state could not be confirmed on every bus before exit");
        session_on_exit(d->session, safe, d->fault != FAULT_NONE);
        return r;
}

struct daemon *daemon_free(struct daemon *d)
{
        if (!d)
                return NULL;
        cancel_resets(d);
        d->lock_file = saved_file_free(d->lock_file);
        d->session = session_free(d->session);
        if (d->state_fd >= 0)
                close(d->state_fd);
        sd_event_source_disable_unref(d->tick);
        sd_event_source_disable_unref(d->linger);
        sd_event_source_disable_unref(d->guard);
        sd_event_source_disable_unref(d->reset_timeout);
        sd_event_source_disable_unref(d->emit_source);
        sd_event_source_disable_unref(d->check_source);
        sd_event_source_disable_unref(d->watchdog);
        safety_free(d->safety);
        engine_free(d->engine);
        catalog_free(d->catalog);
        chair_free(d->chair);
        sd_event_unref(d->event);
        chair_config_free(d->config);
        free(d);
        return NULL;
}

/* --- reading --- */

sd_event *daemon_event(const struct daemon *d)
{
        return d->event;
}

const struct options *daemon_options(const struct daemon *d)
{
        return d->options;
}

const struct chair_config *daemon_config(const struct daemon *d)
{
        return d->config;
}

const struct chair *daemon_chair(const struct daemon *d)
{
        return d->chair;
}

const struct catalog *daemon_catalog(const struct daemon *d)
{
        return d->catalog;
}

const char *daemon_state(const struct daemon *d)
{
        return d->state ?: "idle";
}

enum fault daemon_fault(const struct daemon *d)
{
        return d->fault;
}

const char *daemon_fault_message(const struct daemon *d)
{
        return d->fault_message;
}

bool daemon_locked(const struct daemon *d)
{
        return d->locked;
}

unsigned daemon_intensity(const struct daemon *d)
{
        return engine_intensity(d->engine);
}

const struct program *daemon_program(const struct daemon *d)
{
        return engine_program(d->engine);
}

const char *daemon_phase(const struct daemon *d)
{
        return engine_phase(d->engine);
}

usec_t daemon_elapsed(const struct daemon *d)
{
        return engine_elapsed(d->engine);
}

usec_t daemon_duration(const struct daemon *d)
{
        return engine_duration(d->engine);
}

const struct history *daemon_history(const struct daemon *d)
{
        return session_history(d->session);
}

const struct usage *daemon_usage(const struct daemon *d)
{
        return session_usage(d->session);
}
