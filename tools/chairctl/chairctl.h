/* chairctl.h: what the verbs of chairctl share. */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "chaird-bus.h"
#include "config.h"
#include "program.h"

/* Options every offline verb understands. */
struct offline_options {
        const char *config_path; /* --config, NULL: check against the standard vocabulary */
        char **pattern_dirs;     /* --patterns, repeatable, NULL-terminated; NULL: the default search */
};

/* Loads the config (if any) and the pattern library a program file is checked with: the --patterns
 * directories, or else the patterns/ folder beside the file followed by the installed libraries. Prints
 * diagnostics to stderr. Returns 0, or a negative errno after printing why. */
int offline_setup(const struct offline_options *o, const char *program_file,
                  struct chair_config **ret_config, struct pattern_library *ret_library);

/* An option of one offline verb besides --config and --patterns: its long name, its short letter (0: none),
 * and whether it takes a value. */
struct verb_option {
        const char *name;
        char letter;
        bool has_arg;
};

/* Parses --config and --patterns, and the verb's own options (handled by extra, called with the option's
 * letter, or its index in own when it has none, and its value; it reports a bad value itself and returns
 * -EINVAL). Returns the index of the first other argument, or -1 on a usage error, already reported. */
int parse_offline_options(int argc, char *argv[], struct offline_options *o, const char *verb,
                          const struct verb_option *own,
                          int (*extra)(int c, const char *arg, void *userdata), void *userdata);

/* Prints o as compact JSON followed by after, and drops the reference to it (json-c). */
void json_print(json_object *o, const char *after);
/* A JSON string of s, "" for NULL. */
json_object *json_string_or_empty(const char *s);

int verb_validate(int argc, char *argv[]);
int verb_plot(int argc, char *argv[]);
int verb_schema(int argc, char *argv[]);

/* Exit statuses (documented in chairctl --help). */
enum {
        EXIT_OK = 0,
        EXIT_FAILED = 1, /* the daemon refused, or the file is invalid */
        EXIT_USAGE = 2,
        EXIT_NO_DAEMON = 3,     /* chaird is not running or not reachable */
        EXIT_NOT_COMPLETED = 4, /* start --follow: the program ended other than completed */
};

/* Options before the verb. */
struct global_options {
        bool json;        /* --json */
        const char *host; /* -H user@host: over ssh */
};
extern struct global_options global;

bool is_online_verb(const char *name);
/* Runs a verb that talks to chaird; argv[0] is the verb. Returns an exit status. */
int run_online_verb(int argc, char *argv[]);

/* What the online verbs share: one clear line for an error the daemon (or the bus) returned, and the exit
 * status that goes with it; the progress of a running program until it ends (start --follow); a number
 * argument (prints why not and returns EXIT_USAGE). */
int online_report(const sd_bus_error *error, int r);
int online_follow(sd_bus *bus, const char *program);
int online_parse_number(const char *s, const char *what, uint32_t *ret);
/* An a{sv} entry whose value is an array: opens the entry, the variant of signature (e.g. "as", "a{su}") and
 * the array, for its elements to be appended; bus_close_entry() closes all three. */
int bus_open_entry(sd_bus_message *m, const char *key, const char *signature);
int bus_close_entry(sd_bus_message *m);

/* remote.c: manual mode, live adjustment, the shoulders. */
int verb_manual(sd_bus *bus, int argc, char *argv[]);
int verb_adjust(sd_bus *bus, int argc, char *argv[]);
int verb_shoulders(sd_bus *bus, int argc, char *argv[]);

/* profiles.c: a person's profile and its saved positions. */
int verb_profile(sd_bus *bus, int argc, char *argv[]);
int verb_position(sd_bus *bus, int argc, char *argv[]);

/* records.c: the history of sessions and faults, the usage counters. */
int verb_history(sd_bus *bus, int argc, char *argv[]);
int verb_usage(sd_bus *bus, int argc, char *argv[]);
