/* test-command.c: the bridges' command parser sends on only clean, unambiguous, well-typed commands and says
 * why not; a command that passes becomes the D-Bus call its table says. */
#include <errno.h>
#include <stdlib.h>

#include "callbus.h"
#include "command.h"
#include "tap.h"
#include "yamltree.h"

static sd_bus *bus;

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
        bool ok = r->error && streq(r->error, CHAIRD_ERROR_PREFIX "InvalidArgument") &&
                  message_is_clean(r) && strstr(r->message, want);

        if (!ok)
                printf("#   %s: error %s, message '%s', wanted '%s'\n", text, r->error ?: "(none)",
                       r->message, want);
        command_request_free(r);
        return ok;
}

/* The call text passes as: {"member":M,"signature":S,"body":[...]}, or a line saying why not. */
static bool calls(const char *text, const char *want)
{
        struct command_request *r = parse(text, 0);
        json_object *call;

        if (!bus)
                bus = offline_bus();
        call = r->error ? NULL : call_json(bus, r);
        const char *got = call ? json_text(call) : r->error ? r->message : "(the call cannot be built)";
        bool ok = streq(got, want);

        if (!ok)
                printf("#   %s\n#   got:      %s\n#   expected: %s\n", text, got, want);
        /* The call's arguments are what the method declares. */
        if (call && !strstr(got, command_specs[r->command].signature)) {
                printf("#   %s: not the signature %s\n", text, command_specs[r->command].signature);
                ok = false;
        }
        json_object_put(call);
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
        CHECK_STREQ(json_object_to_json_string_ext(r->id, JSON_C_TO_STRING_PLAIN), "[7]");
        command_request_free(r);
        CHECK(calls("{\"command\":\"start\",\"program\":\"caf\\u00e9\",\"duration-usec\":120000000,"
                    "\"intensity\":2,\"id\":[7]}",
                    "{\"member\":\"Start\",\"signature\":\"sa{sv}\",\"body\":[\"caf\xc3\xa9\",{\"duration\":"
                    "120000000,\"intensity\":2}]}"));
        CHECK(calls("{\"command\":\"start\",\"program\":\"relax\"}",
                    "{\"member\":\"Start\",\"signature\":\"sa{sv}\",\"body\":[\"relax\",{}]}"));
        /* A duration beyond 32 bits stays whole. */
        CHECK(calls("{\"command\":\"start\",\"program\":\"\",\"duration-usec\":18446744073709551615}",
                    "{\"member\":\"Start\",\"signature\":\"sa{sv}\",\"body\":[\"\",{\"duration\":"
                    "18446744073709551615}]}"));
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

/* Each command, its keys as JSON, and the call it becomes; every command of the table is here. */
static const struct {
        const char *text, *call;
} every_command[] = {
        {"{'command':'stop'}", "{'member':'Stop','signature':'','body':[]}"},
        {"{'command':'pause'}", "{'member':'Pause','signature':'','body':[]}"},
        {"{'command':'resume'}", "{'member':'Resume','signature':'','body':[]}"},
        {"{'command':'emergency-stop'}", "{'member':'EmergencyStop','signature':'','body':[]}"},
        {"{'command':'release'}", "{'member':'Release','signature':'','body':[]}"},
        {"{'command':'reset'}", "{'member':'ResetFault','signature':'','body':[]}"},
        {"{'command':'start','program':'relax','intensity':5}",
         "{'member':'Start','signature':'sa{sv}','body':['relax',{'intensity':5}]}"},
        {"{'command':'recline','preset':'flat'}", "{'member':'Recline','signature':'s','body':['flat']}"},
        {"{'command':'jog','axis':'legrest','direction':-1}",
         "{'member':'Jog','signature':'si','body':['legrest',-1]}"},
        {"{'command':'heat','zone':'lumbar','level':3}",
         "{'member':'SetHeat','signature':'su','body':['lumbar',3]}"},
        {"{'command':'intensity','intensity':1}", "{'member':'SetIntensity','signature':'u','body':[1]}"},
        {"{'command':'manual','roller':{'technique':'kneading+tapping','area':'lumbar','speed':6,'width':"
         "'wide','depth':5},'airbags':{'zones':['arms','calves'],'pattern':'wave','intensity':1},'heat':{"
         "'lumbar':2,'calves':0},'foot-rollers':0,'recline':'zero-gravity-1','duration-usec':600000000}",
         "{'member':'StartManual','signature':'a{sv}','body':[{'roller':{'technique':'kneading+tapping',"
         "'area':'lumbar','speed':6,'width':'wide','depth':5},'airbags':{'zones':['arms','calves'],"
         "'pattern':'wave','intensity':1},'heat':{'lumbar':2,'calves':0},'foot-rollers':0,"
         "'recline':'zero-gravity-1','duration':600000000}]}"},
        /* A position is a name, or a fraction as a d; a whole number is a fraction too. */
        {"{'command':'manual','roller':{'from':0.25,'to':1,'pattern':'p'}}",
         "{'member':'StartManual','signature':'a{sv}','body':[{'roller':{'pattern':'p','from':0.25,'to':1.0}"
         "}]}"},
        {"{'command':'adjust','speed':2,'width':'narrow','depth':1,'from':'neck','to':0.5,"
         "'airbag-intensity':5,'foot-rollers':6,'reset':true,'heat':{},'recline':'flat','roller':{},"
         "'airbags':{'zones':[]},'duration-usec':0}",
         "{'member':'Adjust','signature':'a{sv}','body':[{'speed':2,'width':'narrow','depth':1,"
         "'from':'neck','to':0.5,'airbag-intensity':5,'foot-rollers':6,'reset':true,'roller':{},"
         "'airbags':{'zones':[]},'heat':{},'recline':'flat','duration':0}]}"},
        {"{'command':'shoulders','offset-mm':-20}",
         "{'member':'AdjustShoulders','signature':'i','body':[-20]}"},
        {"{'command':'lock','locked':true}",
         "{'member':'Set','signature':'ssv','body':['io.chaird.Chair1','Locked',true]}"},
        {"{'command':'select-profile','name':''}", "{'member':'SelectProfile','signature':'s','body':['']}"},
        {"{'command':'save-profile','name':'anna','favourites':['relax'],'intensity':0,'heat':{'lumbar':3},"
         "'shoulder-offset':-300,'program':'relax'}",
         "{'member':'SaveProfile','signature':'sa{sv}','body':['anna',{'favourites':['relax'],'intensity':0,"
         "'heat':{'lumbar':3},'shoulder-offset':-300,'program':'relax'}]}"},
        {"{'command':'save-profile','name':'anna'}",
         "{'member':'SaveProfile','signature':'sa{sv}','body':['anna',{}]}"},
        {"{'command':'get-profile','name':'anna'}",
         "{'member':'GetProfile','signature':'s','body':['anna']}"},
        {"{'command':'delete-profile','name':'anna'}",
         "{'member':'DeleteProfile','signature':'s','body':['anna']}"},
        {"{'command':'save-position','name':'nap'}",
         "{'member':'SavePosition','signature':'s','body':['nap']}"},
        {"{'command':'delete-position','name':'nap'}",
         "{'member':'DeletePosition','signature':'s','body':['nap']}"},
        {"{'command':'history'}", "{'member':'History','signature':'u','body':[0]}"},
        {"{'command':'history','max':10}", "{'member':'History','signature':'u','body':[10]}"},
        {"{'command':'usage'}", "{'member':'Get','signature':'ss','body':['io.chaird.Chair1','Usage']}"},
        {"{'command':'install','yaml':'id: x\\n'}",
         "{'member':'InstallProgram','signature':'s','body':['id: x\\n']}"},
};

/* The examples above in JSON's own quotes. */
static char *dequote(const char *s)
{
        char *t = strdup(s);

        for (char *p = t; p && *p; p++)
                if (*p == '\'')
                        *p = '"';
        return t;
}

static void test_every_command_becomes_its_call(void)
{
        bool seen[_COMMAND_MAX] = {};

        for (size_t i = 0; i < ELEMENTSOF(every_command); i++) {
                _cleanup_free_ char *text = dequote(every_command[i].text),
                                    *call = dequote(every_command[i].call);
                struct command_request *r = parse(text, 0);
                if (r->command >= 0)
                        seen[r->command] = true;
                command_request_free(r);
                CHECK(calls(text, call));
        }
        for (int c = 0; c < _COMMAND_MAX; c++)
                if (!seen[c]) {
                        printf("#   no example of %s\n", command_names[c]);
                        CHECK(seen[c]);
                }
}

/* A wrong type or a number out of the command's range is refused naming the key, with the range the table
 * knows. */
static const struct {
        const char *text, *message;
} bad_arguments[] = {
        {"{'command':'heat','zone':'lumbar','level':-1}", "'level' must be a whole number from 0 to 3"},
        {"{'command':'heat','zone':'lumbar','level':4}", "'level' must be a whole number from 0 to 3"},
        {"{'command':'intensity','intensity':0}", "'intensity' must be a whole number from 1 to 5"},
        {"{'command':'intensity','intensity':2.0}", "'intensity' must be a whole number from 1 to 5"},
        {"{'command':'start','program':'relax','duration-usec':-1}",
         "'duration-usec' must be a whole number from 0"},
        {"{'command':'jog','axis':'legrest','direction':0}", "'direction' must be -1 or 1"},
        {"{'command':'jog','axis':'legrest','direction':'up'}", "'direction' must be -1 or 1"},
        {"{'command':'jog','direction':1}", "jog needs 'axis'"},
        {"{'command':'shoulders','offset-mm':1.5}",
         "'offset-mm' must be a whole number from -2147483648 to 2147483647"},
        {"{'command':'shoulders','offset-mm':2147483648}",
         "'offset-mm' must be a whole number from -2147483648 to 2147483647"},
        {"{'command':'manual','roller':{'speed':7}}", "'roller.speed' must be a whole number from 1 to 6"},
        {"{'command':'manual','roller':{'depth':0}}", "'roller.depth' must be a whole number from 1 to 5"},
        {"{'command':'manual','roller':{'area':true}}",
         "'roller.area' must be a name (a string) or a fraction of the roller's track (a number)"},
        {"{'command':'manual','roller':{'sped':3}}",
         "'roller' takes no 'sped' (known: technique, pattern, area, from, to, speed, width, depth)"},
        {"{'command':'manual','roller':'kneading'}",
         "'roller' must be an object (keys: technique, pattern, area, from, to, speed, width, depth)"},
        {"{'command':'manual','airbags':{'zones':'arms'}}", "'airbags.zones' must be a list of strings"},
        {"{'command':'manual','airbags':{'zones':['arms',1]}}", "'airbags.zones' must be a list of strings"},
        {"{'command':'manual','airbags':{'intensity':6}}",
         "'airbags.intensity' must be a whole number from 1 to 5"},
        {"{'command':'manual','heat':{'lumbar':-1}}", "'heat.lumbar' must be a whole number from 0 to 3"},
        {"{'command':'manual','heat':['lumbar']}",
         "'heat' must be an object of names to whole numbers from 0 to 3"},
        {"{'command':'manual','foot-rollers':7}", "'foot-rollers' must be a whole number from 0 to 6"},
        {"{'command':'manual','duration':600000000}",
         "manual takes no 'duration' (known: roller, airbags, heat, foot-rollers, recline, duration-usec)"},
        {"{'command':'adjust','reset':1}", "'reset' must be true or false"},
        {"{'command':'adjust','airbag-intensity':0}",
         "'airbag-intensity' must be a whole number from 1 to 5"},
        {"{'command':'adjust','area':null}",
         "'area' must be a name (a string) or a fraction of the roller's track (a number)"},
        {"{'command':'save-profile','intensity':3}", "save-profile needs 'name'"},
        {"{'command':'save-profile','name':'anna','intensity':6}",
         "'intensity' must be a whole number from 0 to 5"},
        {"{'command':'save-profile','name':'anna','favourites':[{}]}",
         "'favourites' must be a list of strings"},
        {"{'command':'save-profile','name':'anna','heat':{'lumbar':'high'}}",
         "'heat.lumbar' must be a whole number from 0 to 3"},
        {"{'command':'save-profile','name':'anna','positions':{}}",
         "save-profile takes no 'positions' (known: name, favourites, intensity, heat, shoulder-offset, "
         "program)"},
        {"{'command':'get-profile','name':7}", "'name' must be a string"},
        {"{'command':'history','max':-1}", "'max' must be a whole number from 0 to 4294967295"},
        {"{'command':'select-profile'}", "select-profile needs 'name'"},
        {"{'command':'delete-position','name':'nap','axis':'x'}",
         "delete-position takes no 'axis' (known: name)"},
        {"{'command':'stop','speed':3}", "stop takes no 'speed' (it takes no keys)"},
};

static void test_bad_arguments_name_the_key_and_the_range(void)
{
        for (size_t i = 0; i < ELEMENTSOF(bad_arguments); i++) {
                _cleanup_free_ char *text = dequote(bad_arguments[i].text);
                struct command_request *r = parse(text, 0);
                bool ok = r->error && streq(r->error, CHAIRD_ERROR_PREFIX "InvalidArgument") &&
                          streq(r->message, bad_arguments[i].message);
                if (!ok)
                        printf("#   %s\n#   got:      %s\n#   expected: %s\n", text, r->message,
                               bad_arguments[i].message);
                CHECK(ok);
                command_request_free(r);
        }
}

/* A key given twice, or a string that is not clean text, deep within an object is refused like one at the
 * top. */
static void test_nested_objects_are_held_to_the_same_rules(void)
{
        CHECK(refused("{\"command\":\"manual\",\"roller\":{\"speed\":1,\"speed\":6}}", 0,
                      "'speed' is given twice"));
        CHECK(refused("{\"command\":\"manual\",\"heat\":{\"lumbar\":1,\"lumbar\":3}}", 0,
                      "'lumbar' is given twice"));
        CHECK(refused("{\"command\":\"manual\",\"roller\":{\"pattern\":\"a\\u0000b\"}}", 0,
                      "'roller' holds a NUL"));
        CHECK(refused("{\"command\":\"manual\",\"airbags\":{\"zones\":[\"\xff\"]}}", 0,
                      "'airbags' is not valid UTF-8"));
        CHECK(refused("{\"command\":\"save-profile\",\"name\":\"a\",\"heat\":{\"lum\\u0000bar\":1}}", 0,
                      "the key 'lum' holds a NUL"));
        CHECK(refused("{\"command\":\"manual\",\"roller\":{\"from\":NaN}}", 0,
                      "'roller' is not a finite number"));
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

/* chaird's doubles (temperatures, positions) come out as the shortest text that reads back as the same
 * number: not json-c's 21.300000000000001, not a rounding that loses what chaird sent; a whole one keeps its
 * fraction. */
static void test_doubles_become_their_shortest_exact_text(void)
{
        static const struct {
                double v;
                const char *text;
        } cases[] = {
                {21.3, "21.3"},
                {24.0, "24.0"},
                {0.0, "0.0"},
                {-15.5, "-15.5"},
                {42.900000000000006, "42.900000000000006"},
                {0.06086956521739131, "0.06086956521739131"},
                {1e-7, "1e-07"},
                {1e300, "1e+300"},
        };
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;

        if (!bus)
                bus = offline_bus();
        CHECK(sd_bus_message_new_signal(bus, &m, "/t", "t.T", "T") >= 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                CHECK(sd_bus_message_append(m, "d", cases[i].v) >= 0);
        CHECK(sd_bus_message_seal(m, 1, 0) >= 0 && sd_bus_message_rewind(m, true) >= 0);
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_json_ json_object *o = NULL;
                CHECK(bus_message_read_json(m, &o) >= 0);
                CHECK_STREQ(json_text(o), cases[i].text);
                CHECK(json_object_get_double(o) == cases[i].v);
        }
}

RUN_TESTS(T(test_a_good_start_reads_every_argument), T(test_every_command_becomes_its_call),
          T(test_bad_arguments_name_the_key_and_the_range),
          T(test_nested_objects_are_held_to_the_same_rules),
          T(test_invalid_utf8_in_any_string_is_refused_naming_it),
          T(test_a_nul_in_any_string_is_refused_naming_it), T(test_a_key_given_twice_is_refused_naming_it),
          T(test_what_is_not_json_is_refused),
          T(test_argument_faults_keep_the_id_but_unclean_ids_are_not_echoed),
          T(test_a_cut_message_is_still_utf8), T(test_doubles_become_their_shortest_exact_text))
