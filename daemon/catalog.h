/* catalog.h: the programs the daemon offers: every *.yaml of its program directories, checked against the
 * chair, an installer's program overriding a stock one with the same id. */
#pragma once

#include "config.h"
#include "program.h"

/* One program of the catalog. Counted: a running program keeps its entry alive across a reload. */
struct catalog_entry {
        unsigned n_ref;
        struct program *program;
        char *path;
};

/* An entry of no catalog (manual mode's program), holding p (taken, freed on failure too). */
int catalog_entry_new(struct program *p, const char *path, struct catalog_entry **ret);
struct catalog_entry *catalog_entry_ref(struct catalog_entry *e);
struct catalog_entry *catalog_entry_unref(struct catalog_entry *e);
static inline void catalog_entry_unrefp(struct catalog_entry **e)
{
        catalog_entry_unref(*e);
}

/* A file that could not be loaded, and the first thing wrong with it. */
struct catalog_broken {
        char *path;
        char *message; /* file:line:col: error: ... */
};

struct catalog {
        struct catalog_entry **entries; /* sorted by id */
        size_t n;
        struct catalog_broken *broken; /* in the order found */
        size_t n_broken;
};

/* Loads the programs of dirs (NULL-terminated), lowest priority first: a program of a later directory hides
 * one with the same id from an earlier one; the same id twice in one directory is an error. Each directory's
 * patterns/ folder joins the shared pattern library, a later one hiding an earlier one's pattern of the same
 * name. A directory that does not exist is skipped.
 *
 * A file with errors (in diags) does not keep the others out: it is listed in broken, and the program it
 * held in old (the catalog loaded before, or NULL), if any, stays in its place, so an installer's typo in a
 * program that worked leaves the last good version running. A broken file that would override a stock
 * program leaves the stock one offered. Returns 0 (*ret set, with or without broken files) or -ENOMEM. */
int catalog_load(char *const *dirs, const struct chair_config *config, const struct catalog *old,
                 struct diag_list *diags, struct catalog **ret);
struct catalog_entry *catalog_find(const struct catalog *c, const char *id);
struct catalog *catalog_free(struct catalog *c);
static inline void catalog_freep(struct catalog **c)
{
        catalog_free(*c);
}

/* Loads the shared pattern library of dirs as catalog_load() does, for checking a single program. */
int catalog_load_library(char *const *dirs, struct pattern_library *lib, struct diag_list *diags);
