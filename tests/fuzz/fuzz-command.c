/* fuzz-command.c: libFuzzer harness for the bridges' command parser and the D-Bus calls it builds, fed what
 * a broker or a WebSocket may deliver. */
#include <stddef.h>
#include <stdint.h>

#include "callbus.h"
#include "command.h"
#include "util.h"
#include "yamltree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_utf8(const char *s)
{
        size_t n = strlen(s);
        return utf8_check((const unsigned char *) s, n) == n;
}

/* What goes on D-Bus: a known command whose call builds (sd-bus refuses a string that is not valid UTF-8 or
 * holds a NUL, a dictionary entry of the wrong shape, a variant that does not hold its type) with the
 * arguments its method declares, each argument it needs there. */
static void check_call(const struct command_request *r)
{
        static sd_bus *bus;
        json_object *call, *signature;

        if (r->command < 0 || r->command >= _COMMAND_MAX)
                __builtin_trap();
        const struct command_spec *spec = &command_specs[r->command];
        for (const struct command_arg *a = spec->args; a && a->key; a++)
                if (!a->optional && !json_object_object_get_ex(r->root, a->key, NULL))
                        __builtin_trap();
        if (!bus)
                bus = offline_bus();
        call = call_json(bus, r);
        if (!call || !json_object_object_get_ex(call, "signature", &signature) ||
            !streq(json_object_get_string(signature), spec->signature))
                __builtin_trap();
        json_object_put(call);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct command_request *r = NULL;

        if (command_parse(data, size, &r) < 0)
                return 0; /* out of memory: nothing to check */
        if (r->error) {
                /* Every refusal is written and readable. */
                if (!r->message[0] || !is_utf8(r->message))
                        __builtin_trap();
        } else
                check_call(r);
        /* An echoed id is JSON a client can read. */
        if (r->id && !is_utf8(json_object_to_json_string_ext(r->id, JSON_C_TO_STRING_PLAIN)))
                __builtin_trap();
        command_request_free(r);
        return 0;
}
