/* test-motors: the relay-pair motor in the chair model on the virtual clock, with a fake driver: homing to
 * the start limit, the reverse delay and never both relays on under any sequence of commands, positions from
 * hall pulses (coasting and the counter's wrap included) or from time driven, re-zeroing at the limit
 * switches. The chair is the virtual chair (config/sim.yaml) with its backrest on a relay pair timed by
 * travel-time and its legrest on a relay pair with a hall sensor. A kind of motor of this file's own (a
 * servo), registered as a new kind's file would be, shows that a kind needs nothing outside its file. */
#include "chair.h"
#include "helpers.h"
#include "motor.h"
#include "safety.h"
#include "simctl.h" /* read_text, replace_text */
#include "vclock.h"

static const char *const relay_axes = "    backrest:\n"
                                      "      extend: {coil: 0}\n"
                                      "      retract: {coil: 16}\n"
                                      "      travel-time: 10s\n"
                                      "      limit-start: {discrete: 1}\n"
                                      "      limit-end: {discrete: 2}\n"
                                      "    legrest:\n"
                                      "      extend: {coil: 1}\n"
                                      "      retract: {coil: 17}\n"
                                      "      pulses: {input: 50}\n"
                                      "      pulses-per-travel: 1000\n"
                                      "      limit-start: {discrete: 3}\n"
                                      "      limit-end: {discrete: 4}\n";

static struct {
        sd_event *event;
        struct chair_config *config;
        struct chair *chair;
} f;

#define B_EXTEND  (f.config->axes[AXIS_BACKREST].io[MOTOR_EXTEND])
#define B_RETRACT (f.config->axes[AXIS_BACKREST].io[MOTOR_RETRACT])
#define B_START   (f.config->axes[AXIS_BACKREST].io[MOTOR_LIMIT_START])
#define B_END     (f.config->axes[AXIS_BACKREST].io[MOTOR_LIMIT_END])
#define L_EXTEND  (f.config->axes[AXIS_LEGREST].io[MOTOR_EXTEND])
#define L_RETRACT (f.config->axes[AXIS_LEGREST].io[MOTOR_RETRACT])
#define L_START   (f.config->axes[AXIS_LEGREST].io[MOTOR_LIMIT_START])
#define L_PULSES  (f.config->axes[AXIS_LEGREST].io[MOTOR_PULSES])
#define REVERSE   (300 * USEC_PER_MSEC)

static bool relay_roller; /* setup() puts the roller's travel on a relay pair too, without pulses */

static const char *axes_text; /* setup() puts these axes in instead of relay_axes */

/* config/sim.yaml with axes for its own (and the changes of relay_roller). */
static char *sim_config(const char *axes_yaml)
{
        char path[512], *text;

        snprintf(path, sizeof(path), "%s/config/sim.yaml", SOURCE_ROOT);
        text = read_text(path);
        if (!text)
                abort();
        char *axes = strstr(text, "  axes:\n"), *presets = strstr(text, "  presets:");
        if (!axes || !presets)
                abort();
        size_t head = (size_t) (axes - text) + strlen("  axes:\n");
        char *config = NULL;
        if (asprintf(&config, "%.*s%s%s", (int) head, text, axes_yaml, presets) < 0)
                abort();
        free(text);
        /* Kneading and the foot rollers on relays too. */
        config = replace_text(config, "kneading: {holding: 13}", "kneading: {coil: 18}");
        config = replace_text(config, "speed: {holding: 17}", "speed: {coil: 19}");
        if (relay_roller)
                config = replace_text(
                        config,
                        "    target: {holding: 12}                      # millimetres from the top "
                        "of the track\n    run: {coil: 2}\n    position: {input: 12}\n",
                        "    extend: {coil: 20}\n    retract: {coil: 21}\n    travel-time: 23s\n");
        if (relay_roller)
                config = replace_text(config, "  session-cap: 30m\n",
                                      "  session-cap: 30m\n  roller-max-run: 40s\n");
        return config;
}

static void setup(void)
{
        struct diag_list d = {};
        char *config;

        memset(&f, 0, sizeof(f));
        n_changes = 0;
        vclock_late_usec = 0;
        config = sim_config(axes_text ?: relay_axes);
        if (chair_config_load("relays.yaml", config, strlen(config), &d, &f.config) < 0) {
                diag_print(&d, stdout);
                fflush(stdout);
                abort();
        }
        free(config);
        diag_list_clear(&d);
        if (sd_event_new(&f.event) < 0 || !(vclock_event = f.event) ||
            chair_new(f.config, f.event, NULL, NULL, &f.chair) < 0)
                abort();
        feed(L_PULSES, 0.0);
        dispatch();
}

static void teardown(void)
{
        chair_free(f.chair);
        chair_config_free(f.config);
        sd_event_unref(f.event);
        memset(&f, 0, sizeof(f));
}

static double position(unsigned motor)
{
        double v = NAN;
        CHECK(chair_position(f.chair, motor, &v));
        return v;
}

static bool estimated(unsigned motor)
{
        struct chair_motor_status st;
        return chair_motor_status(f.chair, motor, &st) && st.estimated;
}

/* Every change of a pair's two outputs, in order: neither is ever on while the other is, and one goes on
 * only REVERSE after the other went off. */
static bool pair_never_overlaps(int extend, int retract)
{
        bool on[2] = {false, false}, ok = true;
        usec_t off_at[2] = {0, 0};

        for (size_t i = 0; i < n_changes; i++) {
                int which = changes[i].io == extend ? 0 : changes[i].io == retract ? 1 : -1;
                if (which < 0)
                        continue;
                if (changes[i].value == 0.0) {
                        on[which] = false;
                        off_at[which] = changes[i].at;
                        continue;
                }
                if (on[!which]) {
                        printf("# both relays on at %llu\n", (unsigned long long) changes[i].at);
                        ok = false;
                }
                if (off_at[!which] && changes[i].at - off_at[!which] < REVERSE) {
                        printf("# %s on %llu us after the other went off\n", which ? "retract" : "extend",
                               (unsigned long long) (changes[i].at - off_at[!which]));
                        ok = false;
                }
                on[which] = true;
        }
        return ok;
}

/* Homes the backrest: it retracts until its start switch closes; then it is at 0, known. */
static void home_backrest(void)
{
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.0), 0);
        dispatch();
        CHECK(out(B_RETRACT) == 1.0 && out(B_EXTEND) == 0.0);
        advance(3 * USEC_PER_SEC);
        feed(B_START, 1.0);
        CHECK(out(B_RETRACT) == 0.0);
        CHECK(estimated(AXIS_BACKREST)); /* timed: always an estimate */
}

static void test_an_unknown_position_is_homed_at_the_start_limit_first(void)
{
        setup();
        CHECK(estimated(AXIS_BACKREST));
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.45), 0);
        dispatch();
        CHECK(out(B_RETRACT) == 1.0); /* away from its target: toward the start limit first */
        CHECK(out(B_EXTEND) == 0.0);
        advance(2 * USEC_PER_SEC);
        usec_t at_start = vnow;
        feed(B_START, 1.0);
        CHECK(out(B_RETRACT) == 0.0);
        CHECK(position(AXIS_BACKREST) == 0.0);
        advance(REVERSE - 1); /* then on to the target, after the reverse delay */
        CHECK(out(B_EXTEND) == 0.0);
        advance(1);
        CHECK(out(B_EXTEND) == 1.0);
        CHECK_EQ_U(changed_at(B_EXTEND, 1.0), at_start + REVERSE);
        feed(B_START, 0.0);
        /* 0.45 of a 10 s travel: 4.5 s of driving. */
        advance(4500 * USEC_PER_MSEC - USEC_PER_MSEC);
        CHECK(out(B_EXTEND) == 1.0);
        advance(2 * USEC_PER_MSEC);
        CHECK(out(B_EXTEND) == 0.0);
        CHECK(fabs(position(AXIS_BACKREST) - 0.45) < 0.001);
        CHECK(estimated(AXIS_BACKREST));
        CHECK(!chair_moving(f.chair) || out(L_RETRACT) == 1.0); /* only the legrest may still be homing */
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        teardown();
}

/* Whatever the commands (a reversal mid-move, alternating jogs, stops, presets), one relay goes off and
 * reverse-delay passes before the other goes on. */
static void test_reversals_never_overlap_and_always_wait(void)
{
        setup();
        home_backrest();
        advance(USEC_PER_SEC);
        feed(B_START, 0.0);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 1.0), 0);
        dispatch();
        advance(2 * USEC_PER_SEC);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.0), 0); /* a reversal mid-move */
        dispatch();
        CHECK(out(B_EXTEND) == 0.0 && out(B_RETRACT) == 0.0);
        advance(REVERSE);
        CHECK(out(B_RETRACT) == 1.0);
        for (int i = 0; i < 12; i++) { /* jogs each way in turn, some faster than the delay */
                CHECK_EQ_U(chair_jog(f.chair, AXIS_BACKREST, i % 2 ? 1 : -1, 300 * USEC_PER_MSEC), 0);
                dispatch();
                advance((usec_t) (50 + 70 * (i % 5)) * USEC_PER_MSEC);
        }
        chair_hold(f.chair);
        dispatch();
        CHECK(out(B_EXTEND) == 0.0 && out(B_RETRACT) == 0.0);
        CHECK_EQ_U(chair_recline(f.chair, "flat"), 0);
        dispatch();
        advance(100 * USEC_PER_MSEC);
        CHECK_EQ_U(chair_recline(f.chair, "upright"), 0);
        dispatch();
        advance(5 * USEC_PER_SEC);
        chair_safe(f.chair, 0);
        dispatch();
        CHECK(out(B_EXTEND) == 0.0 && out(B_RETRACT) == 0.0);
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        CHECK(pair_never_overlaps(L_EXTEND, L_RETRACT));
        teardown();
}

/* Hall pulses: the position follows the count, the motor stops within the tolerance of its target, and the
 * pulses that come while it coasts count the way it went, across the counter's wrap at 65536. */
static void test_pulses_give_the_position_and_coasting_counts(void)
{
        setup();
        feed(L_PULSES, 65000.0); /* the counter's value at start does not matter */
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.8), 0);
        dispatch();
        CHECK(out(L_RETRACT) == 1.0); /* homing first */
        feed(L_PULSES, 64950.0);      /* pulses while retracting: it counts down, yet is not homed */
        CHECK(estimated(AXIS_LEGREST));
        feed(L_START, 1.0);
        CHECK(!estimated(AXIS_LEGREST));
        CHECK(position(AXIS_LEGREST) == 0.0);
        advance(REVERSE);
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_START, 0.0);
        feed(L_PULSES, 65500.0); /* 550 pulses out of 1000 */
        CHECK(fabs(position(AXIS_LEGREST) - 0.55) < 1e-9);
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_PULSES, 210.0); /* across the wrap: 65536 - 64950 + 210 = 796 pulses */
        CHECK(fabs(position(AXIS_LEGREST) - 0.796) < 1e-9);
        CHECK(out(L_EXTEND) == 0.0); /* within 0.5 % of 0.8: there */
        feed(L_PULSES, 213.0);       /* it coasts three more */
        CHECK(fabs(position(AXIS_LEGREST) - 0.799) < 1e-9);
        CHECK(!estimated(AXIS_LEGREST));
        CHECK(pair_never_overlaps(L_EXTEND, L_RETRACT));
        teardown();
}

/* A time estimate drifts: the end switch closing says where it is. A fault that stops a move midway leaves
 * the position unknown: the next move homes again. */
static void test_limit_switches_rezero_and_a_stop_midway_by_a_fault_rehomes(void)
{
        setup();
        home_backrest();
        feed(B_START, 0.0);
        advance(USEC_PER_SEC);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 1.0), 0);
        dispatch();
        advance(8 * USEC_PER_SEC); /* the estimate says 0.8 ... */
        CHECK(fabs(position(AXIS_BACKREST) - 0.8) < 0.001);
        feed(B_END, 1.0); /* ... but it is at its end already */
        CHECK(out(B_EXTEND) == 0.0);
        CHECK(position(AXIS_BACKREST) == 1.0);
        feed(B_END, 0.0);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.5), 0);
        dispatch();
        advance(REVERSE + USEC_PER_SEC);
        CHECK(out(B_RETRACT) == 1.0);
        chair_safe(f.chair, 0); /* a fault, midway */
        dispatch();
        CHECK(out(B_RETRACT) == 0.0);
        advance(USEC_PER_SEC);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.6), 0);
        dispatch();
        CHECK(out(B_RETRACT) == 1.0); /* homing again, though 0.6 lies the other way */
        CHECK(out(B_EXTEND) == 0.0);
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        teardown();
}

/* Kneading and the foot rollers on a relay: any speed above 0 switches it on. */
static void test_massage_motors_on_a_relay_switch_at_any_speed(void)
{
        struct roller_setpoint sp = {
                .active = true, .technique = TECHNIQUE_BIT(TECHNIQUE_KNEADING), .speed = 4, .depth = 3};

        setup();
        CHECK_EQ_U(f.config->ios[f.config->roller.kneading].role, IO_OUT_SWITCH);
        chair_roller(f.chair, &sp, 0);
        chair_foot(f.chair, 5);
        dispatch();
        CHECK(out(f.config->roller.kneading) == 1.0);
        CHECK(out(f.config->foot_speed) == 1.0);
        sp.speed = 1;
        chair_roller(f.chair, &sp, 0);
        chair_foot(f.chair, 1);
        dispatch();
        CHECK(out(f.config->roller.kneading) == 1.0);
        CHECK(out(f.config->foot_speed) == 1.0);
        chair_hold(f.chair);
        dispatch();
        CHECK(out(f.config->roller.kneading) == 0.0);
        CHECK(out(f.config->foot_speed) == 0.0);
        teardown();
}

/* An obstacle's back-off after a fault drives away from it, the way it is told: it does not home first,
 * though the fault left its position unknown, and the reverse delay still holds. */
static void test_a_back_off_drives_away_and_never_homes(void)
{
        setup();
        home_backrest();
        feed(B_START, 0.0);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.8), 0);
        dispatch();
        advance(REVERSE + 6 * USEC_PER_SEC);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.2), 0); /* retracting when it meets something */
        dispatch();
        advance(REVERSE + USEC_PER_SEC);
        CHECK(out(B_RETRACT) == 1.0);
        chair_safe(f.chair, 0);
        dispatch();
        CHECK_EQ_U(chair_back_off(f.chair, AXIS_BACKREST, 1, 500 * USEC_PER_MSEC), 0);
        dispatch();
        CHECK(out(B_RETRACT) == 0.0); /* not retracting into it again to home */
        advance(REVERSE);
        CHECK(out(B_EXTEND) == 1.0);
        CHECK(out(B_RETRACT) == 0.0);
        advance(200 * USEC_PER_MSEC);
        CHECK(out(B_EXTEND) == 0.0 && out(B_RETRACT) == 0.0); /* the back-off's time is over */
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        teardown();
}

/* A motor whose position was lost while its start switch is closed knows it is at its start: it does not
 * push into the end stop to home. */
static void test_a_closed_start_switch_is_home(void)
{
        setup();
        home_backrest(); /* the switch stays closed */
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.5), 0);
        dispatch();
        chair_safe(f.chair, 0); /* a fault during the reverse delay: the position is lost */
        dispatch();
        advance(USEC_PER_SEC);
        size_t before = n_changes;
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.5), 0);
        dispatch();
        CHECK(out(B_RETRACT) == 0.0);
        CHECK(out(B_EXTEND) == 1.0);
        for (size_t i = before; i < n_changes; i++)
                CHECK(!(changes[i].io == B_RETRACT && changes[i].value == 1.0));
        teardown();
}

static enum fault tripped;

static void on_trip(const struct safety_trip *t, void *userdata)
{
        tripped = t->fault;
}

/* A setup, the safety supervisor, and the legrest sent to target from its closed start switch (homed), its
 * relay on after the reverse delay and the switch open again. */
static struct safety *legrest_from_its_start(double target)
{
        struct safety *s = NULL;

        setup();
        CHECK_EQ_U(safety_new(f.config, f.chair, 1.0, on_trip, NULL, &s), 0);
        tripped = FAULT_NONE;
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, target), 0);
        dispatch();
        feed(L_START, 1.0); /* homed */
        advance(REVERSE);
        feed(L_START, 0.0);
        return s;
}

/* Pulses with both relays off, after the motor had time to coast: a welded relay or a back-driven motor. The
 * coast itself is not one; the fault's cause lasts while the pulses go on. */
static void test_pulses_with_both_relays_off_are_motor_unbidden(void)
{
        struct safety *s = legrest_from_its_start(0.5);
        char why[256];

        feed(L_PULSES, 496.0);
        CHECK(out(L_EXTEND) == 0.0); /* there */
        feed(L_PULSES, 502.0);       /* coasting: not unbidden */
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        advance(USEC_PER_SEC);
        feed(L_PULSES, 504.0); /* came since the read in the coast: may be the coast's, read late */
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        advance(100 * USEC_PER_MSEC);
        feed(L_PULSES, 506.0); /* two since a read long after the coast: below the limit of 3 */
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        feed(L_PULSES, 507.0);
        safety_check(s, vnow);
        CHECK_STREQ(fault_to_string(tripped), "motor-unbidden");
        CHECK(safety_cause(s, vnow, why, sizeof(why)) && strstr(why, "legrest moved by itself"));
        CHECK(!estimated(AXIS_LEGREST)); /* a few late pulses could be a coast read late */
        chair_safe(f.chair, 0);          /* what the daemon does on the trip */
        dispatch();
        CHECK(estimated(AXIS_LEGREST)); /* it moved by itself, which way is not known: its next move homes */
        advance(2 * USEC_PER_SEC);      /* quiet again */
        CHECK(!safety_cause(s, vnow, why, sizeof(why)));
        safety_free(s);
        teardown();
}

/* The coast is the motor's own setting: with coast: 2s, the pulses that made motor-unbidden above (read
 * 1.1 s after the relay opened, since a read 1 s after it) are a heavy motor still coasting. */
static void test_a_longer_coast_is_the_motors_setting(void)
{
        char *axes = NULL;
        struct safety *s;

        if (asprintf(&axes, "%s      coast: 2s\n", relay_axes) < 0)
                abort();
        axes_text = axes;
        s = legrest_from_its_start(0.5);
        feed(L_PULSES, 496.0);
        CHECK(out(L_EXTEND) == 0.0);
        feed(L_PULSES, 502.0);
        advance(USEC_PER_SEC);
        feed(L_PULSES, 504.0);
        advance(100 * USEC_PER_MSEC);
        feed(L_PULSES, 506.0);
        feed(L_PULSES, 507.0);
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        advance(2 * USEC_PER_SEC); /* past the coast: three more are the motor moving by itself */
        feed(L_PULSES, 508.0);
        feed(L_PULSES, 511.0);
        safety_check(s, vnow);
        CHECK_STREQ(fault_to_string(tripped), "motor-unbidden");
        safety_free(s);
        teardown();
        axes_text = NULL;
        free(axes);
}

/* A counter read late (a loaded machine, a busy bus) holds pulses of the drive and the coast although the
 * relay went off long before the read: they are not the motor moving by itself. */
static void test_coast_pulses_read_late_are_not_unbidden(void)
{
        struct safety *s = legrest_from_its_start(0.5);

        feed(L_PULSES, 496.0);
        CHECK(out(L_EXTEND) == 0.0);  /* there: the relay goes off */
        advance(700 * USEC_PER_MSEC); /* no read for 0.7 s, then the drive's last and the coast's pulses */
        feed(L_PULSES, 500.0);
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        CHECK(!estimated(AXIS_LEGREST));
        safety_free(s);
        teardown();
}

/* Sent to an end with a switch, a motor drives on past its estimate until the switch closes (a drifted
 * estimate is set right there); a switch that never closes is the run-time fault. */
static void test_sent_to_an_end_it_drives_until_the_switch_closes(void)
{
        struct safety *s = NULL;

        setup();
        CHECK_EQ_U(safety_new(f.config, f.chair, 1.0, on_trip, NULL, &s), 0);
        tripped = FAULT_NONE;
        home_backrest();
        feed(B_START, 0.0);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 1.0), 0);
        dispatch();
        advance(REVERSE + 12 * USEC_PER_SEC); /* past its 10 s travel time: the estimate says 1.0 */
        CHECK(position(AXIS_BACKREST) == 1.0);
        CHECK(out(B_EXTEND) == 1.0);
        feed(B_END, 1.0);
        CHECK(out(B_EXTEND) == 0.0);
        CHECK(!chair_moving(f.chair) || out(L_RETRACT) == 1.0); /* only the legrest may be homing */
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.0), 0);
        dispatch();
        feed(B_END, 0.0);
        advance(29 * USEC_PER_SEC); /* the start switch never closes */
        CHECK(out(B_RETRACT) == 1.0);
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        advance(2 * USEC_PER_SEC); /* safety.axis-max-run is 30 s */
        safety_check(s, vnow);
        CHECK_STREQ(fault_to_string(tripped), "run-time");
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        safety_free(s);
        teardown();
}

/* A pulsed motor stops early by as many pulses as it coasted the last time it stopped on its way, so that it
 * coasts onto its target. */
static void test_a_pulsed_motor_stops_early_by_what_it_coasted(void)
{
        setup();
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.5), 0);
        dispatch();
        feed(L_START, 1.0); /* homed */
        advance(REVERSE);
        feed(L_START, 0.0);
        feed(L_PULSES, 300.0);
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_PULSES, 496.0);
        CHECK(out(L_EXTEND) == 0.0); /* within the tolerance (5 pulses): it has not coasted yet */
        advance(100 * USEC_PER_MSEC);
        feed(L_PULSES, 504.0); /* it coasts 8 */
        advance(USEC_PER_SEC);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.8), 0);
        dispatch();
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_PULSES, 790.0);
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_PULSES, 793.0); /* 7 to go: it stops, 8 early at most */
        CHECK(out(L_EXTEND) == 0.0);
        feed(L_PULSES, 801.0);
        CHECK(fabs(position(AXIS_LEGREST) - 0.801) < 1e-9);
        teardown();
}

/* A counter that jumps by more than a whole travel started again (its board restarted): not a motor that
 * moved by itself, but a position to find again. */
static void test_a_restarted_counter_is_rebased_and_homed_again(void)
{
        struct safety *s = NULL;

        setup();
        CHECK_EQ_U(safety_new(f.config, f.chair, 1.0, on_trip, NULL, &s), 0);
        tripped = FAULT_NONE;
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.5), 0);
        dispatch();
        feed(L_START, 1.0);
        advance(REVERSE);
        feed(L_START, 0.0);
        feed(L_PULSES, 500.0);
        CHECK(out(L_EXTEND) == 0.0);
        CHECK(!estimated(AXIS_LEGREST));
        advance(2 * USEC_PER_SEC);
        feed(L_PULSES, 0.0); /* the board restarted: 65036 pulses in a moment */
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        CHECK(estimated(AXIS_LEGREST));
        feed(L_PULSES, 2.0); /* counted from the new base */
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        feed(L_PULSES, 4.0);
        safety_check(s, vnow);
        CHECK_STREQ(fault_to_string(tripped), "motor-unbidden");
        safety_free(s);
        teardown();
}

/* Homing from an unknown position that reads as its start already: the pulses are its progress, and only
 * their absence is no-progress. */
static void test_homing_pulses_are_progress_wherever_it_thinks_it_is(void)
{
        struct safety *s = NULL;

        setup();
        CHECK_EQ_U(safety_new(f.config, f.chair, 1.0, on_trip, NULL, &s), 0);
        tripped = FAULT_NONE;
        CHECK(position(AXIS_LEGREST) == 0.0 && estimated(AXIS_LEGREST));
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.5), 0);
        dispatch();
        CHECK(out(L_RETRACT) == 1.0); /* homing */
        for (int i = 1; i <= 8; i++) {
                advance(500 * USEC_PER_MSEC);
                feed(L_PULSES, 10.0 * i);
                safety_check(s, vnow);
        }
        CHECK_EQ_U(tripped, FAULT_NONE);
        advance(2100 * USEC_PER_MSEC); /* then none: the sensor died, or the motor stalled */
        safety_check(s, vnow);
        CHECK_STREQ(fault_to_string(tripped), "no-progress");
        safety_free(s);
        teardown();
}

/* A board behind a busy bus may write a relay's off late: the reverse delay counts from when it reached the
 * board, not from when chaird switched it off, so the board never gets both changes in one write. */
static void test_a_reversal_waits_for_the_off_to_reach_the_board(void)
{
        setup();
        home_backrest();
        feed(B_START, 0.0);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 1.0), 0);
        dispatch();
        advance(REVERSE + 2 * USEC_PER_SEC);
        CHECK(out(B_EXTEND) == 1.0);
        fake->slow_writes = true;
        n_changes = 0;
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.0), 0);
        dispatch();
        CHECK(out(B_EXTEND) == 0.0);
        advance(REVERSE + 200 * USEC_PER_MSEC); /* the off has not gone out yet */
        CHECK(out(B_RETRACT) == 0.0);
        write_out(B_EXTEND);
        usec_t written = vnow;
        advance(REVERSE - USEC_PER_MSEC);
        CHECK(out(B_RETRACT) == 0.0);
        advance(20 * USEC_PER_MSEC);
        CHECK(out(B_RETRACT) == 1.0);
        CHECK(changed_at(B_RETRACT, 1.0) >= written + REVERSE);
        teardown();
}

/* The first drive after a start waits the reverse delay after the other relay's safe off went out (which
 * way the motor went before chaird started is not known). */
static void test_the_first_drive_after_a_start_waits_for_the_safe_off(void)
{
        setup();
        write_out(B_EXTEND); /* the start's safe state, written just now */
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.5), 0);
        dispatch();
        CHECK(out(B_RETRACT) == 0.0); /* homing, but not yet */
        advance(REVERSE - USEC_PER_MSEC);
        CHECK(out(B_RETRACT) == 0.0);
        advance(2 * USEC_PER_MSEC);
        CHECK(out(B_RETRACT) == 1.0);
        teardown();
}

/* A motor waiting out the reverse delay is not powered: the no-progress time counts from when it is. */
static void test_no_progress_counts_from_when_the_relay_is_on(void)
{
        struct safety *s = legrest_from_its_start(0.8);

        feed(L_PULSES, 400.0);
        CHECK(out(L_EXTEND) == 1.0);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.1), 0); /* a reversal */
        dispatch();
        advance(REVERSE);
        CHECK(out(L_RETRACT) == 1.0);
        advance(1900 * USEC_PER_MSEC); /* 2.2 s after the command, 1.9 s powered */
        safety_check(s, vnow);
        CHECK_EQ_U(tripped, FAULT_NONE);
        feed(L_PULSES, 410.0);
        advance(2100 * USEC_PER_MSEC);
        safety_check(s, vnow);
        CHECK_STREQ(fault_to_string(tripped), "no-progress");
        safety_free(s);
        teardown();
}

/* A board motor (the roller): outputs by io, 0 target, 1 run; input 2 its position. */
static double board_outputs[2];

static void board_output(void *chair, int io, double value)
{
        (void) chair;
        board_outputs[io] = value;
}

static void board_motor(struct motor *m, struct motor_config *cfg)
{
        *cfg = (struct motor_config){.kind = &motor_board_kind};
        for (unsigned i = 0; i < _MOTOR_IO_MAX; i++)
                cfg->io[i] = IO_NONE;
        cfg->io[MOTOR_TARGET] = 0;
        cfg->io[MOTOR_RUN] = 1;
        cfg->io[MOTOR_POSITION] = 2;
        board_outputs[0] = board_outputs[1] = 0.0;
        CHECK(motor_init(m, cfg, 1150.0, board_output, NULL, NULL, NULL) == 0);
}

/* Stopped on its way down, the roller's last reading is from before the stop: sent back to where that
 * reading was, it seems there already. The next reading tells where it stopped, and the board drives it
 * on. */
static void test_a_board_motor_left_on_an_old_reading_goes_on_at_the_next(void)
{
        struct motor_config cfg;
        struct motor m;

        board_motor(&m, &cfg);
        motor_input(&m, 2, 60.0);
        motor_move(&m, 300.0);
        CHECK(m.driven && board_outputs[1] == 1.0);
        motor_stop(&m); /* it was at 237.5 by then; the reading still says 60 */
        CHECK(!m.driven && board_outputs[1] == 0.0);
        motor_move(&m, 60.0);
        CHECK(!m.driven && board_outputs[1] == 0.0 && board_outputs[0] == 60.0);
        CHECK(motor_input(&m, 2, 237.5) == MOTOR_INPUT_POSITION);
        CHECK(m.driven && board_outputs[1] == 1.0 && board_outputs[0] == 60.0);
        CHECK(motor_input(&m, 2, 60.0) == (MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED));
        CHECK(!m.driven && board_outputs[1] == 0.0);

        /* There by the next reading too: it stays off. */
        motor_move(&m, 62.0);
        CHECK(!m.driven && board_outputs[1] == 0.0);
        motor_input(&m, 2, 61.0);
        CHECK(!m.driven && board_outputs[1] == 0.0);
        motor_input(&m, 2, 200.0); /* one reading is checked, not every later one */
        CHECK(!m.driven && board_outputs[1] == 0.0);
        motor_done(&m);
}

/* A stop or the safe state since the move: a reading elsewhere never starts it. */
static void test_a_board_motor_stopped_or_made_safe_is_not_started_by_a_reading(void)
{
        struct motor_config cfg;
        struct motor m;

        board_motor(&m, &cfg);
        motor_input(&m, 2, 60.0);
        motor_move(&m, 60.0);
        motor_stop(&m);
        motor_input(&m, 2, 200.0);
        CHECK(!m.driven && board_outputs[1] == 0.0);
        motor_move(&m, 200.0);
        motor_safe(&m);
        motor_input(&m, 2, 300.0);
        CHECK(!m.driven && board_outputs[1] == 0.0);
        motor_done(&m);
}

/* In the chair: the roller parked at the top on an old reading waits for a fresh one, so the chair is not
 * still yet; a pause (chair_hold) before that reading cancels it, and a reading far from the top then never
 * switches the roller's run on. */
static void test_a_hold_cancels_a_board_motor_waiting_for_its_next_reading(void)
{
        const struct roller_setpoint park = {.active = false};

        setup();
        int run = f.config->roller.travel.io[MOTOR_RUN], where = f.config->roller.travel.io[MOTOR_POSITION];
        feed(where, 0.0); /* read before it was last driven down */
        fake->refresh_hangs = true;
        chair_roller(f.chair, &park, 0);
        dispatch();
        CHECK(out(run) == 0.0);
        CHECK(chair_moving(f.chair)); /* the fresh reading may yet drive it */
        chair_hold(f.chair);
        dispatch();
        CHECK(!chair_moving(f.chair));
        feed(where, 400.0);
        dispatch();
        CHECK(out(run) == 0.0);
        CHECK(!chair_moving(f.chair));

        /* Without the hold, that reading drives it up to the top. */
        chair_roller(f.chair, &park, 0);
        feed(where, 400.0);
        dispatch();
        CHECK(out(run) == 1.0);
        CHECK(chair_moving(f.chair));
        teardown();
}

/* A position arrives only when it changes: the roller sent where its last reading already is has its bus
 * read afresh once its run is off, and is still (arrived) when nothing new comes; the chair is never left
 * "moving" waiting for a reading that will not come. */
static void test_a_board_motor_sent_where_it_is_settles_at_a_fresh_reading(void)
{
        const struct roller_setpoint park = {.active = false};

        setup();
        int run = f.config->roller.travel.io[MOTOR_RUN], where = f.config->roller.travel.io[MOTOR_POSITION];
        feed(where, 400.0);
        chair_roller(f.chair, &park, 0);
        dispatch();
        CHECK(out(run) == 1.0 && chair_moving(f.chair));
        /* Paused on a busy bus: the run's off has not reached the board when the roller is parked again,
         * where the last reading (before the pause) says it already is. */
        fake->slow_writes = true;
        chair_hold(f.chair);
        feed(where, 0.5);
        unsigned asked = fake->refreshes;
        chair_roller(f.chair, &park, 0);
        dispatch();
        CHECK(out(run) == 0.0);
        CHECK(chair_moving(f.chair));
        CHECK(fake->refreshes == asked); /* a read now could predate the off */
        advance(100 * USEC_PER_MSEC);
        chair_tick(f.chair);
        dispatch();
        CHECK(fake->refreshes == asked && chair_moving(f.chair));
        write_out(run);
        chair_tick(f.chair); /* the next control tick sees it out and asks */
        CHECK(fake->refreshes == asked + 1);
        dispatch();
        CHECK(!chair_moving(f.chair));
        CHECK(out(run) == 0.0);
        chair_tick(f.chair);
        dispatch();
        CHECK(fake->refreshes == asked + 1); /* settled: no more reads asked */

        /* The fresh reading finds it elsewhere after all (it coasted on): it drives on to its target. */
        fake->slow_writes = false;
        feed(where, 0.0);
        chair_roller(f.chair, &park, 0);
        feed_quietly(where, 30.0);
        dispatch();
        CHECK(out(run) == 1.0 && chair_moving(f.chair));
        feed(where, 0.0);
        dispatch();
        CHECK(out(run) == 0.0 && !chair_moving(f.chair));
        teardown();
}

/* A roller on a relay pair without pulses knows where it is only by time: the body scan takes the estimate
 * of when the sensor touched, not where the roller last stood (the top of the shoulder range). */
static void test_a_relay_roller_scan_finds_the_shoulders_where_the_estimate_says(void)
{
        relay_roller = true;
        setup();
        relay_roller = false;
        const struct motor_config *t = &f.config->roller.travel;
        int sensor = f.config->roller.body_sensor;
        CHECK(t->kind == &motor_relay_kind);
        feed(sensor, 0.0);
        feed(t->io[MOTOR_LIMIT_START], 1.0); /* at the top: it knows where it is */
        feed(t->io[MOTOR_LIMIT_END], 0.0);
        CHECK(chair_scan(f.chair) == 0);
        advance(200 * USEC_PER_MSEC);
        feed(t->io[MOTOR_LIMIT_START], 0.0);
        advance(1500 * USEC_PER_MSEC); /* to the top of the shoulder range (60 mm, 1.2 s) */
        CHECK(chair_scanning(f.chair));
        CHECK(out(t->io[MOTOR_EXTEND]) == 1.0); /* running down the back */
        feed(sensor, 0.0);
        advance(2 * USEC_PER_SEC); /* 1150 mm in 23 s: 100 mm further down, after about 25 mm before */
        feed(sensor, 1.0);
        dispatch();
        CHECK(!chair_scanning(f.chair));
        double mm = chair_shoulder_mm(f.chair);
        if (mm < 160.0 || mm > 200.0) {
                printf("# shoulders at %.0f mm, want about 185\n", mm);
                CHECK(false);
        }
        teardown();
}

#define B_END_ (f.config->axes[AXIS_BACKREST].io[MOTOR_LIMIT_END])
#define L_END  (f.config->axes[AXIS_LEGREST].io[MOTOR_LIMIT_END])

static const char *preset_now(void)
{
        return chair_recline_preset(f.chair) ?: "";
}

/* Both axes known at their start switches, the legrest then sent out to 0.3 by its pulses. */
static void legrest_out_to_0_3(void)
{
        feed(B_START, 1.0);
        feed(L_START, 1.0);
        advance(REVERSE);
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_LEGREST, 0.3), 0);
        dispatch();
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_START, 0.0);
        feed(L_PULSES, 300.0);
        CHECK(out(L_EXTEND) == 0.0);
        advance(USEC_PER_SEC);
}

/* The finding of issue 29 on relay pairs: eight alternating legrest jogs 200 ms apart, then a recline to
 * flat within the last one's hold time (a person letting go of the jog and tapping a preset). The last jog's
 * hold-to-move timer used to stop the recline's legrest 100 ms after its extend relay went on, while chaird
 * went on naming flat. It ends only its own jog: both axes go on to flat, and flat is named on the way and
 * once there. */
static void test_a_recline_right_after_jogs_is_not_stopped_by_the_jogs_timer(void)
{
        setup();
        legrest_out_to_0_3();
        for (int i = 0; i < 8; i++) {
                CHECK_EQ_U(chair_jog(f.chair, AXIS_LEGREST, i % 2 ? -1 : 1, 300 * USEC_PER_MSEC), 0);
                dispatch();
                advance(200 * USEC_PER_MSEC);
        }
        CHECK_STREQ(preset_now(), "");
        CHECK_EQ_U(chair_recline(f.chair, "flat"), 0);
        dispatch();
        feed(B_START, 0.0);
        CHECK_STREQ(preset_now(), "flat");
        CHECK(out(L_EXTEND) == 1.0); /* it last drove out: no reverse delay */
        CHECK(out(B_EXTEND) == 1.0);
        advance(USEC_PER_SEC); /* well past the last jog's 300 ms */
        CHECK(out(L_EXTEND) == 1.0);
        CHECK_STREQ(preset_now(), "flat");
        feed(L_PULSES, 700.0);
        advance(USEC_PER_SEC);
        CHECK(out(L_EXTEND) == 1.0);
        feed(L_PULSES, 1000.0);
        feed(L_END, 1.0); /* flat is its end: it drives until the switch closes */
        CHECK(out(L_EXTEND) == 0.0);
        CHECK(position(AXIS_LEGREST) == 1.0);
        advance(10 * USEC_PER_SEC);
        feed(B_END_, 1.0);
        CHECK(out(B_EXTEND) == 0.0);
        CHECK(!chair_moving(f.chair));
        CHECK_STREQ(preset_now(), "flat");
        CHECK(pair_never_overlaps(L_EXTEND, L_RETRACT));
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        teardown();
}

/* The chair names a preset only while it goes there or is there: a move stopped short (a pause or Stop's
 * hold, a fault's safe state) leaves it at none; stopping a chair already there, or a fault then, does not
 * move it, and it still is. Relay pairs: one waiting out its reverse delay is on its way too. */
static void test_recline_names_a_preset_only_on_its_way_or_there(void)
{
        setup();
        legrest_out_to_0_3();
        CHECK_EQ_U(chair_recline(f.chair, "zero-gravity-1"), 0); /* backrest 0.45, legrest 0.55 */
        dispatch();
        feed(B_START, 0.0);
        CHECK_STREQ(preset_now(), "zero-gravity-1");
        advance(2 * USEC_PER_SEC);
        feed(L_PULSES, 450.0);
        chair_hold(f.chair); /* a pause, or Stop without a program */
        dispatch();
        CHECK(out(L_EXTEND) == 0.0 && out(B_EXTEND) == 0.0);
        CHECK_STREQ(preset_now(), "");

        advance(USEC_PER_SEC);
        CHECK_EQ_U(chair_recline(f.chair, "zero-gravity-1"), 0);
        dispatch();
        CHECK_STREQ(preset_now(), "zero-gravity-1");
        feed(L_PULSES, 548.0);
        CHECK(out(L_EXTEND) == 0.0); /* there, within its tolerance */
        CHECK_STREQ(preset_now(), "zero-gravity-1");
        advance(3 * USEC_PER_SEC); /* the timed backrest: 0.25 more of 10 s */
        CHECK(out(B_EXTEND) == 0.0);
        CHECK(!chair_moving(f.chair));
        chair_hold(f.chair);
        dispatch();
        CHECK_STREQ(preset_now(), "zero-gravity-1"); /* nothing moved: still there */
        chair_safe(f.chair, 0);
        dispatch();
        CHECK_STREQ(preset_now(), "zero-gravity-1");

        CHECK_EQ_U(chair_recline(f.chair, "upright"), 0);
        dispatch();
        CHECK(out(L_RETRACT) == 1.0 && out(B_RETRACT) == 1.0);
        CHECK_STREQ(preset_now(), "upright");
        advance(USEC_PER_SEC);
        feed(L_PULSES, 648.0);                                   /* 100 back in: at 0.45 */
        CHECK_EQ_U(chair_recline(f.chair, "zero-gravity-1"), 0); /* back: each waits out its reverse delay */
        dispatch();
        CHECK(out(L_EXTEND) == 0.0 && out(L_RETRACT) == 0.0);
        CHECK(chair_moving(f.chair));
        CHECK_STREQ(preset_now(), "zero-gravity-1");
        chair_safe(f.chair, 0); /* a fault before either moved on */
        dispatch();
        CHECK_STREQ(preset_now(), "");
        CHECK(pair_never_overlaps(L_EXTEND, L_RETRACT));
        CHECK(pair_never_overlaps(B_EXTEND, B_RETRACT));
        teardown();
}

/* A kind of motor that exists only here, added the way a new kind's file adds one: a servo that is sent its
 * position on one output and is there after its settle-time. Nothing else in the tree knows it. */
struct servo_settings {
        usec_t settle_usec;
};

struct servo {
        sd_event_source *settle;
};

static int servo_settled(sd_event_source *s, uint64_t usec, void *userdata)
{
        struct motor *m = userdata;

        motor_position_read(m, m->target);
        m->driven = false;
        if (m->notify)
                m->notify(m->chair, m, MOTOR_INPUT_POSITION | MOTOR_INPUT_STOPPED);
        return 0;
}

static void servo_move(struct motor *m, double target)
{
        struct servo *sv = m->data;
        const struct servo_settings *st = m->cfg->settings;
        usec_t at = now_usec() + st->settle_usec;

        motor_begin_move(m, target);
        motor_out(m, MOTOR_TARGET, target);
        m->driven = true;
        if (!sv->settle)
                sd_event_add_time(m->event, &sv->settle, CLOCK_MONOTONIC, at, 0, servo_settled, m);
        else
                sd_event_source_set_time(sv->settle, at);
        sd_event_source_set_enabled(sv->settle, SD_EVENT_ONESHOT);
}

static void servo_stop(struct motor *m)
{
        struct servo *sv = m->data;

        if (sv->settle)
                sd_event_source_set_enabled(sv->settle, SD_EVENT_OFF);
        m->driven = false;
}

static unsigned servo_input(struct motor *m, int io, double value)
{
        return 0; /* it reports nothing */
}

static bool servo_estimated(const struct motor *m)
{
        return true;
}

static int servo_init(struct motor *m)
{
        m->data = calloc(1, sizeof(struct servo));
        m->have_position = true; /* it starts where it was told last: at 0 */
        return m->data ? 0 : -ENOMEM;
}

static void servo_done(struct motor *m)
{
        struct servo *sv = m->data;

        if (sv)
                sd_event_source_disable_unref(sv->settle);
        free(sv);
}

static const struct motor_ops servo_ops = {
        .init = servo_init,
        .move = servo_move,
        .stop = servo_stop,
        .input = servo_input,
        .estimated = servo_estimated,
        .safe = servo_stop,
        .done = servo_done,
};

static const struct field servo_wiring[] = {
        {"command", field_out_target, offsetof(struct motor_config, io[MOTOR_TARGET])},
        {},
};

static const struct field servo_fields[] = {
        {"settle-time", field_duration, offsetof(struct servo_settings, settle_usec), 0, 0,
         (long long) USEC_PER_MINUTE},
        {},
};

static bool servo_check(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                        const struct motor_config *m)
{
        return require_keys(ctx, node, what, (const char *const[]){"command", "settle-time", NULL},
                            " (a servo)");
}

static const struct motor_kind servo_kind = {
        .name = "servo",
        .noun = "servo motor",
        .wiring = servo_wiring,
        .fields = servo_fields,
        .settings_size = sizeof(struct servo_settings),
        .check = servo_check,
        .ops = &servo_ops,
};

static const char *const servo_axes = "    backrest:\n"
                                      "      kind: servo\n"
                                      "      command: {holding: 10, scale: 0.001}\n"
                                      "      settle-time: 2s\n"
                                      "      limit-start: {discrete: 1}\n"
                                      "    legrest:\n"
                                      "      extend: {coil: 1}\n"
                                      "      retract: {coil: 17}\n"
                                      "      pulses: {input: 50}\n"
                                      "      pulses-per-travel: 1000\n"
                                      "      limit-start: {discrete: 3}\n";

/* What loading sim.yaml with these axes says, NULL when it loads. */
static char *axes_errors(const char *axes_yaml)
{
        _cleanup_free_ char *config = sim_config(axes_yaml);
        struct chair_config *c = NULL;
        struct diag_list d = {};
        char *text;

        CHECK((chair_config_load("servo.yaml", config, strlen(config), &d, &c) == 0) == (c != NULL));
        text = d.n ? diags_text(&d) : NULL;
        chair_config_free(c);
        diag_list_clear(&d);
        return text;
}

static bool has_text(const char *text, const char *part)
{
        if (text && strstr(text, part))
                return true;
        printf("# '%s' not in: %s\n", part, text ?: "(no errors)");
        return false;
}

/* A kind registered from its own file: its kind: key chooses it, its keys parse into its settings and
 * others' keys are refused by name, and the chair drives it through its ops like any motor. */
static void test_a_motor_kind_of_its_own_file_loads_and_drives(void)
{
        static bool registered;

        if (!registered)
                CHECK_EQ_U(motor_kind_register(&servo_kind), 0);
        registered = true;

        _cleanup_free_ char *other =
                axes_errors("    backrest:\n      kind: servo\n      command: {holding: 10}\n"
                            "      settle-time: 1s\n      extend: {coil: 0}\n");
        _cleanup_free_ char *missing = axes_errors("    backrest: {kind: servo, command: {holding: 10}}\n");
        _cleanup_free_ char *unnamed = axes_errors("    backrest: {target: {holding: 10}, run: {coil: 0}, "
                                                   "position: {input: 10}, settle-time: 1s}\n");
        _cleanup_free_ char *typo = axes_errors("    backrest: {kind: sevro, command: {holding: 10}}\n");
        CHECK(has_text(other, "error: extend belongs to a relay-pair motor; a servo motor has no extend"));
        CHECK(has_text(missing, "error: axis is missing the required key 'settle-time' (a servo)"));
        CHECK(has_text(unnamed, "error: settle-time belongs to a servo motor, which needs kind: servo"));
        CHECK(has_text(typo, "error: unknown motor kind 'sevro'; did you mean 'servo'?"));

        axes_text = servo_axes;
        setup();
        axes_text = NULL;
        const struct motor_config *b = &f.config->axes[AXIS_BACKREST];
        CHECK(b->kind == &servo_kind);
        CHECK_EQ_U(((const struct servo_settings *) b->settings)->settle_usec, 2 * USEC_PER_SEC);
        CHECK(f.config->axes[AXIS_LEGREST].kind == &motor_relay_kind);

        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.4), 0);
        dispatch();
        CHECK(out(b->io[MOTOR_TARGET]) == 0.4);
        CHECK(chair_moving(f.chair));
        CHECK(estimated(AXIS_BACKREST));
        advance(2 * USEC_PER_SEC - USEC_PER_MSEC);
        CHECK(chair_moving(f.chair));
        advance(2 * USEC_PER_MSEC);
        CHECK(!chair_moving(f.chair));
        CHECK(position(AXIS_BACKREST) == 0.4);

        /* The safe state stops it through its ops: it never arrives at where it was sent after that. */
        CHECK_EQ_U(chair_move_axis(f.chair, AXIS_BACKREST, 0.9), 0);
        dispatch();
        CHECK(chair_moving(f.chair));
        chair_safe(f.chair, 0);
        dispatch();
        CHECK(!chair_moving(f.chair));
        advance(3 * USEC_PER_SEC);
        CHECK(position(AXIS_BACKREST) == 0.4);
        teardown();
}

RUN_TESTS(T(test_a_recline_right_after_jogs_is_not_stopped_by_the_jogs_timer),
          T(test_recline_names_a_preset_only_on_its_way_or_there),
          T(test_a_hold_cancels_a_board_motor_waiting_for_its_next_reading),
          T(test_a_relay_roller_scan_finds_the_shoulders_where_the_estimate_says),
          T(test_a_board_motor_sent_where_it_is_settles_at_a_fresh_reading),
          T(test_a_board_motor_left_on_an_old_reading_goes_on_at_the_next),
          T(test_a_board_motor_stopped_or_made_safe_is_not_started_by_a_reading),
          T(test_a_back_off_drives_away_and_never_homes),
          T(test_no_progress_counts_from_when_the_relay_is_on),
          T(test_the_first_drive_after_a_start_waits_for_the_safe_off),
          T(test_a_reversal_waits_for_the_off_to_reach_the_board),
          T(test_homing_pulses_are_progress_wherever_it_thinks_it_is),
          T(test_a_restarted_counter_is_rebased_and_homed_again),
          T(test_sent_to_an_end_it_drives_until_the_switch_closes),
          T(test_a_pulsed_motor_stops_early_by_what_it_coasted), T(test_a_closed_start_switch_is_home),
          T(test_pulses_with_both_relays_off_are_motor_unbidden),
          T(test_coast_pulses_read_late_are_not_unbidden), T(test_a_longer_coast_is_the_motors_setting),
          T(test_massage_motors_on_a_relay_switch_at_any_speed),
          T(test_an_unknown_position_is_homed_at_the_start_limit_first),
          T(test_reversals_never_overlap_and_always_wait),
          T(test_pulses_give_the_position_and_coasting_counts),
          T(test_limit_switches_rezero_and_a_stop_midway_by_a_fault_rehomes),
          T(test_a_motor_kind_of_its_own_file_loads_and_drives))
