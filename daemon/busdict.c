/* busdict.c: an a{sv} of options entered once its keys are known to be unique. */
#include <errno.h>
#include <stdio.h>

#include "busdict.h"
#include "util.h"

int bus_dict_enter(sd_bus_message *m, char *dup, size_t size)
{
        const char *keys[BUS_DICT_KEYS_MAX];
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *key;

                r = sd_bus_message_read(m, "s", &key);
                if (r >= 0)
                        r = sd_bus_message_skip(m, "v");
                if (r >= 0)
                        r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n; i++)
                        if (streq(keys[i], key)) {
                                snprintf(dup, size, "%s", key);
                                return -EEXIST;
                        }
                if (n == BUS_DICT_KEYS_MAX)
                        return -E2BIG;
                keys[n++] = key; /* points into the message, which outlives this */
        }
        if (r < 0)
                return r;
        /* Back to the first entry, for the caller's reading. */
        return sd_bus_message_rewind(m, false);
}

int bus_dict_open_array(sd_bus_message *m, const char *key, const char *signature)
{
        int r = sd_bus_message_open_container(m, 'e', "sv");

        if (r >= 0)
                r = sd_bus_message_append(m, "s", key);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'v', signature);
        if (r >= 0)
                r = sd_bus_message_open_container(m, 'a', signature + 1);
        return r;
}

int bus_dict_close_array(sd_bus_message *m)
{
        int r = 0;

        for (int i = 0; r >= 0 && i < 3; i++)
                r = sd_bus_message_close_container(m);
        return r;
}
