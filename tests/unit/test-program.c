/* test-program.c: programs parse into the model the docs describe, and checks across phases hold. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers.h"

static void test_defaults_fill_what_a_program_leaves_out(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        CHECK_EQ_U(load_program_text(
                           "name: Minimal\nphases:\n  - name: only\n    roller: {technique: kneading}\n",
                           NULL, NULL, &p, &diags),
                   0);
        CHECK_STREQ(diags, "");
        if (!p)
                return;
        CHECK_STREQ(p->id, "test"); /* the file's base name */
        CHECK_STREQ(p->description, "");
        CHECK_EQ_U(p->duration_usec, 15 * USEC_PER_MINUTE);
        CHECK(p->at_end == AT_END_UPRIGHT);
        CHECK_EQ_U(p->phases[0].length_usec, 15 * USEC_PER_MINUTE);
        CHECK_EQ_U(p->phases[0].roller.speed, ROLLER_SPEED_DEFAULT);
        CHECK_EQ_U(p->phases[0].roller.depth, ROLLER_DEPTH_DEFAULT);
        CHECK(p->phases[0].roller.width == WIDTH_MEDIUM);
        /* The default area is the back, neck to lumbar, swept by the built-in stroke. */
        CHECK(p->phases[0].roller.from.landmark == LANDMARK_NECK &&
              p->phases[0].roller.to.landmark == LANDMARK_LUMBAR);
        CHECK_EQ_U(p->phases[0].roller.pattern, SIZE_MAX);
        CHECK(!p->uses_recline);
}

static void test_phases_without_duration_share_the_rest_exactly(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        /* 10m - 1m = 9m for three phases without a duration... with 1us left over, it goes to the last
         * one. */
        CHECK_EQ_U(load_program_text(
                           "name: X\nduration: 10m\nphases:\n"
                           "  - {name: a}\n  - {name: b, duration: 1m}\n  - {name: c}\n  - {name: d}\n",
                           NULL, NULL, &p, &diags),
                   0);
        if (!p)
                return;
        CHECK_EQ_U(p->phases[0].start_usec, 0);
        CHECK_EQ_U(p->phases[0].length_usec, 3 * USEC_PER_MINUTE);
        CHECK_EQ_U(p->phases[1].start_usec, 3 * USEC_PER_MINUTE);
        CHECK_EQ_U(p->phases[2].start_usec, 4 * USEC_PER_MINUTE);
        CHECK_EQ_U(p->phases[3].start_usec, 7 * USEC_PER_MINUTE);
        CHECK_EQ_U(p->phases[3].start_usec + p->phases[3].length_usec, 10 * USEC_PER_MINUTE);
}

static void test_uneven_share_gives_the_remainder_to_the_last_flexible_phase(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        CHECK_EQ_U(load_program_text(
                           "name: X\nduration: 1m1s\nphases:\n  - {name: a}\n  - {name: b}\n  - {name: c}\n",
                           NULL, NULL, &p, &diags),
                   0);
        if (!p)
                return;
        CHECK_EQ_U(p->phases[0].length_usec, 61 * USEC_PER_SEC / 3);
        CHECK_EQ_U(p->phases[2].length_usec, 61 * USEC_PER_SEC - 2 * (61 * USEC_PER_SEC / 3));
}

static void test_all_errors_of_a_file_are_reported_in_one_run(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        CHECK_EQ_U(load_program_text("name: X\nduraton: 5m\nphases:\n"
                                     "  - name: a\n    roller: {technique: kneading, speed: 9}\n"
                                     "    heat: {lumbar: 7}\n"
                                     "  - name: b\n    airbags: {zones: [calfs]}\n",
                                     NULL, NULL, &p, &diags),
                   -EINVAL);
        CHECK(p == NULL);
        CHECK_STREQ(diags, "2:1: error: unknown key 'duraton' in a program; did you mean 'duration'?\n"
                           "5:42: error: speed 9 is out of range (1 to 6)\n"
                           "6:20: error: heat level 7 is out of range (0 to 3)\n"
                           "8:23: error: unknown airbag zone 'calfs'; did you mean 'calves'?");
}

static void test_local_pattern_hides_library_pattern_and_library_is_copied(void)
{
        _cleanup_(program_freep) struct program *p = NULL, *q = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;
        char dir[] = "/tmp/chaird-test-XXXXXX", path[64];
        struct pattern_library lib = {};
        struct diag_list d = {};
        FILE *f;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/lib.yaml", dir);
        f = fopen(path, "w");
        fputs("patterns:\n  wave:\n    steps:\n      - {to: end, time: 4s}\n", f);
        fclose(f);
        CHECK_EQ_U(pattern_library_load_dir(&lib, dir, &d), 0);
        CHECK_EQ_U(lib.n, 1);

        CHECK_EQ_U(load_program_text("name: X\nduration: 1m\npatterns:\n  wave:\n    steps:\n      - {to: "
                                     "start, time: 7s}\n"
                                     "phases:\n  - {name: a, roller: {technique: rolling, pattern: wave}}\n",
                                     NULL, &lib, &p, &d1),
                   0);
        CHECK_EQ_U(load_program_text("name: X\nduration: 1m\nphases:\n  - {name: a, roller: {technique: "
                                     "rolling, pattern: wave}}\n",
                                     NULL, &lib, &q, &d2),
                   0);
        /* Free the library: the program keeps its own copy. */
        pattern_library_clear(&lib);
        diag_list_clear(&d);
        unlink(path);
        rmdir(dir);
        if (!p || !q)
                return;
        CHECK_EQ_U(p->patterns[p->phases[0].roller.pattern].steps[0].time_usec, 7 * USEC_PER_SEC);
        CHECK_EQ_U(q->patterns[q->phases[0].roller.pattern].steps[0].time_usec, 4 * USEC_PER_SEC);
        CHECK_STREQ(q->patterns[q->phases[0].roller.pattern].file, path);
}

static void test_library_directories_stack_by_priority(void)
{
        char hi[] = "/tmp/chaird-hi-XXXXXX", lo[] = "/tmp/chaird-lo-XXXXXX", p1[64], p2[64], p3[64];
        struct pattern_library lib = {};
        struct diag_list d = {};
        _cleanup_free_ char *text = NULL;
        FILE *f;

        CHECK(mkdtemp(hi) && mkdtemp(lo));
        snprintf(p1, sizeof(p1), "%s/a.yaml", hi);
        snprintf(p2, sizeof(p2), "%s/a.yaml", lo);
        snprintf(p3, sizeof(p3), "%s/b.yaml", lo);
        f = fopen(p1, "w");
        fputs("patterns:\n  x:\n    steps: [{to: end, time: 3s}]\n", f);
        fclose(f);
        f = fopen(p2, "w");
        fputs("patterns:\n  x:\n    steps: [{to: end, time: 9s}]\n  y:\n    steps: [{to: end, time: 9s}]\n",
              f);
        fclose(f);
        f = fopen(p3, "w");
        fputs("patterns:\n  y:\n    steps: [{to: start, time: 2s}]\n", f);
        fclose(f);
        CHECK_EQ_U(pattern_library_load_dir(&lib, hi, &d), 0);
        /* lo's x is hidden by hi's; lo defines y twice, which is an error pointing at the first. */
        CHECK_EQ_U(pattern_library_load_dir(&lib, lo, &d), -EINVAL);
        text = diags_text(&d);
        {
                char want[256];
                /* b.yaml repeats y (its line 2), which a.yaml of the same folder defined on its line 4. */
                snprintf(want, sizeof(want), "2:3: error: pattern 'y' is already defined in %s:4:3", p2);
                CHECK_STREQ(text, want);
                CHECK_STREQ(d.items[0].file, p3);
        }
        CHECK_EQ_U(lib.n, 2);
        CHECK_EQ_U(pattern_library_find(&lib, "x")->steps[0].time_usec, 3 * USEC_PER_SEC);
        CHECK_EQ_U(pattern_library_find(&lib, "y")->steps[0].time_usec, 9 * USEC_PER_SEC);
        CHECK_EQ_U(pattern_library_load_dir(&lib, "/nonexistent-chaird", &d), -ENOENT);
        pattern_library_clear(&lib);
        diag_list_clear(&d);
        unlink(p1), unlink(p2), unlink(p3), rmdir(hi), rmdir(lo);
}

static const char *const small_chair =
        "recline:\n  axes: {backrest: {target: {holding: 10}, run: {coil: 0}, position: {input: 10}}}\n"
        "  presets:\n    upright: {backrest: 0.0}\n    relax: {backrest: 0.5}\n"
        "roller:\n  track-length: 700mm\n  techniques: [kneading, shiatsu, swedish, rolling]\n  "
        "depth-levels: 3\n"
        "  travel: {target: {holding: 12}, run: {coil: 2}, position: {input: 12}}\n  kneading: {holding: "
        "13}\n  depth: {holding: 16}\n"
        "airbags:\n  pump: {coil: 3}\n  zones: {arms: {inflate: {coil: 5}, hold: {coil: 10}}}\n"
        "safety:\n  session-cap: 20m\n" TEST_CONFIG_WIRING;

/* Programs and patterns are found as *.yaml and *.yml alike (what validates, loads); nothing else, nothing
 * hidden. */
static void test_yaml_and_yml_files_are_both_found(void)
{
        static const char *const names[] = {"b.yml", "a.yaml", "c.txt", ".d.yaml", "yml"};
        char dir[] = "/tmp/test-program.XXXXXX", path[64];
        _cleanup_(strv_freep) char **files = NULL;

        CHECK(mkdtemp(dir) != NULL);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                fclose(fopen(path, "w"));
        }
        CHECK_EQ_U(list_yaml_files(dir, &files), 0);
        CHECK(files && files[0] && strstr(files[0], "/a.yaml") && files[1] && strstr(files[1], "/b.yml") &&
              !files[2]);
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
                unlink(path);
        }
        rmdir(dir);
}

/* A program shorter than the shortest session says how short it may be, not a range with no top. */
static void test_a_too_short_duration_says_the_minimum(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        CHECK_EQ_U(load_program_text("name: X\nduration: 30s\nphases:\n  - name: a\n"
                                     "    roller: {technique: kneading, area: back}\n",
                                     NULL, NULL, &p, &diags),
                   -EINVAL);
        CHECK_STREQ(diags, "2:11: error: duration 30s is too short: it must be at least 1m");
}

/* A heat or airbag zone of the standard vocabulary that this chair lacks is a warning and is skipped (a
 * phase left with no airbag zone skips the track), so stock programs run on smaller chairs; a name that is
 * no zone at all stays an error. */
static void test_a_zone_the_chair_lacks_is_skipped_a_typo_is_not(void)
{
        _cleanup_free_ char *text = NULL, *diags = NULL, *bad_diags = NULL;
        _cleanup_(program_freep) struct program *p = NULL, *bad = NULL;

        CHECK(asprintf(&text,
                       "%sheaters:\n  lumbar: {levels: [42, 48, 54], output: {coil: 14}, sensor: "
                       "{input: 30}}\n",
                       small_chair) > 0);
        _cleanup_(chair_config_freep) struct chair_config *c = load_config_text(text);
        CHECK(c != NULL);
        CHECK_EQ_U(load_program_text("name: X\nphases:\n  - name: a\n    heat: {lumbar: 1, calves: 2}\n"
                                     "    airbags: {zones: [arms, feet]}\n"
                                     "  - name: b\n    airbags: {zones: [feet, calves]}\n"
                                     "    heat: {calves: 1}\n",
                                     c, NULL, &p, &diags),
                   0);
        CHECK(strstr(diags, "4:23: warning: this chair has no heat zone 'calves'; it is skipped"));
        CHECK(strstr(diags, "5:29: warning: this chair has no airbag zone 'feet'; it is skipped"));
        CHECK(strstr(diags, "7:14: warning: this chair has none of these airbag zones; the airbags track is "
                            "skipped in this phase"));
        if (p) {
                CHECK(p->phases[0].n_heat == 1 && streq(p->phases[0].heat[0].zone, "lumbar"));
                CHECK(strv_length(p->phases[0].airbags.zones) == 1 &&
                      streq(p->phases[0].airbags.zones[0], "arms"));
                CHECK(p->phases[1].airbags.off && !p->phases[1].airbags.zones);
                CHECK(!p->phases[1].heat_set); /* the lumbar heat of phase a goes on */
        }
        CHECK_EQ_U(load_program_text("name: X\nphases:\n  - name: a\n    heat: {lumbr: 1}\n"
                                     "    airbags: {zones: [elbows]}\n",
                                     c, NULL, &bad, &bad_diags),
                   -EINVAL);
        CHECK(strstr(bad_diags, "4:12: error: unknown heat zone 'lumbr'"));
        CHECK(strstr(bad_diags, "5:23: error: unknown airbag zone 'elbows'"));
}

static void test_checks_against_what_the_chair_can_do(void)
{
        _cleanup_(chair_config_freep) struct chair_config *c = load_config_text(small_chair);
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        CHECK(c != NULL);
        CHECK_EQ_U(load_program_text("name: X\nduration: 25m\nphases:\n"
                                     "  - name: a\n    recline: zero-gravity-1\n"
                                     "    roller: {technique: tapping, depth: 4, area: [hips, thighs]}\n"
                                     "    foot-rollers: {speed: 2}\n    heat: {lumbar: 1}\n",
                                     c, NULL, &p, &diags),
                   -EINVAL);
        CHECK_STREQ(diags,
                    "2:11: error: duration 25m is longer than this chair's session cap of 20m\n"
                    "5:14: error: unknown recline preset 'zero-gravity-1' (expected upright or relax)\n"
                    "6:25: error: this chair's roller cannot do tapping\n"
                    "6:41: error: depth 4 is deeper than this chair's roller goes (depth 1 to 3)\n"
                    "7:19: warning: this chair has no foot rollers; the foot-rollers track is skipped\n"
                    "8:11: warning: this chair has no heaters; the heat track is skipped");
}

static void test_landmarks_must_be_on_the_chairs_track(void)
{
        _cleanup_(chair_config_freep) struct chair_config *c = load_config_text(small_chair);
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *diags = NULL;

        /* 700mm S-track, shoulders at 150mm: hips are at 670mm, thighs at 830mm. */
        CHECK_EQ_U(load_program_text("name: X\nduration: 5m\nphases:\n"
                                     "  - {name: a, roller: {technique: kneading, area: [hips, thighs]}}\n",
                                     c, NULL, &p, &diags),
                   -EINVAL);
        CHECK_STREQ(diags, "4:58: error: landmark 'thighs' is beyond the end of this chair's roller track "
                           "(830mm from its top for usual shoulders; the track is 700mm)");
}

static void test_deep_work_before_warm_up_warns_where_the_depth_is_written(void)
{
        _cleanup_(program_freep) struct program *p = NULL, *q = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL;

        CHECK_EQ_U(load_program_text("name: X\nduration: 5m\nphases:\n"
                                     "  - {name: warm, duration: 30s, heat: {lumbar: 2}}\n"
                                     "  - {name: deep, roller: {technique: kneading, depth: 4}}\n",
                                     NULL, NULL, &p, &d1),
                   0);
        CHECK_STREQ(d1, "5:55: warning: deep work (depth 4) before any warm-up: begin with at least 1m of "
                        "heat or gentle swedish or rolling strokes (depth 1-2)");
        /* A minute of gentle swedish strokes is a warm-up, even without heat. */
        CHECK_EQ_U(
                load_program_text("name: X\nduration: 5m\nphases:\n"
                                  "  - {name: warm, duration: 1m, roller: {technique: swedish, depth: 2}}\n"
                                  "  - {name: deep, roller: {technique: kneading, depth: 5}}\n",
                                  NULL, NULL, &q, &d2),
                0);
        CHECK_STREQ(d2, "");
}

/* Each bad name of a list is reported, not only the first; a word for a part of the back is answered with
 * the landmark it means, not the closest spelling. */
static void test_every_bad_name_is_reported_and_the_landmark_meant_offered(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *d = NULL;

        CHECK_EQ_U(
                load_program_text("name: X\nduration: 5m\nphases:\n"
                                  "  - {name: a, roller: {technique: [kneadng, tapng], area: [lower-back, "
                                  "hipz]}}\n"
                                  "  - {name: b, roller: {technique: kneadng+clapng, area: glutes}}\n",
                                  NULL, NULL, &p, &d),
                -EINVAL);
        CHECK_STREQ(d, "4:36: error: unknown technique 'kneadng'; did you mean 'kneading'?\n"
                       "4:45: error: unknown technique 'tapng'; did you mean 'tapping'?\n"
                       "4:60: error: unknown landmark 'lower-back' in area; did you mean 'lumbar'?\n"
                       "4:72: error: unknown landmark 'hipz' in area; did you mean 'hips'?\n"
                       "5:35: error: unknown technique 'kneadng'; did you mean 'kneading'?\n"
                       "5:35: error: unknown technique 'clapng'; did you mean 'clapping'?\n"
                       "5:57: error: unknown landmark 'glutes' in area; did you mean 'hips'?");
}

static void test_an_empty_phases_says_what_goes_under_it(void)
{
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_free_ char *d = NULL;

        CHECK_EQ_U(load_program_text("name: X\nduration: 5m\nphases:\n", NULL, NULL, &p, &d), -EINVAL);
        CHECK_STREQ(d, "3:8: error: phases is empty: write its items under it, indented, each on a line "
                       "starting with '- '");
}

static void test_silent_acceptance_ends_with_a_warning(void)
{
        _cleanup_(program_freep) struct program *p = NULL, *q = NULL, *r = NULL;
        _cleanup_(chair_config_freep) struct chair_config *c = NULL;
        _cleanup_free_ char *d1 = NULL, *d2 = NULL, *d3 = NULL;
        struct diag_list d = {};
        static const char *const fast =
                "name: X\nduration: 2m\nphases:\n"
                "  - {name: a, duration: 10s, recline: zero-gravity-1}\n"
                "  - {name: b, duration: 20s, recline: flat, roller: {technique: swedish, "
                "area: [shoulders, lumbar], stroke: 20s}}\n"
                "  - {name: c, recline: zero-gravity-2}\n";

        CHECK_EQ_U(chair_config_load_file(SOURCE_ROOT "/config/sim.yaml", &d, &c), 0);
        diag_list_clear(&d);
        /* The virtual chair's legrest (a board axis: 20s end to end) needs 11s from upright to
         * zero-gravity-1 (0.55); flat 10s later turns it before it gets there. A sweep no longer than its
         * stroke never sweeps back. */
        CHECK_EQ_U(load_program_text(fast, c, NULL, &p, &d1), 0);
        CHECK_STREQ(d1,
                    "5:39: warning: recline 'flat' comes 10s after 'zero-gravity-1', which the axes need "
                    "about 11s to reach (the legrest is the slowest): the chair turns before it gets there\n"
                    "5:53: warning: phase 'b' lasts 20s, no longer than one stroke (20s): the roller goes "
                    "across the area once and does not sweep back; make the stroke shorter or the phase "
                    "longer");
        /* Time enough for the recline, and two strokes: nothing to say. */
        CHECK_EQ_U(
                load_program_text("name: X\nduration: 2m\nphases:\n"
                                  "  - {name: a, duration: 11s, recline: zero-gravity-1}\n"
                                  "  - {name: b, duration: 40s, recline: flat, roller: {technique: swedish, "
                                  "area: [shoulders, lumbar], stroke: 20s}}\n"
                                  "  - {name: c, recline: zero-gravity-2}\n",
                                  c, NULL, &q, &d2),
                0);
        CHECK_STREQ(d2, "");
        /* Without a chair its presets and axes are unknown: only the sweep is judged. */
        CHECK_EQ_U(load_program_text(fast, NULL, NULL, &r, &d3), 0);
        CHECK(d3 && !strstr(d3, "recline") && strstr(d3, "no longer than one stroke"));
}

#define AXIS(n) "{target: {holding: " #n "}, run: {coil: " #n "}, position: {input: " #n "}}"
static void test_config_errors_point_at_their_nodes(void)
{
        struct chair_config *c = NULL;
        struct diag_list d = {};
        _cleanup_free_ char *text = NULL;
        const char *yaml = "recline:\n  axes: {backrest: " AXIS(10) ", legrest: " AXIS(
                11) "}\n"
                    "  presets:\n    upright: {backrest: 0.0}\n"
                    "heaters:\n  lumbar: {levels: [45, 44, 57], output: {coil: 14}, sensor: {input: 30}}\n"
                    "roller:\n  track-length: 1200\n  travel: {target: {holding: 12}, run: {coil: 2}, "
                    "position: {input: 12}}\n"
                    "safety:\n  sesion-cap: 10m\n" TEST_CONFIG_WIRING;

        CHECK_EQ_U(chair_config_load("chair.yaml", yaml, strlen(yaml), &d, &c), -EINVAL);
        diag_sort(&d);
        text = diags_text(&d);
        CHECK_STREQ(
                text,
                "4:14: error: preset 'upright' does not say where the legrest goes\n"
                "6:25: error: each level must be warmer than the one before\n"
                "8:17: error: track-length must be a length with a unit, e.g. 120mm or 12cm, not '1200'\n"
                "11:3: error: unknown key 'sesion-cap' in safety; did you mean 'session-cap'?");
        CHECK(c == NULL);
        diag_list_clear(&d);
}

static void test_stock_config_for_the_virtual_chair_loads(void)
{
        struct chair_config *c = NULL;
        struct diag_list d = {};

        CHECK_EQ_U(chair_config_load_file(SOURCE_ROOT "/config/sim.yaml", &d, &c), 0);
        diag_print(&d, stdout);
        CHECK_EQ_U(d.n, 0);
        if (c) {
                CHECK_EQ_U(c->n_presets, 4);
                CHECK(c->has_roller && c->has_foot_rollers && c->axis[AXIS_BACKREST] &&
                      c->axis[AXIS_LEGREST]);
                CHECK_EQ_U(strv_length(c->airbag_zones), 5);
                CHECK_EQ_U(c->n_heaters, 2);
                CHECK_EQ_U(c->safety.session_cap_usec, 30 * USEC_PER_MINUTE);
        }
        chair_config_free(c);
        diag_list_clear(&d);
}

RUN_TESTS(T(test_a_zone_the_chair_lacks_is_skipped_a_typo_is_not), T(test_yaml_and_yml_files_are_both_found),
          T(test_a_too_short_duration_says_the_minimum), T(test_defaults_fill_what_a_program_leaves_out),
          T(test_phases_without_duration_share_the_rest_exactly),
          T(test_uneven_share_gives_the_remainder_to_the_last_flexible_phase),
          T(test_all_errors_of_a_file_are_reported_in_one_run),
          T(test_local_pattern_hides_library_pattern_and_library_is_copied),
          T(test_library_directories_stack_by_priority), T(test_checks_against_what_the_chair_can_do),
          T(test_landmarks_must_be_on_the_chairs_track),
          T(test_deep_work_before_warm_up_warns_where_the_depth_is_written),
          T(test_silent_acceptance_ends_with_a_warning), T(test_an_empty_phases_says_what_goes_under_it),
          T(test_every_bad_name_is_reported_and_the_landmark_meant_offered),
          T(test_config_errors_point_at_their_nodes), T(test_stock_config_for_the_virtual_chair_loads))
