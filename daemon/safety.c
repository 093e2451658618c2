/* safety.c: the safety supervisor: the hazard table, the checks its rows name, and the state those checks
 * keep (a heater's gain window, what it heated toward, its watch while switched off and its fall while
 * cooling, how long heat has been on, since when a bus is silent). */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "safety.h"

DEFINE_STRING_TABLE(fault, enum fault, _FAULT_MAX, "", "emergency-stop", "limit-switches", "obstacle",
                    "run-time", "no-progress", "heater-sensor", "heater-ceiling", "heater-runaway",
                    "heat-timeout", "comm-lost", "board-stopped", "motor-unbidden", "interrupted",
                    "output-mismatch");

/* A heater is watched as a small state machine, in the spirit of Klipper's verify_heater. Energized, it must
 * gain heat-min-gain every heat-check-window (no_gain), and no reading that came while it was energized may
 * lie above the limit it heated toward, its target plus heat-margin (heated_past_target). Off, it must not
 * warm heat-off-rise (heats_while_off); off and above its limit (a level lowered, heat switched off, or
 * something heats it), it must also fall heat-min-gain below its highest reading in the time heat-min-fall
 * allows for that, from when it was found there or last fell as far (fails_to_cool). With heat off, its
 * limit is the lowest level's: chaird holds no element hotter than that. */
struct heater_watch {
        bool window; /* energized, and watched for gain since window_usec */
        usec_t window_usec;
        double window_temp_c;
        /* Energized at the last check or now: a reading since came while it heated, to heated_limit_c. */
        bool heated;
        double heated_limit_c;
        bool was_energized; /* at the last check, toward was_limit_c */
        double was_limit_c;
        /* Off and above its limit since fall_usec, the highest reading since fall_peak_c. */
        bool cooling;
        usec_t fall_usec;
        double fall_peak_c;
        /* Switched off: its lowest reading since low_usec (a low heat-off-window old gives way to the last
         * reading) and that last reading. */
        bool off;
        double low_c, last_c;
        usec_t low_usec;
        /* It warmed heat-off-rise above its low, from rose_from_c to rose_to_c: it heats by itself until it
         * reads heat-min-gain below the highest it read since, peak_c. */
        bool heats;
        double rose_from_c, rose_to_c, peak_c;
};

struct safety {
        const struct chair_config *config;
        const struct chair *chair;
        double time_scale;
        safety_trip_t trip;
        void *userdata;
        bool *present; /* per row and unit: the hazard was there at the last check */
        size_t max_units;
        struct heater_watch *heaters;
        usec_t heat_since_usec;     /* heat went on; 0: rested */
        usec_t heat_off_since_usec; /* every zone went off; 0: some heat is on */
        usec_t silent_since_usec;   /* a bus stopped answering; 0: every bus answers */
        bool checking;
};

/* What a check found: the message for people and, for an obstacle, which way to back off. */
struct finding {
        char message[256];
        int back_off_direction;
};

/* A check: whether the hazard is there at now for one unit (a motor, a heater, or the whole chair). */
typedef bool (*check_t)(struct safety *s, unsigned unit, usec_t now, struct finding *f);

enum scope {
        SCOPE_CHAIR,
        SCOPE_MOTOR,
        SCOPE_HEATER,
};

/* One hazard: detect trips its fault when it appears; still_present (NULL: nothing lasts once tripped) holds
 * back a reset while it is true; limits are the config keys it is measured against, as paths through the
 * config's field tables ('*' for any name of a map), which test-config checks against those tables. */
struct hazard {
        enum fault fault;
        enum scope scope;
        check_t detect;
        check_t still_present;
        const char *limits[4];
};

static _printf_(2, 3) bool found(struct finding *f, const char *fmt, ...)
{
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(f->message, sizeof(f->message), fmt, ap);
        va_end(ap);
        return true;
}

/* Heat time is the chair's time, like a program's: with --time-scale it runs faster. */
static usec_t chair_time(const struct safety *s, usec_t usec)
{
        return (usec_t) ((double) usec / s->time_scale);
}

/* --- the checks --- */

static bool estop_pressed(struct safety *s, unsigned unit, usec_t now, struct finding *f)
{
        return chair_estop_pressed(s->chair) && found(f, "the emergency-stop button is pressed");
}

static bool motor(struct safety *s, unsigned m, struct chair_motor_status *st)
{
        return chair_motor_status(s->chair, m, st);
}

static bool both_limits_closed(struct safety *s, unsigned m, usec_t now, struct finding *f)
{
        struct chair_motor_status st;

        return motor(s, m, &st) && st.limit_start && st.limit_end &&
               found(f, "both limit switches of the %s are closed: a switch or its wiring is broken",
                     chair_motor_name(m));
}

static bool over_current(struct safety *s, unsigned m, usec_t now, struct finding *f)
{
        struct chair_motor_status st;

        return motor(s, m, &st) && st.has_current && st.have_current && st.current_a > st.max_current_a &&
               found(f, "the %s draws %.1f A, above its %.1f A", chair_motor_name(m), st.current_a,
                     st.max_current_a);
}

static bool obstacle_met(struct safety *s, unsigned m, usec_t now, struct finding *f)
{
        struct chair_motor_status st;

        /* Its own back-off may draw a surge: that is no new obstacle. */
        if (!motor(s, m, &st) || st.backing_off || !over_current(s, m, now, f))
                return false;
        /* Away from the obstacle: against the way it was going. */
        f->back_off_direction = !st.driven ? 0 : st.target > st.position ? -1 : 1;
        return found(f, "the %s drew %.1f A, above its %.1f A: it met an obstacle, %s", chair_motor_name(m),
                     st.current_a, st.max_current_a, st.driven ? "backed off and stopped" : "and stopped");
}

static bool run_too_long(struct safety *s, unsigned m, usec_t now, struct finding *f)
{
        const struct safety_config *sc = &s->config->safety;
        usec_t max = m == CHAIR_MOTOR_ROLLER ? sc->roller_max_run_usec : sc->axis_max_run_usec;
        char limit[DURATION_MAX_STR];
        struct chair_motor_status st;

        return motor(s, m, &st) && st.driven && !st.backing_off && now - st.move_usec > max &&
               found(f, "the %s was driven for more than %s without arriving", chair_motor_name(m),
                     format_duration(limit, sizeof(limit), max));
}

static bool no_progress(struct safety *s, unsigned m, usec_t now, struct finding *f)
{
        usec_t max = s->config->safety.no_progress_usec;
        char limit[DURATION_MAX_STR];
        struct chair_motor_status st;

        /* Only a sensed position can show a stall; a time estimate always moves. */
        return motor(s, m, &st) && st.sensed && st.driven && !st.backing_off &&
               now - st.progress_usec > max &&
               found(f,
                     "the %s was driven and did not move for %s: it is blocked, or its position sensor is "
                     "dead",
                     chair_motor_name(m), format_duration(limit, sizeof(limit), max));
}

/* Pulses while neither relay is on (after the coast): it moves by itself. Present while they go on: one
 * within the last second. Not a config key: a second holds many pulses of any hall sensor a chair motor
 * has (DOMAIN: tens a second at travel speed), and a motor that creeps slower than that is caught again
 * after a reset, by the same row, once its pulses count up to unbidden-pulses again. */
#define UNBIDDEN_RECENT_USEC USEC_PER_SEC

static bool moves_unbidden(struct safety *s, unsigned m, usec_t now, struct finding *f)
{
        struct chair_motor_status st;

        return motor(s, m, &st) && st.unbidden_pulses >= s->config->safety.unbidden_pulses &&
               now - st.unbidden_usec < UNBIDDEN_RECENT_USEC &&
               found(f,
                     "the %s moved by itself: %u hall pulses came with both its relays off (a welded relay, "
                     "or the motor is back-driven)",
                     chair_motor_name(m), st.unbidden_pulses);
}

static bool sensor_out_of_range(struct safety *s, unsigned h, usec_t now, struct finding *f)
{
        const struct safety_config *sc = &s->config->safety;
        double t;

        if (chair_sensor_refused(s->chair, h))
                return found(f,
                             "the %s temperature sensor cannot be read: the board refuses its register (its "
                             "channel is dead or not there)",
                             s->config->heaters[h].zone);
        return chair_temperature(s->chair, h, &t) && (t < sc->sensor_min_c || t > sc->sensor_max_c) &&
               found(f,
                     "the %s temperature sensor reads %.1f deg C, outside %.0f to %.0f: it is open or "
                     "shorted",
                     s->config->heaters[h].zone, t, sc->sensor_min_c, sc->sensor_max_c);
}

/* A reading the heat checks can trust: read, and inside the sensor's range. */
static bool plausible_temperature(struct safety *s, unsigned h, double *ret)
{
        const struct safety_config *sc = &s->config->safety;

        return chair_temperature(s->chair, h, ret) && *ret >= sc->sensor_min_c && *ret <= sc->sensor_max_c;
}

static bool at_ceiling(struct safety *s, unsigned h, usec_t now, struct finding *f)
{
        double ceiling = s->config->safety.heat_ceiling_c, t;

        return plausible_temperature(s, h, &t) && t >= ceiling &&
               found(f, "the %s element is at %.1f deg C, at or above the ceiling of %.0f",
                     s->config->heaters[h].zone, t, ceiling);
}

/* An element's limit: its level's target plus heat-margin (with heat off, level 1's). Above it, it cools. */
static double limit_c(const struct safety *s, unsigned h)
{
        unsigned level = chair_heat_level(s->chair, h);

        return s->config->heaters[h].level_temp_c[level > 0 ? level - 1 : 0] +
               s->config->safety.heat_margin_c;
}

/* Regulation switches an element off at its target: one that got past the margin while it was energized was
 * driven there (a relay that does not open, broken regulation). A level lowered under a hot element moves
 * the limit, not the element: that one cools, and fails_to_cool watches it. Once the trip has switched it
 * off, nothing heats it on chaird's orders: what holds back the reset then is the element's own watch. */
static bool heated_past_target(struct safety *s, unsigned h, usec_t now, struct finding *f)
{
        const struct heater_watch *w = &s->heaters[h];
        double margin = s->config->safety.heat_margin_c, t;

        return w->heated && plausible_temperature(s, h, &t) && t > w->heated_limit_c &&
               found(f,
                     "the %s element reached %.1f deg C while heating, "
                     "more than %.0f above its target of %.0f",
                     s->config->heaters[h].zone, t, margin, w->heated_limit_c - margin);
}

/* How long an element off above its limit has to fall heat-min-gain: what heat-min-fall allows for it. */
static usec_t fall_usec(const struct safety_config *sc)
{
        return (usec_t) (sc->heat_min_gain_c / sc->heat_min_fall_c_per_minute * (double) USEC_PER_MINUTE);
}

/* Off and above its limit, an element cools (in a room, under a person, the slowest at the limit itself):
 * one that does not fall heat-min-gain in the time heat-min-fall allows is kept hot by something chaird does
 * not command (a relay that conducts a little, another heat source), whether it rises or not. While it does
 * not, a reset would leave it hot unwatched. The state is kept by watch_cooling. */
static bool fails_to_cool(struct safety *s, unsigned h, usec_t now, struct finding *f)
{
        const struct safety_config *sc = &s->config->safety;
        const struct heater_watch *w = &s->heaters[h];
        char window[DURATION_MAX_STR];
        double t;

        return w->cooling && now - w->fall_usec > fall_usec(sc) && plausible_temperature(s, h, &t) &&
               found(f,
                     "the %s element did not fall %.0f deg C below %.1f in %s with its heat off, "
                     "slower than %.1f deg C a minute: it reads %.1f, above its limit of %.0f",
                     s->config->heaters[h].zone, sc->heat_min_gain_c, w->fall_peak_c,
                     format_duration(window, sizeof(window), fall_usec(sc)), sc->heat_min_fall_c_per_minute,
                     t, limit_c(s, h));
}

/* Energized, an element must warm (in the spirit of Klipper's verify_heater): if it does not, its sensor is
 * off the element or the element is dead, and the regulation is blind. The window is kept by
 * watch_heater. */
static bool no_gain(struct safety *s, unsigned h, usec_t now, struct finding *f)
{
        const struct safety_config *sc = &s->config->safety;
        const struct heater_watch *w = &s->heaters[h];
        char window[DURATION_MAX_STR];
        double t;

        return w->window && now - w->window_usec > sc->heat_check_usec && plausible_temperature(s, h, &t) &&
               found(f,
                     "the %s element gained %.1f deg C in %s of heating, less than %.0f: its sensor is off "
                     "the element, or the element is dead",
                     s->config->heaters[h].zone, t - w->window_temp_c,
                     format_duration(window, sizeof(window), sc->heat_check_usec), sc->heat_min_gain_c);
}

/* Switched off, an element only cools, after a little coasting; one that warms as far as heat-off-rise (more
 * than it coasts) before its low is heat-off-window old (sooner than a room warms) is heated by something
 * chaird does not command: a relay welded shut, idle or not. While it does not cool, a reset would only let
 * it heat on unwatched. The state is kept by watch_heater_off. */
static bool heats_while_off(struct safety *s, unsigned h, usec_t now, struct finding *f)
{
        const struct safety_config *sc = &s->config->safety;
        const struct heater_watch *w = &s->heaters[h];
        char window[DURATION_MAX_STR];

        return w->heats &&
               found(f,
                     "the %s element warmed from %.1f to %.1f deg C with its heat off (%.0f in %s is a "
                     "stuck relay); it reads %.1f and has not cooled %.0f below its highest, %.1f",
                     s->config->heaters[h].zone, w->rose_from_c, w->rose_to_c, sc->heat_off_rise_c,
                     format_duration(window, sizeof(window), sc->heat_off_usec), w->last_c,
                     sc->heat_min_gain_c, w->peak_c);
}

static bool any_heat(const struct safety *s)
{
        for (size_t h = 0; h < s->config->n_heaters; h++)
                if (chair_heat_level(s->chair, h) > 0)
                        return true;
        return false;
}

/* Only while heat is on: after the trip turned it off, heat asked for again (before its rest) trips anew. */
static bool heat_too_long(struct safety *s, unsigned unit, usec_t now, struct finding *f)
{
        usec_t max = s->config->safety.heat_timeout_usec;
        char limit[DURATION_MAX_STR];

        return any_heat(s) && s->heat_since_usec && now - s->heat_since_usec >= chair_time(s, max) &&
               found(f, "heat was on for %s, the most it may be",
                     format_duration(limit, sizeof(limit), max));
}

static bool bus_silent(struct safety *s, unsigned unit, usec_t now, struct finding *f)
{
        return !chair_comm_ok(s->chair) && found(f, "a bus does not answer");
}

static bool silent_too_long(struct safety *s, unsigned unit, usec_t now, struct finding *f)
{
        usec_t max = s->config->safety.comm_loss_usec;
        char limit[DURATION_MAX_STR];

        return s->silent_since_usec && now - s->silent_since_usec >= max &&
               found(f, "a bus did not answer for %s while the chair was active",
                     format_duration(limit, sizeof(limit), max));
}

static bool board_stopped(struct safety *s, unsigned unit, usec_t now, struct finding *f)
{
        char timeout[DURATION_MAX_STR];
        double gap_ms;
        const struct bus_config *bus = chair_board_stopped(s->chair, &gap_ms);

        return bus &&
               found(f,
                     "the board on bus %s stopped everything by itself: no heartbeat reached it for %.0f ms "
                     "(its timeout is %s), because chaird was held up or the board was reconnected",
                     bus->name, gap_ms,
                     format_duration(timeout, sizeof(timeout), bus->heartbeat_timeout_usec));
}

/* Output read-back (IEC 60730-1 Annex H's output verification): a device that holds other than what was
 * written to it, a poll period after the write and still, has a stuck output (a relay or a driver stage
 * that does not follow, a board that ignores writes). The safe state cannot reach it: it lasts until it
 * follows again. */
static bool output_mismatch(struct safety *s, unsigned unit, usec_t now, struct finding *f)
{
        double held;
        int io = chair_output_mismatch(s->chair, &held);

        return io != IO_NONE &&
               found(f, "the output %s reads back %g, not what was written to it: it is stuck",
                     s->config->ios[io].name, held);
}

/* The hazards, in the order they are checked and reported: the first that appears is the fault latched. */
static const struct hazard hazards[] = {
        {FAULT_EMERGENCY_STOP, SCOPE_CHAIR, estop_pressed, estop_pressed, {"inputs.emergency-stop"}},
        {FAULT_BOARD_STOPPED, SCOPE_CHAIR, board_stopped, NULL, {"buses.*.heartbeat-timeout"}},
        {FAULT_COMM_LOST, SCOPE_CHAIR, silent_too_long, bus_silent, {"safety.comm-loss"}},
        {FAULT_OUTPUT_MISMATCH, SCOPE_CHAIR, output_mismatch, output_mismatch, {"buses.*.poll"}},
        {FAULT_LIMIT_SWITCHES,
         SCOPE_MOTOR,
         both_limits_closed,
         both_limits_closed,
         {"recline.axes.*.limit-start", "recline.axes.*.limit-end", "roller.travel.limit-start",
          "roller.travel.limit-end"}},
        {FAULT_OBSTACLE,
         SCOPE_MOTOR,
         obstacle_met,
         over_current,
         {"recline.axes.*.max-current", "roller.travel.max-current", "safety.obstacle-back-off"}},
        {FAULT_RUN_TIME, SCOPE_MOTOR, run_too_long, NULL, {"safety.axis-max-run", "safety.roller-max-run"}},
        {FAULT_NO_PROGRESS, SCOPE_MOTOR, no_progress, NULL, {"safety.no-progress"}},
        {FAULT_MOTOR_UNBIDDEN,
         SCOPE_MOTOR,
         moves_unbidden,
         moves_unbidden,
         {"safety.unbidden-pulses", "recline.axes.*.coast"}},
        {FAULT_HEATER_SENSOR,
         SCOPE_HEATER,
         sensor_out_of_range,
         sensor_out_of_range,
         {"safety.sensor-min", "safety.sensor-max", "heaters.*.sensor"}},
        {FAULT_HEATER_CEILING, SCOPE_HEATER, at_ceiling, at_ceiling, {"safety.heat-ceiling"}},
        /* The trip switched it off: its watch while off holds back the reset from then on (rows below). */
        {FAULT_HEATER_RUNAWAY,
         SCOPE_HEATER,
         heated_past_target,
         heated_past_target,
         {"safety.heat-margin", "heaters.*.levels"}},
        {FAULT_HEATER_RUNAWAY,
         SCOPE_HEATER,
         no_gain,
         at_ceiling,
         {"safety.heat-min-gain", "safety.heat-check-window"}},
        {FAULT_HEATER_RUNAWAY,
         SCOPE_HEATER,
         heats_while_off,
         heats_while_off,
         {"safety.heat-off-rise", "safety.heat-off-window", "safety.heat-min-gain",
          "safety.heat-idle-read"}},
        {FAULT_HEATER_RUNAWAY,
         SCOPE_HEATER,
         fails_to_cool,
         fails_to_cool,
         {"safety.heat-margin", "safety.heat-min-fall", "safety.heat-min-gain"}},
        {FAULT_HEAT_TIMEOUT, SCOPE_CHAIR, heat_too_long, NULL, {"safety.heat-timeout", "safety.heat-rest"}},
};

const char *safety_hazard_limit(size_t row, size_t i, enum fault *ret_fault)
{
        if (row >= ELEMENTSOF(hazards) || i >= ELEMENTSOF(hazards[row].limits))
                return NULL;
        if (ret_fault)
                *ret_fault = hazards[row].fault;
        return hazards[row].limits[i];
}

size_t safety_hazard_rows(void)
{
        return ELEMENTSOF(hazards);
}

/* --- the state the checks keep --- */

/* What a reading since the last check heated toward: the limit of then if it was energized then, of now if
 * it is energized now (a level raised since), the higher if both. */
static void watch_heated(struct safety *s, unsigned h)
{
        struct heater_watch *w = &s->heaters[h];
        bool on = chair_heater_on(s->chair, h);
        double limit = limit_c(s, h);

        w->heated = w->was_energized || on;
        w->heated_limit_c = w->was_energized && on ? fmax(w->was_limit_c, limit)
                            : w->was_energized     ? w->was_limit_c
                                                   : limit;
        w->was_energized = on;
        w->was_limit_c = limit;
}

static void watch_cooling(struct safety *s, unsigned h, usec_t now)
{
        const struct safety_config *sc = &s->config->safety;
        struct heater_watch *w = &s->heaters[h];
        double t;

        if (chair_heater_on(s->chair, h) || !plausible_temperature(s, h, &t) || t <= limit_c(s, h)) {
                w->cooling = false;
                return;
        }
        if (w->cooling && t > w->fall_peak_c - sc->heat_min_gain_c) {
                w->fall_peak_c = fmax(w->fall_peak_c, t);
                return;
        }
        /* Found above its limit, or fallen heat-min-gain: watched afresh from here. */
        w->cooling = true;
        w->fall_usec = now;
        w->fall_peak_c = t;
}

static void watch_heater(struct safety *s, unsigned h, usec_t now)
{
        struct heater_watch *w = &s->heaters[h];
        double t;

        if (!chair_heater_on(s->chair, h) || !plausible_temperature(s, h, &t)) {
                w->window = false;
                return;
        }
        if (!w->window || t >= w->window_temp_c + s->config->safety.heat_min_gain_c) {
                w->window = true;
                w->window_usec = now;
                w->window_temp_c = t;
        }
}

static void watch_heater_off(struct safety *s, unsigned h, usec_t now)
{
        const struct safety_config *sc = &s->config->safety;
        struct heater_watch *w = &s->heaters[h];
        double t;

        if (chair_heater_on(s->chair, h)) {
                w->off = false; /* heating: watched afresh from when it is switched off */
                return;
        }
        if (!plausible_temperature(s, h, &t))
                return;
        if (w->heats) {
                w->peak_c = fmax(w->peak_c, t);
                w->heats = t > w->peak_c - sc->heat_min_gain_c;
                w->off = w->heats; /* once it cools, it is watched afresh from here */
        } else if (w->off) {
                /* Readings come when they change: the last one held until now, and takes an old low's
                 * place. */
                if (now - w->low_usec >= sc->heat_off_usec) {
                        w->low_c = w->last_c;
                        w->low_usec = now;
                }
                if (t < w->low_c) {
                        w->low_c = t;
                        w->low_usec = now;
                } else if (t >= w->low_c + sc->heat_off_rise_c) {
                        w->heats = true;
                        w->rose_from_c = w->low_c;
                        w->rose_to_c = w->peak_c = t;
                }
        }
        if (!w->off) {
                w->off = true;
                w->low_c = t;
                w->low_usec = now;
        }
        w->last_c = t;
}

static void watch_heat_time(struct safety *s, usec_t now)
{
        usec_t rest = chair_time(s, s->config->safety.heat_rest_usec);
        bool any = any_heat(s);

        /* The rest may have passed while the chair was idle and not checked at all. */
        if (s->heat_off_since_usec && now - s->heat_off_since_usec >= rest)
                s->heat_since_usec = s->heat_off_since_usec = 0;
        if (!any) {
                if (s->heat_since_usec && !s->heat_off_since_usec)
                        s->heat_off_since_usec = now;
                return;
        }
        if (!s->heat_since_usec)
                s->heat_since_usec = now;
        s->heat_off_since_usec = 0;
}

static void watch(struct safety *s, usec_t now)
{
        for (unsigned h = 0; h < s->config->n_heaters; h++) {
                watch_heated(s, h);
                watch_heater(s, h, now);
                watch_heater_off(s, h, now);
                watch_cooling(s, h, now);
        }
        watch_heat_time(s, now);
        /* Silence counts from when the chair is busy with it: a board that is down while the chair sits idle
         * (at start, say) is no fault until something is asked of the chair. */
        if (chair_comm_ok(s->chair))
                s->silent_since_usec = 0;
        else if (!s->silent_since_usec && chair_busy(s->chair))
                s->silent_since_usec = now;
}

/* --- the table at work --- */

static size_t units(const struct safety *s, enum scope scope)
{
        return scope == SCOPE_MOTOR ? CHAIR_MOTORS : scope == SCOPE_HEATER ? s->config->n_heaters : 1;
}

void safety_check(struct safety *s, usec_t now)
{
        if (s->checking)
                return; /* a trip's safe state reports changes that would check again: this check goes on */
        s->checking = true;
        watch(s, now);
        for (size_t i = 0; i < ELEMENTSOF(hazards); i++) {
                const struct hazard *hz = &hazards[i];
                for (unsigned u = 0; u < units(s, hz->scope); u++) {
                        struct finding f = {};
                        bool *was = &s->present[i * s->max_units + u];
                        bool now_present = hz->detect(s, u, now, &f);
                        bool appeared = now_present && !*was;

                        *was = now_present;
                        if (!appeared)
                                continue;
                        struct safety_trip t = {
                                .fault = hz->fault,
                                .message = f.message,
                                .back_off_motor = u,
                                .back_off_direction = f.back_off_direction,
                                .back_off_usec = s->config->safety.obstacle_back_off_usec,
                        };
                        s->trip(&t, s->userdata);
                }
        }
        s->checking = false;
}

bool safety_cause(struct safety *s, usec_t now, char *buf, size_t size)
{
        for (size_t i = 0; i < ELEMENTSOF(hazards); i++) {
                const struct hazard *hz = &hazards[i];
                if (!hz->still_present)
                        continue;
                for (unsigned u = 0; u < units(s, hz->scope); u++) {
                        struct finding f = {};
                        if (hz->still_present(s, u, now, &f)) {
                                snprintf(buf, size, "%s", f.message);
                                return true;
                        }
                }
        }
        return false;
}

int safety_new(const struct chair_config *config, const struct chair *chair, double time_scale,
               safety_trip_t trip, void *userdata, struct safety **ret)
{
        struct safety *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        *s = (struct safety){
                .config = config,
                .chair = chair,
                .time_scale = time_scale > 0 ? time_scale : 1.0,
                .trip = trip,
                .userdata = userdata,
                .max_units = config->n_heaters > CHAIR_MOTORS ? config->n_heaters : CHAIR_MOTORS,
        };
        s->present = calloc(ELEMENTSOF(hazards) * s->max_units, sizeof(*s->present));
        s->heaters = calloc(config->n_heaters + 1, sizeof(*s->heaters));
        if (!s->present || !s->heaters)
                return safety_free(s), -ENOMEM;
        *ret = s;
        return 0;
}

struct safety *safety_free(struct safety *s)
{
        if (s) {
                free(s->present);
                free(s->heaters);
                free(s);
        }
        return NULL;
}
