/* command-call.c: builds the D-Bus call of a checked command from its table. */
#include <errno.h>

#include "command-call.h"

static int append_value(sd_bus_message *m, enum arg_type type, const struct command_value *v)
{
        switch (type) {
        case ARG_STRING:
                return sd_bus_message_append_basic(m, 's', v->string);
        case ARG_BOOL: {
                int x = v->boolean;
                return sd_bus_message_append_basic(m, 'b', &x);
        }
        case ARG_UINT32: {
                uint32_t x = (uint32_t) v->number;
                return sd_bus_message_append_basic(m, 'u', &x);
        }
        case ARG_UINT64:
                return sd_bus_message_append_basic(m, 't', &v->number);
        }
        return -EINVAL;
}

int command_call_new(sd_bus *bus, const struct command_request *q, sd_bus_message **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        const struct command_spec *spec = &command_specs[q->command];
        int r;

        if (!spec->method) {
                r = sd_bus_message_new_method_call(bus, &m, CHAIR_BUS_NAME, CHAIR_BUS_PATH,
                                                   "org.freedesktop.DBus.Properties", "Set");
                if (r < 0)
                        return r;
                r = sd_bus_message_append(m, "ssv", CHAIR_BUS_IFACE, "Locked", "b",
                                          (int) q->values[0].boolean);
                if (r < 0)
                        return r;
                *ret = TAKE_PTR(m);
                return 0;
        }
        r = sd_bus_message_new_method_call(bus, &m, CHAIR_BUS_NAME, CHAIR_BUS_PATH, CHAIR_BUS_IFACE,
                                           spec->method);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(spec->args) && spec->args[i].key; i++) {
                if (spec->args[i].optional)
                        continue;
                r = append_value(m, spec->args[i].type, &q->values[i]);
                if (r < 0)
                        return r;
        }
        if (spec->options) {
                r = sd_bus_message_open_container(m, 'a', "{sv}");
                if (r < 0)
                        return r;
                for (size_t i = 0; i < ELEMENTSOF(spec->args) && spec->args[i].key; i++) {
                        const struct command_arg *a = &spec->args[i];
                        char sig[2] = {arg_signatures[a->type], 0};
                        if (!a->optional || !q->values[i].present)
                                continue;
                        if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
                            (r = sd_bus_message_append_basic(m, 's', a->option)) < 0 ||
                            (r = sd_bus_message_open_container(m, 'v', sig)) < 0 ||
                            (r = append_value(m, a->type, &q->values[i])) < 0 ||
                            (r = sd_bus_message_close_container(m)) < 0 ||
                            (r = sd_bus_message_close_container(m)) < 0)
                                return r;
                }
                r = sd_bus_message_close_container(m);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(m);
        return 0;
}
