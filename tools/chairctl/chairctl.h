/* chairctl.h: what the verbs of chairctl share. */
#pragma once

#include <json-c/json.h>
#include <systemd/sd-bus.h>

#include "busjson.h"
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

#define PROPERTIES_INTERFACE "org.freedesktop.DBus.Properties"

/* What the online verbs share: one clear line for an error the daemon (or the bus) returned, and the exit
 * status that goes with it; the progress of a running program until it ends (start --follow); a number
 * argument (prints why not and returns EXIT_USAGE). */
int online_report(const sd_bus_error *error, int r);
int online_follow(sd_bus *bus, const char *program);
int online_parse_number(const char *s, const char *what, uint32_t *ret);

/* Calls chaird: method of interface (NULL: chaird's own) on chaird's object, with the arguments types and
 * what follows describe (as sd_bus_message_append() takes them; types NULL: none), the reply into *ret_reply
 * unless that is NULL. Returns 0, or prints why not (online_report()) and returns the exit status. */
int online_call(sd_bus *bus, const char *interface, const char *method, sd_bus_message **ret_reply,
                const char *types, ...);
/* The same, with the reply's first value as JSON (busjson.c) in *ret. */
int online_call_json(sd_bus *bus, const char *interface, const char *method, json_object **ret,
                     const char *types, ...);
/* A property of chaird's interface as JSON, or prints why not and returns the exit status. */
int online_get_json(sd_bus *bus, const char *property, json_object **ret);
/* For arguments online_call() cannot take (a{sv} built entry by entry): a call of chaird's method, to be
 * filled and then sent with online_send(). Returns a negative errno as sd-bus does. */
int online_new_call(sd_bus *bus, const char *method, sd_bus_message **ret);
/* Sends m unless building it failed (r, the last building step's result, is negative); returns as
 * online_call(). */
int online_send(sd_bus *bus, sd_bus_message *m, int r, sd_bus_message **ret_reply);

/* A member of a JSON object read from chaird: its string ("" when absent or not a string), its number (0
 * when absent). */
const char *json_member_string(json_object *o, const char *key);
uint64_t json_member_uint(json_object *o, const char *key);
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
