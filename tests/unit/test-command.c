/* test-command.c: chaird-mqtt's command parser sends on only clean, unambiguous commands and says why not.
 */
#include <errno.h>
#include <stdlib.h>

#include "command.h"
#include "tap.h"
#include "yamltree.h"

/* Parses text (size bytes, or strlen(text) when size is 0). */
static struct command_request *parse(const char *text, size_t size)
{
        struct command_request *r = NULL;

        if (command_parse(text, size ?: strlen(text), &r) < 0)
                abort();
        return r;
}

static bool message_is_clean(const struct command_request *r)
{
        size_t n = strlen(r->message);
        return n > 0 && utf8_check((const unsigned char *) r->message, n) == n;
}

/* The payload is refused as InvalidArgument, with a clean message that holds want. */
static bool refused(const char *text, size_t size, const char *want)
{
        struct command_request *r = parse(text, size);
        bool ok = r->error && streq(r->error, CHAIR_ERROR "InvalidArgument") && message_is_clean(r) &&
                  strstr(r->message, want);

        if (!ok)
                printf("#   %s: error %s, message '%s', wanted '%s'\n", text, r->error ?: "(none)",
                       r->message, want);
        command_request_free(r);
        return ok;
}

static void test_a_good_start_reads_every_argument(void)
{
        struct command_request *r =
                parse("{\"command\":\"start\",\"program\":\"caf\\u00e9\",\"duration-usec\":120000000,"
                      "\"intensity\":2,\"id\":[7]}",
                      0);

        CHECK(!r->error);
        CHECK_EQ_U(r->command, COMMAND_START);
        CHECK_STREQ(r->values[0].string, "caf\xc3\xa9");
        CHECK(r->values[1].present && r->values[1].number == 120000000);
        CHECK(r->values[2].present && r->values[2].number == 2);
        CHECK_STREQ(json_object_to_json_string_ext(r->id, JSON_C_TO_STRING_PLAIN), "[7]");
        command_request_free(r);

        r = parse("{\"command\":\"start\",\"program\":\"relax\"}", 0);
        CHECK(!r->error && !r->values[1].present && !r->values[2].present && !r->id);
        command_request_free(r);
}

static void test_invalid_utf8_in_any_string_is_refused_naming_it(void)
{
        CHECK(refused("{\"command\":\"start\",\"program\":\"\xff\xfe\"}", 0,
                      "'program' is not valid UTF-8"));
        CHECK(refused("{\"command\":\"start\",\"program\":\"relax\xc3\"}", 0, "'program'"));
        CHECK(refused("{\"command\":\"recline\",\"preset\":\"\xc0\xaf\"}", 0, "'preset'")); /* overlong */
        CHECK(refused("{\"command\":\"heat\",\"zone\":\"\xed\xa0\x80\",\"level\":1}", 0,
                      "'zone'")); /* surrogate */
        CHECK(refused("{\"command\":\"install\",\"yaml\":\"id: x\xf4\x90\x80\x80\"}", 0,
                      "'yaml'")); /* > U+10FFFF */
        CHECK(refused("{\"command\":\"\xff\"}", 0, "'command'"));
        CHECK(refused("{\"command\":\"stop\",\"id\":{\"a\":[\"\xff\"]}}", 0, "'id'"));
        CHECK(refused("{\"command\":\"stop\",\"\xff\":1}", 0, "a key is not valid UTF-8"));
        CHECK(refused("{\"command\":\"stop\",\"id\":{\"\xff\":1}}", 0, "a key is not valid UTF-8"));
}

static void test_a_nul_in_any_string_is_refused_naming_it(void)
{
        CHECK(refused("{\"command\":\"start\",\"program\":\"quick\\u0000evil\"}", 0,
                      "'program' holds a NUL character (\\u0000)"));
        CHECK(refused("{\"command\":\"start\\u0000x\",\"program\":\"relax\"}", 0, "'command'"));
        CHECK(refused("{\"command\":\"stop\",\"id\":\"\\u0000\"}", 0, "'id'"));
        /* json-c would cut the key to "program", and the second would replace the first */
        CHECK(refused("{\"command\":\"start\",\"program\":\"x\",\"program\\u0000\":\"relax\"}", 0,
                      "the key 'program' holds a NUL"));
        CHECK(refused("{\"command\":\"stop\",\"id\":{\"a\\u0000\":1}}", 0, "the key 'a' holds a NUL"));
        /* A NUL byte in the payload itself is no JSON at all. */
        CHECK(refused("{\"command\":\"stop\"}\0", 19, "NUL byte"));
}

static void test_a_key_given_twice_is_refused_naming_it(void)
{
        CHECK(refused("{\"command\":\"start\",\"program\":\"x\",\"program\":\"relax\"}", 0,
                      "'program' is given twice"));
        CHECK(refused("{\"command\":\"stop\",\"command\":\"start\",\"program\":\"relax\"}", 0, "'command'"));
        /* The same key, spelt with an escape: decoded before it is compared. */
        CHECK(refused("{\"command\":\"start\",\"program\":\"x\",\"progr\\u0061m\":\"relax\"}", 0,
                      "'program' is given twice"));
        CHECK(refused("{\"command\":\"stop\",\"id\":[{\"n\":1},{\"n\":2,\"m\":{\"k\":1,\"k\":2}}]}", 0,
                      "'k' is given twice"));
        /* The same key in two objects is no duplicate, nor a value that looks like a key. */
        struct command_request *r =
                parse("{\"command\":\"stop\",\"id\":[{\"n\":\"n\"},{\"n\":{\"command\":\"command\"}}]}", 0);
        CHECK(!r->error);
        command_request_free(r);
}

static void test_what_is_not_json_is_refused(void)
{
        CHECK(refused("{{", 0, "not JSON"));
        CHECK(refused("{\"command\":\"stop\"", 0, "ends early"));
        CHECK(refused("{\"command\":\"stop\"} {\"command\":\"start\"}", 0, "not JSON"));
        CHECK(refused("{'command':\"stop\"}", 0, "single quotes"));
        CHECK(refused("[1, 2]", 0, "not a JSON object"));
        CHECK(refused("{\"command\":5}", 0, "unknown command"));
        CHECK(refused("{\"id\":1}", 0, "no \"command\""));

        struct command_request *r = NULL;
        CHECK_EQ_U(command_parse(NULL, 0, &r), 0); /* an MQTT message without a payload */
        CHECK(r && r->error && streq(r->message, "the command is empty"));
        command_request_free(r);
}

static void test_argument_faults_keep_the_id_but_unclean_ids_are_not_echoed(void)
{
        struct command_request *r = parse("{\"command\":\"heat\",\"zone\":\"lumbar\",\"id\":\"h1\"}", 0);

        CHECK(r->error && strstr(r->message, "heat needs 'level'"));
        CHECK_EQ_U(r->command, COMMAND_HEAT);
        CHECK_STREQ(json_object_get_string(r->id), "h1");
        command_request_free(r);

        r = parse("{\"command\":\"stop\",\"id\":\"\xff\"}", 0);
        CHECK(r->error && !r->id);
        CHECK_EQ_U(r->command, (unsigned long long) _COMMAND_INVALID);
        command_request_free(r);

        /* json-c reads NaN, but a reply that echoed it would not be JSON. */
        CHECK(refused("{\"command\":\"stop\",\"id\":[NaN]}", 0, "'id' is not a finite number"));
        CHECK(refused("{\"command\":\"stop\",\"id\":-1e999}", 0, "'id' is not a finite number"));
        r = parse("{\"command\":\"stop\",\"id\":-0.5e3}", 0);
        CHECK(!r->error && json_object_get_double(r->id) == -500.0);
        command_request_free(r);
}

/* A message quoting a long key is cut to its buffer, and never inside a character (the "x" puts the cut
 * inside one). */
static void test_a_cut_message_is_still_utf8(void)
{
        char text[1024];
        size_t n = (size_t) snprintf(text, sizeof(text), "{\"command\":\"stop\",\"x");

        for (size_t i = 0; i < 300; i++)
                n += (size_t) snprintf(text + n, sizeof(text) - n, "\xc3\xa9");
        snprintf(text + n, sizeof(text) - n, "\":1}");
        CHECK(refused(text, 0, "stop takes no '"));
}

RUN_TESTS(T(test_a_good_start_reads_every_argument), T(test_invalid_utf8_in_any_string_is_refused_naming_it),
          T(test_a_nul_in_any_string_is_refused_naming_it), T(test_a_key_given_twice_is_refused_naming_it),
          T(test_what_is_not_json_is_refused),
          T(test_argument_faults_keep_the_id_but_unclean_ids_are_not_echoed),
          T(test_a_cut_message_is_still_utf8))
