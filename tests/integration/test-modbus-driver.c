/* test-modbus-driver.c: the real Modbus driver against chair-sim, over TCP and over RTU through a socat pty
 * pair: coalesced writes, polled inputs, the heartbeat, communication loss and noise as events, reconnects
 * and the safe state, each checked in chair-sim's own state. */
#include <math.h>

#include "driver.h"
#include "simctl.h"
#include "tap.h"

static const char *builddir;

struct ctx {
        struct simctl sim;
        sd_event *event;
        struct chair_config *config;
        struct driver *driver;
        double *values;    /* the last value reported for each io */
        unsigned *changes; /* how many times each io was reported */
        unsigned lost, restored, refused, stopped;
        double stopped_gap_ms;
        int refused_io;
        unsigned refreshed;
        unsigned mismatches, matches; /* output read-back news */
        int mismatch_io;
        double mismatch_held;
        usec_t mismatch_usec;
        int refresh_error;
        unsigned estop_changes_at_refresh; /* how many e-stop changes had come when the refresh ended */
        bool heartbeat;                    /* flush every 50 ms, as chaird's control tick would */
        unsigned ticks;
};

static struct ctx t;

static void on_event(struct driver *d, const struct driver_event *ev, void *userdata)
{
        switch (ev->type) {
        case DRIVER_INPUT_CHANGED:
                t.values[ev->io] = ev->value;
                t.changes[ev->io]++;
                break;
        case DRIVER_COMM_LOST:
                t.lost++;
                break;
        case DRIVER_COMM_RESTORED:
                t.restored++;
                break;
        case DRIVER_REFUSED:
                t.refused++;
                t.refused_io = ev->io;
                break;
        case DRIVER_BOARD_STOPPED:
                t.stopped++;
                t.stopped_gap_ms = ev->value;
                break;
        case DRIVER_OUTPUT_MISMATCH:
                t.mismatches++;
                t.mismatch_io = ev->io;
                t.mismatch_held = ev->value;
                t.mismatch_usec = now_usec();
                break;
        case DRIVER_OUTPUT_MATCHED:
                t.matches++;
                break;
        case DRIVER_REFRESHED:
                t.refreshed++;
                t.refresh_error = ev->error;
                t.estop_changes_at_refresh = t.changes[t.config->estop];
                break;
        }
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
        t.ticks++;
        if (t.heartbeat && t.driver)
                driver_flush(t.driver);
        sd_event_source_set_time(s, usec + 50 * USEC_PER_MSEC);
        return 0;
}

/* Runs the loop until cond holds or timeout_ms pass; the value of cond at the end. */
#define RUN_UNTIL(cond, timeout_ms)                                                                         \
        ({                                                                                                  \
                usec_t _end = now_usec() + (usec_t) (timeout_ms) *USEC_PER_MSEC;                            \
                while (!(cond) && now_usec() < _end)                                                        \
                        sd_event_run(t.event, 20 * USEC_PER_MSEC);                                          \
                (cond);                                                                                     \
        })

static void run_for(unsigned ms)
{
        RUN_UNTIL(false, ms);
}

static int io_named(const char *name)
{
        for (size_t i = 0; i < t.config->n_ios; i++)
                if (streq(t.config->ios[i].name, name))
                        return (int) i;
        abort();
}

static double state(const char *object, const char *key)
{
        char json[8192];
        if (sim_command(&t.sim, "state", json, sizeof(json)) < 0)
                return NAN;
        return state_number(json, object, key);
}

static void command(const char *line)
{
        char reply[256];
        CHECK(sim_command(&t.sim, line, reply, sizeof(reply)) == 0 && strstr(reply, "\"ok\":true"));
}

static struct driver_stats stats(void)
{
        struct driver_stats s;
        driver_stats(t.driver, &s);
        return s;
}

/* Starts chair-sim and a driver on the shipped config pointed at it, with extra text after a key. */
static int setup(bool rtu, const char *extra_after, const char *extra)
{
        int r;

        memset(&t, 0, sizeof(t));
        r = sim_start(&t.sim, builddir, rtu, "10");
        if (r < 0)
                return r;
        t.config = sim_load_config(&t.sim, rtu, extra_after, extra);
        if (!t.config)
                return -EINVAL;
        t.values = calloc(t.config->n_ios, sizeof(double));
        t.changes = calloc(t.config->n_ios, sizeof(unsigned));
        t.refused_io = IO_NONE;
        sd_event_default(&t.event);
        sd_event_source *tick;
        sd_event_add_time(t.event, &tick, CLOCK_MONOTONIC, now_usec(), 0, on_tick, NULL);
        sd_event_source_set_enabled(tick, SD_EVENT_ON);
        sd_event_source_set_floating(tick, true); /* freed with the loop */
        sd_event_source_unref(tick);
        return driver_new(t.config, 0, t.event, on_event, NULL, &t.driver);
}

static void teardown(void)
{
        driver_free(t.driver);
        chair_config_free(t.config);
        free(t.values);
        free(t.changes);
        sd_event_unref(t.event);
        sim_cleanup(&t.sim);
        t.event = NULL;
}

/* The common start over TCP: the driver connected with its heartbeat going, the pump on at the board. False
 * when the set-up failed (already reported). extra_after and extra as for setup(). */
static bool start_with_the_pump_on(const char *extra_after, const char *extra)
{
        CHECK_EQ_U(setup(false, extra_after, extra), 0);
        if (!t.driver)
                return false;
        t.heartbeat = true;
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 1), 0);
        CHECK(RUN_UNTIL(state("pump", "on") == 1, 3000));
        return true;
}

/* After the driver reported the board stopped: the pump, set on, stays off until the loop has asked for
 * the safe state; then it may go on again. */
static void check_nothing_resumes_before_the_safe_state(void)
{
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 1), 0);
        run_for(500);
        CHECK(state("pump", "on") == 0);
        CHECK_EQ_U(driver_safe_state(t.driver, 1 * USEC_PER_SEC), 0);
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 1), 0);
        CHECK(RUN_UNTIL(state("pump", "on") == 1, 3000));
}

/* --- the tests --- */

static void outputs_go_out_coalesced_and_only_on_change(bool rtu)
{
        static const char *const zones[] = {"shoulders", "arms", "hips", "calves", "feet"};
        struct driver_stats before, after;
        char name[64];

        CHECK_EQ_U(setup(rtu, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        CHECK(RUN_UNTIL(t.changes[t.config->estop] > 0, 5000)); /* connected and polling */
        before = stats();
        /* pump (coil 3), inflate (4-8) and hold (9-13): eleven contiguous coils, one transaction. */
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 1), 0);
        for (size_t z = 0; z < ELEMENTSOF(zones); z++) {
                snprintf(name, sizeof(name), "airbags.%s.inflate", zones[z]);
                CHECK_EQ_U(driver_set(t.driver, io_named(name), 1), 0);
                snprintf(name, sizeof(name), "airbags.%s.hold", zones[z]);
                CHECK_EQ_U(driver_set(t.driver, io_named(name), 1), 0);
        }
        driver_flush(t.driver);
        CHECK(RUN_UNTIL(state("pump", "on") == 1, 3000));
        run_for(300); /* the heartbeat follows the coils */
        after = stats();
        /* One for the eleven coils, one for the heartbeat. */
        CHECK_EQ_U(after.writes - before.writes, 2);
        char json[8192];
        sim_command(&t.sim, "state", json, sizeof(json));
        CHECK(strstr(json, "\"valves\":{\"shoulders\":\"inflate\",\"arms\":\"inflate\",\"hips\":\"inflate\","
                           "\"calves\":\"inflate\",\"feet\":\"inflate\"}"));
        /* Nothing changed: only the heartbeat goes out. */
        before = stats();
        driver_flush(t.driver);
        run_for(300);
        CHECK_EQ_U(stats().writes - before.writes, 1);
        teardown();
}

static void test_tcp_outputs_go_out_coalesced_and_only_on_change(void)
{
        outputs_go_out_coalesced_and_only_on_change(false);
}

static void test_rtu_outputs_go_out_coalesced_and_only_on_change(void)
{
        outputs_go_out_coalesced_and_only_on_change(true);
}

static void motor_position_is_polled_as_it_moves(bool rtu)
{
        const struct motor_config *backrest;
        int position;

        CHECK_EQ_U(setup(rtu, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        backrest = &t.config->axes[AXIS_BACKREST];
        position = backrest->io[MOTOR_POSITION];
        t.heartbeat = true;
        CHECK(RUN_UNTIL(t.changes[position] > 0, 5000));
        CHECK(t.values[position] == 0.0);
        /* 0.3 of a 20 s travel at time scale 10: 0.6 s, polled every 100 ms. */
        CHECK_EQ_U(driver_set(t.driver, backrest->io[MOTOR_TARGET], 0.3), 0);
        CHECK_EQ_U(driver_set(t.driver, backrest->io[MOTOR_RUN], 1), 0);
        /* The board stops within its tolerance of 0.002 of the travel. */
        CHECK(RUN_UNTIL(fabs(t.values[position] - 0.3) < 0.0025, 5000));
        CHECK(t.changes[position] >= 3); /* seen on its way, not only at the end */
        CHECK(fabs(state("backrest", "position") - 0.3) < 0.0025);
        /* Currents arrive in amperes (scale 0.001 of the board's mA); at rest the motor draws none. The
         * current is a block of its own, so its poll after the stop may come a poll period after the
         * position's. */
        CHECK(t.changes[backrest->io[MOTOR_CURRENT]] >= 2);
        CHECK(RUN_UNTIL(t.values[backrest->io[MOTOR_CURRENT]] == 0.0, 1000));
        /* A value that does not fit the register is refused before it reaches the bus. */
        CHECK(driver_set(t.driver, backrest->io[MOTOR_TARGET], 70.0) == -ERANGE);
        CHECK(driver_set(t.driver, backrest->io[MOTOR_TARGET], -0.1) == -ERANGE);
        CHECK(driver_set(t.driver, backrest->io[MOTOR_TARGET], NAN) == -ERANGE);
        /* A switch is off or on: nothing in between is rounded to either. */
        CHECK(driver_set(t.driver, backrest->io[MOTOR_RUN], 0.5) == -ERANGE);
        CHECK(driver_set(t.driver, backrest->io[MOTOR_RUN], NAN) == -ERANGE);
        /* Inputs cannot be set. */
        CHECK(driver_set(t.driver, position, 0.5) == -EINVAL);
        run_for(300);
        CHECK(fabs(state("backrest", "target") - 0.3) < 0.0015 && state("backrest", "run") == 1);
        teardown();
}

static void test_tcp_motor_position_is_polled_as_it_moves(void)
{
        motor_position_is_polled_as_it_moves(false);
}

static void test_rtu_motor_position_is_polled_as_it_moves(void)
{
        motor_position_is_polled_as_it_moves(true);
}

static void test_heartbeat_keeps_the_board_alive_and_a_late_one_finds_it_stopped(void)
{
        if (!start_with_the_pump_on(NULL, NULL))
                return teardown();
        run_for(1000); /* twice the board's timeout, with heartbeats */
        CHECK(state("pump", "on") == 1);
        char json[8192];
        sim_command(&t.sim, "state", json, sizeof(json));
        CHECK(strstr(json, "\"heartbeat_ok\":true"));
        /* A hung control tick: the loop still runs, but nothing flushes. */
        t.heartbeat = false;
        CHECK(RUN_UNTIL(state("pump", "on") == 0, 3000));
        sim_command(&t.sim, "state", json, sizeof(json));
        /* The board's watchdog did it (latched: a heartbeat retried late by the bus thread, after a write
         * that timed out on a loaded machine, may have ended the trip itself by now). */
        CHECK(strstr(json, "\"watchdog_latched\":true"));
        /* The tick comes back: the heartbeat re-arms the board, but what it stopped stays stopped, and the
         * loop hears of it once, with how late the heartbeat was. */
        t.heartbeat = true;
        CHECK(RUN_UNTIL(t.stopped == 1, 3000));
        CHECK(t.stopped_gap_ms > 500);
        run_for(1000);
        sim_command(&t.sim, "state", json, sizeof(json));
        CHECK(strstr(json, "\"heartbeat_ok\":true"));
        CHECK(state("pump", "on") == 0);
        CHECK_EQ_U(t.stopped, 1);
        check_nothing_resumes_before_the_safe_state();
        CHECK_EQ_U(t.stopped, 1);
        teardown();
}

static void test_the_heartbeat_timeout_goes_to_the_board(void)
{
        /* The shipped config names holding register 1 for the timeout; 3 s instead of its 500 ms (wide of
         * the quiet second below, for a loop held up on a loaded machine under the sanitizers). */
        if (!start_with_the_pump_on("heartbeat-timeout: 500ms", "heartbeat-timeout: 3000ms"))
                return teardown();
        /* Quiet for 1 s: past the board's default of 500 ms, within the 3 s the driver told it. */
        t.heartbeat = false;
        run_for(1000);
        t.heartbeat = true;
        run_for(300);
        CHECK(state("pump", "on") == 1);
        CHECK_EQ_U(t.stopped, 0);
        /* Quiet for longer: the board trips, and the driver knows it from its own timeout. The trip comes
         * three seconds after the last heartbeat the board took: on a loaded machine that can be one the bus
         * thread retried late, seconds after the tick stopped (measured up to 6 s with both cores busy): a
         * wide wait. */
        t.heartbeat = false;
        CHECK(RUN_UNTIL(state("pump", "on") == 0, 12000));
        t.heartbeat = true;
        CHECK(RUN_UNTIL(t.stopped == 1, 3000));
        CHECK(t.stopped_gap_ms > 3000);
        teardown();
}

static void test_polling_back_on_after_idle_writes_heartbeat_then_every_output(void)
{
        if (!start_with_the_pump_on(NULL, NULL))
                return teardown();
        /* Idle, as chaird goes: no polling, no tick, no heartbeat. The board trips and puts the pump off. */
        driver_set_polling(t.driver, false);
        t.heartbeat = false;
        CHECK(RUN_UNTIL(state("pump", "on") == 0, 3000));
        /* Active again: one new output. The pump, still wanted on, goes out again with it. */
        driver_set_polling(t.driver, true);
        CHECK_EQ_U(driver_set(t.driver, t.config->heaters[0].output, 1), 0);
        driver_flush(t.driver);
        t.heartbeat = true;
        CHECK(RUN_UNTIL(state("pump", "on") == 1 && state("lumbar", "commanded") == 1, 3000));
        run_for(700); /* past the board's timeout: the heartbeat went out first, nothing trips */
        CHECK(state("pump", "on") == 1);
        teardown();
}

static void test_comm_drop_is_an_event_and_never_blocks_the_loop(void)
{
        usec_t start;
        unsigned ticks;

        CHECK_EQ_U(setup(false, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        t.heartbeat = true;
        CHECK(RUN_UNTIL(t.changes[t.config->estop] > 0, 5000));
        command("comm drop 2000");
        start = now_usec();
        ticks = t.ticks;
        CHECK(RUN_UNTIL(t.lost == 1, 3000));
        /* The board is silent for 2 s; a driver blocking the loop would starve its 50 ms timer. */
        CHECK(RUN_UNTIL(t.restored == 1, 6000));
        CHECK(t.ticks - ticks >= (unsigned) ((now_usec() - start) / (100 * USEC_PER_MSEC)));
        /* The board was silent past its heartbeat timeout, so it has stopped by itself: the driver says
         * so. */
        CHECK(RUN_UNTIL(t.stopped == 1, 3000));
        check_nothing_resumes_before_the_safe_state();
        CHECK_EQ_U(t.lost, 1);
        teardown();
}

/* A write the board did not answer is not known to be on the board: written() says so until a write is
 * answered, also when the value went back meanwhile to what was written before (a relay's off must reach
 * the board before the other relay may go on). */
static void test_a_write_the_board_did_not_answer_is_not_written(void)
{
        int pump;
        usec_t at = 0, back;

        CHECK_EQ_U(setup(false, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        pump = io_named("airbags.pump");
        CHECK(RUN_UNTIL(t.changes[t.config->estop] > 0, 5000));
        CHECK(RUN_UNTIL(driver_written(t.driver, pump, &at) == 0, 2000)); /* the safe 0, written at start */
        command("comm drop 1500");
        driver_set(t.driver, pump, 1.0);
        driver_flush(t.driver);
        CHECK(RUN_UNTIL(t.lost == 1, 3000)); /* the write went unanswered */
        driver_set(t.driver, pump, 0.0);     /* back to what the board had */
        driver_flush(t.driver);
        back = now_usec();
        run_for(100);
        CHECK_EQ_U(driver_written(t.driver, pump, &at), -EINPROGRESS);
        CHECK(RUN_UNTIL(driver_written(t.driver, pump, &at) == 0, 6000)); /* once the board answers again */
        CHECK(at > back); /* a write answered after it went back, not the one before */
        CHECK(state("pump", "on") == 0.0);
        teardown();
}

/* A reset is judged on inputs read afresh: with polling off (an idle chair), a refresh reads them all and
 * reports their changes before it says it is done; a silent board makes it end in an error, not a wait. */
static void test_refresh_reads_every_input_now_and_a_silent_board_fails_it(void)
{
        CHECK_EQ_U(setup(false, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        CHECK(RUN_UNTIL(t.changes[t.config->estop] > 0, 5000));
        driver_set_polling(t.driver, false);
        run_for(300);
        command("estop press");
        unsigned before = t.changes[t.config->estop];
        run_for(500); /* not polled: the press is not seen */
        CHECK_EQ_U(t.changes[t.config->estop], before);
        CHECK_EQ_U(driver_refresh(t.driver), 0);
        CHECK(RUN_UNTIL(t.refreshed == 1, 3000));
        CHECK_EQ_U(t.refresh_error, 0);
        CHECK_EQ_U(t.estop_changes_at_refresh,
                   before + 1); /* the press came before the end of the refresh */
        CHECK(t.values[t.config->estop] == 1.0);
        run_for(500); /* and nothing more is read until asked */
        CHECK_EQ_U(t.changes[t.config->estop], before + 1);

        command("estop release");
        command("comm drop 3000");
        CHECK_EQ_U(driver_refresh(t.driver), 0);
        CHECK(RUN_UNTIL(t.refreshed == 2, 3000));
        CHECK(t.refresh_error != 0);
        CHECK(t.values[t.config->estop] == 1.0); /* nothing new was read */
        teardown();
}

static void test_board_restart_is_reconnected_and_nothing_resumes_by_itself(void)
{
        if (!start_with_the_pump_on(NULL, NULL))
                return teardown();
        sim_stop(&t.sim);
        CHECK(RUN_UNTIL(t.lost == 1, 5000));
        CHECK_EQ_U(sim_start(&t.sim, builddir, false, "10"), 0); /* a fresh board: every coil 0 */
        CHECK(RUN_UNTIL(t.restored == 1, 10000));
        /* Reconnected, but the board lost its outputs while it was away: the pump stays off, and the loop
         * hears that the board stopped. */
        CHECK(RUN_UNTIL(t.stopped == 1, 3000));
        run_for(500);
        CHECK(state("pump", "on") == 0);
        /* A board restarted while the chair is idle (no polling, no heartbeat) stopped nothing: when the
         * chair is active again, what it is told goes out. */
        CHECK_EQ_U(driver_safe_state(t.driver, 1 * USEC_PER_SEC), 0);
        driver_set_polling(t.driver, false);
        t.heartbeat = false;
        run_for(200);
        sim_stop(&t.sim);
        CHECK_EQ_U(sim_start(&t.sim, builddir, false, "10"), 0);
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 1), 0);
        driver_set_polling(t.driver, true);
        t.heartbeat = true;
        CHECK(RUN_UNTIL(state("pump", "on") == 1, 10000));
        CHECK_EQ_U(t.stopped, 1);
        teardown();
}

/* Outputs on the board while no heartbeat was ever answered (here the board refuses the heartbeat's
 * register; in the field, the link dropped between the first output write and the first heartbeat): a
 * board found again after the loss may have restarted, so it is reported stopped and nothing resumes. */
static void test_board_restart_before_any_heartbeat_is_reported(void)
{
        if (!start_with_the_pump_on("heartbeat: 0", "heartbeat: 99"))
                return teardown();
        CHECK(RUN_UNTIL(t.refused > 0, 3000));
        sim_stop(&t.sim);
        CHECK(RUN_UNTIL(t.lost == 1, 5000));
        CHECK_EQ_U(sim_start(&t.sim, builddir, false, "10"), 0);
        CHECK(RUN_UNTIL(t.restored == 1, 10000));
        CHECK(RUN_UNTIL(t.stopped == 1, 3000));
        CHECK(t.stopped_gap_ms > 0); /* since the pump went out: no heartbeat to measure from */
        run_for(500);
        CHECK(state("pump", "on") == 0);
        check_nothing_resumes_before_the_safe_state();
        teardown();
}

static void test_unmapped_register_is_refused_not_lost(void)
{
        int presence;

        /* Input register 13 is not on the reference board: exception 2. */
        CHECK_EQ_U(setup(false, "emergency-stop: {discrete: 0}",
                         "emergency-stop: {discrete: 0}\n  presence: {input: 13}"),
                   0);
        if (!t.driver)
                return teardown();
        presence = t.config->presence;
        CHECK(RUN_UNTIL(t.refused > 0, 3000));
        CHECK_EQ_U(t.refused_io, presence);
        /* The rest of the board still reads, its neighbours in input registers 10-12 included. */
        CHECK(RUN_UNTIL(t.changes[t.config->estop] > 0, 3000));
        CHECK(RUN_UNTIL(t.changes[t.config->axes[AXIS_BACKREST].io[MOTOR_POSITION]] > 0, 3000));
        CHECK(RUN_UNTIL(t.changes[t.config->roller.travel.io[MOTOR_POSITION]] > 0, 3000));
        CHECK_EQ_U(t.lost, 0);
        CHECK_EQ_U(t.changes[presence], 0);
        teardown();
}

static void test_safe_state_is_written_before_it_returns(void)
{
        const struct heater_config *lumbar;
        int target;

        CHECK_EQ_U(setup(false, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        lumbar = &t.config->heaters[0];
        target = t.config->axes[AXIS_BACKREST].io[MOTOR_TARGET];
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 1), 0);
        CHECK_EQ_U(driver_set(t.driver, lumbar->output, 1), 0);
        CHECK_EQ_U(driver_set(t.driver, t.config->roller.kneading, 3), 0);
        CHECK_EQ_U(driver_set(t.driver, io_named("airbags.arms.hold"), 1), 0);
        CHECK_EQ_U(driver_set(t.driver, target, 0.2), 0);
        driver_flush(t.driver);
        CHECK(RUN_UNTIL(state("roller", "kneading") == 3, 3000));
        CHECK(state("lumbar", "commanded") == 1);
        /* No loop runs during the call: it must wait for the I/O thread by itself. */
        CHECK_EQ_U(driver_safe_state(t.driver, 2 * USEC_PER_SEC), 0);
        CHECK(state("pump", "on") == 0);
        CHECK(state("lumbar", "commanded") == 0);
        CHECK(state("roller", "kneading") == 0);
        char json[8192];
        sim_command(&t.sim, "state", json, sizeof(json));
        CHECK(strstr(json, "\"arms\":\"vent\""));
        CHECK(fabs(state("backrest", "target") - 0.2) < 0.001); /* targets have no safe value of their own */
        teardown();
}

/* Output read-back: a coil and a holding register that chair-sim holds stuck answer other than what was
 * written; each is reported once, with what it holds, and matched again once it follows (a refresh reads it
 * at once, and says so before it is over). */
static void test_a_stuck_output_is_a_mismatch_until_it_follows_again(void)
{
        int kneading;

        if (!start_with_the_pump_on(NULL, NULL))
                return teardown();
        kneading = t.config->roller.kneading;
        t.mismatch_io = IO_NONE;
        command("stick coil 3");       /* the pump's, on */
        command("stick holding 13 2"); /* kneading's, at speed 2 */
        CHECK_EQ_U(driver_set(t.driver, t.config->pump, 0), 0);
        driver_flush(t.driver);
        CHECK(RUN_UNTIL(t.mismatches > 0, 3000));
        CHECK_EQ_U(t.mismatch_io, t.config->pump);
        CHECK(t.mismatch_held == 1.0);
        CHECK(state("pump", "on") == 1); /* stuck: the write did not reach it */
        /* A register written what it holds is no mismatch; written something else, it is. */
        CHECK_EQ_U(driver_set(t.driver, kneading, 2), 0);
        driver_flush(t.driver);
        run_for(500);
        CHECK_EQ_U(t.mismatches, 1); /* the pump's, once, however often it is read again */
        CHECK_EQ_U(driver_set(t.driver, kneading, 5), 0);
        driver_flush(t.driver);
        CHECK(RUN_UNTIL(t.mismatches == 2, 3000));
        CHECK_EQ_U(t.mismatch_io, kneading);
        CHECK(t.mismatch_held == 2.0);
        CHECK(state("roller", "kneading") == 2);
        CHECK_EQ_U(t.matches, 0);
        /* Freed, each takes what was last written: a refresh reads them at once. */
        command("clear");
        CHECK_EQ_U(driver_refresh(t.driver), 0);
        CHECK(RUN_UNTIL(t.refreshed > 0, 3000));
        CHECK_EQ_U(t.matches, 2);
        CHECK(state("pump", "on") == 0);
        CHECK(state("roller", "kneading") == 5);
        run_for(300);
        CHECK_EQ_U(t.mismatches, 2);
        teardown();
}

static void test_rtu_noise_is_retried_and_total_noise_is_a_loss(void)
{
        int target;

        CHECK_EQ_U(setup(true, NULL, NULL), 0);
        if (!t.driver)
                return teardown();
        target = t.config->axes[AXIS_LEGREST].io[MOTOR_TARGET];
        CHECK(RUN_UNTIL(t.changes[t.config->estop] > 0, 5000));
        command("comm noise 0.3");
        for (int i = 1; i <= 10; i++) {
                CHECK_EQ_U(driver_set(t.driver, target, i / 100.0), 0);
                driver_flush(t.driver);
                run_for(100);
        }
        CHECK(RUN_UNTIL(fabs(state("legrest", "target") - 0.10) < 0.001, 3000));
        CHECK(stats().retries > 0);
        command("comm noise 1");
        CHECK(RUN_UNTIL(t.lost >= 1, 5000));
        command("comm noise 0");
        CHECK(RUN_UNTIL(t.restored >= 1, 10000));
        teardown();
}

int main(int argc, char **argv)
{
        static const struct test_case tests[] = {
                T(test_tcp_outputs_go_out_coalesced_and_only_on_change),
                T(test_rtu_outputs_go_out_coalesced_and_only_on_change),
                T(test_tcp_motor_position_is_polled_as_it_moves),
                T(test_rtu_motor_position_is_polled_as_it_moves),
                T(test_heartbeat_keeps_the_board_alive_and_a_late_one_finds_it_stopped),
                T(test_the_heartbeat_timeout_goes_to_the_board),
                T(test_polling_back_on_after_idle_writes_heartbeat_then_every_output),
                T(test_comm_drop_is_an_event_and_never_blocks_the_loop),
                T(test_refresh_reads_every_input_now_and_a_silent_board_fails_it),
                T(test_a_write_the_board_did_not_answer_is_not_written),
                T(test_board_restart_is_reconnected_and_nothing_resumes_by_itself),
                T(test_board_restart_before_any_heartbeat_is_reported),
                T(test_unmapped_register_is_refused_not_lost),
                T(test_safe_state_is_written_before_it_returns),
                T(test_a_stuck_output_is_a_mismatch_until_it_follows_again),
                T(test_rtu_noise_is_retried_and_total_noise_is_a_loss),
        };

        if (argc != 2) {
                fprintf(stderr, "usage: test-modbus-driver BUILD_DIR\n");
                return 2;
        }
        builddir = argv[1];
        signal(SIGPIPE, SIG_IGN);
        return tap_run(tests, ELEMENTSOF(tests));
}
