/* fuzz-program.c: libFuzzer harness for the program and config parsers and the timeline compiler. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "program.h"
#include "timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct diag_list diags = {};
        struct program *p = NULL;
        struct chair_config *c = NULL;
        struct timeline *t = NULL;

        /* The same bytes as a program and as a config: both parsers face whatever an installer writes. */
        if (program_load("fuzz.yaml", data, size, NULL, NULL, &diags, &p) == 0) {
                /* A valid program must compile, at its own length and at the shortest allowed. */
                if (timeline_compile(p, 0, NULL, &t) < 0)
                        __builtin_trap();
                timeline_free(t);
                t = NULL;
                if (timeline_compile(p, PROGRAM_DURATION_MIN_USEC, NULL, &t) < 0)
                        __builtin_trap();
                timeline_free(t);
        }
        if (chair_config_load("fuzz-config.yaml", data, size, &diags, &c) == 0)
                chair_config_free(c);
        program_free(p);
        diag_list_clear(&diags);
        return 0;
}
