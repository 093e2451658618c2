/* command.c: the command topic's JSON read with json-c and checked against each command's table. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "command.h"
#include "util.h"
#include "yamltree.h" /* utf8_check() */

/* json-c's default: a command is flat, only an id may nest. */
#define COMMAND_MAX_DEPTH 32

const char *const command_names[] = {
        [COMMAND_START] = "start",
        [COMMAND_STOP] = "stop",
        [COMMAND_PAUSE] = "pause",
        [COMMAND_RESUME] = "resume",
        [COMMAND_EMERGENCY_STOP] = "emergency-stop",
        [COMMAND_RELEASE] = "release",
        [COMMAND_RESET] = "reset",
        [COMMAND_RECLINE] = "recline",
        [COMMAND_HEAT] = "heat",
        [COMMAND_INTENSITY] = "intensity",
        [COMMAND_LOCK] = "lock",
        [COMMAND_INSTALL] = "install",
        NULL,
};

int command_from_string(const char *s)
{
        for (int i = 0; i < _COMMAND_MAX; i++)
                if (streq(command_names[i], s))
                        return i;
        return -EINVAL;
}

const struct command_spec command_specs[_COMMAND_MAX] = {
        [COMMAND_START] = {"Start",
                           {{"program", ARG_STRING},
                            {"duration-usec", ARG_UINT64, true, "duration"},
                            {"intensity", ARG_UINT32, true, "intensity"}},
                           true},
        [COMMAND_STOP] = {"Stop"},
        [COMMAND_PAUSE] = {"Pause"},
        [COMMAND_RESUME] = {"Resume"},
        [COMMAND_EMERGENCY_STOP] = {"EmergencyStop"},
        [COMMAND_RELEASE] = {"Release"},
        [COMMAND_RESET] = {"ResetFault"},
        [COMMAND_RECLINE] = {"Recline", {{"preset", ARG_STRING}}},
        [COMMAND_HEAT] = {"SetHeat", {{"zone", ARG_STRING}, {"level", ARG_UINT32}}},
        [COMMAND_INTENSITY] = {"SetIntensity", {{"intensity", ARG_UINT32}}},
        [COMMAND_LOCK] = {NULL, {{"locked", ARG_BOOL}}},
        [COMMAND_INSTALL] = {"InstallProgram", {{"yaml", ARG_STRING}}},
};

const char arg_signatures[] = {[ARG_STRING] = 's', [ARG_UINT32] = 'u', [ARG_UINT64] = 't', [ARG_BOOL] = 'b'};

static const char *const arg_type_names[] = {
        [ARG_STRING] = "a string",
        [ARG_UINT32] = "a whole number from 0 to 4294967295",
        [ARG_UINT64] = "a whole number from 0",
        [ARG_BOOL] = "true or false",
};

_printf_(2, 3) static int invalid(struct command_request *r, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        vsnprintf(r->message, sizeof(r->message), format, ap);
        va_end(ap);
        /* What it quotes is valid UTF-8, but a long quote is cut, maybe inside a character. */
        r->message[utf8_check((const unsigned char *) r->message, strlen(r->message))] = 0;
        r->error = CHAIR_ERROR "InvalidArgument";
        return -EINVAL;
}

static bool arg_matches(const struct command_arg *a, json_object *v)
{
        switch (a->type) {
        case ARG_STRING:
                return json_object_is_type(v, json_type_string);
        case ARG_BOOL:
                return json_object_is_type(v, json_type_boolean);
        case ARG_UINT32:
                return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0 &&
                       json_object_get_int64(v) <= UINT32_MAX;
        case ARG_UINT64:
                /* json-c keeps a number above INT64_MAX as an unsigned one; a negative one is refused */
                return json_object_is_type(v, json_type_int) && json_object_get_int64(v) >= 0;
        }
        return false;
}

static void arg_read(const struct command_arg *a, json_object *v, struct command_value *ret)
{
        ret->present = true;
        switch (a->type) {
        case ARG_STRING:
                ret->string = json_object_get_string(v);
                break;
        case ARG_BOOL:
                ret->boolean = json_object_get_boolean(v);
                break;
        case ARG_UINT32:
                ret->number = (uint64_t) json_object_get_int64(v);
                break;
        case ARG_UINT64:
                ret->number = json_object_get_uint64(v);
                break;
        }
}

/* The command's keys against its table, and each argument read into r->values. */
static int check_args(struct command_request *r)
{
        const struct command_spec *spec = &command_specs[r->command];

        json_object_object_foreach(r->root, key, value)
        {
                (void) value;
                bool known = streq(key, "command") || streq(key, "id");
                for (size_t i = 0; !known && i < ELEMENTSOF(spec->args) && spec->args[i].key; i++)
                        known = streq(key, spec->args[i].key);
                if (!known)
                        return invalid(r, "%s takes no '%s'", command_names[r->command], key);
        }
        for (size_t i = 0; i < ELEMENTSOF(spec->args) && spec->args[i].key; i++) {
                const struct command_arg *a = &spec->args[i];
                json_object *v;
                if (!json_object_object_get_ex(r->root, a->key, &v)) {
                        if (a->optional)
                                continue;
                        return invalid(r, "%s needs '%s'", command_names[r->command], a->key);
                }
                if (!arg_matches(a, v))
                        return invalid(r, "'%s' must be %s", a->key, arg_type_names[a->type]);
                arg_read(a, v, &r->values[i]);
        }
        return 0;
}

static void json_tokener_freep(struct json_tokener **t)
{
        if (*t)
                json_tokener_free(*t);
}

static void json_putp(json_object **o)
{
        json_object_put(*o);
}

/* Why a value cannot go on D-Bus, or be echoed in a reply, or NULL: D-Bus strings are valid UTF-8 without a
 * NUL, and a reply is JSON text in UTF-8 (where NaN or Infinity, which json-c reads, have no place). */
static const char *value_problem(json_object *v)
{
        const char *p = NULL;

        switch (json_object_get_type(v)) {
        case json_type_double:
                return isfinite(json_object_get_double(v)) ? NULL : "is not a finite number";
        case json_type_string: {
                const char *s = json_object_get_string(v);
                size_t n = (size_t) json_object_get_string_len(v);
                if (utf8_check((const unsigned char *) s, n) < n)
                        return "is not valid UTF-8";
                if (strlen(s) < n)
                        return "holds a NUL character (\\u0000)";
                return NULL;
        }
        case json_type_array:
                for (size_t i = 0; !p && i < json_object_array_length(v); i++)
                        p = value_problem(json_object_array_get_idx(v, i));
                return p;
        case json_type_object: {
                json_object_object_foreach(v, key, value)
                {
                        if (utf8_check((const unsigned char *) key, strlen(key)) < strlen(key))
                                return "holds a key that is not valid UTF-8";
                        if ((p = value_problem(value)))
                                return p;
                }
                return NULL;
        }
        default:
                return NULL;
        }
}

/* A key at text (the len bytes of its JSON string): decoded by json-c, refused if not clean text, and added
 * to keys, the keys its object has so far. */
static int check_key(struct command_request *r, struct json_tokener *tok, const char *text, size_t len,
                     json_object *keys)
{
        _cleanup_(json_putp) json_object *k = NULL;

        json_tokener_reset(tok);
        k = json_tokener_parse_ex(tok, text, (int) len);
        if (!json_object_is_type(k, json_type_string))
                return invalid(r, "the command is not JSON (a key is not a string)");
        const char *key = json_object_get_string(k);
        size_t n = (size_t) json_object_get_string_len(k);
        if (utf8_check((const unsigned char *) key, n) < n)
                return invalid(r, "a key is not valid UTF-8");
        if (strlen(key) < n)
                return invalid(r, "the key '%s' holds a NUL character (\\u0000)", key);
        if (json_object_object_get_ex(keys, key, NULL))
                return invalid(r, "'%s' is given twice", key);
        if (json_object_object_add(keys, key, NULL) < 0)
                return -ENOMEM;
        return 0;
}

struct key_scan {
        json_object *keys[COMMAND_MAX_DEPTH]; /* of each open object; NULL for an array */
        bool want_key[COMMAND_MAX_DEPTH];     /* the next string is a key */
        size_t depth;
};

static void key_scan_done(struct key_scan *s)
{
        while (s->depth > 0)
                json_object_put(s->keys[--s->depth]);
}

/* json-c's objects hide two things a sender may write: a key given twice (the last one wins) and a key with
 * a NUL (cut there, so "program\u0000" is "program"). Both are found in the text, which json-c has parsed
 * already: only its strings and brackets matter here. */
static int check_keys(struct command_request *r, const char *text, size_t size)
{
        _cleanup_(json_tokener_freep) struct json_tokener *tok = json_tokener_new_ex(COMMAND_MAX_DEPTH);
        _cleanup_(key_scan_done) struct key_scan s = {};
        int ret;

        if (!tok)
                return -ENOMEM;
        for (size_t i = 0; i < size; i++) {
                switch (text[i]) {
                case '{':
                case '[':
                        if (s.depth == COMMAND_MAX_DEPTH)
                                return invalid(r, "the command is nested too deeply");
                        s.keys[s.depth] = NULL;
                        s.want_key[s.depth] = text[i] == '{';
                        if (text[i] == '{' && !(s.keys[s.depth] = json_object_new_object()))
                                return -ENOMEM;
                        s.depth++;
                        break;
                case '}':
                case ']':
                        if (s.depth > 0)
                                json_object_put(s.keys[--s.depth]);
                        break;
                case ',':
                        if (s.depth > 0 && s.keys[s.depth - 1])
                                s.want_key[s.depth - 1] = true;
                        break;
                case '\'':
                        /* json-c takes a key in single quotes even when strict; JSON does not */
                        return invalid(r, "the command is not JSON (a string in single quotes)");
                case '"': {
                        size_t end = i + 1;
                        while (end < size && text[end] != '"')
                                end += text[end] == '\\' ? 2 : 1;
                        if (end >= size)
                                return invalid(r, "the command is not JSON (a string does not end)");
                        if (s.depth > 0 && s.want_key[s.depth - 1]) {
                                s.want_key[s.depth - 1] = false;
                                ret = check_key(r, tok, text + i, end - i + 1, s.keys[s.depth - 1]);
                                if (ret < 0)
                                        return ret;
                        }
                        i = end;
                        break;
                }
                default:
                        break;
                }
        }
        return 0;
}

static int parse(const void *payload, size_t size, struct command_request *r)
{
        _cleanup_(json_tokener_freep) struct json_tokener *tok = NULL;
        json_object *v;
        int ret;

        if (size == 0)
                return invalid(r, "the command is empty");
        if (memchr(payload, 0, size))
                return invalid(r, "the command holds a NUL byte");
        if (size > INT_MAX)
                return invalid(r, "the command is too long");
        tok = json_tokener_new_ex(COMMAND_MAX_DEPTH);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        r->root = json_tokener_parse_ex(tok, payload, (int) size);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (!r->root && jerr == json_tokener_continue)
                return invalid(r, "the command is not JSON (it ends early)");
        if (!r->root || jerr != json_tokener_success || json_tokener_get_parse_end(tok) != size)
                return invalid(r, "the command is not JSON (%s at byte %zu)",
                               jerr != json_tokener_success ? json_tokener_error_desc(jerr)
                                                            : "more after the object",
                               json_tokener_get_parse_end(tok));
        if (!json_object_is_type(r->root, json_type_object))
                return invalid(r, "the command is not a JSON object");
        /* The id is echoed when it is clean, also in the reply to a command with other faults. */
        if (json_object_object_get_ex(r->root, "id", &v) && !value_problem(v))
                r->id = json_object_get(v);

        ret = check_keys(r, payload, size);
        if (ret < 0)
                return ret;
        json_object_object_foreach(r->root, key, value)
        {
                const char *p = value_problem(value);
                if (p)
                        return invalid(r, "'%s' %s", key, p);
        }

        if (!json_object_object_get_ex(r->root, "command", &v))
                return invalid(r, "no \"command\"");
        if (json_object_is_type(v, json_type_string))
                r->command = command_from_string(json_object_get_string(v));
        if (r->command < 0) {
                r->command = _COMMAND_INVALID;
                return invalid(r, "unknown command");
        }
        return check_args(r);
}

int command_parse(const void *payload, size_t size, struct command_request **ret)
{
        struct command_request *r;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->command = _COMMAND_INVALID;
        if (parse(payload, size, r) == -ENOMEM) {
                command_request_free(r);
                return -ENOMEM;
        }
        *ret = r;
        return 0;
}

json_object *command_reply_new(json_object *id, const char *error, const char *message, json_object *result)
{
        _cleanup_(json_putp) json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        if (id && json_object_object_add(o, "id", json_object_get(id)) < 0)
                return NULL;
        if (json_object_object_add(o, "ok", json_object_new_boolean(!error)) < 0)
                return NULL;
        if (error && (json_object_object_add(o, "error", json_object_new_string(error)) < 0 ||
                      json_object_object_add(o, "message", json_object_new_string(message ?: "")) < 0))
                return NULL;
        if (!error && result && json_object_object_add(o, "result", json_object_get(result)) < 0)
                return NULL;
        return TAKE_PTR(o);
}

struct command_request *command_request_free(struct command_request *r)
{
        if (!r)
                return NULL;
        json_object_put(r->id);
        json_object_put(r->root);
        free(r);
        return NULL;
}
