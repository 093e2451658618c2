/* command.h: the bridges' JSON commands (chaird-mqtt's command topic, chaird-web's WebSocket): a payload
 * read strictly and checked against its command's table (keys, JSON types, ranges), or the error to answer
 * instead. No D-Bus here: what reaches chaird is decided before any call (command-call.h builds the
 * call). */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chaird-bus.h"
#include "util.h"

/* The commands a remote client may send, in the order of their documentation (docs/mqtt.md). */
enum command {
        COMMAND_START,
        COMMAND_STOP,
        COMMAND_PAUSE,
        COMMAND_RESUME,
        COMMAND_EMERGENCY_STOP,
        COMMAND_RELEASE,
        COMMAND_RESET,
        COMMAND_RECLINE,
        COMMAND_JOG,
        COMMAND_HEAT,
        COMMAND_INTENSITY,
        COMMAND_MANUAL,
        COMMAND_ADJUST,
        COMMAND_SHOULDERS,
        COMMAND_LOCK,
        COMMAND_SELECT_PROFILE,
        COMMAND_SAVE_PROFILE,
        COMMAND_GET_PROFILE,
        COMMAND_DELETE_PROFILE,
        COMMAND_SAVE_POSITION,
        COMMAND_DELETE_POSITION,
        COMMAND_HISTORY,
        COMMAND_USAGE,
        COMMAND_INSTALL,
        _COMMAND_MAX,
        _COMMAND_INVALID = -1,
};

extern const char *const command_names[]; /* NULL-terminated, indexed by enum command */
int command_from_string(const char *s);   /* enum command, or -EINVAL */

/* stop and emergency-stop are accepted whatever the config says: stopping is always safe. */
static inline bool command_always_allowed(enum command c)
{
        return c == COMMAND_STOP || c == COMMAND_EMERGENCY_STOP;
}

/* What a value is in JSON and on D-Bus. */
enum arg_type {
        ARG_STRING,    /* a string; s */
        ARG_BOOL,      /* true or false; b */
        ARG_INT32,     /* a whole number in the arg's range; i */
        ARG_UINT32,    /* a whole number in the arg's range; u */
        ARG_UINT64,    /* a whole number from 0; t */
        ARG_DIRECTION, /* -1 or 1; i */
        ARG_POSITION,  /* a name (a string; s) or a fraction of the roller's track (a number; d) */
        ARG_STRINGS,   /* a list of strings; as */
        ARG_LEVELS,    /* an object of names to whole numbers in the arg's range; a{su} */
        ARG_DICT,      /* an object with the keys of the arg's own table; a{sv} */
        _ARG_TYPE_MAX,
};

/* One key of a command, or of an object within it. */
struct command_arg {
        const char *key; /* in the JSON */
        enum arg_type type;
        const char *name; /* the key in an a{sv} on D-Bus, when it is not key (duration-usec: duration) */
        bool optional;    /* an argument: absent is 0 (or ""); an option or a key of an object: left out */
        /* ARG_INT32, ARG_UINT32, ARG_LEVELS: the range checked and stated (from the shared limits, where the
         * range is fixed; the chair's own narrower one, e.g. its depth levels, chaird checks). Both 0: the
         * D-Bus type's. */
        int64_t min, max;
        const struct command_arg *keys; /* ARG_DICT: its keys, ending with {} */
};

/* What a command takes and the D-Bus call it becomes. */
struct command_spec {
        const char *method;                /* on io.chaird.Chair1; NULL: property, below */
        const char *signature;             /* the call's arguments on D-Bus, as the method declares them */
        const struct command_arg *args;    /* the call's arguments in their order, ending with {}; or NULL */
        const struct command_arg *options; /* the keys that form its a{sv} after args, ending with {} */
        bool result;                       /* the call answers a value: the reply carries it as "result" */
        /* method NULL: the property of io.chaird.Chair1 that args' one value is written to (Set), or,
         * without args, that is read (Get: its value is the result) */
        const char *property;
};

extern const struct command_spec command_specs[_COMMAND_MAX];

struct command_request {
        int command;     /* enum command, or _COMMAND_INVALID when the payload names none */
        json_object *id; /* the "id" to echo in the reply, or NULL; owned */
        /* NULL when the command is well formed: root then holds each argument as its table says.
         * Otherwise the error's D-Bus name, and message says what is wrong (always written, valid UTF-8). */
        const char *error;
        char message[256];
        json_object *root; /* the payload as JSON, or NULL when it is none */
};

/* Reads payload (size bytes, no NUL needed at the end) into a new request in *ret. Returns 0, also for a
 * payload that is not a good command (then (*ret)->error is set), or -ENOMEM. */
int command_parse(const void *payload, size_t size, struct command_request **ret);

/* A reply: {"id":id,"ok":true[,"result":result]} when error is NULL, otherwise
 * {"id":id,"ok":false,"error":error,"message":message}; without "id" when id is NULL. id and result are
 * borrowed (the reply takes its own reference). Returns a new object, or NULL when out of memory. */
json_object *command_reply_new(json_object *id, const char *error, const char *message, json_object *result);

struct command_request *command_request_free(struct command_request *r);
static inline void command_request_freep(struct command_request **r)
{
        command_request_free(*r);
}
