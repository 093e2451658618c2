/* test-engine: the program engine and the chair model on a virtual clock, with a fake driver.
 *
 * The linker wraps now_usec() and sd-event's timer calls (see tests/meson.build): time stands still until a
 * test moves it, and each timer fires exactly at its deadline (or as late as the test says). driver_new() is
 * wrapped too: every bus gets a fake driver that records each output with the virtual time it was set at,
 * and through which the test feeds inputs (positions, temperatures, the body sensor). The chair is the
 * shipped virtual chair's config (config/sim.yaml). */
#include "engine.h"
#include "helpers.h"
#include "simctl.h" /* read_text, replace_text */
#include "vclock.h"

/* --- the fixture --- */

struct fixture {
        sd_event *event;
        struct chair_config *config;
        struct chair *chair;
        struct engine *engine;
        struct catalog_entry *entry;
        const char *finished; /* reason */
        usec_t finished_at;
};

static struct fixture f;

static void on_finished(struct engine *e, const char *program, enum finish_reason reason, void *userdata)
{
        f.finished = finish_reason_to_string(reason);
        f.finished_at = vnow;
}

static void on_chair(struct chair *c, unsigned changes_, void *userdata)
{
        if (f.engine)
                engine_on_chair(f.engine, changes_);
}

static void setup(double scale, const char *session_cap)
{
        char path[512], *text;
        struct diag_list d = {};
        static const struct engine_callbacks cb = {NULL, on_finished};

        memset(&f, 0, sizeof(f));
        vclock_late_usec = 0;
        n_changes = 0;
        snprintf(path, sizeof(path), "%s/config/sim.yaml", SOURCE_ROOT);
        text = read_text(path);
        if (!text)
                abort();
        if (session_cap) {
                char cap[64];
                snprintf(cap, sizeof(cap), "session-cap: %s", session_cap);
                text = replace_text(text, "session-cap: 30m", cap);
        }
        if (chair_config_load("sim.yaml", text, strlen(text), &d, &f.config) < 0)
                abort();
        free(text);
        diag_list_clear(&d);
        if (sd_event_new(&f.event) < 0 || !(vclock_event = f.event) ||
            chair_new(f.config, f.event, on_chair, NULL, &f.chair) < 0 ||
            engine_new(f.event, f.chair, f.config, scale, &cb, NULL, &f.engine) < 0)
                abort();
        /* What the board reports at rest: everything at the top and upright, cold, no body touching. */
        feed(f.config->axes[AXIS_BACKREST].io[MOTOR_POSITION], 0.0);
        feed(f.config->axes[AXIS_LEGREST].io[MOTOR_POSITION], 0.0);
        feed(f.config->roller.travel.io[MOTOR_POSITION], 0.0);
        feed(f.config->roller.body_sensor, 0.0);
        for (size_t h = 0; h < f.config->n_heaters; h++)
                feed(f.config->heaters[h].sensor, 25.0);
}

static void teardown(void)
{
        engine_free(f.engine);
        catalog_entry_unref(f.entry);
        chair_free(f.chair);
        chair_config_free(f.config);
        sd_event_unref(f.event);
        f = (struct fixture){};
}

static struct catalog_entry *entry_of(const char *yaml)
{
        struct catalog_entry *e = calloc(1, sizeof(*e));
        struct pattern_library lib = {};
        char *diags = NULL;

        if (!e || load_program_text(yaml, f.config, &lib, &e->program, &diags) < 0) {
                printf("# %s\n", diags ? diags : "out of memory");
                abort();
        }
        free(diags);
        e->n_ref = 1;
        return e;
}

/* The outputs the tests look at. */
#define FOOT            (f.config->foot_speed)
#define KNEADING        (f.config->roller.kneading)
#define DEPTH           (f.config->roller.depth)
#define TRAVEL_TARGET   (f.config->roller.travel.io[MOTOR_TARGET])
#define BACKREST_TARGET (f.config->axes[AXIS_BACKREST].io[MOTOR_TARGET])
#define BACKREST_RUN    (f.config->axes[AXIS_BACKREST].io[MOTOR_RUN])
#define LUMBAR_HEAT     (f.config->heaters[0].output)
#define CALVES_INFLATE  (f.config->zones[3].inflate) /* shoulders, arms, hips, calves, feet */
#define CALVES_HOLD     (f.config->zones[3].hold)

/* The scan: the roller goes to the top of the shoulder range, then down until the body sensor touches.
 * Returns the virtual time the timeline starts at. */
static usec_t scan_finds_shoulders_at(double mm)
{
        int travel = f.config->roller.travel.io[MOTOR_POSITION];

        feed(travel, out(TRAVEL_TARGET));
        feed(travel, mm);
        feed(f.config->roller.body_sensor, 1.0);
        return vnow;
}

/* Foot rollers: an output written directly from the setpoint, so its changes show each setpoint's time. The
 * virtual chair has 3 speeds: the program's 4 is its 2, 1 is 1. */
static const char *const foot_program = "name: Foot\n"
                                        "duration: 1m\n"
                                        "phases:\n"
                                        "  - {name: a, duration: 20s, foot-rollers: {speed: 4}}\n"
                                        "  - {name: b, duration: 20s}\n"
                                        "  - {name: c, duration: 20s, foot-rollers: {speed: 1}}\n";

static void test_setpoints_fire_exactly_on_their_deadlines(void)
{
        setup(1.0, NULL);
        f.entry = entry_of(foot_program);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        dispatch();
        CHECK_EQ_U(engine_state(f.engine), ENGINE_SCANNING);
        CHECK(out(FOOT) == 0.0); /* nothing of the program before the scan ends */
        advance(2 * USEC_PER_SEC);
        usec_t t0 = scan_finds_shoulders_at(180.0);
        CHECK_EQ_U(engine_state(f.engine), ENGINE_RUNNING);
        CHECK_EQ_U(changed_at(FOOT, 2), t0);
        advance(20 * USEC_PER_SEC - 1);
        CHECK(out(FOOT) == 2.0); /* one microsecond before the phase ends */
        advance(1);
        CHECK_EQ_U(changed_at(FOOT, 0), t0 + 20 * USEC_PER_SEC);
        CHECK_STREQ(engine_phase(f.engine), "b");
        advance(40 * USEC_PER_SEC);
        CHECK_EQ_U(changed_at(FOOT, 1), t0 + 40 * USEC_PER_SEC);
        CHECK_STREQ(f.finished, "completed");
        CHECK_EQ_U(f.finished_at, t0 + 60 * USEC_PER_SEC);
        CHECK_EQ_U(engine_state(f.engine), ENGINE_IDLE);
        CHECK(out(FOOT) == 0.0);
        teardown();
}

/* A scan cut short (a stop, a kill) leaves the roller where the next scan starts: already there, it goes on
 * down at once instead of waiting for an arrival that no reading will bring. */
static void test_a_scan_that_starts_where_the_roller_is_goes_on(void)
{
        setup(1.0, NULL);
        feed(f.config->roller.travel.io[MOTOR_POSITION], f.config->roller.geometry.shoulder_min_mm);
        f.entry = entry_of(foot_program);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        dispatch();
        CHECK_EQ_U(engine_state(f.engine), ENGINE_SCANNING);
        CHECK(out(TRAVEL_TARGET) == f.config->roller.geometry.shoulder_max_mm); /* on down already */
        feed(f.config->roller.travel.io[MOTOR_POSITION], 180.0);
        feed(f.config->roller.body_sensor, 1.0);
        CHECK_EQ_U(engine_state(f.engine), ENGINE_RUNNING);
        teardown();
}

static void test_a_late_loop_does_not_make_the_program_drift(void)
{
        setup(1.0, NULL);
        f.entry = entry_of(foot_program);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        usec_t t0 = scan_finds_shoulders_at(180.0);
        vclock_late_usec = 7 * USEC_PER_MSEC; /* every wakeup comes 7 ms late */
        advance(61 * USEC_PER_SEC);
        /* Each setpoint is as late as its own wakeup, never later: deadlines are absolute. */
        CHECK_EQ_U(changed_at(FOOT, 0), t0 + 20 * USEC_PER_SEC + 7 * USEC_PER_MSEC);
        CHECK_EQ_U(changed_at(FOOT, 1), t0 + 40 * USEC_PER_SEC + 7 * USEC_PER_MSEC);
        CHECK_EQ_U(f.finished_at, t0 + 60 * USEC_PER_SEC + 7 * USEC_PER_MSEC);
        teardown();
}

static void test_a_wakeup_after_several_deadlines_applies_them_all_in_order(void)
{
        setup(1.0, NULL);
        f.entry = entry_of(foot_program);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        usec_t t0 = scan_finds_shoulders_at(180.0);
        vclock_late_usec =
                25 * USEC_PER_SEC; /* the wakeup due at 20 s comes at 45 s, past the next boundary too */
        advance(45 * USEC_PER_SEC);
        CHECK_EQ_U(changed_at(FOOT, 0), t0 + 45 * USEC_PER_SEC);
        CHECK_EQ_U(changed_at(FOOT, 1), t0 + 45 * USEC_PER_SEC);
        CHECK(out(FOOT) == 1.0); /* the last one wins */
        CHECK_STREQ(engine_phase(f.engine), "c");
        CHECK(f.finished == NULL);
        teardown();
}

static void test_time_scale_divides_every_deadline(void)
{
        setup(10.0, NULL);
        f.entry = entry_of(foot_program);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        usec_t t0 = scan_finds_shoulders_at(180.0);
        advance(7 * USEC_PER_SEC);
        CHECK_EQ_U(changed_at(FOOT, 0), t0 + 2 * USEC_PER_SEC);
        CHECK_EQ_U(changed_at(FOOT, 1), t0 + 4 * USEC_PER_SEC);
        CHECK_EQ_U(f.finished_at, t0 + 6 * USEC_PER_SEC);
        teardown();
}

static void test_pause_stops_the_clock_and_resume_reapplies_every_track(void)
{
        setup(1.0, NULL);
        f.entry = entry_of(foot_program);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        usec_t t0 = scan_finds_shoulders_at(180.0);
        advance(10 * USEC_PER_SEC);
        CHECK_EQ_U(engine_pause(f.engine), 0);
        dispatch();
        CHECK(engine_pause(f.engine) == -EALREADY);
        CHECK(out(FOOT) == 0.0); /* held */
        advance(5 * USEC_PER_MINUTE);
        CHECK_EQ_U(engine_elapsed(f.engine), 10 * USEC_PER_SEC);
        CHECK(f.finished == NULL);
        usec_t resumed = vnow;
        CHECK_EQ_U(engine_resume(f.engine), 0);
        dispatch();
        CHECK(out(FOOT) == 2.0);
        advance(60 * USEC_PER_SEC);
        CHECK_EQ_U(changed_at(FOOT, 1), resumed + 30 * USEC_PER_SEC);
        CHECK_EQ_U(f.finished_at, resumed + 50 * USEC_PER_SEC);
        CHECK(f.finished_at - t0 == 60 * USEC_PER_SEC + 5 * USEC_PER_MINUTE);
        teardown();
}

static void test_session_cap_counts_pauses_and_ends_with_timeout(void)
{
        setup(1.0, "2m");
        f.entry = entry_of(foot_program);
        usec_t started = vnow;
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        scan_finds_shoulders_at(180.0);
        advance(10 * USEC_PER_SEC);
        CHECK_EQ_U(engine_pause(f.engine), 0);
        advance(3 * USEC_PER_MINUTE);
        CHECK_STREQ(f.finished, "timeout");
        CHECK_EQ_U(f.finished_at, started + 2 * USEC_PER_MINUTE);
        CHECK_EQ_U(engine_state(f.engine), ENGINE_IDLE);
        teardown();
}

static void test_start_refuses_while_running_and_beyond_the_cap(void)
{
        setup(1.0, "2m");
        f.entry = entry_of(foot_program);
        CHECK(engine_start(f.engine, f.entry, 3 * USEC_PER_MINUTE, INTENSITY_DEFAULT) == -ERANGE);
        CHECK_EQ_U(engine_state(f.engine), ENGINE_IDLE);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        CHECK(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT) == -EBUSY);
        CHECK_EQ_U(engine_stop(f.engine, FINISH_STOPPED), 0);
        CHECK(engine_stop(f.engine, FINISH_STOPPED) == -ENOENT);
        teardown();
}

static const char *const work_program =
        "name: Work\n"
        "duration: 2m\n"
        "at-end: %s\n"
        "phases:\n"
        "  - name: a\n"
        "    recline: zero-gravity-1\n"
        "    heat: {lumbar: 1}\n"
        "    roller: {technique: kneading, area: lumbar, speed: 3, depth: 2}\n"
        "    airbags: {zones: [calves], pattern: hold, intensity: 2}\n"
        "  - name: b\n"
        "    heat: {lumbar: 3}\n"
        "    roller: {technique: kneading, area: lumbar, speed: 3, depth: 2}\n";

/* The work program started, its scan under way (the roller on its way to the top of the shoulder range). */
static void start_scan_only(void)
{
        char yaml[1024];

        snprintf(yaml, sizeof(yaml), work_program, "upright");
        f.entry = entry_of(yaml);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        CHECK(chair_scanning(f.chair));
}

static void start_work(const char *at_end)
{
        char yaml[1024];

        snprintf(yaml, sizeof(yaml), work_program, at_end);
        f.entry = entry_of(yaml);
        CHECK_EQ_U(engine_start(f.engine, f.entry, 0, INTENSITY_DEFAULT), 0);
        scan_finds_shoulders_at(180.0);
}

/* Stopped during the body scan: the roller parks, and its arrival at the top does not send the scan on down
 * the back (nothing moves by itself after a Stop). */
static void test_a_stop_during_the_scan_ends_the_scan(void)
{
        setup(1.0, NULL);
        int travel = f.config->roller.travel.io[MOTOR_POSITION], run = f.config->roller.travel.io[MOTOR_RUN];
        start_scan_only();
        feed(travel, 30.0); /* on its way to the top of the shoulder range */
        CHECK_EQ_U(engine_stop(f.engine, FINISH_STOPPED), 0);
        dispatch();
        CHECK(out(TRAVEL_TARGET) == 0.0 && out(run) == 1.0); /* parking */
        feed(travel, 0.0);
        dispatch();
        advance(USEC_PER_SEC);
        CHECK(out(TRAVEL_TARGET) == 0.0);
        CHECK(out(run) == 0.0);
        CHECK(!chair_scanning(f.chair));
        teardown();
}

static void test_stop_winds_down_and_returns_upright(void)
{
        setup(1.0, NULL);
        start_work("upright");
        advance(10 * USEC_PER_SEC);
        CHECK(fabs(out(BACKREST_TARGET) - 0.45) < 1e-9);
        feed(f.config->axes[AXIS_BACKREST].io[MOTOR_POSITION], 0.45); /* arrived */
        CHECK(out(BACKREST_RUN) == 0.0);
        CHECK(out(KNEADING) == 3.0);
        CHECK(out(LUMBAR_HEAT) == 1.0);
        CHECK(out(CALVES_HOLD) == 1.0);
        CHECK_EQ_U(engine_stop(f.engine, FINISH_STOPPED), 0);
        dispatch();
        CHECK_STREQ(f.finished, "stopped");
        CHECK(out(KNEADING) == 0.0);
        CHECK(out(TRAVEL_TARGET) == 0.0); /* parked at the top */
        CHECK(out(LUMBAR_HEAT) == 0.0);
        CHECK(out(CALVES_INFLATE) == 0.0 && out(CALVES_HOLD) == 0.0); /* venting */
        CHECK(out(BACKREST_TARGET) == 0.0 && out(BACKREST_RUN) == 1.0);
        teardown();
}

static void test_stop_after_a_program_that_stays_leaves_the_recline(void)
{
        setup(1.0, NULL);
        start_work("stay");
        advance(10 * USEC_PER_SEC);
        CHECK_EQ_U(engine_stop(f.engine, FINISH_STOPPED), 0);
        dispatch();
        CHECK(fabs(out(BACKREST_TARGET) - 0.45) < 1e-9);
        CHECK(out(KNEADING) == 0.0 && out(LUMBAR_HEAT) == 0.0);
        teardown();
}

static void test_intensity_moves_the_depth_at_once(void)
{
        setup(1.0, NULL);
        start_work("upright");
        advance(USEC_PER_SEC);
        CHECK(out(DEPTH) == 2.0);
        engine_set_intensity(f.engine, 5);
        dispatch();
        CHECK(out(DEPTH) == 4.0);
        engine_set_intensity(f.engine, 1);
        dispatch();
        CHECK(out(DEPTH) == 1.0);   /* 2 - 2, and never below the first level */
        advance(70 * USEC_PER_SEC); /* the next phase keeps the new intensity */
        CHECK_STREQ(engine_phase(f.engine), "b");
        CHECK(out(DEPTH) == 1.0);
        teardown();
}

/* Adjust: speed and depth change within the call, hold through the next phase, are not shifted by the
 * intensity, and a reset gives the program's own back (with the intensity as it is then). */
static void test_an_adjustment_applies_at_once_and_holds_through_the_next_phase(void)
{
        struct engine_adjust a = ENGINE_ADJUST_NONE;

        setup(1.0, NULL);
        CHECK(engine_adjust(f.engine, &a) == -ENOENT); /* no session */
        start_work("upright");
        advance(USEC_PER_SEC);
        CHECK(out(KNEADING) == 3.0 && out(DEPTH) == 2.0);
        a.speed = 6;
        a.depth = 4;
        CHECK_EQ_U(engine_adjust(f.engine, &a), 0);
        dispatch();
        CHECK(out(KNEADING) == 6.0 && out(DEPTH) == 4.0);
        engine_set_intensity(f.engine, 1);
        dispatch();
        CHECK(out(DEPTH) == 4.0); /* the person's depth as it stands */
        advance(70 * USEC_PER_SEC);
        CHECK_STREQ(engine_phase(f.engine), "b");
        CHECK(out(KNEADING) == 6.0 && out(DEPTH) == 4.0);
        CHECK_EQ_U(engine_adjust_reset(f.engine), 0);
        dispatch();
        CHECK(out(KNEADING) == 3.0 && out(DEPTH) == 1.0); /* 2 at intensity 1 */
        teardown();
}

/* Adjusted while paused: nothing moves until Resume, which goes on with the adjustment. */
static void test_an_adjustment_while_paused_waits_for_resume(void)
{
        struct engine_adjust a = ENGINE_ADJUST_NONE;

        setup(1.0, NULL);
        start_work("upright");
        advance(USEC_PER_SEC);
        CHECK_EQ_U(engine_pause(f.engine), 0);
        dispatch();
        CHECK(out(KNEADING) == 0.0);
        a.speed = 5;
        CHECK_EQ_U(engine_adjust(f.engine, &a), 0);
        dispatch();
        CHECK(out(KNEADING) == 0.0);
        advance(10 * USEC_PER_SEC);
        CHECK(out(KNEADING) == 0.0);
        CHECK_EQ_U(engine_resume(f.engine), 0);
        dispatch();
        CHECK(out(KNEADING) == 5.0);
        CHECK(out(DEPTH) == 2.0); /* what was not adjusted is the program's */
        teardown();
}

static void test_a_persons_heat_level_holds_against_the_program(void)
{
        setup(1.0, NULL);
        start_work("upright");
        advance(USEC_PER_SEC);
        CHECK(out(LUMBAR_HEAT) == 1.0); /* level 1, the element is cold */
        engine_override_heat(f.engine, 0);
        chair_heat(f.chair, 0, 0); /* what SetHeat("lumbar", 0) does */
        dispatch();
        CHECK(out(LUMBAR_HEAT) == 0.0);
        advance(70 * USEC_PER_SEC); /* phase b asks for level 3 */
        CHECK_STREQ(engine_phase(f.engine), "b");
        CHECK(out(LUMBAR_HEAT) == 0.0);
        teardown();
}

static void test_the_thermostat_keeps_the_level_with_hysteresis(void)
{
        setup(1.0, NULL);
        start_work("upright");
        int sensor = f.config->heaters[0].sensor;
        CHECK(out(LUMBAR_HEAT) == 1.0); /* level 1: 45 deg C at the element */
        feed(sensor, 45.0);
        CHECK(out(LUMBAR_HEAT) == 0.0);
        feed(sensor, 44.5); /* within the hysteresis: stays off */
        CHECK(out(LUMBAR_HEAT) == 0.0);
        feed(sensor, 43.9);
        CHECK(out(LUMBAR_HEAT) == 1.0);
        teardown();
}

/* A closed limit switch stops its axis when it is driven toward it, and only then: away from it, it
 * moves. */
static void test_a_limit_switch_stops_its_axis_only_toward_it(void)
{
        setup(1.0, NULL);
        int position = f.config->axes[AXIS_BACKREST].io[MOTOR_POSITION];
        int limit_end = f.config->axes[AXIS_BACKREST].io[MOTOR_LIMIT_END];
        int limit_start = f.config->axes[AXIS_BACKREST].io[MOTOR_LIMIT_START];

        CHECK(chair_recline(f.chair, "flat") == 0);
        dispatch();
        CHECK(out(BACKREST_RUN) == 1.0);
        feed(position, 0.8);
        feed(limit_end, 1.0); /* the end switch closes early, at 0.8: the chair stops there */
        CHECK(out(BACKREST_RUN) == 0.0);
        CHECK(chair_recline(f.chair, "flat") == 0); /* still toward the closed switch: it does not run */
        dispatch();
        CHECK(out(BACKREST_RUN) == 0.0);
        CHECK(chair_recline(f.chair, "zero-gravity-1") == 0); /* away from it: it does */
        dispatch();
        CHECK(out(BACKREST_RUN) == 1.0);
        feed(limit_end, 0.0);
        feed(position, 0.45);
        CHECK(out(BACKREST_RUN) == 0.0);
        /* The start switch closed while driving upright stops it too. */
        CHECK(chair_recline(f.chair, "upright") == 0);
        dispatch();
        CHECK(out(BACKREST_RUN) == 1.0);
        feed(position, 0.1);
        feed(limit_start, 1.0);
        CHECK(out(BACKREST_RUN) == 0.0);
        teardown();
}

#define LEGREST_POSITION  (f.config->axes[AXIS_LEGREST].io[MOTOR_POSITION])
#define LEGREST_TARGET    (f.config->axes[AXIS_LEGREST].io[MOTOR_TARGET])
#define LEGREST_RUN       (f.config->axes[AXIS_LEGREST].io[MOTOR_RUN])
#define BACKREST_POSITION (f.config->axes[AXIS_BACKREST].io[MOTOR_POSITION])

/* Eight alternating legrest jogs 200 ms apart, then a recline to flat within the last one's hold time (a
 * person letting go of the jog and tapping a preset): the jog's hold-to-move timer ends only its own jog,
 * so the legrest goes on to flat with the backrest, and the chair names flat while it goes and once there.
 * Board motors (the reference board closes the loop). */
static void test_a_recline_right_after_jogs_is_not_stopped_by_the_jogs_timer(void)
{
        setup(1.0, NULL);
        feed(LEGREST_POSITION, 0.3);
        for (int i = 0; i < 8; i++) {
                CHECK_EQ_U(chair_jog(f.chair, AXIS_LEGREST, i % 2 ? -1 : 1, 300 * USEC_PER_MSEC), 0);
                dispatch();
                CHECK(out(LEGREST_RUN) == 1.0);
                advance(200 * USEC_PER_MSEC);
        }
        CHECK(chair_recline_preset(f.chair) == NULL); /* jogged: at no preset */
        CHECK_EQ_U(chair_recline(f.chair, "flat"), 0);
        dispatch();
        CHECK(out(LEGREST_RUN) == 1.0 && out(LEGREST_TARGET) == 1.0);
        advance(USEC_PER_SEC); /* well past the last jog's 300 ms */
        CHECK(out(LEGREST_RUN) == 1.0);
        CHECK(out(LEGREST_TARGET) == 1.0);
        CHECK(out(BACKREST_RUN) == 1.0);
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat"); /* on its way */
        feed(LEGREST_POSITION, 0.7);
        advance(USEC_PER_SEC);
        CHECK(out(LEGREST_RUN) == 1.0);
        feed(LEGREST_POSITION, 1.0);
        feed(BACKREST_POSITION, 1.0);
        CHECK(out(LEGREST_RUN) == 0.0 && out(BACKREST_RUN) == 0.0);
        CHECK(!chair_moving(f.chair));
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat"); /* there */
        teardown();
}

/* The chair names a preset only while it goes there or is there: a move stopped short (a pause or Stop's
 * hold, a fault's safe state) leaves it at none; stopping a chair already there, or a fault then, does not
 * move it, and it still is. Board motors. */
static void test_recline_names_a_preset_only_on_its_way_or_there(void)
{
        setup(1.0, NULL);
        CHECK_EQ_U(chair_recline(f.chair, "flat"), 0);
        dispatch();
        feed(BACKREST_POSITION, 0.4);
        feed(LEGREST_POSITION, 0.5);
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat");
        chair_hold(f.chair); /* a pause, or Stop without a program */
        dispatch();
        CHECK(out(BACKREST_RUN) == 0.0 && out(LEGREST_RUN) == 0.0);
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "");

        CHECK_EQ_U(chair_recline(f.chair, "flat"), 0);
        dispatch();
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat");
        feed(BACKREST_POSITION, 1.0);
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat"); /* the legrest is still on its way */
        feed(LEGREST_POSITION, 1.0);
        CHECK(!chair_moving(f.chair));
        chair_hold(f.chair);
        dispatch();
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat"); /* nothing moved: still there */
        chair_safe(f.chair, 0);
        dispatch();
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "flat");

        CHECK_EQ_U(chair_recline(f.chair, "zero-gravity-1"), 0);
        dispatch();
        feed(BACKREST_POSITION, 0.8);
        chair_safe(f.chair, 0); /* a fault midway */
        dispatch();
        CHECK_STREQ(chair_recline_preset(f.chair) ?: "", "");
        teardown();
}

static void test_foot_speeds_are_spread_over_the_chairs_own(void)
{
        static const double on_three[] = {0, 1, 1, 2, 2, 3, 3};

        setup(1.0, NULL);
        CHECK_EQ_U(f.config->foot_speed_levels, 3); /* config/sim.yaml: the reference board's 0-3 */
        for (unsigned speed = 0; speed <= FOOT_SPEED_MAX; speed++) {
                chair_foot(f.chair, speed);
                dispatch();
                CHECK(out(FOOT) == on_three[speed]);
        }
        f.config->foot_speed_levels = 6; /* a chair with as many speeds as programs have: as they are */
        for (unsigned speed = 0; speed <= FOOT_SPEED_MAX; speed++) {
                chair_foot(f.chair, speed);
                dispatch();
                CHECK(out(FOOT) == speed);
        }
        f.config->foot_speed_levels = 1; /* one speed: on or off */
        chair_foot(f.chair, 1);
        dispatch();
        CHECK(out(FOOT) == 1.0);
        chair_foot(f.chair, 6);
        dispatch();
        CHECK(out(FOOT) == 1.0);
        teardown();
}

RUN_TESTS(T(test_a_scan_that_starts_where_the_roller_is_goes_on),
          T(test_a_stop_during_the_scan_ends_the_scan),
          T(test_an_adjustment_applies_at_once_and_holds_through_the_next_phase),
          T(test_an_adjustment_while_paused_waits_for_resume),
          T(test_setpoints_fire_exactly_on_their_deadlines),
          T(test_a_late_loop_does_not_make_the_program_drift),
          T(test_a_wakeup_after_several_deadlines_applies_them_all_in_order),
          T(test_time_scale_divides_every_deadline),
          T(test_pause_stops_the_clock_and_resume_reapplies_every_track),
          T(test_session_cap_counts_pauses_and_ends_with_timeout),
          T(test_start_refuses_while_running_and_beyond_the_cap),
          T(test_stop_winds_down_and_returns_upright),
          T(test_stop_after_a_program_that_stays_leaves_the_recline),
          T(test_intensity_moves_the_depth_at_once), T(test_a_persons_heat_level_holds_against_the_program),
          T(test_the_thermostat_keeps_the_level_with_hysteresis),
          T(test_a_limit_switch_stops_its_axis_only_toward_it),
          T(test_foot_speeds_are_spread_over_the_chairs_own),
          T(test_a_recline_right_after_jogs_is_not_stopped_by_the_jogs_timer),
          T(test_recline_names_a_preset_only_on_its_way_or_there))
