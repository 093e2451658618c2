/* safety.c: the safety supervisor: the motor and heater checks that latch a fault, the causes a reset
 * waits for, and the marker that tells a restarted chaird it ended uncleanly. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "log.h"
#include "safety.h"

/* After the heat timeout, heat counts as rested (and its timeout starts afresh) only once every zone has
 * been off this long: switching heat off and on again does not extend it. */
#define HEAT_REST_USEC (5 * USEC_PER_MINUTE)

enum {
        MOTOR_HAZARD_LIMITS,
        MOTOR_HAZARD_OBSTACLE,
        MOTOR_HAZARD_RUN_TIME,
        MOTOR_HAZARD_NO_PROGRESS,
        _MOTOR_HAZARD_MAX,
};

enum {
        HEATER_HAZARD_SENSOR,
        HEATER_HAZARD_CEILING,
        HEATER_HAZARD_ABOVE_TARGET,
        HEATER_HAZARD_NO_GAIN,
        _HEATER_HAZARD_MAX,
};

struct heater_watch {
        bool window; /* heating, and watched for gain since window_usec */
        usec_t window_usec;
        double window_temp_c;
        bool hazard[_HEATER_HAZARD_MAX];
};

struct safety {
        struct daemon *d;
        bool motor_hazard[CHAIR_MOTORS][_MOTOR_HAZARD_MAX];
        struct heater_watch *heaters;
        usec_t heat_since_usec;     /* heat went on; 0: rested */
        usec_t heat_off_since_usec; /* every zone went off; 0: some heat is on */
        bool heat_timeout_hazard;
};

int safety_new(struct daemon *d, struct safety **ret)
{
        struct safety *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        s->d = d;
        s->heaters = calloc(d->config->n_heaters + 1, sizeof(*s->heaters));
        if (!s->heaters) {
                free(s);
                return -ENOMEM;
        }
        *ret = s;
        return 0;
}

struct safety *safety_free(struct safety *s)
{
        if (s) {
                free(s->heaters);
                free(s);
        }
        return NULL;
}

/* A hazard trips once, when it appears; it may trip again only after it was gone. So a condition that
 * lasts (an element still too hot after the heat went off) does not stop, over and over, what a fault
 * still allows, such as Release opening the legrest or an obstacle's back-off. */
static bool appears(bool *was, bool now)
{
        bool fresh = now && !*was;
        *was = now;
        return fresh;
}

static usec_t heat_usec(const struct safety *s, usec_t usec)
{
        /* Heat time is the chair's time, like a program's: with --time-scale it runs faster. */
        double scale = s->d->options->time_scale > 0 ? s->d->options->time_scale : 1.0;
        return (usec_t) ((double) usec / scale);
}

static void check_motor(struct safety *s, unsigned m, usec_t now)
{
        const struct safety_config *sc = &s->d->config->safety;
        bool *hazard = s->motor_hazard[m];
        struct chair_motor_status st;
        char limit[DURATION_MAX_STR];

        if (!chair_motor_status(s->d->chair, m, &st))
                return;
        const char *name = chair_motor_name(m);

        if (appears(&hazard[MOTOR_HAZARD_LIMITS], st.limit_start && st.limit_end)) {
                daemon_trip(s->d, "limit-switches", FINISH_FAULT,
                            "both limit switches of the %s are closed: a switch or its wiring is broken",
                            name);
                return;
        }
        bool over = st.has_current && st.have_current && st.current_a > st.max_current_a && !st.backing_off;
        if (appears(&hazard[MOTOR_HAZARD_OBSTACLE], over)) {
                /* Away from the obstacle: against the way it was going. */
                int away = st.target > st.position ? -1 : 1;
                daemon_trip(
                        s->d, "obstacle", FINISH_FAULT,
                        "the %s drew %.1f A, above its %.1f A: it met an obstacle, backed off and stopped",
                        name, st.current_a, st.max_current_a);
                if (st.driven)
                        chair_back_off(s->d->chair, m, away, sc->obstacle_back_off_usec);
                return;
        }
        usec_t max_run = m == CHAIR_MOTOR_ROLLER ? sc->roller_max_run_usec : sc->axis_max_run_usec;
        if (appears(&hazard[MOTOR_HAZARD_RUN_TIME],
                    st.driven && !st.backing_off && now - st.move_usec > max_run)) {
                daemon_trip(s->d, "run-time", FINISH_FAULT,
                            "the %s was driven for more than %s without arriving", name,
                            format_duration(limit, sizeof(limit), max_run));
                return;
        }
        bool stuck = st.driven && !st.backing_off && now - st.progress_usec > sc->no_progress_usec;
        if (appears(&hazard[MOTOR_HAZARD_NO_PROGRESS], stuck))
                daemon_trip(s->d, "no-progress", FINISH_FAULT,
                            "the %s was driven and did not move for %s: it is blocked, or its position "
                            "sensor is dead",
                            name, format_duration(limit, sizeof(limit), sc->no_progress_usec));
}

static void check_heater(struct safety *s, size_t h, usec_t now)
{
        const struct safety_config *sc = &s->d->config->safety;
        const struct heater_config *hc = &s->d->config->heaters[h];
        struct heater_watch *w = &s->heaters[h];
        char window[DURATION_MAX_STR];
        double t;

        if (!chair_temperature(s->d->chair, h, &t)) {
                w->window = false;
                return;
        }
        bool bad = t < sc->sensor_min_c || t > sc->sensor_max_c;
        if (appears(&w->hazard[HEATER_HAZARD_SENSOR], bad)) {
                daemon_trip(s->d, "heater-sensor", FINISH_FAULT,
                            "the %s temperature sensor reads %.1f deg C, outside %.0f to %.0f: it is open "
                            "or shorted",
                            hc->zone, t, sc->sensor_min_c, sc->sensor_max_c);
                return;
        }
        if (bad)
                return;
        if (appears(&w->hazard[HEATER_HAZARD_CEILING], t >= sc->heat_ceiling_c)) {
                daemon_trip(s->d, "heater-ceiling", FINISH_FAULT,
                            "the %s element reached %.1f deg C, at or above the ceiling of %.0f", hc->zone,
                            t, sc->heat_ceiling_c);
                return;
        }
        unsigned level = chair_heat_level(s->d->chair, h);
        double target = level > 0 ? hc->level_temp_c[level - 1] : NAN;
        if (appears(&w->hazard[HEATER_HAZARD_ABOVE_TARGET], level > 0 && t > target + sc->heat_margin_c)) {
                daemon_trip(s->d, "heater-runaway", FINISH_FAULT,
                            "the %s element is at %.1f deg C, more than %.0f above its target of %.0f",
                            hc->zone, t, sc->heat_margin_c, target);
                return;
        }
        /* Energized, an element must warm (in the spirit of Klipper's verify_heater): if it does not, the
         * sensor is off the element or the element is dead, and the regulation is blind. */
        if (!chair_heater_on(s->d->chair, h)) {
                w->window = false;
                w->hazard[HEATER_HAZARD_NO_GAIN] = false;
                return;
        }
        if (!w->window || t >= w->window_temp_c + sc->heat_min_gain_c) {
                w->window = true;
                w->window_usec = now;
                w->window_temp_c = t;
        }
        if (appears(&w->hazard[HEATER_HAZARD_NO_GAIN], now - w->window_usec > sc->heat_check_usec))
                daemon_trip(s->d, "heater-runaway", FINISH_FAULT,
                            "the %s element gained %.1f deg C in %s of heating, less than %.0f: its sensor "
                            "is off "
                            "the element, or the element is dead",
                            hc->zone, t - w->window_temp_c,
                            format_duration(window, sizeof(window), sc->heat_check_usec),
                            sc->heat_min_gain_c);
}

static void check_heat_time(struct safety *s, usec_t now)
{
        const struct safety_config *sc = &s->d->config->safety;
        char limit[DURATION_MAX_STR];
        bool any = false;

        for (size_t h = 0; h < s->d->config->n_heaters; h++)
                any = any || chair_heat_level(s->d->chair, h) > 0;
        if (!any) {
                if (s->heat_since_usec && !s->heat_off_since_usec)
                        s->heat_off_since_usec = now;
                if (s->heat_off_since_usec && now - s->heat_off_since_usec >= heat_usec(s, HEAT_REST_USEC))
                        s->heat_since_usec = s->heat_off_since_usec = 0;
                s->heat_timeout_hazard = false;
                return;
        }
        /* The rest may have passed while the chair was idle and not checked at all. */
        if (s->heat_off_since_usec && now - s->heat_off_since_usec >= heat_usec(s, HEAT_REST_USEC))
                s->heat_since_usec = 0;
        if (!s->heat_since_usec)
                s->heat_since_usec = now;
        s->heat_off_since_usec = 0;
        if (appears(&s->heat_timeout_hazard,
                    now - s->heat_since_usec >= heat_usec(s, sc->heat_timeout_usec)))
                daemon_trip(s->d, "heat-timeout", FINISH_FAULT, "heat was on for %s, the most it may be",
                            format_duration(limit, sizeof(limit), sc->heat_timeout_usec));
}

void safety_check(struct safety *s)
{
        usec_t now = now_usec();

        for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                check_motor(s, m, now);
        for (size_t h = 0; h < s->d->config->n_heaters; h++)
                check_heater(s, h, now);
        check_heat_time(s, now);
}

const char *safety_cause(const struct safety *s, const char *fault)
{
        const struct safety_config *sc = &s->d->config->safety;
        struct chair_motor_status st;
        double t;

        if (streq(fault, "limit-switches") || streq(fault, "obstacle"))
                for (unsigned m = 0; m < CHAIR_MOTORS; m++) {
                        if (!chair_motor_status(s->d->chair, m, &st))
                                continue;
                        if (streq(fault, "limit-switches") && st.limit_start && st.limit_end)
                                return "both limit switches of an axis are still closed";
                        if (streq(fault, "obstacle") && st.has_current && st.have_current &&
                            st.current_a > st.max_current_a)
                                return "a motor still draws more than its maximum current";
                }
        if (streq(fault, "heater-sensor") || streq(fault, "heater-ceiling") ||
            streq(fault, "heater-runaway"))
                for (size_t h = 0; h < s->d->config->n_heaters; h++) {
                        if (!chair_temperature(s->d->chair, h, &t))
                                continue;
                        if (t < sc->sensor_min_c || t > sc->sensor_max_c)
                                return "a temperature sensor still reads out of range";
                        if (t >= sc->heat_ceiling_c)
                                return "an element is still at or above the heat ceiling";
                }
        return NULL;
}

/* The marker: present while the chair is active. A chaird that finds it at start ended uncleanly. */
static int marker_path(const struct safety *s, char *buf, size_t size)
{
        int n = snprintf(buf, size, "%s/active", s->d->options->state_dir);
        return n < 0 || (size_t) n >= size ? -ENAMETOOLONG : 0;
}

int safety_mark_active(struct safety *s, bool active)
{
        char path[PATH_MAX], text[256];
        int r;

        r = marker_path(s, path, sizeof(path));
        if (r < 0)
                return r;
        if (!active) {
                if (unlink(path) < 0 && errno != ENOENT)
                        return log_error_errno(-errno, "Cannot remove %s: %m", path);
                return 0;
        }
        const struct program *p = engine_program(s->d->engine);
        time_t since = time(NULL);
        struct tm tm;
        char at[32] = "";
        if (localtime_r(&since, &tm))
                strftime(at, sizeof(at), "%Y-%m-%d %H:%M:%S", &tm);
        snprintf(text, sizeof(text), "active since %s%s%s\n", at, p ? ", program " : "", p ? p->id : "");
        if (mkdir(s->d->options->state_dir, 0755) < 0 && errno != EEXIST)
                return log_error_errno(-errno, "Cannot create %s: %m", s->d->options->state_dir);
        r = write_file_atomic(path, text, strlen(text), 0644);
        if (r < 0)
                return log_error_errno(r, "Cannot write %s: %m", path);
        return 0;
}

bool safety_was_interrupted(const struct safety *s, char *what, size_t size)
{
        char path[PATH_MAX];
        FILE *f;

        if (marker_path(s, path, sizeof(path)) < 0 || !(f = fopen(path, "re")))
                return false;
        if (!fgets(what, (int) size, f))
                what[0] = '\0';
        what[strcspn(what, "\n")] = '\0';
        fclose(f);
        return true;
}
