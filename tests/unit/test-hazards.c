/* test-hazards: every hazard of the safety table, provoked on chaird's core (daemon, chair model, engine and
 * safety supervisor) on the virtual clock with a fake driver: the trip, every output safe, the refusal to
 * move or heat, a reset refused while the cause lasts, and accepted once it is gone, judged on inputs read
 * afresh. The chair is the shipped virtual chair's config (config/sim.yaml);
 * tests/integration/test-safety.py is the same on the real Modbus stack against chair-sim. */
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"
#include "heater.h"
#include "helpers.h"
#include "log.h"
#include "simctl.h" /* read_text, replace_text */
#include "vclock.h"

/* How long a ResetFault waits at most for the inputs (daemon.c's RESET_READ_TIMEOUT_USEC). */
#define RESET_WAIT_USEC (5 * USEC_PER_SEC)

struct fixture {
        struct daemon *d;
        struct options o;
        char state_dir[64];
        char config_path[128];
        int reset_r; /* the last ResetFault's answer; 1: none yet */
        char reset_why[256];
        unsigned answers;  /* ResetFault answers, counted */
        unsigned finished; /* programs ended */
};

static struct fixture f;

static const struct chair_config *cfg(void)
{
        return daemon_config(f.d);
}

#define BACKREST(role) (cfg()->axes[AXIS_BACKREST].io[role])
#define LEGREST(role)  (cfg()->axes[AXIS_LEGREST].io[role])
#define LUMBAR         (&cfg()->heaters[0])
#define LUMBAR_SENSOR  (cfg()->heaters[0].sensor)
#define ESTOP          (cfg()->estop)

static void on_finished(const char *program, enum finish_reason reason, void *userdata)
{
        f.finished++;
}

/* The core on config/sim.yaml, with safety: lines added when given; what the board reports at rest fed
 * in. */
static void start_core(void);

/* Replaces text from the line starting with from up to the one starting with to (not included) by with. */
static char *splice(char *text, const char *from, const char *to, const char *with)
{
        char *start = strstr(text, from), *end = start ? strstr(start, to) : NULL, *spliced = NULL;

        if (!start || !end || asprintf(&spliced, "%.*s%s%s", (int) (start - text), text, with, end) < 0)
                abort();
        free(text);
        return spliced;
}

/* A program of heat alone, in a program folder of the test's own: nothing moves in it after the scan, so
 * that it runs for minutes on the virtual clock with no motor to feed. */
#define WARM_ID "warm"
#define WARM                                                                                                \
        "name: Warm\n"                                                                                      \
        "description: Heat alone.\n"                                                                        \
        "duration: 30m\n"                                                                                   \
        "phases:\n"                                                                                         \
        "  - name: Heat\n"                                                                                  \
        "    heat: {lumbar: 2}\n"

/* heaters: in place of the heaters block ("" for a chair without heat), or NULL. */
static void setup_with(const char *safety_lines, const char *backrest, const char *heaters)
{
        char path[512], *text;

        memset(&f, 0, sizeof(f));
        n_changes = 0;
        vclock_late_usec = 0;
        snprintf(f.state_dir, sizeof(f.state_dir), "/tmp/test-hazards.XXXXXX");
        if (!mkdtemp(f.state_dir))
                abort();
        snprintf(path, sizeof(path), "%s/config/sim.yaml", SOURCE_ROOT);
        text = read_text(path);
        if (!text)
                abort();
        if (safety_lines) {
                char lines[512];
                snprintf(lines, sizeof(lines), "session-cap: 30m\n%s", safety_lines);
                text = replace_text(text, "session-cap: 30m", lines);
        }
        if (backrest) /* in place of the board motor's block */
                text = splice(text, "    backrest:\n", "    legrest:\n", backrest);
        if (heaters)
                text = splice(text, "heaters:\n", "foot-rollers:\n", heaters);
        snprintf(f.config_path, sizeof(f.config_path), "%s/chaird.yaml", f.state_dir);
        if (write_file_atomic(f.config_path, text, strlen(text), 0644) < 0)
                abort();
        free(text);
        static char programs[512], local[128];
        snprintf(programs, sizeof(programs), "%s/programs", SOURCE_ROOT);
        snprintf(local, sizeof(local), "%s/programs", f.state_dir);
        snprintf(path, sizeof(path), "%s/" WARM_ID ".yaml", local);
        if (mkdir(local, 0755) < 0 || write_file_atomic(path, WARM, strlen(WARM), 0644) < 0)
                abort();
        static char *dirs[3];
        dirs[0] = programs;
        dirs[1] = local;
        f.o = (struct options){.config_path = f.config_path,
                               .program_dirs = dirs,
                               .state_dir = f.state_dir,
                               .time_scale = 1.0};
        f.reset_r = 1;
        start_core();
}

/* The core on f's config and state directory, with what the board reports at rest fed in. */
static void start_core(void)
{
        if (daemon_new(&f.o, &f.d) < 0)
                abort();
        daemon_set_observer(f.d, NULL, on_finished, NULL, NULL);
        vclock_event = daemon_event(f.d);
        if (BACKREST(MOTOR_POSITION) != IO_NONE)
                feed(BACKREST(MOTOR_POSITION), 0.0);
        feed(LEGREST(MOTOR_POSITION), 0.0);
        feed(cfg()->roller.travel.io[MOTOR_POSITION], 0.0);
        feed(cfg()->roller.body_sensor, 0.0);
        feed(ESTOP, 0.0);
        for (size_t h = 0; h < cfg()->n_heaters; h++)
                feed(cfg()->heaters[h].sensor, 25.0);
        advance(2 * USEC_PER_SEC); /* the start's linger: idle from here */
}

static void setup(void)
{
        setup_with(NULL, NULL, NULL);
}

static void teardown(void)
{
        char marker[128];

        f.d = daemon_free(f.d);
        snprintf(marker, sizeof(marker), "%s/active", f.state_dir);
        unlink(marker);
        snprintf(marker, sizeof(marker), "%s/programs/" WARM_ID ".yaml", f.state_dir);
        unlink(marker);
        snprintf(marker, sizeof(marker), "%s/programs", f.state_dir);
        rmdir(marker);
        unlink(f.config_path);
        rmdir(f.state_dir);
        vclock_event = NULL;
}

static void on_reset(int r, const char *why, void *userdata)
{
        f.reset_r = r;
        f.answers++;
        snprintf(f.reset_why, sizeof(f.reset_why), "%s", why ?: "");
}

/* ResetFault as the API calls it: its answer comes once the inputs were read afresh. */
static int reset(void)
{
        f.reset_r = 1;
        daemon_reset_fault(f.d, on_reset, NULL);
        dispatch();
        return f.reset_r;
}

/* Every output with a safe value holds it, but those named (a motor backing off). */
static bool all_safe_but(int except1, int except2)
{
        bool safe = true;

        for (size_t io = 0; io < cfg()->n_ios; io++) {
                double v;
                if ((int) io == except1 || (int) io == except2 || !io_safe_value(&cfg()->ios[io], &v))
                        continue;
                if (out((int) io) != v) {
                        printf("# %s is %g, not its safe %g\n", cfg()->ios[io].name, out((int) io), v);
                        safe = false;
                }
        }
        return safe;
}

static bool all_safe(void)
{
        return all_safe_but(IO_NONE, IO_NONE);
}

/* Latched: whatever moves or heats is refused, and no output moves; stopping is still allowed. */
static void check_refuses_to_move(void)
{
        size_t before = n_changes;

        CHECK(daemon_recline(f.d, "flat") == -ENOTRECOVERABLE);
        CHECK(daemon_jog(f.d, AXIS_LEGREST, 1) == -ENOTRECOVERABLE);
        CHECK(daemon_start(f.d, "quick", 0, 0) == -ENOTRECOVERABLE);
        CHECK(daemon_set_heat(f.d, 0, 2) == -ENOTRECOVERABLE);
        CHECK(daemon_set_intensity(f.d, 4) == -ENOTRECOVERABLE);
        daemon_stop(f.d);
        dispatch();
        CHECK_EQ_U(n_changes, before);
        CHECK_STREQ(daemon_state(f.d), "fault");
}

/* After a reset the chair moves again when asked, and not before. */
static void check_moves_again_after_the_reset(void)
{
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        CHECK(daemon_state(f.d) && !streq(daemon_state(f.d), "fault"));
        CHECK(all_safe()); /* nothing resumed by itself */
        CHECK_EQ_U(daemon_recline(f.d, "zero-gravity-1"), 0);
        dispatch();
        CHECK(out(BACKREST(MOTOR_RUN)) == 1.0);
}

/* The fault is fault, latched; every output safe but the ones named; nothing moves. */
static void check_latched(enum fault fault, int except1, int except2)
{
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), fault_to_string(fault));
        CHECK(daemon_fault_message(f.d)[0] != '\0');
        CHECK(all_safe_but(except1, except2));
        check_refuses_to_move();
}

static void check_reset_refused(const char *why_contains)
{
        CHECK_EQ_U(reset(), -EBUSY);
        if (!strstr(f.reset_why, why_contains))
                printf("# the refusal says '%s', not '%s'\n", f.reset_why, why_contains);
        CHECK(strstr(f.reset_why, why_contains));
        CHECK_EQ_U(daemon_fault(f.d) != FAULT_NONE, 1);
}

/* The recline is driven toward flat. */
static void recline_flat(void)
{
        CHECK_EQ_U(daemon_recline(f.d, "flat"), 0);
        dispatch();
        CHECK(out(BACKREST(MOTOR_RUN)) == 1.0);
}

static void heat_lumbar(unsigned level)
{
        CHECK_EQ_U(daemon_set_heat(f.d, 0, level), 0);
        dispatch();
}

/* --- the hazards --- */

/* The button is read afresh at the reset: released a moment ago (not polled yet), the reset succeeds. */
static void test_emergency_stop_button_latches_until_released(void)
{
        setup();
        recline_flat();
        heat_lumbar(2);
        feed(ESTOP, 1.0);
        check_latched(FAULT_EMERGENCY_STOP, IO_NONE, IO_NONE);
        check_reset_refused("emergency-stop button");
        feed_quietly(ESTOP, 0.0); /* released just now: the last reading still says pressed */
        unsigned refreshes = fake->refreshes;
        CHECK_EQ_U(reset(), 0);
        CHECK_EQ_U(fake->refreshes, refreshes + 1);
        check_moves_again_after_the_reset();
        teardown();
}

static void test_emergency_stop_call_latches_and_resets_once_asked(void)
{
        setup();
        recline_flat();
        daemon_emergency_stop(f.d, "EmergencyStop() was called");
        dispatch();
        check_latched(FAULT_EMERGENCY_STOP, IO_NONE, IO_NONE);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

static void test_both_limit_switches_closed_latch_until_one_opens(void)
{
        setup();
        recline_flat();
        feed(BACKREST(MOTOR_LIMIT_START), 1.0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE); /* one switch is an end, not a fault */
        feed(BACKREST(MOTOR_LIMIT_END), 1.0);
        check_latched(FAULT_LIMIT_SWITCHES, IO_NONE, IO_NONE);
        check_reset_refused("both limit switches of the backrest");
        feed_quietly(BACKREST(MOTOR_LIMIT_END), 0.0);
        CHECK_EQ_U(reset(), 0);
        feed(BACKREST(MOTOR_LIMIT_START), 0.0);
        check_moves_again_after_the_reset();
        teardown();
}

/* The motor that met it backs off, away from it, for safety.obstacle-back-off, then stops; never retried. */
static void test_an_obstacle_stops_backs_off_and_latches(void)
{
        setup();
        recline_flat();
        feed(BACKREST(MOTOR_POSITION), 0.4);
        feed(BACKREST(MOTOR_CURRENT), 2.0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        feed(BACKREST(MOTOR_CURRENT), 6.0);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "obstacle");
        CHECK(all_safe_but(BACKREST(MOTOR_RUN), IO_NONE));
        CHECK(out(BACKREST(MOTOR_RUN)) == 1.0);    /* backing off ... */
        CHECK(out(BACKREST(MOTOR_TARGET)) == 0.0); /* ... toward upright, away from where it was going */
        advance(cfg()->safety.obstacle_back_off_usec - USEC_PER_MSEC);
        CHECK(out(BACKREST(MOTOR_RUN)) == 1.0);
        advance(USEC_PER_MSEC);
        CHECK(out(BACKREST(MOTOR_RUN)) == 0.0); /* then stopped, and not retried */
        advance(USEC_PER_SEC);
        check_latched(FAULT_OBSTACLE, IO_NONE, IO_NONE);
        check_reset_refused("backrest draws 6.0 A");
        feed_quietly(BACKREST(MOTOR_CURRENT), 0.1);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

static void test_a_motor_driven_too_long_is_run_time(void)
{
        setup();
        recline_flat();
        /* It moves (no stall), but never arrives. */
        for (int s = 1; s <= 30; s++) {
                advance(USEC_PER_SEC);
                feed(BACKREST(MOTOR_POSITION), 0.01 * s);
                feed(LEGREST(MOTOR_POSITION), 0.01 * s);
                CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
                if (daemon_fault(f.d))
                        break;
        }
        advance(USEC_PER_SEC);
        check_latched(FAULT_RUN_TIME, IO_NONE, IO_NONE);
        CHECK_EQ_U(reset(), 0); /* nothing lasts: the trip stopped it */
        check_moves_again_after_the_reset();
        teardown();
}

static void test_a_driven_motor_that_does_not_move_is_no_progress(void)
{
        setup();
        recline_flat();
        advance(cfg()->safety.no_progress_usec - 100 * USEC_PER_MSEC);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        advance(200 * USEC_PER_MSEC);
        check_latched(FAULT_NO_PROGRESS, IO_NONE, IO_NONE);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

static void test_a_sensor_out_of_range_latches_until_it_reads_again(void)
{
        setup();
        heat_lumbar(1);
        CHECK(out(LUMBAR->output) == 1.0);
        feed(LUMBAR_SENSOR, -40.0); /* open */
        check_latched(FAULT_HEATER_SENSOR, IO_NONE, IO_NONE);
        check_reset_refused("lumbar temperature sensor reads -40.0");
        feed_quietly(LUMBAR_SENSOR, 30.0); /* reconnected just now */
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* The board refuses the sensor's register (a Modbus exception: its channel dead): a sensor that cannot be
 * read is heater-sensor, as an open one, until the bus reads the register again. */
static void test_a_sensor_the_board_refuses_latches_until_it_is_read_again(void)
{
        struct driver_event refused;

        setup();
        refused = (struct driver_event){DRIVER_REFUSED, LUMBAR_SENSOR, 0, EIO};
        heat_lumbar(1);
        CHECK(out(LUMBAR->output) == 1.0);
        stop_reading(LUMBAR_SENSOR);
        advance(USEC_PER_MSEC);
        fake->base.handler(&fake->base, &refused, fake->base.userdata);
        dispatch();
        check_latched(FAULT_HEATER_SENSOR, IO_NONE, IO_NONE);
        CHECK(strstr(daemon_fault_message(f.d), "lumbar temperature sensor cannot be read"));
        advance(10 * USEC_PER_MINUTE);
        check_reset_refused("the board refuses its register");
        read_unchanged(LUMBAR_SENSOR); /* the board answers for it again */
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

static void test_an_element_at_the_ceiling_latches_until_it_cools(void)
{
        setup();
        feed(LUMBAR_SENSOR, cfg()->safety.heat_ceiling_c); /* hot with no heat asked: a stuck relay */
        check_latched(FAULT_HEATER_CEILING, IO_NONE, IO_NONE);
        check_reset_refused("at or above the ceiling");
        feed_quietly(LUMBAR_SENSOR, 40.0);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* Heated past its level's target plus the margin: a runaway (a relay that does not open, regulation that is
 * broken), which may be reset once the element is below the ceiling again. Regulation switches it off at its
 * target, so only a reading that came while it was energized counts: one at the margin is none. */
static void test_an_element_heated_past_its_target_is_a_runaway(void)
{
        setup();
        heat_lumbar(1);
        feed(LUMBAR_SENSOR, LUMBAR->level_temp_c[0] + cfg()->safety.heat_margin_c);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE); /* at the margin: not above it */
        feed(LUMBAR_SENSOR, LUMBAR->level_temp_c[0] - 2.0);
        CHECK(out(LUMBAR->output) == 1.0); /* it cooled: heating again */
        feed(LUMBAR_SENSOR, LUMBAR->level_temp_c[0] + cfg()->safety.heat_margin_c + 0.5);
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        CHECK(strstr(daemon_fault_message(f.d), "while heating"));
        feed(LUMBAR_SENSOR, cfg()->safety.heat_ceiling_c + 1.0);           /* it goes on heating, off */
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "heater-runaway"); /* the first cause stays */
        check_reset_refused("at or above the ceiling");
        feed_quietly(LUMBAR_SENSOR, 48.0);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* A heater's element is on only with a reading the bus read lately: one the bus stops reading (a register it
 * no longer answers, a sensor's poll that never comes: the value stays, so no change is reported) switches
 * the element off once it is heat_reading_limit() old, on the chair's own timer, and it stays off, however
 * long, until a fresh reading comes: the same value read again (no event: seen within a poll period), or a
 * changed one (at once). No fault: the bus answers. */
static void test_an_element_whose_reading_gets_old_goes_off_until_a_fresh_one_comes(void)
{
        usec_t limit, poll;

        setup();
        limit = heat_reading_limit(cfg(), 0);
        poll = limit - cfg()->safety.comm_loss_usec;
        heat_lumbar(1);
        CHECK(out(LUMBAR->output) == 1.0);
        advance(10 * limit); /* read all along: on */
        CHECK(out(LUMBAR->output) == 1.0);
        stop_reading(LUMBAR_SENSOR);
        advance(limit - USEC_PER_MSEC);
        CHECK(out(LUMBAR->output) == 1.0);
        advance(USEC_PER_MSEC);
        CHECK(out(LUMBAR->output) == 0.0);
        advance(10 * USEC_PER_MINUTE);
        CHECK(out(LUMBAR->output) == 0.0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        read_unchanged(LUMBAR_SENSOR);
        advance(poll);
        CHECK(out(LUMBAR->output) == 1.0);
        advance(limit);
        CHECK(out(LUMBAR->output) == 0.0);
        feed(LUMBAR_SENSOR, 30.0);
        CHECK(out(LUMBAR->output) == 1.0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        teardown();
}

/* Heat asked for while the reading is old does not switch the element on until a fresh one comes. */
static void test_heat_asked_on_an_old_reading_waits_for_a_fresh_one(void)
{
        usec_t limit;

        setup();
        limit = heat_reading_limit(cfg(), 0);
        stop_reading(LUMBAR_SENSOR);
        advance(limit);
        heat_lumbar(2);
        CHECK(out(LUMBAR->output) == 0.0);
        advance(USEC_PER_MINUTE);
        CHECK(out(LUMBAR->output) == 0.0);
        read_unchanged(LUMBAR_SENSOR);
        advance(limit - cfg()->safety.comm_loss_usec);
        CHECK(out(LUMBAR->output) == 1.0);
        teardown();
}

/* A lasting cause that appeared while another fault was latched (it could not trip under its own name) holds
 * back the reset too: a sensor that went open after a runaway. */
static void test_a_cause_that_came_during_a_fault_holds_back_its_reset(void)
{
        setup();
        heat_lumbar(1);
        feed(LUMBAR_SENSOR, LUMBAR->level_temp_c[0] + cfg()->safety.heat_margin_c + 1.0);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "heater-runaway");
        feed(LUMBAR_SENSOR, -40.0); /* and now its sensor is open */
        check_reset_refused("lumbar temperature sensor reads -40.0");
        feed_quietly(LUMBAR_SENSOR, 30.0);
        CHECK_EQ_U(reset(), 0);
        teardown();
}

/* A hazard that falls due while a command runs (no tick came between) never leaves the chair driven under a
 * latched fault, and the program ends once. */
static void test_a_fault_due_during_a_command_leaves_nothing_driven(void)
{
        setup();
        CHECK_EQ_U(daemon_start(f.d, "quick", 0, 0), 0);
        dispatch();
        feed(cfg()->roller.travel.io[MOTOR_POSITION], 60.0); /* the scan: at the top of the shoulder range */
        feed(cfg()->roller.travel.io[MOTOR_POSITION], 180.0);
        feed(cfg()->roller.body_sensor, 1.0);
        CHECK_STREQ(daemon_state(f.d), "running");
        vnow += cfg()->safety.no_progress_usec + USEC_PER_SEC; /* time passes, no timer fires */
        daemon_stop(f.d);
        dispatch();
        CHECK_EQ_U(f.finished, 1);
        if (daemon_fault(f.d) != FAULT_NONE)
                CHECK(all_safe());
        advance(USEC_PER_SEC);
        if (daemon_fault(f.d) != FAULT_NONE)
                CHECK(all_safe());
        CHECK_EQ_U(f.finished, 1);
        teardown();
}

/* Energized without gaining heat-min-gain within heat-check-window: the sensor is off the element. */
static void test_an_element_that_does_not_warm_is_a_runaway(void)
{
        setup();
        heat_lumbar(1);
        advance(cfg()->safety.heat_check_usec / 2);
        feed(LUMBAR_SENSOR, 25.0 + cfg()->safety.heat_min_gain_c); /* a gain: the window starts again */
        advance(cfg()->safety.heat_check_usec - 200 * USEC_PER_MSEC);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        advance(400 * USEC_PER_MSEC);
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        CHECK(strstr(daemon_fault_message(f.d), "gained"));
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* Switched off, an element that warms heat-off-rise above its lowest reading before that low is
 * heat-off-window old heats by itself (a welded relay): a runaway, idle or not. The idle chair sees it by
 * reading its inputs every heat-idle-read. A room that warms as far, but slower, is no fault. The reset
 * waits until the element cools heat-min-gain below the highest it read. */
static void test_an_element_that_warms_with_its_heat_off_is_a_runaway_while_idle(void)
{
        const struct safety_config *sc;
        double t = 25.0, from, peak;
        usec_t read;

        setup();
        sc = &cfg()->safety;
        read = sc->heat_idle_read_usec;
        CHECK_STREQ(daemon_state(f.d), "idle");
        CHECK(!fake->polling);
        /* The room warms 90 % of heat-off-rise in every heat-off-window, for two: twice as far, slower. */
        unsigned refreshes = fake->refreshes, reads = (unsigned) (2 * sc->heat_off_usec / read);
        for (unsigned i = 0; i < reads; i++) {
                t += 0.9 * sc->heat_off_rise_c * (double) read / (double) sc->heat_off_usec;
                feed_quietly(LUMBAR_SENSOR, t);
                advance(read);
        }
        CHECK(t > 25.0 + sc->heat_off_rise_c);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        CHECK_EQ_U(fake->refreshes - refreshes, reads); /* read at its rate, all the while idle */
        CHECK_STREQ(daemon_state(f.d), "idle");
        CHECK(!fake->polling);
        /* Its relay welds: heat-off-rise in 30 s. Caught at the first reading that far above the low. */
        from = t;
        while (daemon_fault(f.d) == FAULT_NONE && t < from + 2 * sc->heat_off_rise_c) {
                t += sc->heat_off_rise_c * (double) read / (double) (30 * USEC_PER_SEC);
                feed_quietly(LUMBAR_SENSOR, t);
                advance(read);
        }
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        CHECK(t < from + sc->heat_off_rise_c + 1.0);
        CHECK(strstr(daemon_fault_message(f.d), "with its heat off"));
        /* It heats on: no reset. It cools a little, less than heat-min-gain: no reset yet. */
        peak = t + 1.0;
        feed_quietly(LUMBAR_SENSOR, peak);
        check_reset_refused("with its heat off");
        feed_quietly(LUMBAR_SENSOR, peak - sc->heat_min_gain_c + 0.5);
        check_reset_refused("has not cooled");
        feed_quietly(LUMBAR_SENSOR, peak - sc->heat_min_gain_c);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* Issue 28: heat on, its relay welds. The runaway latches, and the reset is refused while the element does
 * not cool (it was accepted below the ceiling, and the element heated on past it). Once it cools the reset
 * goes through. An element that coasts after it is switched off (the +-3 deg C a commercial firmware
 * allows) is no fault. */
static void test_a_stuck_relay_holds_back_the_reset_until_the_element_cools(void)
{
        const struct safety_config *sc;
        double target, t;

        setup();
        sc = &cfg()->safety;
        target = LUMBAR->level_temp_c[0];
        heat_lumbar(1);
        CHECK(out(LUMBAR->output) == 1.0);
        feed(LUMBAR_SENSOR, target);
        CHECK(out(LUMBAR->output) == 0.0); /* at its level: switched off */
        feed(LUMBAR_SENSOR, target + 3.0); /* it coasts */
        feed(LUMBAR_SENSOR, target - 2.0); /* it cools ... */
        CHECK(out(LUMBAR->output) == 1.0); /* ... and heats again */
        feed(LUMBAR_SENSOR, target);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        /* The relay welds: the element heats past its target and the margin. */
        feed(LUMBAR_SENSOR, target + sc->heat_margin_c + 0.5);
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        t = target + sc->heat_margin_c + 1.5; /* and heats on, far below the ceiling */
        feed_quietly(LUMBAR_SENSOR, t);
        check_reset_refused("with its heat off");
        t -= sc->heat_min_gain_c; /* it cools: the relay opened after all */
        feed_quietly(LUMBAR_SENSOR, t);
        CHECK_EQ_U(reset(), 0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        teardown();
}

/* Issue 28, the end of it: the relay that held back the reset sticks again after it, the chair idle. Read
 * every heat-idle-read, the element is seen warming with its heat off: the runaway latches again. */
static void test_a_relay_that_sticks_after_a_reset_is_caught_while_idle(void)
{
        const struct safety_config *sc;
        double t;

        setup();
        sc = &cfg()->safety;
        heat_lumbar(1);
        t = LUMBAR->level_temp_c[0] + sc->heat_margin_c + 0.5;
        feed(LUMBAR_SENSOR, t);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "heater-runaway");
        t -= sc->heat_min_gain_c; /* it cools */
        feed_quietly(LUMBAR_SENSOR, t);
        CHECK_EQ_U(reset(), 0);
        advance(2 * USEC_PER_SEC); /* past the linger */
        CHECK_STREQ(daemon_state(f.d), "idle");
        CHECK(!fake->polling);
        feed_quietly(LUMBAR_SENSOR, t + sc->heat_off_rise_c); /* it sticks again */
        advance(sc->heat_idle_read_usec);
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        CHECK(strstr(daemon_fault_message(f.d), "with its heat off"));
        teardown();
}

/* --- heat lowered: the element cools --- */

/* The lumbar element, as chair-sim's (tools/chair-sim/sim.c): energized (by chaird, or by a welded relay),
 * it warms toward 80 deg C with a time constant of 200 s. Off, it cools at the rate each test says. */
#define ELEMENT_MAX_C      80.0
#define ELEMENT_TAU_HEAT_S 200.0

static struct {
        double temp_c;
        double cool_c_per_minute;
        bool welded;
} lumbar;

/* One second of the element; its reading comes by the poll while the chair is active, by the idle read
 * otherwise. */
static void element_second(void)
{
        if (out(LUMBAR->output) == 1.0 || lumbar.welded)
                lumbar.temp_c += (ELEMENT_MAX_C - lumbar.temp_c) * (1.0 - exp(-1.0 / ELEMENT_TAU_HEAT_S));
        else
                lumbar.temp_c -= lumbar.cool_c_per_minute / 60.0;
        if (fake->polling)
                feed(LUMBAR_SENSOR, lumbar.temp_c);
        else
                feed_quietly(LUMBAR_SENSOR, lumbar.temp_c);
        advance(USEC_PER_SEC);
}

/* The element as it cools at c_per_minute for duration, or until a fault; whether no fault came. */
static bool cool_for(usec_t duration, double c_per_minute)
{
        usec_t until = vnow + duration;

        lumbar.cool_c_per_minute = c_per_minute;
        while (vnow < until && daemon_fault(f.d) == FAULT_NONE)
                element_second();
        return daemon_fault(f.d) == FAULT_NONE;
}

/* The same until it reads below temp_c. */
static bool cool_below(double temp_c, double c_per_minute)
{
        lumbar.cool_c_per_minute = c_per_minute;
        while (lumbar.temp_c >= temp_c && daemon_fault(f.d) == FAULT_NONE)
                element_second();
        if (daemon_fault(f.d) != FAULT_NONE)
                printf("# %s at %.1f deg C: %s\n", fault_to_string(daemon_fault(f.d)), lumbar.temp_c,
                       daemon_fault_message(f.d));
        return daemon_fault(f.d) == FAULT_NONE;
}

/* Barely faster than the slowest fall heat-min-fall allows, and slower than it. */
static double fall_ok(void)
{
        return 1.1 * cfg()->safety.heat_min_fall_c_per_minute;
}

static double fall_too_slow(void)
{
        return 0.8 * cfg()->safety.heat_min_fall_c_per_minute;
}

/* Where an element of level (0: heat off, held to level 1's) must fall at heat-min-fall, above. */
static double cooling_limit(unsigned level)
{
        return LUMBAR->level_temp_c[level ? level - 1 : 0] + cfg()->safety.heat_margin_c;
}

/* Lumbar heat 3 from 25 deg C until the element is near its target, still heating (as in issue 29). */
static void warm_to_level_3(void)
{
        heat_lumbar(3);
        while (lumbar.temp_c < LUMBAR->level_temp_c[2] - 0.5 && daemon_fault(f.d) == FAULT_NONE)
                element_second();
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        CHECK(out(LUMBAR->output) == 1.0);
        CHECK(lumbar.temp_c > cooling_limit(1) + 5.0);
}

/* The program of heat alone, running after its scan. */
static void start_warm(void)
{
        CHECK_EQ_U(daemon_start(f.d, WARM_ID, 0, 0), 0);
        dispatch();
        feed(cfg()->roller.travel.io[MOTOR_POSITION], 60.0); /* the scan: at the top of the shoulder range */
        feed(cfg()->roller.travel.io[MOTOR_POSITION], 180.0);
        feed(cfg()->roller.body_sensor, 1.0);
        CHECK_STREQ(daemon_state(f.d), "running");
}

/* Issue 29: lumbar heat 3 -> 1 in a program. The element, near level 3's target, is far above level 1's
 * target plus the margin, with its heat off: it cools, and a cooling element is no runaway, as long as it
 * falls at heat-min-fall (here barely faster). Below level 1's target, heat goes on again there. The program
 * goes on all the while. */
static void test_heat_lowered_from_3_to_1_mid_program_lets_the_element_cool(void)
{
        setup();
        lumbar = (typeof(lumbar)){.temp_c = 25.0};
        start_warm();
        warm_to_level_3();
        heat_lumbar(1);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        CHECK(out(LUMBAR->output) == 0.0);
        CHECK(cool_below(cooling_limit(1) - 0.5, fall_ok()));
        lumbar.cool_c_per_minute = 3.0; /* below it, about as fast as chair-sim's */
        while (out(LUMBAR->output) == 0.0 && daemon_fault(f.d) == FAULT_NONE)
                element_second();
        CHECK(fabs(lumbar.temp_c - (LUMBAR->level_temp_c[0] - 1.0)) < 0.1); /* level 1 holds it */
        CHECK(cool_for(USEC_PER_MINUTE, 3.0));
        CHECK(fabs(lumbar.temp_c - LUMBAR->level_temp_c[0]) < 1.5);
        CHECK_STREQ(daemon_state(f.d), "running");
        CHECK_EQ_U(f.finished, 0);
        teardown();
}

/* Heat off from level 3, no program: the element cools, busy or idle, and that is no fault while it falls at
 * heat-min-fall above level 1's target plus the margin. One that falls slower is held hot by something
 * chaird does not command (a relay that conducts a little, another heat source): a runaway once the time
 * heat-min-fall allows for heat-min-gain is over, whose reset waits until it has fallen heat-min-gain below
 * its highest reading since. */
static void test_heat_off_from_3_lets_the_element_cool_and_one_that_stays_hot_is_a_runaway(void)
{
        const struct safety_config *sc;
        usec_t allowed, off;
        double peak;

        setup();
        sc = &cfg()->safety;
        allowed = (usec_t) (sc->heat_min_gain_c / sc->heat_min_fall_c_per_minute * (double) USEC_PER_MINUTE);
        lumbar = (typeof(lumbar)){.temp_c = 25.0};
        warm_to_level_3();
        heat_lumbar(0);
        CHECK(cool_below(cooling_limit(0) - 0.5, fall_ok()));
        CHECK_STREQ(daemon_state(f.d), "idle"); /* read every heat-idle-read */
        CHECK(!fake->polling);

        warm_to_level_3();
        heat_lumbar(0);
        off = vnow;
        peak = lumbar.temp_c;
        CHECK(cool_for(allowed - sc->heat_idle_read_usec, fall_too_slow()));
        CHECK(!cool_for(2 * sc->heat_idle_read_usec, fall_too_slow()));
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        CHECK(vnow - off > allowed && vnow - off <= allowed + sc->heat_idle_read_usec + USEC_PER_SEC);
        CHECK(strstr(daemon_fault_message(f.d), "did not fall"));
        check_reset_refused("did not fall");
        feed_quietly(LUMBAR_SENSOR, peak - sc->heat_min_gain_c + 0.2);
        check_reset_refused("did not fall");
        feed_quietly(LUMBAR_SENSOR, peak - sc->heat_min_gain_c);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* Heat off in a program with the element near level 3, and on again at level 1 a minute later while it is
 * still above level 1's target plus the margin: it cools on, no fault, and the program goes on. */
static void test_heat_off_mid_program_and_on_again_lower_lets_the_element_cool(void)
{
        setup();
        lumbar = (typeof(lumbar)){.temp_c = 25.0};
        start_warm();
        warm_to_level_3();
        heat_lumbar(0);
        CHECK(cool_for(USEC_PER_MINUTE, fall_ok()));
        CHECK(lumbar.temp_c > cooling_limit(1) + 5.0);
        heat_lumbar(1);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        CHECK(out(LUMBAR->output) == 0.0);
        CHECK(cool_below(cooling_limit(1) - 0.5, fall_ok()));
        CHECK_STREQ(daemon_state(f.d), "running");
        CHECK_EQ_U(f.finished, 0);
        teardown();
}

/* Heat lowered 3 -> 1, and a while later the relay welds: the element warms with its heat off instead of
 * cooling. heater-runaway latches heat-off-rise above its low, and the reset waits until it cools. */
static void test_a_relay_that_welds_after_heat_was_lowered_is_a_runaway(void)
{
        const struct safety_config *sc;
        double low;

        setup();
        sc = &cfg()->safety;
        lumbar = (typeof(lumbar)){.temp_c = 25.0};
        warm_to_level_3();
        heat_lumbar(1);
        CHECK(cool_for(30 * USEC_PER_SEC, fall_ok()));
        lumbar.welded = true;
        low = lumbar.temp_c;
        while (daemon_fault(f.d) == FAULT_NONE && lumbar.temp_c < low + 2 * sc->heat_off_rise_c)
                element_second();
        check_latched(FAULT_HEATER_RUNAWAY, IO_NONE, IO_NONE);
        CHECK(lumbar.temp_c < low + sc->heat_off_rise_c + 1.0);
        CHECK(strstr(daemon_fault_message(f.d), "with its heat off"));
        check_reset_refused("with its heat off");
        lumbar.welded = false; /* it opens: the element cools */
        feed_quietly(LUMBAR_SENSOR, lumbar.temp_c - sc->heat_min_gain_c);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* The idle-wakeups rule: a chair without heaters, and without relay-pair motors that count on a board, is
 * never read while idle; no timer of its loop is armed at all. */
static void test_an_idle_chair_without_heaters_arms_no_timer(void)
{
        setup_with(NULL, NULL, "");
        CHECK_EQ_U(cfg()->n_heaters, 0);
        CHECK_STREQ(daemon_state(f.d), "idle");
        unsigned refreshes = fake->refreshes;
        advance(USEC_PER_HOUR);
        CHECK_EQ_U(fake->refreshes, refreshes);
        for (struct vtimer *t = timers; t; t = t->next)
                CHECK_EQ_U(t->enabled, SD_EVENT_OFF);
        teardown();
}

/* Heat on for heat-timeout goes off, and heat asked again before every zone rested heat-rest goes off at
 * once: switching off and on does not extend it. */
static void test_heat_goes_off_after_the_heat_timeout_and_toggling_does_not_extend_it(void)
{
        setup();
        heat_lumbar(1);
        feed(LUMBAR_SENSOR, LUMBAR->level_temp_c[0]); /* at its level: the element idles, no gain needed */
        advance(cfg()->safety.heat_timeout_usec / 2);
        heat_lumbar(0);
        advance(USEC_PER_MINUTE);
        heat_lumbar(1); /* a minute off is no rest */
        advance(cfg()->safety.heat_timeout_usec / 2 - USEC_PER_MINUTE - USEC_PER_SEC);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        advance(2 * USEC_PER_SEC);
        check_latched(FAULT_HEAT_TIMEOUT, IO_NONE, IO_NONE);
        CHECK_EQ_U(reset(), 0);
        heat_lumbar(1); /* asked again at once, before any rest */
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "heat-timeout");
        CHECK(all_safe());
        /* Every zone off for the rest (counted from the first check that saw them off): heat may go on
         * again, for a whole timeout. */
        advance(cfg()->safety.heat_rest_usec + USEC_PER_SEC);
        CHECK_EQ_U(reset(), 0);
        heat_lumbar(1);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        advance(cfg()->safety.heat_timeout_usec - USEC_PER_SEC);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        advance(2 * USEC_PER_SEC);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "heat-timeout");
        teardown();
}

/* The rest is the config's safety.heat-rest: with 10 minutes, six minutes with every zone off are no
 * rest. */
static void test_the_heat_rest_is_the_configs(void)
{
        setup_with("  heat-rest: 10m\n", NULL, NULL);
        CHECK_EQ_U(cfg()->safety.heat_rest_usec, 10 * USEC_PER_MINUTE);
        heat_lumbar(1);
        feed(LUMBAR_SENSOR, LUMBAR->level_temp_c[0]);
        advance(cfg()->safety.heat_timeout_usec + USEC_PER_SEC);
        check_latched(FAULT_HEAT_TIMEOUT, IO_NONE, IO_NONE);
        advance(6 * USEC_PER_MINUTE);
        CHECK_EQ_U(reset(), 0);
        heat_lumbar(1); /* six minutes: more than the default rest, less than this chair's */
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "heat-timeout");
        advance(10 * USEC_PER_MINUTE + USEC_PER_SEC); /* a whole rest since that trip switched it off */
        CHECK_EQ_U(reset(), 0);
        heat_lumbar(1);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        teardown();
}

/* Each row of the hazard table names the config keys it is measured against, and each is one. */
static void test_every_limit_of_the_hazard_table_is_a_config_key(void)
{
        size_t named = 0;

        for (size_t row = 0; row < safety_hazard_rows(); row++) {
                enum fault fault = FAULT_NONE;
                const char *key;
                CHECK(safety_hazard_limit(row, 0, &fault) != NULL); /* every row has one */
                for (size_t i = 0; (key = safety_hazard_limit(row, i, &fault)); i++, named++)
                        if (!schema_has_key(config_fields, key)) {
                                printf("# %s: %s is not a key of the config\n", fault_to_string(fault), key);
                                tap_case_failed = true;
                        }
        }
        CHECK(named >= safety_hazard_rows());
        /* The lookup itself: a map's entries by any name, nothing that is not there. */
        CHECK(schema_has_key(config_fields, "recline.axes.backrest.max-current"));
        CHECK(schema_has_key(config_fields, "buses.board.poll"));
        CHECK(schema_has_key(config_fields, "recline.axes"));
        CHECK(!schema_has_key(config_fields, "safety.heat-limit"));
        CHECK(!schema_has_key(config_fields, "recline.axes.*.max-speed"));
        CHECK(!schema_has_key(config_fields, "safety..heat-margin"));
        CHECK(!schema_has_key(config_fields, ""));
}

static void test_a_silent_bus_is_comm_lost_until_it_answers(void)
{
        setup();
        recline_flat();
        bus_event(DRIVER_COMM_LOST, 0, ETIMEDOUT);
        advance(cfg()->safety.comm_loss_usec - 200 * USEC_PER_MSEC);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        advance(300 * USEC_PER_MSEC);
        check_latched(FAULT_COMM_LOST, IO_NONE, IO_NONE);
        fake->refresh_error = ETIMEDOUT; /* its inputs cannot be read either */
        check_reset_refused("cannot be checked");
        fake->refresh_error = 0;
        check_reset_refused("does not answer");
        bus_event(DRIVER_COMM_RESTORED, 0, 0);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* A board that stopped everything by itself (its heartbeat came late) is a fault at once. */
static void test_a_board_that_stopped_by_itself_latches(void)
{
        setup();
        recline_flat();
        bus_event(DRIVER_BOARD_STOPPED, 620.0, 0);
        check_latched(FAULT_BOARD_STOPPED, IO_NONE, IO_NONE);
        CHECK(strstr(daemon_fault_message(f.d), "620 ms"));
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* Output read-back: the lumbar heater's relay output reads back on though written off (the driver says so
 * only once it still does a poll later): latched while heating or idle, every output safe, the reset refused
 * while it is stuck and accepted once a refresh reads back what was written. */
static void test_an_output_that_reads_back_otherwise_is_output_mismatch(void)
{
        for (int idle = 0; idle <= 1; idle++) {
                setup();
                if (!idle) {
                        heat_lumbar(2);
                        recline_flat();
                        CHECK(out(LUMBAR->output) == 1.0);
                }
                read_back_event(DRIVER_OUTPUT_MISMATCH, LUMBAR->output, 1.0);
                check_latched(FAULT_OUTPUT_MISMATCH, IO_NONE, IO_NONE);
                CHECK(strstr(daemon_fault_message(f.d), cfg()->ios[LUMBAR->output].name));
                check_reset_refused("stuck");
                check_reset_refused(cfg()->ios[LUMBAR->output].name);
                fake->follows[LUMBAR->output] = true; /* freed: read back at the reset's refresh */
                CHECK_EQ_U(reset(), 0);
                check_moves_again_after_the_reset();
                teardown();
        }
}

/* An output that follows again after the latch leaves the fault latched: the reset clears it, and nothing
 * holds that back. */
static void test_a_mismatch_that_ended_needs_the_reset_but_holds_nothing_back(void)
{
        setup();
        recline_flat();
        read_back_event(DRIVER_OUTPUT_MISMATCH, BACKREST(MOTOR_RUN), 0.0);
        check_latched(FAULT_OUTPUT_MISMATCH, IO_NONE, IO_NONE);
        read_back_event(DRIVER_OUTPUT_MATCHED, BACKREST(MOTOR_RUN), 0.0);
        advance(5 * USEC_PER_SEC);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "output-mismatch"); /* latched until reset */
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* A chaird that finds the marker of an active chair comes up latched. */
static void test_a_restart_after_an_unclean_end_comes_up_interrupted(void)
{
        setup();
        recline_flat();
        char marker[128];
        snprintf(marker, sizeof(marker), "%s/active", f.state_dir);
        CHECK(access(marker, F_OK) == 0); /* active: marked */
        /* The process dies here (the marker goes only at a clean end of daemon_run): a new core on the same
         * state directory. */
        f.d = daemon_free(f.d);
        CHECK_EQ_U(daemon_new(&f.o, &f.d), 0);
        vclock_event = daemon_event(f.d);
        dispatch();
        check_latched(FAULT_INTERRUPTED, IO_NONE, IO_NONE);
        CHECK_EQ_U(reset(), 0);
        feed(BACKREST(MOTOR_POSITION), 0.0);
        check_moves_again_after_the_reset();
        teardown();
}

/* A trapped person: Release vents every bag, stops the rollers and drives the legrest open; not against a
 * pressed emergency stop, which means nothing moves. No fault: the chair may be used again at once. */
static void test_release_vents_every_bag_and_opens_the_legrest(void)
{
        setup();
        CHECK_EQ_U(daemon_recline(f.d, "upright"), 0);
        daemon_release(f.d);
        dispatch();
        CHECK(out(LEGREST(MOTOR_RUN)) == 1.0);
        CHECK(out(LEGREST(MOTOR_TARGET)) == 1.0);
        CHECK(all_safe_but(LEGREST(MOTOR_RUN), IO_NONE));
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        feed(ESTOP, 1.0);
        daemon_release(f.d);
        dispatch();
        CHECK(all_safe()); /* the e-stop latched, and Release moves nothing against it */
        teardown();
}

/* Release right after a jog that closed the legrest in (a leg caught by it): the jog's hold-to-move timer
 * ends only its own jog, and no longer stops the legrest that Release drives open. */
static void test_release_right_after_a_jog_opens_the_legrest_all_the_way(void)
{
        setup();
        feed(LEGREST(MOTOR_POSITION), 0.5);
        CHECK_EQ_U(daemon_jog(f.d, AXIS_LEGREST, -1), 0);
        dispatch();
        CHECK(out(LEGREST(MOTOR_RUN)) == 1.0 && out(LEGREST(MOTOR_TARGET)) == 0.0);
        advance(100 * USEC_PER_MSEC);
        feed(LEGREST(MOTOR_POSITION), 0.45);
        daemon_release(f.d);
        dispatch();
        CHECK(out(LEGREST(MOTOR_RUN)) == 1.0 && out(LEGREST(MOTOR_TARGET)) == 1.0);
        advance(USEC_PER_SEC); /* well past the jog's 300 ms */
        CHECK(out(LEGREST(MOTOR_RUN)) == 1.0 && out(LEGREST(MOTOR_TARGET)) == 1.0);
        feed(LEGREST(MOTOR_POSITION), 1.0);
        CHECK(out(LEGREST(MOTOR_RUN)) == 0.0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        teardown();
}

/* An obstacle's back-off is a jog of the safety's own: a reset and a recline during it take the motor over.
 * The back-off's end does not stop the recline, and the recline is watched for obstacles from its start (a
 * motor backing off is not, as its back-off may draw a surge). */
static void test_a_recline_after_a_reset_during_a_back_off_goes_on_and_is_watched(void)
{
        usec_t back_off = 0;

        setup();
        recline_flat();
        feed(BACKREST(MOTOR_POSITION), 0.4);
        feed(BACKREST(MOTOR_CURRENT), 6.0);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "obstacle");
        back_off = cfg()->safety.obstacle_back_off_usec;
        CHECK(out(BACKREST(MOTOR_RUN)) == 1.0 && out(BACKREST(MOTOR_TARGET)) == 0.0); /* backing off */
        advance(back_off / 5);
        feed(BACKREST(MOTOR_POSITION), 0.38);
        feed_quietly(BACKREST(MOTOR_CURRENT), 0.1);
        CHECK_EQ_U(reset(), 0);
        recline_flat();
        CHECK(out(BACKREST(MOTOR_TARGET)) == 1.0);
        advance(back_off); /* past the back-off's end */
        CHECK(out(BACKREST(MOTOR_RUN)) == 1.0 && out(BACKREST(MOTOR_TARGET)) == 1.0);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);

        teardown();

        /* Again, and a second obstacle within the first one's back-off time. */
        setup();
        recline_flat();
        feed(BACKREST(MOTOR_POSITION), 0.4);
        feed(BACKREST(MOTOR_CURRENT), 6.0);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "obstacle");
        advance(back_off / 5);
        feed_quietly(BACKREST(MOTOR_CURRENT), 0.1);
        CHECK_EQ_U(reset(), 0);
        recline_flat();
        advance(back_off / 5);
        feed(BACKREST(MOTOR_CURRENT), 6.0);
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "obstacle");
        teardown();
}

/* --- positions kept across restarts --- */

static const char *const relay_backrest = "    backrest:\n"
                                          "      extend: {coil: 0}\n"
                                          "      retract: {coil: 16}\n"
                                          "      travel-time: 10s\n"
                                          "      limit-start: {discrete: 1}\n"
                                          "      limit-end: {discrete: 2}\n";

/* Waits (in real time: the file is written on a thread) until the saved positions read want. */
static bool positions_saved(const char *want)
{
        char path[256];

        snprintf(path, sizeof(path), "%s/positions", f.state_dir);
        for (int i = 0; i < 300; i++) {
                _cleanup_free_ char *text = read_text(path);
                if (text && streq(text, want))
                        return true;
                sd_event_run(vclock_event, 10 * USEC_PER_MSEC);
        }
        _cleanup_free_ char *text = read_text(path);
        printf("# %s: '%s', not '%s'\n", path, text ?: "(none)", want);
        return false;
}

/* A relay-pair backrest (timed) homes at its first move; where it stands is saved; after a clean restart it
 * drives from there at once, after an unclean one it homes again. */
static void test_a_clean_restart_knows_where_the_relay_motors_are(void)
{
        char marker[128];
        int extend, retract;

        setup_with(NULL, relay_backrest, NULL);
        extend = BACKREST(MOTOR_EXTEND);
        retract = BACKREST(MOTOR_RETRACT);
        CHECK_EQ_U(daemon_recline(f.d, "zero-gravity-1"), 0); /* backrest 0.45 */
        feed(LEGREST(MOTOR_POSITION), 0.55);                  /* the board's legrest is there at once */
        CHECK(out(retract) == 1.0);                           /* homing */
        feed(BACKREST(MOTOR_LIMIT_START), 1.0);
        advance(300 * USEC_PER_MSEC);
        feed(BACKREST(MOTOR_LIMIT_START), 0.0);
        CHECK(out(extend) == 1.0);
        advance(4500 * USEC_PER_MSEC + USEC_PER_MSEC);
        CHECK(out(extend) == 0.0);
        CHECK(positions_saved("backrest 0.4500\n"));
        /* A clean end: daemon_run's end removes the marker of an active chair. */
        f.d = daemon_free(f.d);
        snprintf(marker, sizeof(marker), "%s/active", f.state_dir);
        unlink(marker);
        snprintf(marker, sizeof(marker), "%s/programs/" WARM_ID ".yaml", f.state_dir);
        unlink(marker);
        snprintf(marker, sizeof(marker), "%s/programs", f.state_dir);
        rmdir(marker);
        start_core();
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        n_changes = 0;
        CHECK_EQ_U(daemon_recline(f.d, "zero-gravity-2"), 0); /* backrest 0.65: 2 s on from 0.45 */
        feed(LEGREST(MOTOR_POSITION), 0.75);
        CHECK(out(extend) == 1.0);
        CHECK(changed_at(retract, 1.0) == 0); /* no homing */
        advance(2 * USEC_PER_SEC + USEC_PER_MSEC);
        CHECK(out(extend) == 0.0);
        CHECK(positions_saved("backrest 0.6500\n"));
        /* An unclean end: the marker stays; the motor may have moved, so it homes. */
        f.d = daemon_free(f.d);
        start_core();
        CHECK_STREQ(fault_to_string(daemon_fault(f.d)), "interrupted");
        char saved[256];
        snprintf(saved, sizeof(saved), "%s/positions", f.state_dir);
        CHECK(access(saved, F_OK) < 0); /* forgotten: a later clean start must not trust it */
        CHECK_EQ_U(reset(), 0);
        CHECK_EQ_U(daemon_recline(f.d, "zero-gravity-1"), 0);
        CHECK(out(retract) == 1.0 && out(extend) == 0.0);
        char path[256];
        snprintf(path, sizeof(path), "%s/positions", f.state_dir);
        unlink(path);
        teardown();
}

/* --- the reset, on inputs read afresh --- */

/* A bus that does not answer the reset's read: refused after a bounded wait, never hanging the caller. */
static void test_a_reset_whose_read_never_ends_is_refused_in_time(void)
{
        setup();
        feed(ESTOP, 1.0);
        feed(ESTOP, 0.0);
        fake->refresh_hangs = true;
        CHECK_EQ_U(reset(), 1); /* waiting for the read */
        advance(4 * USEC_PER_SEC);
        CHECK_EQ_U(f.reset_r, 1);
        advance(2 * USEC_PER_SEC);
        CHECK_EQ_U(f.reset_r, -EBUSY);
        CHECK(strstr(f.reset_why, "did not answer"));
        CHECK_EQ_U(daemon_fault(f.d), FAULT_EMERGENCY_STOP);
        /* A second call joins the read still hanging: it gets its own bounded wait. */
        CHECK_EQ_U(reset(), 1);
        advance(RESET_WAIT_USEC + USEC_PER_MSEC);
        CHECK_EQ_U(f.answers, 2);
        CHECK_EQ_U(f.reset_r, -EBUSY);
        teardown();
}

/* Several resets during one read are all answered by it. */
static void test_resets_during_one_read_share_it(void)
{
        int first = 1;

        setup();
        feed(ESTOP, 1.0);
        feed_quietly(ESTOP, 0.0);
        unsigned refreshes = fake->refreshes;
        daemon_reset_fault(f.d, on_reset, NULL);
        first = f.reset_r;
        daemon_reset_fault(f.d, on_reset, NULL);
        CHECK_EQ_U(first, 1);
        CHECK_EQ_U(f.answers, 0);
        dispatch();
        CHECK_EQ_U(f.answers, 2); /* both answered, by one read */
        CHECK_EQ_U(f.reset_r, 0);
        CHECK_EQ_U(fake->refreshes, refreshes + 1);
        CHECK_EQ_U(daemon_fault(f.d), FAULT_NONE);
        teardown();
}

/* A stop that comes while a reset's inputs are read is newer than that read: the reset asked before it does
 * not clear it, though its cause (a call) does not last; the next reset does. */
static void test_a_stop_during_a_resets_read_is_not_cleared_by_it(void)
{
        setup();
        recline_flat();
        daemon_emergency_stop(f.d, "EmergencyStop() was called");
        dispatch();
        unsigned refreshes = fake->refreshes;
        f.reset_r = 1;
        daemon_reset_fault(f.d, on_reset, NULL); /* its read is under way... */
        CHECK_EQ_U(f.reset_r, 1);
        daemon_emergency_stop(f.d,
                              "EmergencyStop() was called again"); /* ...when the chair is stopped again */
        dispatch();
        CHECK_EQ_U(fake->refreshes, refreshes + 1);
        CHECK_EQ_U(f.reset_r, -EBUSY);
        CHECK(strstr(f.reset_why, "came while the reset waited for the inputs"));
        check_latched(FAULT_EMERGENCY_STOP, IO_NONE, IO_NONE);
        CHECK_EQ_U(reset(), 0);
        check_moves_again_after_the_reset();
        teardown();
}

/* A stop while the idle guard reads, and a reset asked then: it waits for a read of its own, begun once the
 * guard's is over. A stop that came after the call, before that read, is newer than the reset and not
 * cleared by it. */
static void test_a_stop_after_a_reset_waiting_for_the_guard_is_not_cleared(void)
{
        struct driver_event refreshed = {DRIVER_REFRESHED, IO_NONE, 0, 0};
        unsigned refreshes;

        setup();
        refreshes = fake->refreshes;
        fake->refresh_hangs = true; /* the idle chair's guard reads, until the test ends its read */
        for (int i = 0; i < 60 && fake->refreshes == refreshes; i++)
                advance(USEC_PER_SEC);
        CHECK_EQ_U(fake->refreshes, refreshes + 1);
        fake->refresh_hangs = false;
        daemon_emergency_stop(f.d, "EmergencyStop() was called");
        dispatch();
        f.reset_r = 1;
        daemon_reset_fault(f.d, on_reset, NULL); /* waits for the guard's read to end */
        CHECK_EQ_U(fake->refreshes, refreshes + 1);
        daemon_emergency_stop(f.d, "EmergencyStop() was called again");
        fake->base.handler(&fake->base, &refreshed, fake->base.userdata); /* the guard's read ends */
        dispatch();                                                       /* the reset's own read */
        CHECK_EQ_U(fake->refreshes, refreshes + 2);
        CHECK_EQ_U(f.reset_r, -EBUSY);
        CHECK(strstr(f.reset_why, "came while the reset waited for the inputs"));
        CHECK_EQ_U(daemon_fault(f.d), FAULT_EMERGENCY_STOP);
        CHECK_EQ_U(reset(), 0);
        teardown();
}

/* Every fault of the enum has a name on D-Bus; every hazard row names one of them. */
static void test_faults_have_their_documented_names(void)
{
        static const char *const documented[] = {
                "emergency-stop", "limit-switches", "obstacle",       "run-time",       "no-progress",
                "heater-sensor",  "heater-ceiling", "heater-runaway", "heat-timeout",   "comm-lost",
                "board-stopped",  "motor-unbidden", "interrupted",    "output-mismatch"};

        CHECK_STREQ(fault_to_string(FAULT_NONE), "");
        for (size_t i = 0; i < ELEMENTSOF(documented); i++)
                CHECK_EQ_U(fault_from_string(documented[i]), i + 1);
        CHECK_EQ_U(ELEMENTSOF(documented), _FAULT_MAX - 1);
}

int main(void)
{
        static const struct test_case tests[] = {
                T(test_emergency_stop_button_latches_until_released),
                T(test_emergency_stop_call_latches_and_resets_once_asked),
                T(test_both_limit_switches_closed_latch_until_one_opens),
                T(test_an_obstacle_stops_backs_off_and_latches),
                T(test_a_motor_driven_too_long_is_run_time),
                T(test_a_driven_motor_that_does_not_move_is_no_progress),
                T(test_a_sensor_out_of_range_latches_until_it_reads_again),
                T(test_a_sensor_the_board_refuses_latches_until_it_is_read_again),
                T(test_an_element_at_the_ceiling_latches_until_it_cools),
                T(test_an_element_heated_past_its_target_is_a_runaway),
                T(test_an_element_whose_reading_gets_old_goes_off_until_a_fresh_one_comes),
                T(test_heat_asked_on_an_old_reading_waits_for_a_fresh_one),
                T(test_an_element_that_does_not_warm_is_a_runaway),
                T(test_an_element_that_warms_with_its_heat_off_is_a_runaway_while_idle),
                T(test_a_stuck_relay_holds_back_the_reset_until_the_element_cools),
                T(test_a_relay_that_sticks_after_a_reset_is_caught_while_idle),
                T(test_heat_lowered_from_3_to_1_mid_program_lets_the_element_cool),
                T(test_heat_off_from_3_lets_the_element_cool_and_one_that_stays_hot_is_a_runaway),
                T(test_heat_off_mid_program_and_on_again_lower_lets_the_element_cool),
                T(test_a_relay_that_welds_after_heat_was_lowered_is_a_runaway),
                T(test_an_idle_chair_without_heaters_arms_no_timer),
                T(test_heat_goes_off_after_the_heat_timeout_and_toggling_does_not_extend_it),
                T(test_the_heat_rest_is_the_configs),
                T(test_every_limit_of_the_hazard_table_is_a_config_key),
                T(test_a_cause_that_came_during_a_fault_holds_back_its_reset),
                T(test_a_fault_due_during_a_command_leaves_nothing_driven),
                T(test_a_silent_bus_is_comm_lost_until_it_answers),
                T(test_a_board_that_stopped_by_itself_latches),
                T(test_a_restart_after_an_unclean_end_comes_up_interrupted),
                T(test_an_output_that_reads_back_otherwise_is_output_mismatch),
                T(test_a_mismatch_that_ended_needs_the_reset_but_holds_nothing_back),
                T(test_release_vents_every_bag_and_opens_the_legrest),
                T(test_release_right_after_a_jog_opens_the_legrest_all_the_way),
                T(test_a_recline_after_a_reset_during_a_back_off_goes_on_and_is_watched),
                T(test_a_clean_restart_knows_where_the_relay_motors_are),
                T(test_a_reset_whose_read_never_ends_is_refused_in_time),
                T(test_resets_during_one_read_share_it),
                T(test_a_stop_during_a_resets_read_is_not_cleared_by_it),
                T(test_a_stop_after_a_reset_waiting_for_the_guard_is_not_cleared),
                T(test_faults_have_their_documented_names),
        };

        log_setup(false);
        return tap_run(tests, ELEMENTSOF(tests));
}
