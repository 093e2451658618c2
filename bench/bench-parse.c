/* bench-parse: parse + validate N generated programs of K phases; reports the time per program against a
 * floor measured in the same run (libyaml's bare event scan of the same bytes), and how it scales with the
 * number of programs and with their size. Not a test: it prints figures, it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <yaml.h>

#include "program.h"

/* Phase bodies, used in turn. */
static const char *const phase_kinds[] = {
        "    heat: {lumbar: 2}\n"
        "    roller: {technique: swedish, pattern: glide, area: back, speed: 3, depth: 2, width: wide}\n",
        "    roller: {technique: kneading, pattern: knead-walk, area: [shoulders, mid-back], depth: 3}\n"
        "    airbags: {zones: [calves, feet], pattern: wave, intensity: 2}\n",
        "    recline: zero-gravity-1\n"
        "    roller: {technique: shiatsu, pattern: press-hold, area: [lumbar, hips], depth: 3}\n",
        "    roller: {technique: kneading+tapping, area: lumbar, speed: 4}\n"
        "    airbags: {zones: [shoulders, arms], pattern: pulse, intensity: 3, hold: 5s}\n    foot-rollers: "
        "{speed: 2}\n",
};

static char *make_program(int phases)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        fprintf(f, "name: Generated\ndescription: A generated program for the benchmark.\nduration: "
                   "30m\nphases:\n");
        for (int i = 0; i < phases; i++)
                fprintf(f, "  - name: phase %d\n%s", i, phase_kinds[i % ELEMENTSOF(phase_kinds)]);
        fclose(f);
        return buf;
}

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The floor: libyaml reading every event of the text, nothing kept. */
static void scan_events(const char *text)
{
        yaml_parser_t parser;
        yaml_event_t ev;
        bool done = false;

        yaml_parser_initialize(&parser);
        yaml_parser_set_input_string(&parser, (const unsigned char *) text, strlen(text));
        while (!done && yaml_parser_parse(&parser, &ev)) {
                done = ev.type == YAML_STREAM_END_EVENT;
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&parser);
}

static void parse_validate(const char *text, const struct pattern_library *lib)
{
        struct diag_list d = {};
        struct program *p = NULL;

        if (program_load("bench.yaml", text, strlen(text), NULL, lib, &d, &p) < 0) {
                diag_print(&d, stderr);
                exit(1);
        }
        program_free(p);
        diag_list_clear(&d);
}

/* Best of several rounds, in seconds, for n programs. */
static double measure(int n, const char *text, const struct pattern_library *lib, bool floor)
{
        double best = 1e9;

        for (int round = 0; round < 5; round++) {
                double t0 = now();
                for (int i = 0; i < n; i++) {
                        if (floor)
                                scan_events(text);
                        else
                                parse_validate(text, lib);
                }
                double t = now() - t0;
                if (t < best)
                        best = t;
        }
        return best;
}

int main(int argc, char *argv[])
{
        struct pattern_library lib = {};
        struct diag_list d = {};
        static const int counts[] = {250, 500, 1000};
        static const int sizes[] = {4, 8, 16, 32};
        const char *patterns = argc > 1 ? argv[1] : "programs/patterns";
        double base_per_program = 0, base_per_phase = 0;

        if (pattern_library_load_dir(&lib, patterns, &d) < 0) {
                diag_print(&d, stderr);
                fprintf(stderr, "bench-parse: cannot load patterns from %s\n", patterns);
                return 1;
        }

        printf("Growth with the number of programs (8 phases each):\n");
        printf("%8s %14s %14s %10s %12s\n", "programs", "us/program", "floor us/prog", "x floor",
               "vs first");
        for (size_t i = 0; i < ELEMENTSOF(counts); i++) {
                _cleanup_free_ char *text = make_program(8);
                double t = measure(counts[i], text, &lib, false) / counts[i] * 1e6;
                double fl = measure(counts[i], text, &lib, true) / counts[i] * 1e6;
                if (i == 0)
                        base_per_program = t;
                printf("%8d %14.1f %14.1f %10.2f %12.2f\n", counts[i], t, fl, t / fl, t / base_per_program);
        }

        printf("\nGrowth with the size of programs (1000 programs):\n");
        printf("%8s %10s %14s %14s %10s %12s\n", "phases", "bytes", "us/program", "us/phase", "x floor",
               "vs first");
        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                _cleanup_free_ char *text = make_program(sizes[i]);
                double t = measure(1000, text, &lib, false) / 1000 * 1e6;
                double fl = measure(1000, text, &lib, true) / 1000 * 1e6;
                double per_phase = t / sizes[i];
                if (i == 0)
                        base_per_phase = per_phase;
                printf("%8d %10zu %14.1f %14.2f %10.2f %12.2f\n", sizes[i], strlen(text), t, per_phase,
                       t / fl, per_phase / base_per_phase);
        }
        printf("\n'x floor' is parse + validate against libyaml's bare event scan of the same text, in the "
               "same run.\n"
               "'vs first' near 1.0 down a column means linear growth (per program, or per phase).\n");
        pattern_library_clear(&lib);
        diag_list_clear(&d);
        return 0;
}
