/* helpers.h: loading programs from strings and reading their diagnostics, for the unit tests. */
#pragma once

#include "program.h"
#include "tap.h"

/* All diagnostics as "line:col: severity: message" lines joined by '\n' (the file name left out). */
static inline char *diags_text(const struct diag_list *d)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);

        for (size_t i = 0; f && i < d->n; i++)
                fprintf(f, "%s%u:%u: %s: %s", i ? "\n" : "", d->items[i].line, d->items[i].column,
                        severity_to_string(d->items[i].severity), d->items[i].message);
        if (f)
                fclose(f);
        return buf;
}

/* Loads a program from text; returns the program loader's result and the diagnostics as text. */
static inline int load_program_text(const char *yaml, const struct chair_config *config,
                                    const struct pattern_library *lib, struct program **ret,
                                    char **ret_diags)
{
        struct diag_list d = {};
        int r = program_load("test.yaml", yaml, strlen(yaml), config, lib, &d, ret);

        diag_sort(&d);
        *ret_diags = diags_text(&d);
        diag_list_clear(&d);
        return r;
}

/* What every config needs besides its parts: a bus and the emergency-stop input. Tests append it, so that
 * the line numbers of what they check stay put. */
#define TEST_CONFIG_WIRING                                                                                  \
        "buses:\n  board: {type: modbus-tcp, host: 127.0.0.1}\ninputs:\n  emergency-stop: {discrete: 0}\n"

static inline struct chair_config *load_config_text(const char *yaml)
{
        struct chair_config *c = NULL;
        struct diag_list d = {};

        if (chair_config_load("chair.yaml", yaml, strlen(yaml), &d, &c) < 0) {
                diag_print(&d, stdout);
                c = NULL;
        }
        diag_list_clear(&d);
        return c;
}
