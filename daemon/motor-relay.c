/* motor-relay.c: a motor on a pair of relays (or an H-bridge's two inputs), whose loop chaird closes. It
 * never switches both on, and keeps both off for reverse-delay before the other one goes on, whatever it is
 * asked; it knows where it is from hall pulses (counted while it coasts too) or else from how long it was
 * driven; it re-zeroes at the limit switches, and drives to its start limit first when it does not know
 * where it is. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>

#include "motor.h"

#define REVERSE_DELAY_DEFAULT_USEC (300 * USEC_PER_MSEC)
/* A motor that homes by time drives this many times its travel-time toward its start. */
#define HOMING_MARGIN 1.25

/* Pulses this soon after the relays opened (the kind's coast setting) are the motor coasting; later ones
 * mean it moves by itself. */
#define COAST_DEFAULT_USEC (500 * USEC_PER_MSEC)
/* While the other relay's off has not reached its device, whether it has is checked this often. */
#define WRITE_CHECK_USEC (10 * USEC_PER_MSEC)
/* The most a motor stops before its target to coast the rest: a fraction of its travel. */
#define COAST_LEAD_MAX 0.02

/* Its own state. */
struct relay {
        int on;      /* the relay on: 1 extend, -1 retract, 0 none */
        int last;    /* the way it last drove: pulses that come after it stops (coasting) count that way */
        int pending; /* the way it will drive once the reverse delay has passed */
        usec_t off_usec;   /* when both relays went off */
        usec_t drive_usec; /* when the present drive began */
        double drive_from; /* the position then */
        bool homed;        /* its position is known: a limit switch told it, and pulses or time since */
        bool homing;       /* driving to its start limit first, then on to target */
        uint16_t pulses;   /* the counter as last read */
        bool have_pulses;
        usec_t pulses_usec;   /* when it was read: pulses read next came after this, at the earliest */
        unsigned coasted;     /* pulses that came while it coasted, since it last stopped */
        unsigned coast;       /* what it coasted the last time it stopped on its way: it stops that early */
        unsigned unbidden;    /* pulses with both relays off, after the coast, since it last drove */
        usec_t unbidden_usec; /* when the last of them came */
        sd_event_source *timer; /* the end of the reverse delay, or the estimated arrival */
};

static struct relay *relay_of(const struct motor *m)
{
        return m->data;
}

static const struct motor_relay_settings *settings(const struct motor *m)
{
        return m->cfg->settings;
}

static bool pulsed(const struct motor *m)
{
        return m->cfg->io[MOTOR_PULSES] != IO_NONE;
}

/* Sent to an end that has a limit switch, it drives on until the switch closes, whatever its position says:
 * a time estimate or a missed pulse is set right there, and a switch that never closes is the run-time
 * fault. The end it seeks (0 start, 1 end), or -1. */
static int seeks_limit(const struct motor *m)
{
        if (m->target <= 0.0 && m->cfg->io[MOTOR_LIMIT_START] != IO_NONE)
                return 0;
        if (m->target >= m->span && m->cfg->io[MOTOR_LIMIT_END] != IO_NONE)
                return 1;
        return -1;
}

/* How far before its target a pulsed motor stops, so that it coasts the rest of the way: what it coasted the
 * last time it stopped midway (a motor coasts about as far each time at the same speed), within reason. */
static double coast_lead(const struct motor *m)
{
        double lead = (double) relay_of(m)->coast * m->span / (double) settings(m)->pulses_per_travel;
        return fmin(lead, COAST_LEAD_MAX * m->span);
}

static double clamp_span(const struct motor *m, double v)
{
        return v < 0.0 ? 0.0 : v > m->span ? m->span : v;
}

/* How long driving takes for distance (in the motor's unit). */
static usec_t time_for(const struct motor *m, double distance)
{
        return (usec_t) (fabs(distance) / m->span * (double) settings(m)->travel_time_usec);
}

/* Where it is at now: the last position, moved on by the time driven when it has no pulses. */
static double estimate(const struct motor *m, usec_t now)
{
        const struct relay *r = relay_of(m);

        if (pulsed(m) || !r->on)
                return m->position;
        return clamp_span(m, r->drive_from + r->on * m->span * (double) (now - r->drive_usec) /
                                                     (double) settings(m)->travel_time_usec);
}

/* The outputs: the other relay off before this one on; they go out together at the end of the loop turn. */
static void relays(struct motor *m, int on)
{
        if (on >= 0)
                motor_out(m, MOTOR_RETRACT, 0);
        if (on <= 0)
                motor_out(m, MOTOR_EXTEND, 0);
        if (on != 0)
                motor_out(m, on > 0 ? MOTOR_EXTEND : MOTOR_RETRACT, 1);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata);
static void halt(struct motor *m, usec_t now);

/* When the relay of the other way than dir went off at its device: the reverse delay counts from there, not
 * from when chaird switched it off. A board behind a busy bus writes it late, and would otherwise get both
 * changes in one write. False while it has not gone out yet. */
static bool off_at(const struct motor *m, int dir, usec_t *ret)
{
        usec_t at = 0;

        if (m->written &&
            m->written(m->chair, m->cfg->io[dir > 0 ? MOTOR_RETRACT : MOTOR_EXTEND], &at) == -EINPROGRESS)
                return false;
        *ret = at > relay_of(m)->off_usec ? at : relay_of(m)->off_usec;
        return true;
}

/* The timer for what comes next: the end of the reverse delay, homing by time (without a start switch), or
 * the estimated arrival. A move to an end switch, homing to the start switch too, has no bound of its own:
 * the safety run time is its bound. */
static void schedule(struct motor *m, usec_t now)
{
        struct relay *r = relay_of(m);
        usec_t at = USEC_INFINITY;

        usec_t off;

        if (r->pending)
                at = off_at(m, r->pending, &off) ? off + settings(m)->reverse_delay_usec
                                                 : now + WRITE_CHECK_USEC;
        else if (r->on && r->homing && m->cfg->io[MOTOR_LIMIT_START] == IO_NONE)
                at = r->drive_usec + (usec_t) (HOMING_MARGIN * (double) settings(m)->travel_time_usec);
        else if (r->on && !r->homing && !pulsed(m) && seeks_limit(m) < 0)
                at = r->drive_usec + time_for(m, m->target - r->drive_from);
        if (at == USEC_INFINITY) {
                if (r->timer)
                        sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
                return;
        }
        if (!r->timer) {
                if (sd_event_add_time(m->event, &r->timer, CLOCK_MONOTONIC, at, USEC_PER_MSEC, on_timer, m) <
                            0 ||
                    sd_event_source_set_priority(r->timer, SD_EVENT_PRIORITY_IMPORTANT) < 0) {
                        /* Without its timer the motor cannot time a move: it stays stopped. */
                        halt(m, now);
                        m->driven = false;
                        return;
                }
        } else
                sd_event_source_set_time(r->timer, at);
        sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
}

/* Both relays off, where it is. The pulses that come while it coasts are counted from here. */
static void halt(struct motor *m, usec_t now)
{
        struct relay *r = relay_of(m);

        m->position = estimate(m, now);
        relays(m, 0);
        if (r->on) {
                r->off_usec = now;
                r->coasted = 0;
        }
        r->on = r->pending = 0;
}

/* Drives one way: at once, or after the reverse delay when it last drove the other way. */
static void go(struct motor *m, int dir, usec_t now)
{
        struct relay *r = relay_of(m);

        if (r->on == dir)
                return;
        if (r->on)
                halt(m, now);
        /* Before its first drive, which way it last went is not known (a chaird that ended while it moved
         * left a relay on until its board or the kernel let go): the delay holds then too. */
        usec_t off;
        if (r->last != dir && (!off_at(m, dir, &off) || now < off + settings(m)->reverse_delay_usec)) {
                if (r->pending != dir) { /* unpowered while it waits: no progress is due yet */
                        m->progress_usec = now;
                        m->progress_position = m->position;
                }
                r->pending = dir;
                return;
        }
        r->pending = 0;
        /* How far it coasted after it last stopped on its way (not at an end stop, which stops it dead). */
        if (r->last && !m->limit[0] && !m->limit[1] && now - r->off_usec > settings(m)->coast_usec)
                r->coast = r->coasted;
        relays(m, dir);
        r->on = r->last = dir;
        r->unbidden = 0;
        m->progress_usec = now; /* progress is due from when it is powered */
        m->progress_position = m->position;
        r->drive_usec = now;
        r->drive_from = m->position;
}

/* Toward the target, or stopped within the tolerance of it (or at the limit switch in the way, or at the
 * end switch it seeks). */
static void steer(struct motor *m, usec_t now)
{
        double to_go = m->target - m->position;
        int end = seeks_limit(m);
        bool there = end >= 0 ? m->limit[end] : fabs(to_go) <= MOTOR_ARRIVED_FRACTION * m->span;

        if (there || motor_at_limit(m, m->target)) {
                halt(m, now);
                m->driven = false;
        } else {
                m->driven = true;
                go(m, end == 1 || (end < 0 && to_go > 0) ? 1 : -1, now);
        }
        schedule(m, now);
}

static void relay_move(struct motor *m, double target)
{
        struct relay *r = relay_of(m);
        usec_t now = now_usec();
        usec_t homing_since = m->move_usec;
        bool was_homing = r->homing && m->driven;

        motor_begin_move(m, target);
        if (was_homing)
                m->move_usec = homing_since; /* a new target does not give homing more time */
        m->position = estimate(m, now);
        if (!r->homed && (m->limit[0] || m->limit[1])) {
                /* At an end whose switch is closed: it knows where it is without homing. */
                m->position = m->limit[0] ? 0.0 : m->span;
                r->homed = true;
        }
        if (!r->homed) {
                /* Where it is is not known: to the start limit first, then on to the target. */
                r->homing = true;
                m->driven = true;
                go(m, -1, now);
                schedule(m, now);
                return;
        }
        steer(m, now);
}

/* Drives one way for a while, whether it knows where it is or not (an obstacle's back-off): no homing. */
static void relay_drive(struct motor *m, int direction)
{
        usec_t now = now_usec();

        motor_begin_move(m, direction > 0 ? m->span : 0.0);
        m->position = estimate(m, now);
        relay_of(m)->homing = false;
        if (motor_at_limit(m, m->target)) {
                halt(m, now);
                m->driven = false;
        } else {
                m->driven = true;
                go(m, direction > 0 ? 1 : -1, now);
        }
        schedule(m, now);
}

static void relay_stop(struct motor *m)
{
        usec_t now = now_usec();

        halt(m, now);
        relay_of(m)->homing = false;
        m->target = m->position;
        m->driven = false;
        schedule(m, now);
}

/* Homed at its start: on to where it was sent. */
static unsigned homed_at_start(struct motor *m, usec_t now)
{
        struct relay *r = relay_of(m);

        r->homing = false;
        r->homed = true;
        m->position = 0.0;
        m->move_usec = now; /* the run time counts from here for the move it was sent on */
        motor_position_read(m, 0.0);
        steer(m, now);
        return MOTOR_INPUT_POSITION | (m->driven ? 0 : MOTOR_INPUT_STOPPED);
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct motor *m = userdata;
        struct relay *r = relay_of(m);
        usec_t now = now_usec();
        unsigned what;

        if (r->pending) {
                int dir = r->pending;
                r->pending = 0;
                go(m, dir, now);
                schedule(m, now);
                return 0;
        }
        if (r->homing)
                what = homed_at_start(m, now); /* driven past its travel time: it is at its end stop */
        else {
                halt(m, now);
                motor_position_read(m, m->position);
                m->driven = false;
                schedule(m, now);
                what = MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED;
        }
        if (m->notify)
                m->notify(m->chair, m, what);
        return 0;
}

static unsigned relay_input(struct motor *m, int io, double value)
{
        struct relay *r = relay_of(m);
        usec_t now = now_usec();

        if (io != m->cfg->io[MOTOR_PULSES])
                return 0;
        uint16_t count = (uint16_t) llround(value);
        usec_t since = r->pulses_usec; /* the new pulses came between the read before and now */
        r->pulses_usec = now;
        if (!r->have_pulses) {
                r->pulses = count;
                r->have_pulses = true;
                return 0;
        }
        uint16_t delta = (uint16_t) (count - r->pulses); /* the counter wraps at 16 bits */
        r->pulses = count;
        if (delta == 0)
                return 0;
        if (delta > settings(m)->pulses_per_travel) {
                /* More than a whole travel at once: the counter started again (its board restarted), and the
                 * pulses in between are lost. Counted from here on, from a position to be homed again. */
                r->homed = false;
                return MOTOR_INPUT_POSITION | MOTOR_INPUT_LOST;
        }
        unsigned what = 0;
        /* It coasts for a while after its relay's off reached the device (a busy bus writes it late). The
         * pulses came at some time since the read before: while that could have been during the drive or the
         * coast, they are the coast's (a counter polled late on a loaded machine holds them still). */
        usec_t off = r->off_usec;
        bool coasting = r->last && (!off_at(m, -r->last, &off) || since <= off + settings(m)->coast_usec);
        if (!r->on && !coasting) {
                /* A welded relay, or the motor back-driven (checked at once), or a coast read late (a
                 * board's counter is read by polling): a few are counted the way it went, and when they
                 * make the fault, its position is lost (relay_safe). */
                r->unbidden += delta;
                r->unbidden_usec = now;
                what = MOTOR_INPUT_SAFETY;
        } else if (!r->on)
                r->coasted += delta;
        int dir = r->on ? r->on : r->last;
        if (!dir)
                return what;
        motor_position_read(m, clamp_span(m, m->position + dir * (double) delta * m->span /
                                                                   (double) settings(m)->pulses_per_travel));
        if (r->on) {
                /* Pulses while driven are progress, also where the position cannot show it: homing from an
                 * unknown position that says it is at its start already. */
                m->progress_usec = now;
                m->progress_position = m->position;
        }
        if (r->homing || !r->on || seeks_limit(m) >= 0 ||
            (m->target - m->position) * r->on > fmax(MOTOR_ARRIVED_FRACTION * m->span, coast_lead(m)))
                return what | MOTOR_INPUT_POSITION;
        halt(m,
             now); /* there, or it will coast there: the pulses that come while it coasts are counted too */
        m->driven = false;
        schedule(m, now);
        return MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED;
}

/* A closed limit switch says where it is: re-zeroed there (a time estimate drifts); homing ends at the
 * start. */
static unsigned relay_limit(struct motor *m, int end, bool closed)
{
        usec_t now = now_usec();

        if (!closed)
                return 0;
        if (end == 0 && relay_of(m)->homing)
                return homed_at_start(m, now);
        halt(m, now);
        m->position = end ? m->span : 0.0;
        relay_of(m)->homed = true;
        relay_of(m)->homing = false;
        motor_position_read(m, m->position);
        if (!m->driven)
                return MOTOR_INPUT_POSITION;
        steer(m, now); /* stops when the switch is in its way, drives on when it is not */
        return MOTOR_INPUT_POSITION | (m->driven ? 0 : MOTOR_INPUT_STOPPED);
}

/* The drivers put every output safe (a fault, an e-stop): the move is over, and one stopped midway leaves
 * the position unknown until it is homed again. */
static void relay_safe(struct motor *m)
{
        struct relay *r = relay_of(m);
        usec_t now = now_usec();

        /* Stopped midway, or moved by itself since it last drove: where it is is not known. */
        if (r->on || r->pending || r->homing || r->unbidden)
                r->homed = false;
        m->position = estimate(m, now);
        if (r->on) {
                r->off_usec = now;
                r->coasted = 0;
        }
        r->on = r->pending = 0;
        r->homing = false;
        m->driven = false;
        schedule(m, now);
}

static void relay_restore(struct motor *m, double position)
{
        m->position = clamp_span(m, position);
        relay_of(m)->homed = true;
}

static bool relay_saved(const struct motor *m, double *ret)
{
        const struct relay *r = relay_of(m);

        if (m->driven || r->on || r->pending || !r->homed)
                return false;
        *ret = m->position;
        return true;
}

static bool relay_estimated(const struct motor *m)
{
        return !pulsed(m) || !relay_of(m)->homed;
}

static double relay_position(const struct motor *m)
{
        return estimate(m, now_usec());
}

static bool relay_sensed(const struct motor *m)
{
        return pulsed(m);
}

static unsigned relay_unbidden(const struct motor *m, usec_t *ret_usec)
{
        *ret_usec = relay_of(m)->unbidden_usec;
        return relay_of(m)->unbidden;
}

static int relay_init(struct motor *m)
{
        m->data = calloc(1, sizeof(struct relay));
        if (!m->data)
                return -ENOMEM;
        m->have_position = true; /* an estimate until it is homed */
        return 0;
}

static void relay_done(struct motor *m)
{
        struct relay *r = relay_of(m);

        if (!r)
                return;
        sd_event_source_disable_unref(r->timer);
        free(r);
        m->data = NULL;
}

static const struct motor_ops relay_ops = {
        .init = relay_init,
        .move = relay_move,
        .drive = relay_drive,
        .stop = relay_stop,
        .input = relay_input,
        .estimated = relay_estimated,
        .position = relay_position,
        .limit = relay_limit,
        .safe = relay_safe,
        .saved = relay_saved,
        .restore = relay_restore,
        .done = relay_done,
        .sensed = relay_sensed,
        .unbidden = relay_unbidden,
};

/* Its config: extend and retract, and pulses (with pulses-per-travel) or travel-time to know where it is. */
static const struct field relay_wiring[] = {
        {"extend", field_out_switch, offsetof(struct motor_config, io[MOTOR_EXTEND])},
        {"retract", field_out_switch, offsetof(struct motor_config, io[MOTOR_RETRACT])},
        {"pulses", field_in_counter, offsetof(struct motor_config, io[MOTOR_PULSES])},
        {},
};

static const struct field relay_fields[] = {
        {"pulses-per-travel", field_uint, offsetof(struct motor_relay_settings, pulses_per_travel), 0, 10,
         1000000},
        {"travel-time", field_duration, offsetof(struct motor_relay_settings, travel_time_usec), 0,
         (long long) USEC_PER_SEC, (long long) (5 * USEC_PER_MINUTE)},
        {"reverse-delay", field_duration, offsetof(struct motor_relay_settings, reverse_delay_usec), 0,
         (long long) (50 * USEC_PER_MSEC), (long long) (5 * USEC_PER_SEC)},
        {"coast", field_duration, offsetof(struct motor_relay_settings, coast_usec), 0,
         (long long) (50 * USEC_PER_MSEC), (long long) (5 * USEC_PER_SEC)},
        {},
};

static void relay_settings_init(void *settings)
{
        struct motor_relay_settings *s = settings;

        s->reverse_delay_usec = REVERSE_DELAY_DEFAULT_USEC;
        s->coast_usec = COAST_DEFAULT_USEC;
}

static bool relay_check(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                        const struct motor_config *m)
{
        bool pulses = ynode_lookup(node, "pulses"), ok;

        ok = require_keys(ctx, node, what, (const char *const[]){"extend", "retract", NULL},
                          " (a relay pair)");
        if (pulses)
                ok = require_keys(ctx, node, what, (const char *const[]){"pulses-per-travel", NULL},
                                  " (with pulses)") &&
                     ok;
        else
                ok = require_keys(ctx, node, what, (const char *const[]){"travel-time", NULL},
                                  " (without pulses, the position is estimated from it)") &&
                     ok;
        if (ynode_lookup(node, "pulses-per-travel") && !pulses) {
                parse_error(ctx, ynode_lookup_key(node, "pulses-per-travel"),
                            "pulses-per-travel needs pulses (the hall sensor's input)");
                ok = false;
        }
        /* Pulses count from where it starts: it must be able to find its start (homing). */
        if (pulses && !ynode_lookup(node, "limit-start") && !ynode_lookup(node, "travel-time")) {
                parse_error(ctx, node,
                            "%s with pulses needs limit-start or travel-time, to find its start when its "
                            "position is unknown",
                            what);
                ok = false;
        }
        return ok;
}

/* Its homing and its run to an end switch must fit in the run time that safety allows. */
static void relay_check_run(struct parse_ctx *ctx, const struct motor_config *m, const char *name,
                            usec_t max_run, const char *limit)
{
        const struct motor_relay_settings *s = m->settings;
        /* Homing may begin after the reverse delay, and the run time counts from the command. */
        usec_t homing = (usec_t) (HOMING_MARGIN * (double) s->travel_time_usec) + s->reverse_delay_usec;

        if (homing < max_run)
                return;
        parse_error_at(
                ctx, m->mark,
                "%s: travel-time %g s: homing may take %g times that after the reverse delay (%g s in "
                "all), not less than safety.%s (%g s); raise %s or check travel-time",
                name, (double) s->travel_time_usec / USEC_PER_SEC, HOMING_MARGIN,
                (double) homing / USEC_PER_SEC, limit, (double) max_run / USEC_PER_SEC, limit);
}

static usec_t relay_travel_usec(const struct motor_config *m)
{
        return ((const struct motor_relay_settings *) m->settings)->travel_time_usec;
}

/* Its pulses while both relays are off are a move it makes by itself (motor-unbidden). */
static int relay_watched(const struct motor_config *m)
{
        return m->io[MOTOR_PULSES];
}

const struct motor_kind motor_relay_kind = {
        .name = "relay-pair",
        .noun = "relay-pair motor",
        .claims = (const char *const[]){"extend", "retract", NULL},
        .wiring = relay_wiring,
        .fields = relay_fields,
        .settings_size = sizeof(struct motor_relay_settings),
        .settings_init = relay_settings_init,
        .check = relay_check,
        .check_run = relay_check_run,
        .travel_usec = relay_travel_usec,
        .watched = relay_watched,
        .ops = &relay_ops,
};
