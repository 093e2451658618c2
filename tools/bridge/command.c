/* command.c: the bridges' JSON commands read with json-c and checked against each command's table. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "command.h"
#include "program.h" /* the fixed ranges: roller speed and depth, airbag intensity, heat, foot rollers */
#include "util.h"
#include "yamltree.h" /* utf8_check() */

/* json-c's default: a command is flat, only an id may nest. */
#define COMMAND_MAX_DEPTH 32
/* A key's name as messages give it, "roller.speed", at most this long. */
#define COMMAND_PATH_MAX 128

const char *const command_names[] = {
        [COMMAND_START] = "start",
        [COMMAND_STOP] = "stop",
        [COMMAND_PAUSE] = "pause",
        [COMMAND_RESUME] = "resume",
        [COMMAND_EMERGENCY_STOP] = "emergency-stop",
        [COMMAND_RELEASE] = "release",
        [COMMAND_RESET] = "reset",
        [COMMAND_RECLINE] = "recline",
        [COMMAND_JOG] = "jog",
        [COMMAND_HEAT] = "heat",
        [COMMAND_INTENSITY] = "intensity",
        [COMMAND_MANUAL] = "manual",
        [COMMAND_ADJUST] = "adjust",
        [COMMAND_SHOULDERS] = "shoulders",
        [COMMAND_LOCK] = "lock",
        [COMMAND_SELECT_PROFILE] = "select-profile",
        [COMMAND_SAVE_PROFILE] = "save-profile",
        [COMMAND_GET_PROFILE] = "get-profile",
        [COMMAND_DELETE_PROFILE] = "delete-profile",
        [COMMAND_SAVE_POSITION] = "save-position",
        [COMMAND_DELETE_POSITION] = "delete-position",
        [COMMAND_HISTORY] = "history",
        [COMMAND_USAGE] = "usage",
        [COMMAND_INSTALL] = "install",
        NULL,
};
_Static_assert(ELEMENTSOF(command_names) == _COMMAND_MAX + 1, "command_names does not match enum command");

int command_from_string(const char *s)
{
        for (int i = 0; i < _COMMAND_MAX; i++)
                if (streq(command_names[i], s))
                        return i;
        return -EINVAL;
}

/* The keys of chaird's a{sv} arguments, as daemon/api.c and daemon/manual.c read them (docs/dbus.md). */

#define RANGE(lo, hi) .min = (lo), .max = (hi)

/* StartManual's roller and airbags: a program phase's tracks. */
static const struct command_arg roller_keys[] = {
        {"technique", ARG_STRING},
        {"pattern", ARG_STRING},
        {"area", ARG_POSITION},
        {"from", ARG_POSITION},
        {"to", ARG_POSITION},
        {"speed", ARG_UINT32, RANGE(1, ROLLER_SPEED_MAX)},
        {"width", ARG_STRING},
        {"depth", ARG_UINT32, RANGE(1, ROLLER_DEPTH_MAX)},
        {},
};

static const struct command_arg airbag_keys[] = {
        {"zones", ARG_STRINGS},
        {"pattern", ARG_STRING},
        {"intensity", ARG_UINT32, RANGE(1, AIRBAG_INTENSITY_LEVELS)},
        {},
};

static const struct command_arg manual_keys[] = {
        {"roller", ARG_DICT, .keys = roller_keys},
        {"airbags", ARG_DICT, .keys = airbag_keys},
        {"heat", ARG_LEVELS, RANGE(0, HEAT_LEVELS)},
        {"foot-rollers", ARG_UINT32, RANGE(0, FOOT_SPEED_MAX)},
        {"recline", ARG_STRING},
        {"duration-usec", ARG_UINT64, "duration"},
        {},
};

/* Adjust's own keys, and in manual mode StartManual's (foot-rollers is Adjust's own in both). */
static const struct command_arg adjust_keys[] = {
        {"speed", ARG_UINT32, RANGE(1, ROLLER_SPEED_MAX)},
        {"width", ARG_STRING},
        {"depth", ARG_UINT32, RANGE(1, ROLLER_DEPTH_MAX)},
        {"area", ARG_POSITION},
        {"from", ARG_POSITION},
        {"to", ARG_POSITION},
        {"airbag-intensity", ARG_UINT32, RANGE(1, AIRBAG_INTENSITY_LEVELS)},
        {"foot-rollers", ARG_UINT32, RANGE(0, FOOT_SPEED_MAX)},
        {"reset", ARG_BOOL},
        {"roller", ARG_DICT, .keys = roller_keys},
        {"airbags", ARG_DICT, .keys = airbag_keys},
        {"heat", ARG_LEVELS, RANGE(0, HEAT_LEVELS)},
        {"recline", ARG_STRING},
        {"duration-usec", ARG_UINT64, "duration"},
        {},
};

/* SaveProfile's settings, as GetProfile answers them (0 intensity: none). */
static const struct command_arg profile_keys[] = {
        {"favourites", ARG_STRINGS},
        {"intensity", ARG_UINT32, RANGE(0, INTENSITY_MAX)},
        {"heat", ARG_LEVELS, RANGE(0, HEAT_LEVELS)},
        {"shoulder-offset", ARG_INT32},
        {"program", ARG_STRING},
        {},
};

static const struct command_arg start_keys[] = {
        {"duration-usec", ARG_UINT64, "duration"},
        {"intensity", ARG_UINT32, RANGE(INTENSITY_MIN, INTENSITY_MAX)},
        {},
};

/* A command's arguments, in their order. */
#define ARGS(...) ((const struct command_arg[]){__VA_ARGS__, {NULL}})
#define NAME_ARG  ARGS({"name", ARG_STRING})

const struct command_spec command_specs[_COMMAND_MAX] = {
        [COMMAND_START] = {"Start", "sa{sv}", ARGS({"program", ARG_STRING}), start_keys},
        [COMMAND_STOP] = {"Stop", ""},
        [COMMAND_PAUSE] = {"Pause", ""},
        [COMMAND_RESUME] = {"Resume", ""},
        [COMMAND_EMERGENCY_STOP] = {"EmergencyStop", ""},
        [COMMAND_RELEASE] = {"Release", ""},
        [COMMAND_RESET] = {"ResetFault", ""},
        [COMMAND_RECLINE] = {"Recline", "s", ARGS({"preset", ARG_STRING})},
        [COMMAND_JOG] = {"Jog", "si", ARGS({"axis", ARG_STRING}, {"direction", ARG_DIRECTION})},
        [COMMAND_HEAT] = {"SetHeat", "su",
                          ARGS({"zone", ARG_STRING}, {"level", ARG_UINT32, RANGE(0, HEAT_LEVELS)})},
        [COMMAND_INTENSITY] = {"SetIntensity", "u",
                               ARGS({"intensity", ARG_UINT32, RANGE(INTENSITY_MIN, INTENSITY_MAX)})},
        [COMMAND_MANUAL] = {"StartManual", "a{sv}", NULL, manual_keys},
        [COMMAND_ADJUST] = {"Adjust", "a{sv}", NULL, adjust_keys},
        [COMMAND_SHOULDERS] = {"AdjustShoulders", "i", ARGS({"offset-mm", ARG_INT32})},
        [COMMAND_LOCK] = {NULL, "ssv", ARGS({"locked", ARG_BOOL}), .property = "Locked"},
        [COMMAND_SELECT_PROFILE] = {"SelectProfile", "s", NAME_ARG},
        [COMMAND_SAVE_PROFILE] = {"SaveProfile", "sa{sv}", NAME_ARG, profile_keys},
        [COMMAND_GET_PROFILE] = {"GetProfile", "s", NAME_ARG, .result = true},
        [COMMAND_DELETE_PROFILE] = {"DeleteProfile", "s", NAME_ARG},
        [COMMAND_SAVE_POSITION] = {"SavePosition", "s", NAME_ARG},
        [COMMAND_DELETE_POSITION] = {"DeletePosition", "s", NAME_ARG},
        [COMMAND_HISTORY] = {"History", "u", ARGS({"max", ARG_UINT32, .optional = true}), .result = true},
        [COMMAND_USAGE] = {NULL, "ss", .result = true, .property = "Usage"},
        [COMMAND_INSTALL] = {"InstallProgram", "s", ARGS({"yaml", ARG_STRING})},
};

_printf_(2, 3) static int invalid(struct command_request *r, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        vsnprintf(r->message, sizeof(r->message), format, ap);
        va_end(ap);
        /* What it quotes is valid UTF-8, but a long quote is cut, maybe inside a character. */
        r->message[utf8_check((const unsigned char *) r->message, strlen(r->message))] = 0;
        r->error = CHAIRD_ERROR_PREFIX "InvalidArgument";
        return -EINVAL;
}

/* The range an arg's numbers must lie in. */
static void arg_range(const struct command_arg *a, int64_t *ret_min, int64_t *ret_max)
{
        if (a->min || a->max) {
                *ret_min = a->min;
                *ret_max = a->max;
        } else if (a->type == ARG_INT32) {
                *ret_min = INT32_MIN;
                *ret_max = INT32_MAX;
        } else {
                *ret_min = 0;
                *ret_max = a->type == ARG_UINT64 ? INT64_MAX : UINT32_MAX;
        }
}

/* A whole number in the arg's range (json-c keeps one above INT64_MAX as unsigned: get_int64 says
 * INT64_MAX, which an ARG_UINT64 takes). */
static bool whole_number_fits(const struct command_arg *a, json_object *v)
{
        int64_t min, max;

        if (!json_object_is_type(v, json_type_int))
                return false;
        arg_range(a, &min, &max);
        int64_t n = json_object_get_int64(v);
        return n >= min && n <= max;
}

/* "a whole number from 1 to 6", the words of an arg's type. */
static const char *arg_words(const struct command_arg *a, char *buf, size_t size)
{
        int64_t min, max;

        arg_range(a, &min, &max);
        switch (a->type) {
        case ARG_STRING:
                return "a string";
        case ARG_BOOL:
                return "true or false";
        case ARG_INT32:
        case ARG_UINT32:
                snprintf(buf, size, "a whole number from %" PRId64 " to %" PRId64, min, max);
                return buf;
        case ARG_UINT64:
                return "a whole number from 0";
        case ARG_DIRECTION:
                return "-1 or 1";
        case ARG_POSITION:
                return "a name (a string) or a fraction of the roller's track (a number)";
        case ARG_STRINGS:
                return "a list of strings";
        case ARG_LEVELS:
                snprintf(buf, size, "an object of names to whole numbers from %" PRId64 " to %" PRId64, min,
                         max);
                return buf;
        case ARG_DICT:
                return "an object";
        default:
                return "?";
        }
}

/* A command's keys are its arguments' and its options'; an object's, its arg's table's. */
#define TABLES_MAX 2

/* The row of key among tables (NULL entries skipped), or NULL. */
static const struct command_arg *find_key(const struct command_arg *const tables[TABLES_MAX],
                                          const char *key)
{
        for (size_t t = 0; t < TABLES_MAX; t++)
                for (const struct command_arg *k = tables[t]; k && k->key; k++)
                        if (streq(k->key, key))
                                return k;
        return NULL;
}

/* "technique, pattern, area" into buf. */
static const char *keys_list(const struct command_arg *const tables[TABLES_MAX], char *buf, size_t size)
{
        size_t n = 0;

        buf[0] = 0;
        for (size_t t = 0; t < TABLES_MAX; t++)
                for (const struct command_arg *k = tables[t]; k && k->key && n < size; k++)
                        n += (size_t) snprintf(buf + n, size - n, "%s%s", n ? ", " : "", k->key);
        return buf;
}

static int check_value(struct command_request *r, const struct command_arg *a, json_object *v,
                       const char *path);

/* "roller.speed" (within "roller", or NULL at the top); a long one is cut (and its message with it). */
static const char *path_join(char *buf, size_t size, const char *within, const char *key)
{
        if (snprintf(buf, size, "%s%s%s", within ?: "", within ? "." : "", key) >= (int) size)
                buf[size - 1] = 0;
        return buf;
}

/* An object's keys against tables, each value checked. within names the object ("roller"), or is NULL for
 * the command itself (where "command" and "id" are known too). */
static int check_object(struct command_request *r, const struct command_arg *const tables[TABLES_MAX],
                        json_object *o, const char *within)
{
        char known[256], path[COMMAND_PATH_MAX];
        int ret;

        json_object_object_foreach(o, key, value)
        {
                const struct command_arg *k = find_key(tables, key);
                if (k) {
                        ret = check_value(r, k, value, path_join(path, sizeof(path), within, key));
                        if (ret < 0)
                                return ret;
                        continue;
                }
                if (!within && (streq(key, "command") || streq(key, "id")))
                        continue;
                keys_list(tables, known, sizeof(known));
                if (within)
                        return invalid(r, "'%s' takes no '%s' (known: %s)", within, key, known);
                if (!known[0])
                        return invalid(r, "%s takes no '%s' (it takes no keys)", command_names[r->command],
                                       key);
                return invalid(r, "%s takes no '%s' (known: %s)", command_names[r->command], key, known);
        }
        return 0;
}

static int check_value(struct command_request *r, const struct command_arg *a, json_object *v,
                       const char *path)
{
        char words[128], item[COMMAND_PATH_MAX];
        bool ok;

        switch (a->type) {
        case ARG_STRING:
                ok = json_object_is_type(v, json_type_string);
                break;
        case ARG_BOOL:
                ok = json_object_is_type(v, json_type_boolean);
                break;
        case ARG_INT32:
        case ARG_UINT32:
        case ARG_UINT64:
                ok = whole_number_fits(a, v);
                break;
        case ARG_DIRECTION:
                ok = json_object_is_type(v, json_type_int) &&
                     (json_object_get_int64(v) == 1 || json_object_get_int64(v) == -1);
                break;
        case ARG_POSITION:
                /* a double is finite: value_problem() refused NaN and Infinity already */
                ok = json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int) ||
                     json_object_is_type(v, json_type_double);
                break;
        case ARG_STRINGS:
                ok = json_object_is_type(v, json_type_array);
                for (size_t i = 0; ok && i < json_object_array_length(v); i++)
                        ok = json_object_is_type(json_object_array_get_idx(v, i), json_type_string);
                break;
        case ARG_LEVELS:
                if (!json_object_is_type(v, json_type_object))
                        return invalid(r, "'%s' must be %s", path, arg_words(a, words, sizeof(words)));
                json_object_object_foreach(v, key, level)
                {
                        int64_t min, max;
                        arg_range(a, &min, &max);
                        if (!whole_number_fits(a, level))
                                return invalid(r, "'%s' must be a whole number from %" PRId64 " to %" PRId64,
                                               path_join(item, sizeof(item), path, key), min, max);
                }
                return 0;
        case ARG_DICT:
                if (!json_object_is_type(v, json_type_object))
                        return invalid(r, "'%s' must be an object (keys: %s)", path,
                                       keys_list((const struct command_arg *const[]){a->keys, NULL}, words,
                                                 sizeof(words)));
                return check_object(r, (const struct command_arg *const[]){a->keys, NULL}, v, path);
        default:
                ok = false;
                break;
        }
        if (!ok)
                return invalid(r, "'%s' must be %s", path, arg_words(a, words, sizeof(words)));
        return 0;
}

/* The command's keys against its table: the arguments it needs are there, and every key it has is known
 * and of its type. */
static int check_args(struct command_request *r)
{
        const struct command_spec *spec = &command_specs[r->command];

        for (const struct command_arg *a = spec->args; a && a->key; a++)
                if (!a->optional && !json_object_object_get_ex(r->root, a->key, NULL))
                        return invalid(r, "%s needs '%s'", command_names[r->command], a->key);
        return check_object(r, (const struct command_arg *const[]){spec->args, spec->options}, r->root,
                            NULL);
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
