/* busdict.h: entering an a{sv} of options, refusing a key given twice (last-wins would be a silent choice
 * between two values the caller sent). */
#pragma once

#include <stddef.h>
#include <systemd/sd-bus.h>

#define BUS_DICT_KEYS_MAX 64 /* more keys than any options dictionary has */

/* Enters the a{sv} at m's read pointer, after checking its keys: each at most once, at most
 * BUS_DICT_KEYS_MAX. Returns >= 0 with the read pointer at its first entry (exit the container after it);
 * -EEXIST with the key in dup (a key given twice), -E2BIG (too many keys), or sd-bus's -errno. */
int bus_dict_enter(sd_bus_message *m, char *dup, size_t size);

/* An a{sv} entry whose value is an array of signature ("as", "a{su}", "a{sv}"): opened down to the array,
 * for its elements; then closed (the array, the variant, the entry). */
int bus_dict_open_array(sd_bus_message *m, const char *key, const char *signature);
int bus_dict_close_array(sd_bus_message *m);
