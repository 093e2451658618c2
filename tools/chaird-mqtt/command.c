/* command.c: the command topic's JSON read with json-c and checked against each command's table. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "command.h"
#include "util.h"

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

static int parse(const void *payload, size_t size, struct command_request *r)
{
        _cleanup_free_ char *text = NULL;
        json_object *v;

        text = strndup(payload, size);
        if (!text)
                return -ENOMEM;
        if (strlen(text) == size) {
                enum json_tokener_error jerr = json_tokener_success;
                r->root = json_tokener_parse_verbose(text, &jerr);
        }
        if (!r->root || !json_object_is_type(r->root, json_type_object))
                return invalid(r, "the command is not a JSON object");
        if (json_object_object_get_ex(r->root, "id", &v))
                r->id = json_object_get(v);
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

struct command_request *command_request_free(struct command_request *r)
{
        if (!r)
                return NULL;
        json_object_put(r->id);
        json_object_put(r->root);
        free(r);
        return NULL;
}
