/* busdict.h: an a{sv} of options read and written through a table of its keys ({key, D-Bus type, where the
 * value goes, range}, as netplan reads YAML), a key given twice refused (last-wins would be a silent choice
 * between two values the caller sent). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#define BUS_DICT_KEYS_MAX 64 /* more keys than any options dictionary has; a table's rows, at most */

struct bus_option;

/* A key whose value is not one scalar: reads the value (the message at the variant) into dest, or appends it
 * (within the variant of the key's type). -EINVAL (or another -errno the caller gives a meaning) with why
 * set to a message naming the key; sd-bus's -errno with why left empty. */
typedef int (*bus_option_read_t)(sd_bus_message *m, const struct bus_option *o, void *dest, void *userdata,
                                 char *why, size_t size);
typedef int (*bus_option_append_t)(sd_bus_message *m, const struct bus_option *o, const void *src,
                                   void *userdata);

struct bus_option {
        const char *key;
        /* "u", "i", "t", "b" or "d": read into the field at offset (unsigned, int, uint64_t, bool, double);
         * "s": a const char * into the message. Another signature, or alternatives ("s|d"): read by read.
         * NULL: any type, skipped, for the caller to read on its own. */
        const char *type;
        size_t offset;
        int64_t min, max; /* u, i, t: the range; min == max: any value */
        const char *unit; /* said after a range's ends ("us, the session cap"); NULL: nothing */
        const char
                *unsupported; /* set: the chair lacks what the key sets (-EOPNOTSUPP, "key: unsupported") */
        bool required;
        bus_option_read_t read;
        bus_option_append_t append;
};

/* Reads the a{sv} at m's read pointer through the n rows of options into dest (each key at most once, every
 * key known, of its type and in its range, the required ones given), and exits it. ret_given (may be NULL):
 * bit i for options[i] given. within (NULL at the top) is the key this dictionary is the value of, and
 * prefixes the keys in messages ("roller.speed"). Returns 0; -EINVAL (or a read callback's -errno) with why
 * naming the key, -EOPNOTSUPP with why for an unsupported key; sd-bus's -errno with why empty. */
int bus_dict_read(sd_bus_message *m, const struct bus_option *options, size_t n, void *dest, void *userdata,
                  const char *within, uint64_t *ret_given, char *why, size_t size);
/* A u, i or t value of o out of o's range: -EINVAL with why ("key: 9 is out of range (1 to 6)"); else 0. */
int bus_option_check_range(const struct bus_option *o, const char *within, int64_t v, char *why,
                           size_t size);
/* The keys of the table as "a, b, c". */
const char *bus_options_known(const struct bus_option *options, size_t n, char *buf, size_t size);

/* Appends one {sv} entry per row of options (rows without a type or with a type of alternatives are left
 * out), its value from src, to the a{sv} open at m. */
int bus_dict_append(sd_bus_message *m, const struct bus_option *options, size_t n, const void *src,
                    void *userdata);

/* Enters the a{sv} at m's read pointer, after checking its keys: each at most once, at most
 * BUS_DICT_KEYS_MAX. Returns >= 0 with the read pointer at its first entry (exit the container after it);
 * -EEXIST with the key in dup (a key given twice), -E2BIG (too many keys), or sd-bus's -errno. */
int bus_dict_enter(sd_bus_message *m, char *dup, size_t size);

/* An a{sv} entry whose value is an array of signature ("as", "a{su}", "a{sv}"): opened down to the array,
 * for its elements; then closed (the array, the variant, the entry). */
int bus_dict_open_array(sd_bus_message *m, const char *key, const char *signature);
int bus_dict_close_array(sd_bus_message *m);
