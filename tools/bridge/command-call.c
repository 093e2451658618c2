/* command-call.c: builds the D-Bus call of a checked command, walking its JSON by the command's table. */
#include <errno.h>

#include "command-call.h"

/* The D-Bus type of a's value v. */
static const char *arg_signature(const struct command_arg *a, json_object *v)
{
        static const char *const signatures[_ARG_TYPE_MAX] = {
                [ARG_STRING] = "s",     [ARG_BOOL] = "b",      [ARG_INT32] = "i",    [ARG_UINT32] = "u",
                [ARG_UINT64] = "t",     [ARG_DIRECTION] = "i", [ARG_POSITION] = "s", [ARG_STRINGS] = "as",
                [ARG_LEVELS] = "a{su}", [ARG_DICT] = "a{sv}",
        };

        if (a->type == ARG_POSITION && !json_object_is_type(v, json_type_string))
                return "d";
        return signatures[a->type];
}

static int append_dict(sd_bus_message *m, const struct command_arg *keys, json_object *o);

/* The value v of a (checked against a), or a's zero when v is NULL (an optional argument left out). */
static int append_value(sd_bus_message *m, const struct command_arg *a, json_object *v)
{
        int r;

        switch (a->type) {
        case ARG_STRING:
        case ARG_POSITION:
                if (v && !json_object_is_type(v, json_type_string)) {
                        double d = json_object_get_double(v);
                        return sd_bus_message_append_basic(m, 'd', &d);
                }
                return sd_bus_message_append_basic(m, 's', v ? json_object_get_string(v) : "");
        case ARG_BOOL: {
                int b = v && json_object_get_boolean(v);
                return sd_bus_message_append_basic(m, 'b', &b);
        }
        case ARG_INT32:
        case ARG_DIRECTION: {
                int32_t i = v ? (int32_t) json_object_get_int64(v) : 0;
                return sd_bus_message_append_basic(m, 'i', &i);
        }
        case ARG_UINT32: {
                uint32_t u = v ? (uint32_t) json_object_get_int64(v) : 0;
                return sd_bus_message_append_basic(m, 'u', &u);
        }
        case ARG_UINT64: {
                uint64_t t = v ? json_object_get_uint64(v) : 0;
                return sd_bus_message_append_basic(m, 't', &t);
        }
        case ARG_STRINGS:
                r = sd_bus_message_open_container(m, 'a', "s");
                for (size_t i = 0; r >= 0 && v && i < json_object_array_length(v); i++)
                        r = sd_bus_message_append_basic(
                                m, 's', json_object_get_string(json_object_array_get_idx(v, i)));
                return r < 0 ? r : sd_bus_message_close_container(m);
        case ARG_LEVELS:
                r = sd_bus_message_open_container(m, 'a', "{su}");
                if (r < 0 || !v)
                        return r < 0 ? r : sd_bus_message_close_container(m);
                json_object_object_foreach(v, zone, level)
                {
                        r = sd_bus_message_append(m, "{su}", zone, (uint32_t) json_object_get_int64(level));
                        if (r < 0)
                                return r;
                }
                return sd_bus_message_close_container(m);
        case ARG_DICT:
                return append_dict(m, a->keys, v);
        default:
                return -EINVAL;
        }
}

/* The keys of o that keys lists, as an a{sv}, in the table's order. */
static int append_dict(sd_bus_message *m, const struct command_arg *keys, json_object *o)
{
        int r;

        r = sd_bus_message_open_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        for (const struct command_arg *k = keys; o && k && k->key; k++) {
                json_object *v;
                if (!json_object_object_get_ex(o, k->key, &v))
                        continue;
                if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
                    (r = sd_bus_message_append_basic(m, 's', k->name ?: k->key)) < 0 ||
                    (r = sd_bus_message_open_container(m, 'v', arg_signature(k, v))) < 0 ||
                    (r = append_value(m, k, v)) < 0 || (r = sd_bus_message_close_container(m)) < 0 ||
                    (r = sd_bus_message_close_container(m)) < 0)
                        return r;
        }
        return sd_bus_message_close_container(m);
}

int command_call_new(sd_bus *bus, const struct command_request *q, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const struct command_spec *spec;
        json_object *v;
        int r;

        if (q->error || q->command < 0 || q->command >= _COMMAND_MAX)
                return -EINVAL;
        spec = &command_specs[q->command];
        if (!spec->method) {
                /* a property: lock sets Locked, usage reads Usage */
                r = sd_bus_message_new_method_call(bus, &m, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH,
                                                   "org.freedesktop.DBus.Properties",
                                                   spec->args ? "Set" : "Get");
                if (r >= 0)
                        r = sd_bus_message_append(m, "ss", CHAIRD_INTERFACE, spec->property);
                if (r >= 0 && spec->args) {
                        json_object_object_get_ex(q->root, spec->args[0].key, &v);
                        r = sd_bus_message_open_container(m, 'v', arg_signature(&spec->args[0], v));
                        if (r >= 0)
                                r = append_value(m, &spec->args[0], v);
                        if (r >= 0)
                                r = sd_bus_message_close_container(m);
                }
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(m);
                return 0;
        }
        r = sd_bus_message_new_method_call(bus, &m, CHAIRD_BUS_NAME, CHAIRD_OBJECT_PATH, CHAIRD_INTERFACE,
                                           spec->method);
        if (r < 0)
                return r;
        for (const struct command_arg *a = spec->args; a && a->key; a++) {
                if (!json_object_object_get_ex(q->root, a->key, &v))
                        v = NULL;
                r = append_value(m, a, v);
                if (r < 0)
                        return r;
        }
        if (spec->options) {
                r = append_dict(m, spec->options, q->root);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}
