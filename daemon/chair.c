/* chair.c: the chair model: what the chair is told to do, turned into driver outputs, and what it
 * reports. */
#include <errno.h>
#include <math.h>

#include "chair.h"
#include "driver.h"
#include "heater.h"
#include "log.h"
#include "motor.h"

struct zone {
        enum valve_state valve;
        unsigned intensity;
        bool inflating; /* the inlet is open */
        double pressure_kpa;
        bool have_pressure;
};

enum scan_step {
        SCAN_NONE,
        SCAN_TO_START, /* the roller goes to the top of the shoulder range */
        SCAN_DOWN,     /* it runs down until the body sensor touches */
};

struct chair {
        const struct chair_config *config;
        sd_event *event;
        chair_notify_t notify;
        void *userdata;

        struct driver **drivers;
        size_t n_drivers;
        bool *bus_ok;
        /* A board that stopped by itself since the last safe state, and how late its heartbeat was. */
        bool board_stopped;
        unsigned board_stopped_bus;
        double board_stopped_gap_ms;
        /* Per io: what an output that reads back other than written holds (DRIVER_OUTPUT_MISMATCH); NAN
         * while it reads back what was written. */
        double *held;
        /* Per io: when the device last refused to read an input (DRIVER_REFUSED); 0: never. It is still
         * refused until the bus reads it after that (driver_read_at()). */
        usec_t *refused_usec;
        /* A refresh under way: how many buses have yet to read their inputs, the first error, who waits. */
        unsigned refreshing;
        int refresh_error;
        chair_refreshed_t refresh_done;
        void *refresh_userdata;
        sd_event_source
                *refresh_source; /* tells the waiter on the loop's next turn when no bus had to read */
        sd_event_source *flush_source;
        /* The jog (or an obstacle's back-off) under way: its motor, -1 for none, and its hold-to-move timer,
         * which ends it. A command that takes its motor ends the jog first (jog_end()), so that the timer of
         * an older command never stops a newer one's move. */
        sd_event_source *jog_timer;
        int jog_motor;
        bool backing_off; /* the jog is a back-off from an obstacle */
        bool polling;

        struct motor motors[CHAIR_MOTORS];
        struct zone *zones;
        struct heat heat;
        bool pump;
        unsigned kneading, tapping, foot;
        /* The preset the chair is at, or on its way to (borrowed from the config); NULL for none. */
        const struct preset_config *preset;

        enum scan_step scan;
        bool scan_seen_off; /* the body sensor read "no contact" during SCAN_DOWN: its next touch counts */
        double shoulder_mm; /* in use: where the scan found them, moved by the offset */
        double shoulder_found_mm;  /* found by the last scan (the config's before any) */
        double shoulder_offset_mm; /* the person's own, positive down the back */
        bool estop;
};

static void changed(struct chair *c, unsigned what)
{
        if (c->notify)
                c->notify(c, what, c->userdata);
}

static void set_preset(struct chair *c, const struct preset_config *preset)
{
        if (c->preset == preset)
                return;
        c->preset = preset;
        changed(c, CHAIR_CHANGED_RECLINE);
}

/* Everything that moves is about to stop where it is (a hold, the safe state): an axis still on its way to
 * the preset, and not there yet, stops short of it, so the chair is at no preset. One that has arrived stays
 * there; one that moved by itself since it last drove (a welded relay) may be anywhere. */
static void preset_stop_short(struct chair *c)
{
        if (!c->preset)
                return;
        for (int a = 0; a < _AXIS_MAX; a++) {
                const struct motor *m = &c->motors[a];
                if (!c->config->axis[a])
                        continue;
                if ((motor_pending(m) && fabs(motor_position(m) - c->preset->position[a] * m->span) >
                                                 MOTOR_ARRIVED_FRACTION * m->span) ||
                    motor_unbidden(m, NULL)) {
                        set_preset(c, NULL);
                        return;
                }
        }
}

/* The jog on motor (or any, for -1) is over: a command takes its motor, and the jog's timer must not stop
 * that command's move, nor the safety checks go on treating it as a back-off. */
static void jog_end(struct chair *c, int motor)
{
        if (c->jog_motor < 0 || (motor >= 0 && c->jog_motor != motor))
                return;
        c->jog_motor = -1;
        c->backing_off = false;
        if (c->jog_timer)
                sd_event_source_set_enabled(c->jog_timer, SD_EVENT_OFF);
}

static void schedule_flush(struct chair *c)
{
        if (c->flush_source)
                sd_event_source_set_enabled(c->flush_source, SD_EVENT_ONESHOT);
}

/* Sets one output; the write goes out at the end of this loop iteration. An output the config does not
 * wire is skipped: the chair lacks that part. */
static void out(struct chair *c, int io, double value)
{
        const struct io_config *ic = chair_config_io(c->config, io);
        int r;

        if (!ic)
                return;
        if (ic->role == IO_OUT_SWITCH && value > 1.0)
                value = 1.0; /* a speed on a relay: any speed above 0 switches it on (a PWM duty stays) */
        r = driver_set(c->drivers[ic->bus], io, value);
        if (r < 0)
                log_warning_errno(r, "Cannot set %s to %g: %m", ic->name, value);
        schedule_flush(c);
}

/* The motors' outputs go out like every other. */
static void motor_output(void *chair, int io, double value)
{
        out(chair, io, value);
}

static int motor_written(void *chair, int io, usec_t *ret_usec)
{
        struct chair *c = chair;
        const struct io_config *ic = chair_config_io(c->config, io);

        if (!ic) {
                *ret_usec = 0;
                return 0;
        }
        return driver_written(c->drivers[ic->bus], io, ret_usec);
}

/* A motor's input read afresh: its bus is asked to read every input again. */
static int motor_refresh(void *chair, int io)
{
        struct chair *c = chair;
        const struct io_config *ic = chair_config_io(c->config, io);
        int r;

        if (!ic)
                return -EOPNOTSUPP;
        r = driver_refresh(c->drivers[ic->bus]);
        if (r < 0 && r != -EOPNOTSUPP)
                log_warning_errno(r, "Cannot read %s afresh: %m", ic->name);
        return r < 0 ? r : (int) ic->bus;
}

static int motor_get(void *chair, int io, double *ret)
{
        struct chair *c = chair;
        const struct io_config *ic = chair_config_io(c->config, io);

        return ic ? driver_get(c->drivers[ic->bus], io, ret) : -ENODATA;
}

static int on_flush(sd_event_source *s, void *userdata)
{
        struct chair *c = userdata;

        for (size_t i = 0; i < c->n_drivers; i++)
                driver_flush(c->drivers[i]);
        for (unsigned i = 0; i < CHAIR_MOTORS; i++)
                motor_flushed(&c->motors[i]);
        return 0;
}

static void update_pump(struct chair *c)
{
        bool pump = false;

        for (size_t z = 0; z < c->config->n_zones; z++)
                pump = pump || c->zones[z].inflating;
        if (pump != c->pump) {
                c->pump = pump;
                out(c, c->config->pump, pump);
        }
}

static bool zone_full(const struct chair *c, size_t z)
{
        const struct zone *zo = &c->zones[z];
        unsigned i = zo->intensity < 1                         ? 1
                     : zo->intensity > AIRBAG_INTENSITY_LEVELS ? AIRBAG_INTENSITY_LEVELS
                                                               : zo->intensity;

        return c->config->zones[z].pressure != IO_NONE && zo->have_pressure &&
               zo->pressure_kpa >= c->config->airbag_pressure_kpa[i - 1];
}

void chair_airbag(struct chair *c, size_t z, enum valve_state valve, unsigned intensity)
{
        const struct airbag_zone_config *zc = &c->config->zones[z];
        struct zone *zo = &c->zones[z];

        zo->valve = valve;
        zo->intensity = intensity;
        zo->inflating = valve == VALVE_INFLATE && !zone_full(c, z);
        out(c, zc->hold, valve != VALVE_VENT);
        out(c, zc->inflate, zo->inflating);
        update_pump(c);
}

/* The heaters' regulation (heater.c) sets their elements through these. */
void chair_heat_output(struct chair *c, int io, double value)
{
        out(c, io, value);
}

int chair_heat_read_at(struct chair *c, int io, usec_t *ret_usec)
{
        const struct io_config *ic = chair_config_io(c->config, io);

        return ic ? driver_read_at(c->drivers[ic->bus], io, ret_usec) : -ENODATA;
}

void chair_heat(struct chair *c, size_t i, unsigned level)
{
        if (c->heat.heaters[i].level == level)
                return;
        heat_set_level(&c->heat, i, level);
        changed(c, CHAIR_CHANGED_HEAT);
}

/* A program's speed (1-6) spread over the hardware's speeds: its slowest is the chair's slowest, its
 * fastest the chair's fastest (with 3: 1-2, 3-4, 5-6). */
static unsigned foot_level(const struct chair_config *config, unsigned speed)
{
        unsigned levels = config->foot_speed_levels;
        return speed == 0 ? 0 : (speed * levels + FOOT_SPEED_MAX - 1) / FOOT_SPEED_MAX;
}

void chair_foot(struct chair *c, unsigned speed)
{
        if (!c->config->has_foot_rollers)
                return;
        c->foot = speed;
        out(c, c->config->foot_speed, foot_level(c->config, speed));
}

void chair_roller(struct chair *c, const struct roller_setpoint *sp, int depth_offset)
{
        const struct roller_config *rc = &c->config->roller;
        struct motor *m = &c->motors[CHAIR_MOTOR_ROLLER];

        if (!c->config->has_roller)
                return;
        jog_end(c, CHAIR_MOTOR_ROLLER);
        if (!sp->active) {
                c->kneading = c->tapping = 0;
                out(c, rc->kneading, 0);
                out(c, rc->tapping, 0);
                /* A scan under way ends here: its next arrival must not send the roller on down the back. */
                c->scan = SCAN_NONE;
                motor_move(m, 0.0); /* park at the top */
                changed(c, CHAIR_CHANGED_MOTION);
                return;
        }
        int depth = (int) sp->depth + depth_offset;
        depth = depth < 1 ? 1 : depth > (int) rc->depth_levels ? (int) rc->depth_levels : depth;

        c->kneading = sp->technique & TECHNIQUE_BIT(TECHNIQUE_KNEADING) ? sp->speed : 0;
        c->tapping = sp->technique & TECHNIQUES_PERCUSSION ? sp->speed : 0;
        out(c, rc->kneading, c->kneading);
        out(c, rc->tapping, c->tapping);
        out(c, rc->width, sp->width);
        out(c, rc->depth, depth);
        motor_move(m,
                   body_point_resolve(&sp->target, &rc->geometry, c->shoulder_mm) * rc->geometry.track_mm);
        changed(c, CHAIR_CHANGED_MOTION);
}

int chair_recline(struct chair *c, const char *name)
{
        const struct preset_config *p = NULL;

        if (c->config->n_presets == 0)
                return -EOPNOTSUPP;
        for (size_t i = 0; i < c->config->n_presets && !p; i++)
                if (streq(c->config->presets[i].name, name))
                        p = &c->config->presets[i];
        if (!p)
                return -ENOENT;
        for (int a = 0; a < _AXIS_MAX; a++)
                if (c->config->axis[a]) {
                        jog_end(c, a);
                        motor_move(&c->motors[a], p->position[a]);
                }
        set_preset(c, p);
        changed(c, CHAIR_CHANGED_MOTION);
        return 0;
}

int chair_recline_to(struct chair *c, const double position[_AXIS_MAX], const bool has[_AXIS_MAX])
{
        if (c->config->n_presets == 0)
                return -EOPNOTSUPP;
        for (int a = 0; a < _AXIS_MAX; a++)
                if (c->config->axis[a] && has[a]) {
                        jog_end(c, a);
                        motor_move(&c->motors[a], fmin(fmax(position[a], 0.0), 1.0));
                }
        set_preset(c, NULL);
        changed(c, CHAIR_CHANGED_MOTION);
        return 0;
}

int chair_move_axis(struct chair *c, enum axis axis, double position)
{
        if (!motor_present(&c->motors[axis]))
                return -EOPNOTSUPP;
        jog_end(c, axis);
        motor_move(&c->motors[axis], position);
        set_preset(c, NULL);
        changed(c, CHAIR_CHANGED_MOTION);
        return 0;
}

/* The jog was not repeated in time: it stops. Only a jog under way has its timer on (jog_end()). */
static int on_jog_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct chair *c = userdata;
        int motor = c->jog_motor;

        jog_end(c, -1);
        if (motor >= 0)
                motor_stop(&c->motors[motor]);
        changed(c, CHAIR_CHANGED_MOTION);
        return 0;
}

/* A jog, or (back_off) an obstacle's back-off, which drives the way it is told and never homes first. */
static int jog(struct chair *c, unsigned axis, int direction, usec_t hold_usec, bool back_off)
{
        struct motor *m = &c->motors[axis];
        int r;

        if (!motor_present(m))
                return -EOPNOTSUPP;
        /* Its timer first: a jog that could not stop by itself must not start. */
        if (!c->jog_timer)
                r = sd_event_add_time_relative(c->event, &c->jog_timer, CLOCK_MONOTONIC, hold_usec,
                                               USEC_PER_MSEC, on_jog_timeout, c);
        else {
                r = sd_event_source_set_time_relative(c->jog_timer, hold_usec);
                if (r >= 0)
                        r = sd_event_source_set_enabled(c->jog_timer, SD_EVENT_ONESHOT);
        }
        if (r < 0)
                return r;
        if (c->jog_motor >= 0 && c->jog_motor != (int) axis)
                motor_stop(&c->motors[c->jog_motor]);
        if (back_off)
                motor_drive(m, direction);
        else
                motor_move(m, direction > 0 ? m->span : 0.0);
        c->jog_motor = axis;
        c->backing_off = false;
        set_preset(c, NULL);
        changed(c, CHAIR_CHANGED_MOTION);
        return 0;
}

int chair_jog(struct chair *c, enum axis axis, int direction, usec_t hold_usec)
{
        return jog(c, axis, direction, hold_usec, false);
}

int chair_back_off(struct chair *c, unsigned motor, int direction, usec_t usec)
{
        int r = jog(c, motor, direction, usec, true);
        if (r >= 0)
                c->backing_off = true;
        return r;
}

void chair_hold(struct chair *c)
{
        const struct roller_config *rc = &c->config->roller;

        c->kneading = c->tapping = 0;
        out(c, rc->kneading, 0);
        out(c, rc->tapping, 0);
        chair_foot(c, 0);
        preset_stop_short(c);
        for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                if (motor_pending(&c->motors[m]))
                        motor_stop(&c->motors[m]);
        for (size_t z = 0; z < c->config->n_zones; z++)
                if (c->zones[z].valve == VALVE_INFLATE)
                        chair_airbag(c, z, VALVE_HOLD, c->zones[z].intensity);
        c->scan = SCAN_NONE;
        changed(c, CHAIR_CHANGED_MOTION);
}

static void scan_end(struct chair *c, bool found, double shoulder_mm)
{
        const struct roller_geometry *g = &c->config->roller.geometry;

        c->scan = SCAN_NONE;
        c->shoulder_found_mm = found ? shoulder_mm : g->shoulder_mm;
        motor_stop(&c->motors[CHAIR_MOTOR_ROLLER]);
        if (found)
                log_info("Body scan: shoulders at %.0f mm", c->shoulder_found_mm);
        else
                log_warning("Body scan found no shoulders between %.0f and %.0f mm; assuming %.0f mm",
                            g->shoulder_min_mm, g->shoulder_max_mm, c->shoulder_found_mm);
        /* An offset asked for during the scan is kept within the range here. */
        double mm = c->shoulder_found_mm + c->shoulder_offset_mm;
        c->shoulder_mm = mm < g->shoulder_min_mm   ? g->shoulder_min_mm
                         : mm > g->shoulder_max_mm ? g->shoulder_max_mm
                                                   : mm;
        if (c->shoulder_mm != mm)
                log_info("Shoulders moved by %+.0f mm would be off the shoulder range; at %.0f mm",
                         c->shoulder_offset_mm, c->shoulder_mm);
        else if (c->shoulder_offset_mm != 0.0)
                log_info("Shoulders moved by %+.0f mm: at %.0f mm", c->shoulder_offset_mm, c->shoulder_mm);
        changed(c, CHAIR_CHANGED_SCAN | CHAIR_CHANGED_MOTION | CHAIR_CHANGED_SHOULDERS);
}

static void scan_arrived(struct chair *c, bool body);

static bool body_contact(struct chair *c)
{
        const struct chair_config *cfg = c->config;
        double body;

        return driver_get(c->drivers[chair_config_io(cfg, cfg->roller.body_sensor)->bus],
                          cfg->roller.body_sensor, &body) == 0 &&
               body != 0.0;
}

/* Sends the roller on for the scan. Already there, it is not driven and no arrival will come: it has arrived
 * now (a scan cut short left the roller where the next one starts). */
static void scan_move(struct chair *c, double target_mm)
{
        motor_move(&c->motors[CHAIR_MOTOR_ROLLER], target_mm);
        if (!c->motors[CHAIR_MOTOR_ROLLER].driven)
                scan_arrived(c, body_contact(c));
}

int chair_scan(struct chair *c)
{
        if (!c->config->has_roller || c->config->roller.body_sensor == IO_NONE)
                return -EOPNOTSUPP;
        jog_end(c, CHAIR_MOTOR_ROLLER);
        c->scan = SCAN_TO_START;
        scan_move(c, c->config->roller.geometry.shoulder_min_mm);
        changed(c, CHAIR_CHANGED_MOTION);
        return 0;
}

/* The roller arrived where the scan sent it. Readings of position and body sensor come from separate polls,
 * so only a touch seen after a "no contact" reading on the way down counts as the shoulders. */
static void scan_arrived(struct chair *c, bool body)
{
        const struct roller_geometry *g = &c->config->roller.geometry;

        if (c->scan == SCAN_TO_START) {
                c->scan = SCAN_DOWN;
                /* The sensor reports changes only: no contact here is the "no contact" reading. */
                c->scan_seen_off = !body;
                scan_move(c, g->shoulder_max_mm);
        } else if (c->scan == SCAN_DOWN) {
                if (body && !c->scan_seen_off)
                        scan_end(c, true,
                                 g->shoulder_min_mm); /* touching all the way: shoulders at the top */
                else
                        scan_end(c, false, 0);
        }
}

int chair_safe(struct chair *c, usec_t timeout_usec)
{
        int r = 0;

        preset_stop_short(c);
        for (size_t i = 0; i < c->n_drivers; i++) {
                int k = driver_safe_state(c->drivers[i], timeout_usec);
                if (k < 0 && r == 0)
                        r = k;
        }
        for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                motor_safe(&c->motors[m]);
        for (size_t z = 0; z < c->config->n_zones; z++)
                c->zones[z] = (struct zone){VALVE_VENT, 0, false, c->zones[z].pressure_kpa,
                                            c->zones[z].have_pressure};
        heat_safe(&c->heat);
        c->pump = false;
        c->kneading = c->tapping = c->foot = 0;
        c->scan = SCAN_NONE;
        jog_end(c, -1);
        c->board_stopped = false; /* the drivers write again what is asked from now on */
        changed(c, CHAIR_CHANGED_MOTION | CHAIR_CHANGED_HEAT);
        return r;
}

/* What a motor did, on an input or on its own time (MOTOR_INPUT_* bits). */
static void motor_changed(struct chair *c, unsigned i, unsigned what)
{
        /* The roller arrived where the scan sent it (not stopped by a limit switch). */
        if (i == CHAIR_MOTOR_ROLLER && c->scan != SCAN_NONE && (what & MOTOR_INPUT_STOPPED) &&
            (what & MOTOR_INPUT_POSITION))
                scan_arrived(c, body_contact(c));
        changed(c, (what & (MOTOR_INPUT_STOPPED | MOTOR_INPUT_LOST) ? CHAIR_CHANGED_MOTION : 0) |
                           (what & MOTOR_INPUT_SAFETY ? CHAIR_CHANGED_SAFETY : 0) |
                           (what & MOTOR_INPUT_POSITION ? CHAIR_CHANGED_POSITIONS : 0));
}

static void on_motor(void *chair, struct motor *m, unsigned what)
{
        struct chair *c = chair;

        motor_changed(c, (unsigned) (m - c->motors), what);
}

static void on_input(struct chair *c, int io, double v)
{
        const struct chair_config *cfg = c->config;

        if (io == cfg->estop) {
                c->estop = v != 0.0;
                changed(c, CHAIR_CHANGED_ESTOP);
                return;
        }
        if (io == cfg->roller.body_sensor && cfg->has_roller) {
                if (c->scan == SCAN_DOWN && v == 0.0)
                        c->scan_seen_off = true;
                else if (c->scan == SCAN_DOWN && c->scan_seen_off) {
                        /* Where it is now: a relay-pair roller without pulses has only the estimate. A
                         * roller whose position was never known has found nothing. */
                        const struct motor *m = &c->motors[CHAIR_MOTOR_ROLLER];
                        scan_end(c, m->have_position, m->have_position ? motor_position(m) : 0.0);
                }
                return;
        }
        for (unsigned i = 0; i < CHAIR_MOTORS; i++) {
                unsigned what = motor_input(&c->motors[i], io, v);
                if (what) {
                        motor_changed(c, i, what);
                        return;
                }
        }
        for (size_t h = 0; h < cfg->n_heaters; h++)
                if (io == cfg->heaters[h].sensor) {
                        heat_reading(&c->heat, h, v);
                        changed(c, CHAIR_CHANGED_TEMPERATURES);
                        return;
                }
        for (size_t z = 0; z < cfg->n_zones; z++)
                if (io == cfg->zones[z].pressure) {
                        c->zones[z].pressure_kpa = v;
                        c->zones[z].have_pressure = true;
                        if (c->zones[z].inflating && zone_full(c, z))
                                chair_airbag(c, z, VALVE_INFLATE,
                                             c->zones[z].intensity); /* closes the inlet */
                        return;
                }
}

static void refresh_over(struct chair *c)
{
        chair_refreshed_t done = c->refresh_done;

        c->refresh_done = NULL;
        if (done)
                done(c, c->refresh_error, c->refresh_userdata);
}

static int on_refresh_over(sd_event_source *s, void *userdata)
{
        refresh_over(userdata);
        return 0;
}

int chair_refresh(struct chair *c, chair_refreshed_t done, void *userdata)
{
        if (c->refresh_done)
                return -EBUSY;
        c->refresh_done = done;
        c->refresh_userdata = userdata;
        c->refresh_error = 0;
        c->refreshing = 0;
        for (size_t i = 0; i < c->n_drivers; i++) {
                int r = driver_refresh(c->drivers[i]);
                if (r >= 0)
                        c->refreshing++;
                else if (r != -EOPNOTSUPP && !c->refresh_error)
                        c->refresh_error = r;
        }
        if (c->refreshing == 0)
                return sd_event_source_set_enabled(c->refresh_source, SD_EVENT_ONESHOT);
        return 0;
}

/* An output's read-back: it holds other than what was written to it, or holds that again. */
static void on_read_back(struct chair *c, const struct bus_config *bus, const struct driver_event *ev)
{
        const char *name = c->config->ios[ev->io].name;

        if (ev->type == DRIVER_OUTPUT_MISMATCH) {
                log_error("Bus %s: output %s reads back %g, not what was written to it", bus->name, name,
                          ev->value);
                c->held[ev->io] = ev->value;
        } else {
                log_info("Bus %s: output %s reads back what was written to it again", bus->name, name);
                c->held[ev->io] = NAN;
        }
        changed(c, CHAIR_CHANGED_READ_BACK);
}

static void on_driver_event(struct driver *d, const struct driver_event *ev, void *userdata)
{
        struct chair *c = userdata;
        const struct bus_config *bus = &c->config->buses[d->bus];

        switch (ev->type) {
        case DRIVER_INPUT_CHANGED:
                on_input(c, ev->io, ev->value);
                break;
        case DRIVER_COMM_LOST:
                log_warning("Bus %s: lost: %s", bus->name, driver_strerror(ev->error));
                c->bus_ok[d->bus] = false;
                changed(c, CHAIR_CHANGED_COMM);
                break;
        case DRIVER_COMM_RESTORED:
                log_info("Bus %s: answers again", bus->name);
                c->bus_ok[d->bus] = true;
                changed(c, CHAIR_CHANGED_COMM);
                break;
        case DRIVER_REFUSED:
                log_warning("Bus %s: the device refused %s: %s", bus->name,
                            ev->io != IO_NONE ? c->config->ios[ev->io].name : "a request",
                            driver_strerror(ev->error));
                /* A heater's sensor that is refused gets no fresh reading: heater.c keeps its element off, and
                 * the heater-sensor check latches (chair_sensor_refused()). */
                if (ev->io != IO_NONE && !io_role_is_output(c->config->ios[ev->io].role)) {
                        c->refused_usec[ev->io] = now_usec();
                        changed(c, CHAIR_CHANGED_TEMPERATURES);
                }
                break;
        case DRIVER_BOARD_STOPPED:
                c->board_stopped = true;
                c->board_stopped_bus = d->bus;
                c->board_stopped_gap_ms = ev->value;
                changed(c, CHAIR_CHANGED_BOARD_STOPPED);
                break;
        case DRIVER_OUTPUT_MISMATCH:
        case DRIVER_OUTPUT_MATCHED:
                on_read_back(c, bus, ev);
                break;
        case DRIVER_REFRESHED:
                if (ev->error && !c->refresh_error) {
                        log_warning("Bus %s: its inputs could not be read afresh: %s", bus->name,
                                    driver_strerror(ev->error));
                        c->refresh_error = -ev->error;
                }
                for (unsigned i = 0; i < CHAIR_MOTORS; i++)
                        motor_refreshed(&c->motors[i], d->bus, ev->error);
                if (c->refreshing > 0 && --c->refreshing == 0)
                        refresh_over(c);
                break;
        }
}

int chair_new(const struct chair_config *config, sd_event *event, chair_notify_t notify, void *userdata,
              struct chair **ret)
{
        _cleanup_(chair_freep) struct chair *c = calloc(1, sizeof(*c));
        int r;

        if (!c)
                return -ENOMEM;
        c->config = config;
        c->event = sd_event_ref(event);
        c->notify = notify;
        c->userdata = userdata;
        c->jog_motor = -1;
        c->polling = true;
        c->shoulder_mm = c->shoulder_found_mm = config->roller.geometry.shoulder_mm;
        for (int a = 0; a < _AXIS_MAX; a++)
                if (config->axis[a]) {
                        r = motor_init(&c->motors[a], &config->axes[a], 1.0, motor_output, on_motor, c,
                                       event);
                        if (r < 0)
                                return r;
                }
        if (config->has_roller) {
                r = motor_init(&c->motors[CHAIR_MOTOR_ROLLER], &config->roller.travel,
                               config->roller.geometry.track_mm, motor_output, on_motor, c, event);
                if (r < 0)
                        return r;
        }
        for (int m = 0; m < CHAIR_MOTORS; m++) {
                c->motors[m].written = motor_written;
                c->motors[m].refresh = motor_refresh;
                c->motors[m].get = motor_get;
        }
        c->zones = calloc(config->n_zones + 1, sizeof(*c->zones));
        c->drivers = calloc(config->n_buses + 1, sizeof(*c->drivers));
        c->bus_ok = calloc(config->n_buses + 1, sizeof(*c->bus_ok));
        c->held = calloc(config->n_ios + 1, sizeof(*c->held));
        c->refused_usec = calloc(config->n_ios + 1, sizeof(*c->refused_usec));
        if (!c->zones || !c->drivers || !c->bus_ok || !c->held || !c->refused_usec)
                return -ENOMEM;
        r = heat_init(&c->heat, config, c, event);
        if (r < 0)
                return r;
        for (size_t i = 0; i < config->n_ios; i++)
                c->held[i] = NAN;
        r = sd_event_add_defer(event, &c->refresh_source, on_refresh_over, c);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(c->refresh_source, SD_EVENT_OFF);
        r = sd_event_add_defer(event, &c->flush_source, on_flush, c);
        if (r < 0)
                return r;
        sd_event_source_set_enabled(c->flush_source, SD_EVENT_OFF);
        /* Commands reach the hardware before anyone is told about them. */
        r = sd_event_source_set_priority(c->flush_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                return r;
        for (size_t i = 0; i < config->n_buses; i++) {
                c->bus_ok[i] = true;
                r = driver_new(config, (unsigned) i, event, on_driver_event, c, &c->drivers[i]);
                if (r < 0)
                        return log_error_errno(r, "Cannot open bus %s: %m", config->buses[i].name);
                c->n_drivers++;
        }
        chair_set_active(c, false);
        *ret = TAKE_PTR(c);
        return 0;
}

struct chair *chair_free(struct chair *c)
{
        if (!c)
                return NULL;
        for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                motor_done(&c->motors[m]);
        for (size_t i = 0; i < c->n_drivers; i++)
                driver_free(c->drivers[i]);
        sd_event_source_disable_unref(c->flush_source);
        sd_event_source_disable_unref(c->refresh_source);
        sd_event_source_disable_unref(c->jog_timer);
        sd_event_unref(c->event);
        free(c->drivers);
        free(c->bus_ok);
        free(c->held);
        free(c->refused_usec);
        free(c->zones);
        heat_done(&c->heat);
        free(c);
        return NULL;
}

void chair_set_active(struct chair *c, bool active)
{
        if (active == c->polling)
                return;
        c->polling = active;
        for (size_t i = 0; i < c->n_drivers; i++)
                driver_set_polling(c->drivers[i], active);
}

void chair_tick(struct chair *c)
{
        on_flush(NULL, c);
}

void chair_flush(struct chair *c)
{
        if (c->flush_source)
                sd_event_source_set_enabled(c->flush_source, SD_EVENT_OFF);
        on_flush(NULL, c);
}

bool chair_moving(const struct chair *c)
{
        for (unsigned m = 0; m < CHAIR_MOTORS; m++)
                if (motor_pending(&c->motors[m]))
                        return true;
        return false;
}

bool chair_busy(const struct chair *c)
{
        if (chair_moving(c) || c->kneading || c->tapping || c->foot || c->pump || c->scan != SCAN_NONE ||
            c->jog_motor >= 0)
                return true;
        for (size_t h = 0; h < c->config->n_heaters; h++)
                if (c->heat.heaters[h].level > 0)
                        return true;
        for (size_t z = 0; z < c->config->n_zones; z++)
                if (c->zones[z].valve != VALVE_VENT)
                        return true;
        return false;
}

bool chair_roller_parked(const struct chair *c)
{
        const struct motor *m = &c->motors[CHAIR_MOTOR_ROLLER];
        return !motor_present(m) || (!m->driven && c->kneading == 0 && c->tapping == 0);
}

bool chair_scanning(const struct chair *c)
{
        return c->scan != SCAN_NONE;
}

const char *chair_recline_preset(const struct chair *c)
{
        return c->preset ? c->preset->name : NULL;
}

double chair_shoulder_mm(const struct chair *c)
{
        return c->shoulder_mm;
}

int chair_set_shoulder_offset(struct chair *c, double offset_mm)
{
        const struct roller_geometry *g = &c->config->roller.geometry;
        double mm = c->shoulder_found_mm + offset_mm;

        if (!c->config->has_roller)
                return -EOPNOTSUPP;
        if (c->scan != SCAN_NONE ? fabs(offset_mm) > g->shoulder_max_mm - g->shoulder_min_mm
                                 : mm < g->shoulder_min_mm || mm > g->shoulder_max_mm)
                return -ERANGE;
        c->shoulder_offset_mm = offset_mm;
        if (c->scan == SCAN_NONE && c->shoulder_mm != mm) {
                c->shoulder_mm = mm;
                changed(c, CHAIR_CHANGED_SHOULDERS);
        }
        return 0;
}

void chair_use_shoulder_offset(struct chair *c, double offset_mm)
{
        const struct roller_geometry *g = &c->config->roller.geometry;
        double range = g->shoulder_max_mm - g->shoulder_min_mm;
        double mm;

        if (!c->config->has_roller)
                return;
        c->shoulder_offset_mm = fmin(fmax(offset_mm, -range), range);
        mm = fmin(fmax(c->shoulder_found_mm + c->shoulder_offset_mm, g->shoulder_min_mm),
                  g->shoulder_max_mm);
        if (c->scan == SCAN_NONE && c->shoulder_mm != mm) {
                c->shoulder_mm = mm;
                changed(c, CHAIR_CHANGED_SHOULDERS);
        }
}

double chair_shoulder_offset(const struct chair *c)
{
        return c->shoulder_offset_mm;
}

unsigned chair_heat_level(const struct chair *c, size_t heater)
{
        return c->heat.heaters[heater].level;
}

bool chair_temperature(const struct chair *c, size_t heater, double *ret)
{
        if (!c->heat.heaters[heater].have_temp)
                return false;
        *ret = c->heat.heaters[heater].temp_c;
        return true;
}

bool chair_sensor_refused(const struct chair *c, size_t heater)
{
        int io = c->config->heaters[heater].sensor;
        const struct io_config *ic = chair_config_io(c->config, io);
        usec_t read_usec;

        if (!ic || c->refused_usec[io] == 0)
                return false;
        /* Read since: the device answers for it again. */
        return driver_read_at(c->drivers[ic->bus], io, &read_usec) < 0 || read_usec <= c->refused_usec[io];
}

bool chair_position(const struct chair *c, unsigned motor, double *ret)
{
        const struct motor *m = &c->motors[motor];

        if (!motor_present(m) || !m->have_position)
                return false;
        *ret = motor_position(m) / m->span;
        return true;
}

bool chair_motor_status(const struct chair *c, unsigned motor, struct chair_motor_status *ret)
{
        const struct motor *m = &c->motors[motor];
        usec_t unbidden_usec;
        unsigned unbidden;

        if (!motor_present(m))
                return false;
        unbidden = motor_unbidden(m, &unbidden_usec);
        *ret = (struct chair_motor_status){
                .driven = m->driven,
                .have_position = m->have_position,
                .have_current = m->have_current,
                .target = m->target / m->span,
                .position = motor_position(m) / m->span,
                .estimated = motor_estimated(m),
                .sensed = motor_sensed(m),
                .unbidden_pulses = unbidden,
                .unbidden_usec = unbidden_usec,
                .current_a = m->current_a,
                .max_current_a = m->cfg->max_current_a,
                .limit_start = m->limit[0],
                .limit_end = m->limit[1],
                .has_current = m->cfg->io[MOTOR_CURRENT] != IO_NONE,
                .move_usec = m->move_usec,
                .progress_usec = m->progress_usec,
                .backing_off = c->jog_motor == (int) motor && c->backing_off,
        };
        return true;
}

bool chair_motor_saved_position(const struct chair *c, unsigned motor, double *ret)
{
        const struct motor *m = &c->motors[motor];

        double position;

        if (!motor_present(m) || !m->ops->saved || !m->ops->saved(m, &position))
                return false;
        *ret = position / m->span;
        return true;
}

bool chair_motor_restore(struct chair *c, unsigned motor, double position)
{
        struct motor *m = &c->motors[motor];

        if (!motor_present(m) || !m->ops->restore || !(position >= 0.0 && position <= 1.0))
                return false;
        m->ops->restore(m, position * m->span);
        return true;
}

const char *chair_motor_name(unsigned motor)
{
        return motor == CHAIR_MOTOR_ROLLER ? "roller" : axis_to_string(motor);
}

bool chair_heater_on(const struct chair *c, size_t heater)
{
        return c->heat.heaters[heater].on;
}

bool chair_estop_pressed(const struct chair *c)
{
        return c->estop;
}

bool chair_comm_ok(const struct chair *c)
{
        for (size_t i = 0; i < c->n_drivers; i++)
                if (!c->bus_ok[i])
                        return false;
        return true;
}

int chair_output_mismatch(const struct chair *c, double *ret_held)
{
        for (size_t i = 0; i < c->config->n_ios; i++)
                if (!isnan(c->held[i])) {
                        *ret_held = c->held[i];
                        return (int) i;
                }
        return IO_NONE;
}

const struct bus_config *chair_board_stopped(const struct chair *c, double *ret_gap_ms)
{
        if (!c->board_stopped)
                return NULL;
        *ret_gap_ms = c->board_stopped_gap_ms;
        return &c->config->buses[c->board_stopped_bus];
}
