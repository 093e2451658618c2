/* schema.c: table-driven mapping of YAML nodes onto C structs, with file:line:col diagnostics. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "schema.h"

static void parse_diag(struct parse_ctx *ctx, enum severity sev, struct mark m, const char *fmt, va_list ap)
        _printf_(4, 0);
static void parse_diag(struct parse_ctx *ctx, enum severity sev, struct mark m, const char *fmt, va_list ap)
{
        _cleanup_free_ char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0) {
                ctx->diags->oom = true;
                if (sev == SEVERITY_ERROR)
                        ctx->diags->n_errors++;
                return;
        }
        diag_add(ctx->diags, sev, ctx->file, m.line, m.column, "%s", msg);
}

void parse_error_at(struct parse_ctx *ctx, struct mark m, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        parse_diag(ctx, SEVERITY_ERROR, m, fmt, ap);
        va_end(ap);
}

void parse_warning_at(struct parse_ctx *ctx, struct mark m, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        parse_diag(ctx, SEVERITY_WARNING, m, fmt, ap);
        va_end(ap);
}

static const char *article(enum ynode_type t)
{
        return t == YNODE_SCALAR ? "" : "a ";
}

bool expect_type(struct parse_ctx *ctx, const struct ynode *node, enum ynode_type type, const char *what)
{
        if (node->type == type)
                return true;
        /* "phases:" with nothing under it (or nothing indented under it). */
        if (node->type == YNODE_SCALAR && !node->quoted && !*node->value &&
            (type == YNODE_SEQUENCE || type == YNODE_MAPPING)) {
                parse_error(ctx, node, "%s is empty: %s", what,
                            type == YNODE_SEQUENCE
                                    ? "write its items under it, indented, each on a line starting with '- '"
                                    : "write its keys under it, indented");
                return false;
        }
        parse_error(ctx, node, "%s must be %s%s, not %s%s", what, article(type), ynode_type_to_string(type),
                    article(node->type), ynode_type_to_string(node->type));
        return false;
}

const char *join_names(char *buf, size_t size, const char *const *names)
{
        size_t n = 0, count = 0, len = 0;

        while (names[count])
                count++;
        buf[0] = '\0';
        for (size_t i = 0; i < count && len < size; i++) {
                const char *sep = i == 0 ? "" : i + 1 == count ? " or " : ", ";
                n = (size_t) snprintf(buf + len, size - len, "%s%s", sep, names[i]);
                len += n;
        }
        return buf;
}

int lookup_name(struct parse_ctx *ctx, const struct ynode *node, const char *const *names, const char *what,
                unsigned *ret)
{
        char list[512];
        const char *guess;

        if (!expect_type(ctx, node, YNODE_SCALAR, what))
                return -EINVAL;
        for (unsigned i = 0; names[i]; i++)
                if (streq(names[i], node->value)) {
                        *ret = i;
                        return 0;
                }
        guess = closest_name(node->value, names);
        if (guess)
                parse_error(ctx, node, "unknown %s '%s'; did you mean '%s'?", what, node->value, guess);
        else
                parse_error(ctx, node, "unknown %s '%s' (expected %s)", what, node->value,
                            join_names(list, sizeof(list), names));
        return -EINVAL;
}

/* parse_mappings(), and the keys seen of the first table. */
static int parse_tables(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                        const struct field_set *sets, size_t n_sets, uint64_t *ret_seen)
{
        uint64_t seen = 0;
        bool bad = false;

        if (!expect_type(ctx, node, YNODE_MAPPING, what))
                return -EINVAL;

        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                const struct ynode *key = ynode_key(node, i), *value = ynode_value(node, i);
                const struct field *f = NULL;
                const struct field_set *set = NULL;
                size_t k = 0;
                int r;

                for (size_t s = 0; s < n_sets && !f; s++)
                        for (k = 0; sets[s].fields && sets[s].fields[k].key; k++)
                                if (streq(sets[s].fields[k].key, key->value)) {
                                        f = &sets[s].fields[k];
                                        set = &sets[s];
                                        break;
                                }
                if (!f) {
                        const char *names[65];
                        const char *guess;
                        char list[512];
                        size_t n = 0;

                        for (size_t s = 0; s < n_sets; s++)
                                for (k = 0; sets[s].fields && sets[s].fields[k].key && n < 64; k++)
                                        names[n++] = sets[s].fields[k].key;
                        names[n] = NULL;
                        guess = closest_name(key->value, names);
                        if (guess)
                                parse_error(ctx, key, "unknown key '%s' in %s; did you mean '%s'?",
                                            key->value, what, guess);
                        else
                                parse_error(ctx, key, "unknown key '%s' in %s (expected %s)", key->value,
                                            what, join_names(list, sizeof(list), names));
                        bad = true;
                        continue;
                }
                /* Duplicate keys were refused by the loader, so each field is seen once. */
                if (set == &sets[0] && k < 64)
                        seen |= UINT64_C(1) << k;
                r = f->parse(ctx, value, f, (char *) set->target + f->offset);
                if (r == -EINVAL)
                        bad = true;
                else if (r < 0)
                        return r;
        }

        for (size_t s = 0; s < n_sets; s++)
                for (size_t k = 0; sets[s].fields && sets[s].fields[k].key; k++)
                        if ((sets[s].fields[k].flags & FIELD_REQUIRED) &&
                            !ynode_lookup(node, sets[s].fields[k].key)) {
                                parse_error(ctx, node, "%s is missing the required key '%s'", what,
                                            sets[s].fields[k].key);
                                bad = true;
                        }

        if (ret_seen)
                *ret_seen = seen;
        return bad ? -EINVAL : 0;
}

int parse_mapping(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                  const struct field *fields, void *target, uint64_t *ret_seen)
{
        return parse_tables(ctx, node, what, &(struct field_set){fields, target}, 1, ret_seen);
}

int parse_mappings(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                   const struct field_set *sets, size_t n_sets)
{
        return parse_tables(ctx, node, what, sets, n_sets, NULL);
}

bool require_keys(struct parse_ctx *ctx, const struct ynode *node, const char *what, const char *const *keys,
                  const char *why)
{
        bool ok = true;

        for (size_t k = 0; keys[k]; k++)
                if (!ynode_lookup(node, keys[k])) {
                        parse_error(ctx, node, "%s is missing the required key '%s'%s", what, keys[k], why);
                        ok = false;
                }
        return ok;
}

int field_string(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        char **s = dest;

        if (!expect_type(ctx, node, YNODE_SCALAR, f->key))
                return -EINVAL;
        if (ynode_is_null(node) || node->value[0] == '\0') {
                parse_error(ctx, node, "%s must not be empty", f->key);
                return -EINVAL;
        }
        free(*s);
        *s = strdup(node->value);
        return *s ? 0 : -ENOMEM;
}

int parse_unsigned(const char *s, unsigned long long *ret)
{
        unsigned long long v = 0;

        if (!*s)
                return -EINVAL;
        for (; *s; s++) {
                if (*s < '0' || *s > '9')
                        return -EINVAL;
                if (v > (ULLONG_MAX - (unsigned) (*s - '0')) / 10)
                        return -ERANGE;
                v = v * 10 + (unsigned) (*s - '0');
        }
        *ret = v;
        return 0;
}

int parse_number(const char *s, double *ret)
{
        const char *p = s;
        bool digits = false;
        char *end;
        double v;

        /* Only plain decimal notation: no hex, no exponents, no "inf"/"nan" that strtod would take. */
        if (*p == '-' || *p == '+')
                p++;
        for (; *p >= '0' && *p <= '9'; p++)
                digits = true;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++)
                        digits = true;
        if (!digits || *p)
                return -EINVAL;
        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || *end || !isfinite(v))
                return -EINVAL;
        *ret = v;
        return 0;
}

/* Numbers must be plain YAML scalars: a quoted "3" is text, and saying so catches a class of typos. */
static bool expect_number(struct parse_ctx *ctx, const struct ynode *node, const char *what)
{
        if (!expect_type(ctx, node, YNODE_SCALAR, what))
                return false;
        if (node->quoted) {
                parse_error(ctx, node, "%s must be a number, not quoted text", what);
                return false;
        }
        return true;
}

int field_uint(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        unsigned long long v;
        int r;

        if (!expect_number(ctx, node, f->key))
                return -EINVAL;
        r = parse_unsigned(node->value, &v);
        if (r == -EINVAL && node->value[0] == '-' && parse_unsigned(node->value + 1, &v) == 0)
                r = -ERANGE;
        if (r == -EINVAL) {
                parse_error(ctx, node, "%s must be a whole number from %lld to %lld, not '%s'", f->key,
                            f->min, f->max, node->value);
                return -EINVAL;
        }
        if (r < 0 || (long long) v < f->min || (long long) v > f->max || v > (unsigned long long) f->max) {
                parse_error(ctx, node, "%s %s is out of range (%lld to %lld)", f->key, node->value, f->min,
                            f->max);
                return -EINVAL;
        }
        *(unsigned *) dest = (unsigned) v;
        return 0;
}

int field_enum(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        return lookup_name(ctx, node, f->names, f->what ?: f->key, dest);
}

int field_bool(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        if (!expect_type(ctx, node, YNODE_SCALAR, f->key))
                return -EINVAL;
        if (!node->quoted && streq(node->value, "true"))
                *(bool *) dest = true;
        else if (!node->quoted && streq(node->value, "false"))
                *(bool *) dest = false;
        else {
                parse_error(ctx, node, "%s must be true or false, not '%s'", f->key, node->value);
                return -EINVAL;
        }
        return 0;
}

/* A duration as people write it when they do not know the format: "1.5m", "10 m", "10M", "1 hour",
 * "5 minutes 30 seconds". Returns the value, and in what what is wrong with it, or -EINVAL when it is not
 * that either. */
static int parse_duration_loosely(const char *s, usec_t *ret, const char **ret_what)
{
        static const struct {
                const char *word;
                double usec;
        } words[] = {
                {"milliseconds", USEC_PER_MSEC}, {"millisecond", USEC_PER_MSEC},
                {"msecs", USEC_PER_MSEC},        {"msec", USEC_PER_MSEC},
                {"ms", USEC_PER_MSEC},           {"hours", USEC_PER_HOUR},
                {"hour", USEC_PER_HOUR},         {"hrs", USEC_PER_HOUR},
                {"hr", USEC_PER_HOUR},           {"h", USEC_PER_HOUR},
                {"minutes", USEC_PER_MINUTE},    {"minute", USEC_PER_MINUTE},
                {"mins", USEC_PER_MINUTE},       {"min", USEC_PER_MINUTE},
                {"m", USEC_PER_MINUTE},          {"seconds", USEC_PER_SEC},
                {"second", USEC_PER_SEC},        {"secs", USEC_PER_SEC},
                {"sec", USEC_PER_SEC},           {"s", USEC_PER_SEC},
        };
        bool space = false, upper = false, word = false, decimal = false;
        double total = 0.0;
        const char *p = s;

        while (*p) {
                char *end;
                double v;
                size_t k, n;

                if (!(*p >= '0' && *p <= '9'))
                        return -EINVAL;
                v = strtod(p, &end);
                decimal |= memchr(p, '.', (size_t) (end - p)) != NULL;
                p = end;
                for (; *p == ' '; p++)
                        space = true;
                for (n = 0; (p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z'); n++)
                        upper |= p[n] >= 'A' && p[n] <= 'Z';
                for (k = 0; k < ELEMENTSOF(words); k++)
                        if (strlen(words[k].word) == n && strncasecmp(p, words[k].word, n) == 0)
                                break;
                if (n == 0 || k == ELEMENTSOF(words))
                        return -EINVAL;
                word |= n > 2 || (n == 2 && strncasecmp(p, "ms", 2) != 0);
                total += v * words[k].usec;
                p += n;
                for (; *p == ' '; p++)
                        space = true;
        }
        /* Only what the format can say: whole milliseconds, under the longest duration it takes. */
        if (total >= (double) (100 * USEC_PER_HOUR) || fabs(remainder(total, USEC_PER_MSEC)) > 1e-3)
                return -EINVAL;
        *ret = (usec_t) llround(total / USEC_PER_MSEC) * USEC_PER_MSEC;
        *ret_what = word      ? "the units are h, m, s and ms"
                    : upper   ? "units are lowercase"
                    : decimal ? "a duration is whole numbers of units"
                    : space   ? "a duration has no spaces"
                              : NULL;
        return *ret_what ? 0 : -EINVAL;
}

/* When s is a duration written another way, *ret_reason says how to write it instead, e.g. "units are
 * lowercase: write 10m". Always -EINVAL. */
static int loose_reason(const char *s, const char **ret_reason)
{
        static _Thread_local char buf[128];
        char d[DURATION_MAX_STR];
        const char *what;
        usec_t v;

        if (parse_duration_loosely(s, &v, &what) == 0 && v > 0) {
                snprintf(buf, sizeof(buf), "%s: write %s", what, format_duration(d, sizeof(d), v));
                *ret_reason = buf;
        }
        return -EINVAL;
}

int parse_duration(const char *s, usec_t *ret, const char **ret_reason)
{
        static const struct {
                const char *suffix;
                usec_t usec;
        } units[] = {
                /* Longest suffix first so that "ms" is not read as "m". */
                {"ms", USEC_PER_MSEC},
                {"h", USEC_PER_HOUR},
                {"m", USEC_PER_MINUTE},
                {"s", USEC_PER_SEC},
        };
        usec_t total = 0, last_unit = UINT64_MAX;
        const char *p = s;

        if (*p == '-') {
                *ret_reason = "a duration cannot be negative";
                return -EINVAL;
        }
        if (!*p) {
                *ret_reason = "a duration cannot be empty";
                return -EINVAL;
        }
        while (*p) {
                unsigned long long v = 0;
                const char *start = p;
                size_t k;

                for (; *p >= '0' && *p <= '9'; p++) {
                        if (v > (UINT64_MAX / USEC_PER_HOUR) / 10) {
                                *ret_reason = "the duration is too long";
                                return -EINVAL;
                        }
                        v = v * 10 + (unsigned) (*p - '0');
                }
                if (p == start) {
                        *ret_reason = "expected a whole number with a unit, e.g. 90s, 5m or 1m30s";
                        return loose_reason(s, ret_reason);
                }
                for (k = 0; k < ELEMENTSOF(units); k++)
                        if (strncmp(p, units[k].suffix, strlen(units[k].suffix)) == 0)
                                break;
                if (k == ELEMENTSOF(units)) {
                        *ret_reason = *p ? "expected a unit h, m, s or ms, e.g. 90s, 5m or 1m30s"
                                         : "a duration needs a unit (h, m, s or ms), e.g. 90s or 5m";
                        return loose_reason(s, ret_reason);
                }
                if (units[k].usec >= last_unit) {
                        *ret_reason = "units must go from larger to smaller, each once, as in 1m30s";
                        return -EINVAL;
                }
                last_unit = units[k].usec;
                if (v > (UINT64_MAX - total) / units[k].usec) {
                        *ret_reason = "the duration is too long";
                        return -EINVAL;
                }
                total += v * units[k].usec;
                p += strlen(units[k].suffix);
        }
        *ret = total;
        return 0;
}

int field_duration(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        char lo[DURATION_MAX_STR], hi[DURATION_MAX_STR];
        const char *reason;
        usec_t v;

        if (!expect_type(ctx, node, YNODE_SCALAR, f->key))
                return -EINVAL;
        if (parse_duration(node->value, &v, &reason) < 0) {
                parse_error(ctx, node, "invalid %s '%s': %s", f->key, node->value, reason);
                return -EINVAL;
        }
        if (v == 0) {
                parse_error(ctx, node, "%s must be longer than zero", f->key);
                return -EINVAL;
        }
        if (f->min > 0 && v < (usec_t) f->min && f->max <= 0) { /* no upper bound: only too short */
                parse_error(ctx, node, "%s %s is too short: it must be at least %s", f->key, node->value,
                            format_duration(lo, sizeof(lo), (usec_t) f->min));
                return -EINVAL;
        }
        if ((f->min > 0 && v < (usec_t) f->min) || (f->max > 0 && v > (usec_t) f->max)) {
                parse_error(ctx, node, "%s %s is out of range (%s to %s)", f->key, node->value,
                            format_duration(lo, sizeof(lo), (usec_t) f->min),
                            format_duration(hi, sizeof(hi), (usec_t) f->max));
                return -EINVAL;
        }
        *(usec_t *) dest = v;
        return 0;
}

int field_fraction(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        double v;

        if (!expect_number(ctx, node, f->key))
                return -EINVAL;
        if (parse_number(node->value, &v) < 0) {
                parse_error(ctx, node, "%s must be a number from 0.0 to 1.0, not '%s'", f->key, node->value);
                return -EINVAL;
        }
        if (v < 0.0 || v > 1.0) {
                parse_error(ctx, node, "%s %s is out of range (0.0 to 1.0)", f->key, node->value);
                return -EINVAL;
        }
        *(double *) dest = v;
        return 0;
}

int field_number(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        bool above = f->flags & FIELD_ABOVE_MIN;
        char range[64];
        double v;

        if (above)
                snprintf(range, sizeof(range), "above %lld, up to %lld", f->min, f->max);
        else
                snprintf(range, sizeof(range), "from %lld to %lld", f->min, f->max);
        if (!expect_number(ctx, node, f->key))
                return -EINVAL;
        if (parse_number(node->value, &v) < 0) {
                parse_error(ctx, node, "%s must be a number %s, not '%s'", f->key, range, node->value);
                return -EINVAL;
        }
        if (v < (double) f->min || v > (double) f->max || (above && v == (double) f->min)) {
                parse_error(ctx, node, "%s %s is out of range (%s)", f->key, node->value,
                            above ? range : range + strlen("from "));
                return -EINVAL;
        }
        *(double *) dest = v;
        return 0;
}

int field_length_mm(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        _cleanup_free_ char *num = NULL;
        size_t len;
        double v, scale;

        if (!expect_type(ctx, node, YNODE_SCALAR, f->key))
                return -EINVAL;
        len = strlen(node->value);
        if (len > 2 && streq(node->value + len - 2, "mm"))
                scale = 1.0;
        else if (len > 2 && streq(node->value + len - 2, "cm"))
                scale = 10.0;
        else {
                parse_error(ctx, node, "%s must be a length with a unit, e.g. 120mm or 12cm, not '%s'",
                            f->key, node->value);
                return -EINVAL;
        }
        num = strndup(node->value, len - 2);
        if (!num)
                return -ENOMEM;
        if (parse_number(num, &v) < 0) {
                parse_error(ctx, node, "%s must be a length with a unit, e.g. 120mm or 12cm, not '%s'",
                            f->key, node->value);
                return -EINVAL;
        }
        v *= scale;
        if (v < (double) f->min || v > (double) f->max) {
                parse_error(ctx, node, "%s %s is out of range (%lldmm to %lldmm)", f->key, node->value,
                            f->min, f->max);
                return -EINVAL;
        }
        *(double *) dest = v;
        return 0;
}

int check_name(struct parse_ctx *ctx, const struct ynode *node, const char *const *allowed, const char *what)
{
        unsigned ignored;
        return lookup_name(ctx, node, allowed, what, &ignored);
}

int field_name_list(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        _cleanup_(strv_freep) char **names = NULL;
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_SEQUENCE, f->key))
                return -EINVAL;
        if (node->n_children == 0) {
                parse_error(ctx, node, "%s must list at least one name", f->key);
                return -EINVAL;
        }
        for (size_t i = 0; i < node->n_children; i++) {
                const struct ynode *item = node->children[i];

                if (!expect_type(ctx, item, YNODE_SCALAR, f->key)) {
                        bad = true;
                        continue;
                }
                if (f->names && check_name(ctx, item, f->names, f->what ?: f->key) < 0) {
                        bad = true;
                        continue;
                }
                if (strv_contains((const char *const *) names, item->value)) {
                        parse_error(ctx, item, "'%s' is listed twice in %s", item->value, f->key);
                        bad = true;
                        continue;
                }
                r = strv_extend(&names, item->value);
                if (r < 0)
                        return r;
        }
        if (bad)
                return -EINVAL;
        strv_free(*(char ***) dest);
        *(char ***) dest = TAKE_PTR(names);
        return 0;
}

bool schema_has_key(const struct field *fields, const char *path)
{
        const struct field *table = fields, *f = NULL;
        bool entry = false; /* the next key names an entry of the map f */

        for (;;) {
                size_t n = strcspn(path, ".");
                if (n == 0)
                        return false;
                if (entry)
                        entry = false;
                else {
                        f = NULL;
                        for (const struct field *i = table; i && i->key && !f; i++)
                                if (strlen(i->key) == n && strncmp(i->key, path, n) == 0)
                                        f = i;
                        if (!f)
                                return false;
                        entry = f->shape == SHAPE_MAP;
                        table = f->sub ?: f->sub_of ? f->sub_of() : NULL;
                }
                if (path[n] == '\0')
                        return true;
                path += n + 1;
        }
}
