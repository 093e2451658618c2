/* fuzz-command.c: libFuzzer harness for chaird-mqtt's command parser, fed what a broker may deliver. */
#include <stddef.h>
#include <stdint.h>

#include "command.h"
#include "util.h"
#include "yamltree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool is_utf8(const char *s)
{
        size_t n = strlen(s);
        return utf8_check((const unsigned char *) s, n) == n;
}

/* What goes on D-Bus: a known command with each argument it needs, of its type, every string clean text
 * (valid UTF-8 and, as json-c holds it, no NUL before its end). */
static void check_call(const struct command_request *r)
{
        if (r->command < 0 || r->command >= _COMMAND_MAX)
                __builtin_trap();
        const struct command_spec *spec = &command_specs[r->command];
        for (size_t i = 0; i < ELEMENTSOF(spec->args) && spec->args[i].key; i++) {
                const struct command_arg *a = &spec->args[i];
                const struct command_value *v = &r->values[i];
                json_object *j;
                if (!v->present) {
                        if (!a->optional)
                                __builtin_trap();
                        continue;
                }
                if (a->type == ARG_UINT32 && v->number > UINT32_MAX)
                        __builtin_trap();
                if (a->type != ARG_STRING)
                        continue;
                if (!v->string || !is_utf8(v->string) || !json_object_object_get_ex(r->root, a->key, &j) ||
                    (size_t) json_object_get_string_len(j) != strlen(v->string))
                        __builtin_trap();
        }
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
