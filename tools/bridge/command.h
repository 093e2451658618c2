/* command.h: a payload of the command topic as a checked command (its arguments typed by the command's
 * table), or the error to answer instead. No D-Bus here: what reaches chaird is decided before any call. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define CHAIR_ERROR      "io.chaird.Chair1.Error."
#define COMMAND_ARGS_MAX 3

/* The commands a remote client may send, in the order of the command topic's documentation. */
enum command {
        COMMAND_START,
        COMMAND_STOP,
        COMMAND_PAUSE,
        COMMAND_RESUME,
        COMMAND_EMERGENCY_STOP,
        COMMAND_RELEASE,
        COMMAND_RESET,
        COMMAND_RECLINE,
        COMMAND_HEAT,
        COMMAND_INTENSITY,
        COMMAND_LOCK,
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

enum arg_type {
        ARG_STRING,
        ARG_UINT32,
        ARG_UINT64,
        ARG_BOOL,
};

struct command_arg {
        const char *key;
        enum arg_type type;
        bool optional; /* optional ones go into Start's options, under option */
        const char *option;
};

/* What a command takes and the D-Bus call it becomes. */
struct command_spec {
        const char *method; /* on io.chaird.Chair1; NULL: set the Locked property */
        struct command_arg args[COMMAND_ARGS_MAX];
        bool options; /* the optional args form an a{sv} */
        bool result;  /* the call answers a value, which the reply carries as "result" */
};

extern const struct command_spec command_specs[_COMMAND_MAX];
extern const char arg_signatures[]; /* the D-Bus type of each enum arg_type */

/* One argument as its command_arg says: present (an optional one may be absent) and of its type. */
struct command_value {
        bool present;
        const char *string; /* ARG_STRING; borrowed from the request */
        uint64_t number;    /* ARG_UINT32 (at most UINT32_MAX), ARG_UINT64 */
        bool boolean;       /* ARG_BOOL */
};

struct command_request {
        int command;     /* enum command, or _COMMAND_INVALID when the payload names none */
        json_object *id; /* the "id" to echo in the reply, or NULL; owned */
        /* NULL when the command is well formed: values[] then holds its arguments, in its spec's order.
         * Otherwise the error's D-Bus name, and message says what is wrong (always written, valid UTF-8). */
        const char *error;
        char message[256];
        struct command_value values[COMMAND_ARGS_MAX];
        json_object *root; /* the payload as JSON: owns the strings the values borrow */
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
