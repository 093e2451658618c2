/* diag.h: diagnostics (errors and warnings at file:line:col) collected while checking a file. */
#pragma once

#include <stdio.h>

#include "util.h"

enum severity {
        SEVERITY_ERROR,
        SEVERITY_WARNING,
        _SEVERITY_MAX,
};

const char *severity_to_string(enum severity s);

struct diag {
        char *file;    /* owned */
        unsigned line; /* 1-based; 0 when the message is about the whole file */
        unsigned column;
        enum severity severity;
        char *message; /* owned, without the "file:line:col: error: " prefix */
        size_t seq;    /* insertion order, to keep it among diagnostics at one position */
};

struct diag_list {
        struct diag *items;
        size_t n, cap;
        size_t n_errors, n_warnings;
        bool oom; /* a diagnostic could not be stored: the list is incomplete */
};

/* Adds a diagnostic. Never fails visibly: out of memory marks the list incomplete. */
void diag_add(struct diag_list *l, enum severity severity, const char *file, unsigned line, unsigned column,
              const char *fmt, ...) _printf_(6, 7);

/* Orders the diagnostics by file, line and column, keeping the order of equal positions. */
void diag_sort(struct diag_list *l);

/* Prints each as "file:line:col: severity: message", one a line. */
void diag_print(const struct diag_list *l, FILE *f);

/* Formats one diagnostic as printed by diag_print(), newly allocated; NULL on OOM. */
char *diag_format(const struct diag *d);

void diag_list_clear(struct diag_list *l);
