/* test-timeline.c: the compiler puts every setpoint at its exact time with its exact value. */
#include <errno.h>
#include <math.h>

#include "helpers.h"
#include "timeline.h"

static const char *const two_phases =
        "name: T\n"
        "duration: 2m\n"
        "phases:\n"
        "  - name: A\n"
        "    duration: 30s\n"
        "    recline: zero-gravity-1\n"
        "    heat: {lumbar: 2}\n"
        "    roller: {technique: swedish, area: [shoulders, lumbar], stroke: 10s, depth: 1}\n"
        "  - name: B\n"
        "    roller: {technique: kneading, area: lumbar, depth: 3, speed: 4}\n"
        "    airbags: {zones: [calves, feet], pattern: wave, intensity: 3, inflate: 2s, hold: 3s, vent: "
        "4s}\n";

/* The whole timeline as text, one setpoint a line. */
static char *dump(const struct timeline *t)
{
        char *buf = NULL, line[256];
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        for (size_t i = 0; i < t->n_points; i++)
                fprintf(f, "%s\n", setpoint_describe(&t->points[i], t->program, line, sizeof(line)));
        fclose(f);
        return buf;
}

static struct program *load(const char *yaml)
{
        struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        if (load_program_text(yaml, NULL, NULL, &p, &diags) < 0)
                printf("# %s\n", diags);
        return p;
}

/* Compiles a program given as text and returns its timeline as text; NULL (after a failed check) if it
 * does not load or compile. */
static char *compiled(const char *yaml)
{
        _cleanup_(program_freep) struct program *p = load(yaml);
        _cleanup_(timeline_freep) struct timeline *t = NULL;

        if (!p || timeline_compile(p, 0, NULL, &t) < 0) {
                CHECK(false);
                return NULL;
        }
        return dump(t);
}

static void test_compiles_exact_times_and_values(void)
{
        _cleanup_(program_freep) struct program *p = load(two_phases);
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        _cleanup_free_ char *text = NULL;

        if (!p || timeline_compile(p, 0, NULL, &t) < 0) {
                CHECK(false);
                return;
        }
        text = dump(t);
        /* Phase B lasts the remaining 90s; the wave cycle is 2 zones x 2s inflate + 3s hold + 4s vent =
         * 11s. */
        static const char head[] = "0.000s phase A\n"
                                   "0.000s recline zero-gravity-1\n"
                                   "0.000s heat lumbar 2\n"
                                   "0.000s roller swedish speed 3 depth 1 medium shoulders..lumbar@1.00\n"
                                   "10.000s roller swedish speed 3 depth 1 medium shoulders..lumbar@0.00\n"
                                   "20.000s roller swedish speed 3 depth 1 medium shoulders..lumbar@1.00\n"
                                   "30.000s phase B\n"
                                   "30.000s roller kneading speed 4 depth 3 medium lumbar..lumbar@0.00\n"
                                   "30.000s airbag calves inflate 3\n"
                                   "32.000s airbag calves hold 3\n"
                                   "32.000s airbag feet inflate 3\n"
                                   "34.000s airbag feet hold 3\n"
                                   "35.000s airbag calves vent\n"
                                   "37.000s airbag feet vent\n"
                                   "41.000s airbag calves inflate 3\n";
        CHECK(strncmp(text, head, strlen(head)) == 0);
        /* The last wave starts at 118s (30 + 8 x 11) and is cut by the end, where everything stops. */
        CHECK(strstr(text, "107.000s airbag calves inflate 3\n109.000s airbag calves hold 3\n"
                           "109.000s airbag feet inflate 3\n111.000s airbag feet hold 3\n"
                           "112.000s airbag calves vent\n114.000s airbag feet vent\n"
                           "118.000s airbag calves inflate 3\n"
                           "120.000s roller park\n120.000s airbag calves vent\n120.000s heat lumbar 0\n"
                           "120.000s recline upright\n") != NULL);
        CHECK_EQ_U(t->duration_usec, 120 * USEC_PER_SEC);
        CHECK_EQ_U(t->phase_start_usec[1], 30 * USEC_PER_SEC);
        if (tap_case_failed)
                printf("# timeline:\n%s", text);
}

static void test_shorter_run_scales_phases_and_keeps_pattern_tempo(void)
{
        _cleanup_(program_freep) struct program *p = load(two_phases);
        _cleanup_(timeline_freep) struct timeline *t = NULL;

        if (!p || timeline_compile(p, 1 * USEC_PER_MINUTE, NULL, &t) < 0) {
                CHECK(false);
                return;
        }
        /* 30s of 120s is a quarter: in a 60s run, phase B starts at 15s and the program ends at 60s. */
        CHECK_EQ_U(t->phase_start_usec[1], 15 * USEC_PER_SEC);
        CHECK_EQ_U(t->phase_start_usec[2], 60 * USEC_PER_SEC);
        /* The sweep keeps its 10s strokes: one at 0s and one at 10s fit into phase A's 15s. */
        CHECK(t->points[3].track == TRACK_ROLLER && t->points[3].at_usec == 0);
        CHECK(t->points[4].track == TRACK_ROLLER && t->points[4].at_usec == 10 * USEC_PER_SEC);
        CHECK(t->points[5].track == TRACK_PHASE && t->points[5].at_usec == 15 * USEC_PER_SEC);
        CHECK(t->points[t->n_points - 1].at_usec == 60 * USEC_PER_SEC);
}

static void test_scaling_rounds_on_boundaries_so_the_end_is_exact(void)
{
        _cleanup_(program_freep) struct program *p = load("name: T\nduration: 10m\nphases:\n"
                                                          "  - {name: a, duration: 1m}\n"
                                                          "  - {name: b, duration: 1m}\n"
                                                          "  - {name: c}\n");
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        usec_t d = 7 * USEC_PER_MINUTE + 1; /* does not divide evenly */

        if (!p || timeline_compile(p, d, NULL, &t) < 0) {
                CHECK(false);
                return;
        }
        CHECK_EQ_U(t->phase_start_usec[1], 42000000); /* d / 10 = 42000000.1, rounded down */
        CHECK_EQ_U(t->phase_start_usec[2], 84000000); /* d / 5 = 84000000.2 */
        CHECK_EQ_U(t->phase_start_usec[3], d);
        CHECK_EQ_U(timeline_compile(p, 59 * USEC_PER_SEC, NULL, &(struct timeline *){NULL}), -EINVAL);
}

static void test_muldiv_is_exact_where_the_product_overflows_64_bits(void)
{
        CHECK_EQ_U(muldiv_u64(7 * USEC_PER_MINUTE + 1, 60 * USEC_PER_SEC, 10 * USEC_PER_MINUTE), 42000000);
        /* Two hours by two hours, in microseconds: the product is about 5e19, above 2^64. */
        CHECK_EQ_U(muldiv_u64(7200000000, 7200000000, 7200000000), 7200000000);
        CHECK_EQ_U(muldiv_u64(UINT64_MAX, 3, 4), UINT64_C(13835058055282163711));
        CHECK_EQ_U(muldiv_u64(10000000000, 10000000000, 7), UINT64_C(14285714285714285714));
        CHECK_EQ_U(muldiv_u64(0, UINT64_MAX, 1), 0);
        CHECK_EQ_U(muldiv_u64(UINT64_MAX, 1, 1), UINT64_MAX);
}

static void test_a_periodic_timer_held_up_skips_the_periods_it_missed(void)
{
        const usec_t tick = 100 * USEC_PER_MSEC;

        /* On time, or late within the period: one period on, in step. */
        CHECK_EQ_U(next_period(1000 * tick, tick, 1000 * tick), 1001 * tick);
        CHECK_EQ_U(next_period(1000 * tick, tick, 1000 * tick + tick - 1), 1001 * tick);
        /* Held up for 2.5 periods: the next deadline in step that is still ahead, not three at once. */
        CHECK_EQ_U(next_period(1000 * tick, tick, 1002 * tick + tick / 2), 1003 * tick);
        /* Exactly on a later deadline: that one has passed, the next is ahead. */
        CHECK_EQ_U(next_period(1000 * tick, tick, 1003 * tick), 1004 * tick);
        /* A first deadline of 0 (at once) on a chair up for 30 days: one tick ahead, not 26 million. */
        const usec_t uptime = 30ULL * 24 * 3600 * USEC_PER_SEC + 12345;
        usec_t next = next_period(0, tick, uptime);
        CHECK(next > uptime && next <= uptime + tick);
        CHECK_EQ_U(next % tick, 0);
}

static void test_sleep_program_does_not_move_the_chair_at_its_end(void)
{
        _cleanup_(program_freep) struct program *stay = load("name: S\nduration: 1m\nat-end: stay\nphases:\n"
                                                             "  - {name: a, recline: flat}\n");
        _cleanup_(program_freep) struct program *upright = load("name: S\nduration: 1m\nphases:\n"
                                                                "  - {name: a, recline: flat}\n");
        _cleanup_(timeline_freep) struct timeline *t1 = NULL, *t2 = NULL;
        size_t recline_stay = 0, recline_upright = 0;

        if (!stay || !upright || timeline_compile(stay, 0, NULL, &t1) < 0 ||
            timeline_compile(upright, 0, NULL, &t2) < 0) {
                CHECK(false);
                return;
        }
        for (size_t i = 0; i < t1->n_points; i++)
                recline_stay += t1->points[i].track == TRACK_RECLINE;
        for (size_t i = 0; i < t2->n_points; i++)
                recline_upright += t2->points[i].track == TRACK_RECLINE;
        CHECK_EQ_U(recline_stay, 1);
        CHECK_EQ_U(recline_upright, 2);
        CHECK(t2->points[t2->n_points - 1].track == TRACK_RECLINE &&
              streq(t2->points[t2->n_points - 1].preset, "upright") &&
              t2->points[t2->n_points - 1].at_usec == USEC_PER_MINUTE);
}

static void test_airbag_patterns_alternate_pulse_hold(void)
{
        _cleanup_free_ char *text =
                compiled("name: A\nduration: 1m\nphases:\n"
                         "  - {name: alt, duration: 20s, airbags: {zones: [arms, hips, calves], pattern: "
                         "alternate, inflate: 2s, hold: 3s}}\n"
                         "  - {name: pulse, duration: 20s, airbags: {zones: [feet], pattern: pulse, "
                         "intensity: 5, inflate: 2s, hold: 3s, vent: 4s}}\n"
                         "  - {name: hold, airbags: {zones: [arms], pattern: hold, inflate: 4s}}\n");

        if (!text)
                return;
        /* alternate: arms and calves (even places) against hips (odd); a 10s period of 2 x (2s + 3s). */
        CHECK(strstr(text,
                     "0.000s phase alt\n0.000s airbag arms inflate 2\n0.000s airbag calves inflate 2\n"
                     "2.000s airbag arms hold 2\n2.000s airbag calves hold 2\n"
                     "5.000s airbag arms vent\n5.000s airbag hips inflate 2\n5.000s airbag calves vent\n"
                     "7.000s airbag hips hold 2\n"
                     "10.000s airbag hips vent\n10.000s airbag arms inflate 2\n10.000s airbag calves "
                     "inflate 2\n") != NULL);
        /* pulse: everything together, a 9s period; zones left inflated by the phase before vent as it begins
         * (arms and calves were already vented at 15s, so nothing is sent for them). */
        CHECK(strstr(text,
                     "17.000s airbag hips hold 2\n20.000s phase pulse\n20.000s airbag hips vent\n"
                     "20.000s airbag feet inflate 5\n22.000s airbag feet hold 5\n25.000s airbag feet vent\n"
                     "29.000s airbag feet inflate 5\n") != NULL);
        /* hold: inflate once, then hold to the phase's end. */
        CHECK(strstr(text, "40.000s phase hold\n40.000s airbag feet vent\n40.000s airbag arms inflate 2\n"
                           "44.000s airbag arms hold 2\n60.000s airbag arms vent\n") != NULL);
        if (tap_case_failed)
                printf("# timeline:\n%s", text);
}

static void test_pattern_steps_override_phase_settings_and_loop(void)
{
        _cleanup_free_ char *text = compiled(
                "name: P\nduration: 1m\npatterns:\n"
                "  two:\n    steps:\n"
                "      - {to: start, time: 20s}\n"
                "      - {to: neck, time: 15s, technique: shiatsu, depth: 1, speed: 2, width: narrow}\n"
                "phases:\n  - {name: a, roller: {technique: kneading+tapping, pattern: two, area: [0.2, "
                "0.8], depth: 3}}\n");

        CHECK_STREQ(text, "0.000s phase a\n"
                          "0.000s roller kneading+tapping speed 3 depth 3 medium 0.20..0.80@0.00\n"
                          "20.000s roller shiatsu speed 2 depth 1 narrow neck..neck@0.00\n"
                          "35.000s roller kneading+tapping speed 3 depth 3 medium 0.20..0.80@0.00\n"
                          "55.000s roller shiatsu speed 2 depth 1 narrow neck..neck@0.00\n"
                          "60.000s roller park\n");
}

static void test_tracks_the_chair_lacks_are_left_out(void)
{
        _cleanup_(program_freep) struct program *p =
                load("name: F\nduration: 1m\nphases:\n"
                     "  - {name: a, foot-rollers: {speed: 2}, heat: {calves: 1}}\n");
        _cleanup_(chair_config_freep) struct chair_config *c =
                load_config_text("heaters:\n  calves: {levels: [40, 45, 50], output: {coil: 15}, sensor: "
                                 "{input: 31}}\n" TEST_CONFIG_WIRING);
        _cleanup_(timeline_freep) struct timeline *with = NULL, *without = NULL;
        size_t foot = 0, heat = 0;

        if (!p || !c || timeline_compile(p, 0, NULL, &with) < 0 || timeline_compile(p, 0, c, &without) < 0) {
                CHECK(false);
                return;
        }
        for (size_t i = 0; i < without->n_points; i++) {
                foot += without->points[i].track == TRACK_FOOT;
                heat += without->points[i].track == TRACK_HEAT;
        }
        CHECK_EQ_U(foot, 0);
        CHECK_EQ_U(heat, 2); /* on, and off at the end */
        CHECK_EQ_U(with->n_points, without->n_points + 2);
}

/* The roller line of each roller setpoint of a program given as text, in order. */
static char *roller_lines(const char *yaml)
{
        _cleanup_free_ char *text = compiled(yaml);
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n"))
                if (strstr(line, " roller "))
                        fprintf(f, "%s\n", line);
        fclose(f);
        return buf;
}

static void test_a_sweep_first_travels_its_area(void)
{
        /* From the parked roller (top of the track): to the area's far end first, through the area. */
        _cleanup_free_ char *from_park = roller_lines("name: S\nduration: 1m\nphases:\n"
                                                      "  - {name: a, roller: {technique: swedish, area: "
                                                      "[shoulders, lumbar], stroke: 20s}}\n");
        CHECK_STREQ(from_park, "0.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@1.00\n"
                               "20.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@0.00\n"
                               "40.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@1.00\n"
                               "60.000s roller park\n");
        /* A sweep that follows one ending at the start of the same area, one stroke long: it travels to the
         * end, it does not stand at the start for its whole phase. And one that follows a sweep ending at
         * the end goes back to the start. */
        _cleanup_free_ char *after = roller_lines(
                "name: S\nduration: 1m\nphases:\n"
                "  - {name: a, duration: 20s, roller: {technique: swedish, area: [shoulders, lumbar], "
                "stroke: "
                "10s}}\n"
                "  - {name: b, duration: 10s, roller: {technique: rolling, area: [shoulders, lumbar], "
                "stroke: "
                "10s}}\n"
                "  - {name: c, roller: {technique: kneading, area: [shoulders, lumbar], stroke: 30s}}\n");
        CHECK_STREQ(after, "0.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@1.00\n"
                           "10.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@0.00\n"
                           "20.000s roller rolling speed 3 depth 2 medium shoulders..lumbar@1.00\n"
                           "30.000s roller kneading speed 3 depth 2 medium shoulders..lumbar@0.00\n"
                           "60.000s roller park\n");
        /* A roller below the area (held at the lumbar spot) starts up the area from its lower end. */
        _cleanup_free_ char *below = roller_lines(
                "name: S\nduration: 1m\nphases:\n"
                "  - {name: a, duration: 20s, roller: {technique: shiatsu, area: lumbar}}\n"
                "  - {name: b, roller: {technique: swedish, area: [neck, shoulders], stroke: 20s}}\n");
        CHECK_STREQ(below, "0.000s roller shiatsu speed 3 depth 2 medium lumbar..lumbar@0.00\n"
                           "20.000s roller swedish speed 3 depth 2 medium neck..shoulders@0.00\n"
                           "40.000s roller swedish speed 3 depth 2 medium neck..shoulders@1.00\n"
                           "60.000s roller park\n");
}

/* A step cut short by the end of its phase left the roller midway; the next sweep goes by where it is. And
 * after a body scan the roller starts at the shoulders, not at the top. */
static void test_a_sweep_judges_where_a_cut_step_or_the_scan_left_the_roller(void)
{
        /* 25s of 20s strokes: to lumbar, then a quarter of the way back to the shoulders. */
        _cleanup_free_ char *cut = roller_lines(
                "name: S\nduration: 1m\nphases:\n"
                "  - {name: a, duration: 25s, roller: {technique: swedish, area: [shoulders, lumbar], "
                "stroke: "
                "20s}}\n"
                "  - {name: b, roller: {technique: kneading, area: [shoulders, lumbar], stroke: 35s}}\n");
        CHECK_STREQ(cut, "0.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@1.00\n"
                         "20.000s roller swedish speed 3 depth 2 medium shoulders..lumbar@0.00\n"
                         "25.000s roller kneading speed 3 depth 2 medium shoulders..lumbar@0.00\n"
                         "60.000s roller park\n");

        static const char *const neck =
                "name: S\nduration: 1m\nphases:\n"
                "  - {name: a, roller: {technique: swedish, area: [neck, shoulders], stroke: 30s}}\n";
        _cleanup_(program_freep) struct program *p = load(neck);
        _cleanup_(chair_config_freep) struct chair_config *c = NULL;
        _cleanup_(timeline_freep) struct timeline *scanned = NULL;
        struct diag_list d = {};

        CHECK(chair_config_load_file(SOURCE_ROOT "/config/sim.yaml", &d, &c) == 0);
        diag_list_clear(&d);
        CHECK(p && c && timeline_compile(p, 0, c, &scanned) == 0);
        if (!scanned)
                return;
        /* Found at the shoulders: to the neck first. (Parked at the top, without a scan: to the
         * shoulders.) */
        for (size_t i = 0; i < scanned->n_points; i++)
                if (scanned->points[i].track == TRACK_ROLLER) {
                        CHECK(scanned->points[i].roller.target.fraction == 0.0);
                        break;
                }
        _cleanup_free_ char *parked = roller_lines(neck);
        CHECK(parked &&
              strstr(parked, "0.000s roller swedish speed 3 depth 2 medium neck..shoulders@1.00\n"));
}

static void test_body_points_resolve_against_the_scanned_shoulders(void)
{
        const struct roller_geometry *g = &roller_geometry_default;
        struct body_point b = {
                .from = {.kind = POSITION_LANDMARK, .landmark = LANDMARK_SHOULDERS},
                .to = {.kind = POSITION_LANDMARK, .landmark = LANDMARK_LUMBAR},
                .fraction = 0.5,
        };
        /* Shoulders at 150mm, lumbar 380mm below them: halfway is 340mm of the 1150mm track. */
        CHECK(fabs(body_point_resolve(&b, g, 150.0) - 340.0 / 1150.0) < 1e-9);
        /* A taller person: shoulders found 100mm lower, so everything moves with them. */
        CHECK(fabs(body_point_resolve(&b, g, 250.0) - 440.0 / 1150.0) < 1e-9);
        /* Positions clamp to the track. */
        b.from.landmark = b.to.landmark = LANDMARK_NECK;
        CHECK(body_point_resolve(&b, g, 20.0) == 0.0);
}

RUN_TESTS(T(test_compiles_exact_times_and_values), T(test_shorter_run_scales_phases_and_keeps_pattern_tempo),
          T(test_scaling_rounds_on_boundaries_so_the_end_is_exact),
          T(test_muldiv_is_exact_where_the_product_overflows_64_bits),
          T(test_a_periodic_timer_held_up_skips_the_periods_it_missed),
          T(test_sleep_program_does_not_move_the_chair_at_its_end),
          T(test_airbag_patterns_alternate_pulse_hold),
          T(test_pattern_steps_override_phase_settings_and_loop),
          T(test_tracks_the_chair_lacks_are_left_out), T(test_a_sweep_first_travels_its_area),
          T(test_a_sweep_judges_where_a_cut_step_or_the_scan_left_the_roller),
          T(test_body_points_resolve_against_the_scanned_shoulders))
