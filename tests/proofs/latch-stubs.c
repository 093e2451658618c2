/* latch-stubs.c: everything daemon/daemon.c calls outside itself, for the fault latch's proof (latch.c).
 * Each stub records what the property depends on and says what it assumes of the real code it replaces:
 *
 * - The chair (chair.c and the drivers): a call that moves, heats or inflates drives an output
 *   (proof_output()): chair_heat() with a level above 0, chair_move_axis(), chair_jog(), chair_recline(),
 *   chair_recline_to(), chair_back_off(), chair_airbag() inflating. The safe ones drive nothing: chair_safe()
 *   puts every output safe and forgets what the chair was doing; chair_hold() stops everything that moves
 *   (airbags hold, heat stays as it is: only a command can raise it); chair_airbag() venting or holding,
 *   chair_heat() level 0; chair_tick() and chair_flush() write what was set and the heartbeat, never a new
 *   output; a back-off is a jog of the safety's own that stops itself. The shoulder offset is a number:
 *   "the roller's target is the caller's to send again" (engine_reapply_roller()). The chair's states
 *   (busy, moving, parked) are any value, each time: they only choose the tick and the State.
 * - The engine (engine.c): its state is modelled (idle, scanning, running, paused). It drives outputs only
 *   while it runs or scans: starting (engine_start(), engine_start_timeline(), engine_resume() of a paused
 *   one, engine_replace()) drives, and so do engine_adjust(), engine_set_intensity() and
 *   engine_reapply_roller() of a running engine, and engine_stop()'s winding down (the roller parks). An
 *   aborted engine (engine_abort()) is idle and drives nothing until it is started again; a paused one
 *   drives nothing (chair_hold()). Any step may fail where the real one can (a full catalog, a bad
 *   duration): then nothing changes. Its callbacks run as engine.c runs them: state changes, then the
 *   program's end.
 * - The safety supervisor (safety.c): safety_check() may trip any fault with any back-off, at any call
 *   (more than the real one, which trips a hazard once while it lasts); safety_cause() may say anything:
 *   the proof holds for every answer. Its rows are proved apart (the hazard table's tests).
 * - The session records, logging, the catalog and profiles drive nothing; a profile may hold heat for a zone
 *   and a saved position; catalog_find() may find the program or not; catalog_entry_new() may fail.
 * - chair_refresh() reads every input once, at most one read at a time (-EBUSY meanwhile, as chair.c);
 *   it may fail to start; its callback comes later, when the harness says, with success or an error.
 * - sd-event: each source's enabled state and time are kept; it fires only when the harness says, and only
 *   while enabled. The clock (now_usec()) is the harness's and only moves forward. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../../daemon/catalog.h"
#include "../../daemon/chair.h"
#include "../../daemon/log.h"
#include "../../daemon/profiles.h"
#include "../../daemon/session.h"

#include "latch-stubs.h"

usec_t proof_now;
unsigned proof_seq;
bool proof_estop;
enum engine_state proof_engine;
bool proof_engine_manual;
unsigned proof_cause_clear_seq;
const struct safety_trip *proof_trip;
bool proof_safe_since_trip;
bool proof_backed_off;
bool proof_releasing;
struct proof_refresh proof_refresh;
struct proof_source proof_sources[_SRC_MAX];

/* --- the clock, logging --- */

usec_t now_usec(void)
{
        return proof_now;
}

usec_t now_realtime_usec(void)
{
        return proof_now;
}

usec_t next_period(usec_t due, usec_t period, usec_t now)
{
        return now + period;
}

int log_fields(int priority, int error, const char *program, const char *phase, const char *fault,
               const char *fmt, ...)
{
        return error > 0 ? -error : error;
}

/* Messages are for people: formatting one writes an empty string within its buffer (the property does not
 * read them; CBMC's own model of vsnprintf() loops over the buffer and costs more than the proof). */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
        if (size > 0)
                buf[0] = '\0';
        return 0;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
        if (size > 0)
                buf[0] = '\0';
        return 0;
}

char *strerror(int error)
{
        return "an error";
}

const char *fault_to_string(enum fault f)
{
        return "fault";
}

/* --- sd-event: the sources are proof_sources[] --- */

static struct proof_source *source(sd_event_source *s)
{
        struct proof_source *p = (struct proof_source *) s;

        assert(p >= proof_sources && p < proof_sources + _SRC_MAX);
        return p;
}

int sd_event_source_get_enabled(sd_event_source *s, int *ret)
{
        int e = source(s)->enabled;

        if (ret)
                *ret = e;
        return e != SD_EVENT_OFF;
}

int sd_event_source_set_enabled(sd_event_source *s, int enabled)
{
        source(s)->enabled = enabled;
        return 0;
}

int sd_event_source_set_time(sd_event_source *s, uint64_t usec)
{
        source(s)->at = usec;
        return 0;
}

int sd_event_source_set_time_relative(sd_event_source *s, uint64_t usec)
{
        source(s)->at = proof_now + usec;
        return 0;
}

/* --- the chair --- */

int chair_safe(struct chair *c, usec_t timeout_usec)
{
        proof_safe_since_trip = true;
        return nondet_bool() ? 0 : -ETIMEDOUT; /* written or not, every output is set safe */
}

void chair_hold(struct chair *c)
{
}

void chair_flush(struct chair *c)
{
}

void chair_tick(struct chair *c)
{
}

void chair_set_active(struct chair *c, bool active)
{
}

bool chair_busy(const struct chair *c)
{
        return nondet_bool();
}

bool chair_moving(const struct chair *c)
{
        return nondet_bool();
}

bool chair_roller_parked(const struct chair *c)
{
        return nondet_bool();
}

bool chair_estop_pressed(const struct chair *c)
{
        return proof_estop;
}

void chair_heat(struct chair *c, size_t heater, unsigned level)
{
        if (level > 0)
                proof_output("chair_heat");
}

void chair_airbag(struct chair *c, size_t zone, enum valve_state valve, unsigned intensity)
{
        if (valve == VALVE_INFLATE)
                proof_output("chair_airbag inflate");
}

/* Release's one exception, checked by the harness (proof_output() sees proof_releasing). */
static double legrest_target = -1;
static enum axis moved_axis = _AXIS_MAX;

int chair_move_axis(struct chair *c, enum axis axis, double position)
{
        moved_axis = axis;
        legrest_target = position;
        proof_output("chair_move_axis");
        moved_axis = _AXIS_MAX;
        return nondet_bool() ? 0 : -EOPNOTSUPP;
}

bool proof_release_move_ok(void)
{
        return moved_axis == AXIS_LEGREST && legrest_target == 1.0;
}

int chair_recline(struct chair *c, const char *preset)
{
        proof_output("chair_recline");
        return nondet_bool() ? 0 : -ENOENT;
}

int chair_recline_to(struct chair *c, const double position[_AXIS_MAX], const bool has[_AXIS_MAX])
{
        proof_output("chair_recline_to");
        return nondet_bool() ? 0 : -EOPNOTSUPP;
}

int chair_jog(struct chair *c, enum axis axis, int direction, usec_t hold_usec)
{
        proof_output("chair_jog");
        return nondet_bool() ? 0 : -EOPNOTSUPP;
}

/* A back-off is only the trip's own, once, after the safe state, as the trip says: checked here, and not
 * an output of a command (proof_output() is not called: it is the exception). */
int chair_back_off(struct chair *c, unsigned motor, int direction, usec_t usec)
{
        assert(proof_trip && "back-off: only from a safety trip");
        assert(!proof_backed_off && "back-off: once per trip");
        assert(proof_safe_since_trip && "back-off: only after the outputs were put safe");
        assert(direction != 0 && direction == proof_trip->back_off_direction &&
               motor == proof_trip->back_off_motor && usec == proof_trip->back_off_usec &&
               "back-off: only the motor, the direction (away from what it met) and the time the trip gives");
        proof_backed_off = true;
        return nondet_bool() ? 0 : -EOPNOTSUPP;
}

static double shoulder_offset;

int chair_set_shoulder_offset(struct chair *c, double offset_mm)
{
        if (nondet_bool())
                return nondet_bool() ? -ERANGE : -EOPNOTSUPP;
        shoulder_offset = offset_mm;
        return 0;
}

double chair_shoulder_offset(const struct chair *c)
{
        return shoulder_offset;
}

int chair_refresh(struct chair *c, chair_refreshed_t done, void *userdata)
{
        if (proof_refresh.pending)
                return -EBUSY;
        if (nondet_bool())
                return -EIO;
        proof_refresh = (struct proof_refresh){true, ++proof_seq, done, userdata};
        return 0;
}

const struct preset_config *chair_config_find_preset(const struct chair_config *c, const char *name)
{
        static struct preset_config preset;

        return nondet_bool() ? &preset : NULL;
}

/* --- the engine --- */

static struct program program_of_engine;
static unsigned intensity_of_engine = 3;

/* A start: may fail as engine.c's may; else it drives. */
static int engine_go(void)
{
        if (proof_engine != ENGINE_IDLE)
                return -EBUSY;
        if (nondet_bool())
                return nondet_bool() ? -EINVAL : -ERANGE;
        proof_output("engine start");
        proof_engine = nondet_bool() ? ENGINE_SCANNING : ENGINE_RUNNING;
        proof_engine_changed(ENGINE_CHANGED_STATE | ENGINE_CHANGED_PROGRAM);
        return 0;
}

int engine_start(struct engine *e, struct catalog_entry *entry, usec_t duration_usec, unsigned intensity)
{
        bool manual = entry->program == NULL; /* catalog_entry_new()'s: manual mode's */
        int r = engine_go();

        if (r >= 0)
                proof_engine_manual = manual;
        return r;
}

int engine_start_timeline(struct engine *e, struct catalog_entry *entry, struct timeline *t,
                          unsigned intensity)
{
        int r = engine_go();

        if (r >= 0)
                proof_engine_manual = false;
        return r;
}

void engine_set_trace(struct engine *e, engine_trace_t trace, void *userdata)
{
}

static void finish(enum finish_reason reason)
{
        proof_engine = ENGINE_IDLE;
        proof_engine_changed(ENGINE_CHANGED_STATE | ENGINE_CHANGED_PROGRAM);
        proof_engine_finished(reason);
}

int engine_stop(struct engine *e, enum finish_reason reason)
{
        if (proof_engine == ENGINE_IDLE)
                return -ENOENT;
        proof_output("engine_stop winding down"); /* the roller parks */
        finish(reason);
        return 0;
}

void engine_abort(struct engine *e, enum finish_reason reason)
{
        if (proof_engine != ENGINE_IDLE)
                finish(reason);
}

int engine_pause(struct engine *e)
{
        if (proof_engine == ENGINE_IDLE)
                return -ENOENT;
        if (proof_engine == ENGINE_PAUSED)
                return -EALREADY;
        proof_engine = ENGINE_PAUSED;
        proof_engine_changed(ENGINE_CHANGED_STATE);
        return 0;
}

int engine_resume(struct engine *e)
{
        if (proof_engine == ENGINE_IDLE)
                return -ENOENT;
        if (proof_engine != ENGINE_PAUSED)
                return -EALREADY;
        proof_output("engine_resume");
        proof_engine = nondet_bool() ? ENGINE_SCANNING : ENGINE_RUNNING;
        proof_engine_changed(ENGINE_CHANGED_STATE);
        return 0;
}

static bool engine_drives(void)
{
        return proof_engine == ENGINE_RUNNING || proof_engine == ENGINE_SCANNING;
}

void engine_set_intensity(struct engine *e, unsigned intensity)
{
        intensity_of_engine = intensity;
        if (engine_drives())
                proof_output("engine_set_intensity");
        proof_engine_changed(ENGINE_CHANGED_INTENSITY);
}

int engine_replace(struct engine *e, struct catalog_entry *entry, usec_t duration_usec)
{
        if (proof_engine == ENGINE_IDLE)
                return -ENOENT;
        if (nondet_bool())
                return nondet_bool() ? -EINVAL : -ERANGE;
        if (engine_drives())
                proof_output("engine_replace");
        proof_engine_changed(ENGINE_CHANGED_PROGRAM);
        return 0;
}

static int adjust(void)
{
        if (proof_engine == ENGINE_IDLE)
                return -ENOENT;
        if (engine_drives())
                proof_output("engine_adjust");
        return 0;
}

int engine_adjust(struct engine *e, const struct engine_adjust *changes)
{
        return adjust();
}

int engine_adjust_reset(struct engine *e)
{
        return adjust();
}

void engine_reapply_roller(struct engine *e)
{
        if (proof_engine == ENGINE_RUNNING)
                proof_output("engine_reapply_roller");
}

void engine_override_heat(struct engine *e, size_t heater)
{
}

enum engine_state engine_state(const struct engine *e)
{
        return proof_engine;
}

const struct program *engine_program(const struct engine *e)
{
        program_of_engine.id = proof_engine_manual ? PROGRAM_MANUAL_ID : "x";
        return proof_engine == ENGINE_IDLE ? NULL : &program_of_engine;
}

usec_t engine_duration(const struct engine *e)
{
        return 0; /* constant: the session's times only feed its report */
}

usec_t engine_elapsed(const struct engine *e)
{
        return 0;
}

unsigned engine_intensity(const struct engine *e)
{
        return intensity_of_engine;
}

/* --- the safety supervisor --- */

void safety_check(struct safety *s, usec_t now)
{
        struct safety_trip t = {.message = "a hazard"};

        if (!nondet_bool())
                return;
        t.fault = (enum fault) nondet_unsigned();
        __CPROVER_assume(t.fault > FAULT_NONE && t.fault < _FAULT_MAX);
        t.back_off_direction = nondet_int();
        __CPROVER_assume(t.back_off_direction >= -1 && t.back_off_direction <= 1);
        t.back_off_motor = nondet_unsigned();
        __CPROVER_assume(t.back_off_motor < CHAIR_MOTORS);
        t.back_off_usec = 500 * USEC_PER_MSEC;
        proof_trip_arrives(&t);
}

bool safety_cause(struct safety *s, usec_t now, char *buf, size_t size)
{
        if (nondet_bool()) {
                snprintf(buf, size, "still there");
                return true;
        }
        proof_cause_clear_seq = ++proof_seq;
        return false;
}

/* --- the session records --- */

void session_on_active(struct session *s)
{
}

void session_on_idle(struct session *s)
{
}

void session_on_tick(struct session *s, usec_t now)
{
}

void session_on_motion(struct session *s)
{
}

void session_on_program(struct session *s)
{
}

void session_on_fault(struct session *s, enum fault fault)
{
}

void session_on_reset(struct session *s)
{
        proof_reset_cleared();
}

void session_on_finished(struct session *s, const char *program, enum finish_reason reason, enum fault fault)
{
}

/* --- the catalog and profiles --- */

static struct profile profile;
static struct profiles *profiles_token;
static struct catalog_entry entry_of_catalog;
static struct program program_of_catalog;

struct catalog_entry *catalog_find(const struct catalog *c, const char *id)
{
        entry_of_catalog.program = &program_of_catalog;
        return nondet_bool() ? &entry_of_catalog : NULL;
}

/* Manual mode's entry: its program is marked by NULL here (engine_start() tells it by that). */
int catalog_entry_new(struct program *p, const char *path, struct catalog_entry **ret)
{
        static struct catalog_entry entry;

        if (nondet_bool())
                return -ENOMEM;
        entry.program = NULL;
        *ret = &entry;
        return 0;
}

struct catalog_entry *catalog_entry_unref(struct catalog_entry *e)
{
        return NULL;
}

struct program *program_free(struct program *p)
{
        return NULL;
}

const char *session_selected(const struct session *s)
{
        return nondet_bool() ? "p" : "";
}

struct profiles *session_profiles(const struct session *s)
{
        return profiles_token;
}

/* The selected profile: any intensity, heat for one zone (the config's first or none of its zones) at any
 * level, a program or none. */
const struct profile *profiles_find(const struct profiles *p, const char *name)
{
        profile.intensity = nondet_unsigned();
        __CPROVER_assume(profile.intensity <= 5);
        profile.n_heat = nondet_bool() ? 1 : 0;
        strcpy(profile.heat[0].zone, nondet_bool() ? "seat" : "none");
        profile.heat[0].level = nondet_unsigned();
        __CPROVER_assume(profile.heat[0].level <= HEAT_LEVELS);
        return nondet_bool() ? &profile : NULL;
}

const struct profile_position *profile_position(const struct profile *p, const char *name)
{
        static struct profile_position pos;

        return nondet_bool() ? &pos : NULL;
}
