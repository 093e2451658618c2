/* schema.h: table-driven mapping of YAML nodes onto C structs, with file:line:col diagnostics. */
#pragma once

#include <stddef.h>
#include <stdio.h>

#include "diag.h"
#include "yamltree.h"

/* Where a value came from, kept in the model for checks that run after parsing. */
struct mark {
        unsigned line, column;
};

static inline struct mark ynode_mark(const struct ynode *n)
{
        return (struct mark){n->line, n->column};
}

struct parse_ctx {
        const char *file;
        struct diag_list *diags;
        void *userdata; /* for handlers that need more than the node (e.g. the program being built) */
};

void parse_error_at(struct parse_ctx *ctx, struct mark m, const char *fmt, ...) _printf_(3, 4);
void parse_warning_at(struct parse_ctx *ctx, struct mark m, const char *fmt, ...) _printf_(3, 4);
#define parse_error(ctx, node, ...)   parse_error_at(ctx, ynode_mark(node), __VA_ARGS__)
#define parse_warning(ctx, node, ...) parse_warning_at(ctx, ynode_mark(node), __VA_ARGS__)

struct field;

/* Parses node into dest (the target struct plus the field's offset). Returns 0 on success, -EINVAL after
 * adding a diagnostic (parsing of the other keys goes on), or another negative errno (parsing stops). */
typedef int (*field_parse_t)(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                             void *dest);

enum {
        FIELD_REQUIRED = 1 << 0,
        FIELD_OR_OFF = 1 << 1,    /* the JSON Schema: the value may also be the word "off" */
        FIELD_ABOVE_MIN = 1 << 2, /* field_number: the value must lie above min, not at it */
};

/* How a field's value nests, for the JSON Schema (chairctl schema) where its parser is not one of the
 * field_* parsers below. */
enum field_shape {
        SHAPE_NONE,   /* see schema, or a field_* parser */
        SHAPE_OBJECT, /* a mapping through sub */
        SHAPE_MAP,    /* a mapping of names to mappings through sub */
        SHAPE_LIST,   /* a list (at least one, at most max) of mappings through sub */
};

struct field {
        const char *key;
        field_parse_t parse;
        size_t offset;
        unsigned flags;
        long long min, max;       /* integers: the inclusive range; durations: in usec */
        const char *const *names; /* enums: NULL-terminated names, the index is the value */
        const char *what;         /* what a value is called in messages about it; default: the key */
        /* The JSON Schema of a value the field_* parsers do not parse: its shape and table, or its schema as
         * JSON (where @TECHNIQUES@ and @LANDMARKS@ stand for those names, quoted and comma-separated,
         * and @TECHNIQUE_RE@ for them joined by '|'). */
        enum field_shape shape;
        const struct field *sub;
        const char *schema;
        const struct field *(*sub_of)(void); /* the sub table where it is only known at run time */
};

/* Writes the JSON Schema (draft 2020-12) of a YAML file parsed through fields, with its title; io, if
 * given, is the table of the I/O references the fields' wiring refers to (#/$defs/io). Returns 0, or
 * -EINVAL (after a message to stderr) when a field has no schema: the schema would be incomplete. */
int json_schema_write(FILE *f, const char *title, const struct field *fields, const struct field *io);

/* Whether path, keys joined by '.' with '*' (or any name) for an entry of a map, names a key of a file parsed
 * through fields: "safety.heat-margin", "recline.axes.*.max-current". */
bool schema_has_key(const struct field *fields, const char *path);

/* The JSON Schema's own words for values several tables share. */
#define SCHEMA_TECHNIQUES                                                                                   \
        "{\"oneOf\":[{\"type\":\"string\",\"pattern\":\"^(@TECHNIQUE_RE@)(\\\\+(@TECHNIQUE_RE@))*$\"},"     \
        "{\"type\":\"array\",\"minItems\":1,\"uniqueItems\":true,\"items\":{\"enum\":[@TECHNIQUES@]}}]}"
#define SCHEMA_WIDTH "{\"enum\":[\"narrow\",\"medium\",\"wide\"]}"

/* Durations as parse_duration() takes them, as a JSON Schema pattern: whole numbers of h, m, s, ms, largest
 * first. */
#define SCHEMA_DURATION_RE "^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$"

/* Parses a mapping through a table of fields: each key goes to its field's parser; unknown keys (with a
 * suggestion), missing required keys and a node that is not a mapping are errors. what names the mapping
 * in messages ("phase", "roller"). If ret_seen is given, bit i is set when fields[i] was present (so a
 * table may hold at most 64 fields). Returns 0, -EINVAL if anything was wrong, or -ENOMEM. */
int parse_mapping(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                  const struct field *fields, void *target, uint64_t *ret_seen);

/* Each of keys (NULL-terminated) that node, a mapping, lacks: "<what> is missing the required key '<key>'"
 * and why after it. False after any. */
bool require_keys(struct parse_ctx *ctx, const struct ynode *node, const char *what, const char *const *keys,
                  const char *why);

/* Parses one mapping through several tables, each into its own target, as parse_mapping() does through one:
 * a key is the first table's that has it. */
struct field_set {
        const struct field *fields; /* NULL: none */
        void *target;
};
int parse_mappings(struct parse_ctx *ctx, const struct ynode *node, const char *what,
                   const struct field_set *sets, size_t n_sets);

/* Checks a node's type; adds "<what> must be a <type>, not a <type>" and returns false when it differs. */
bool expect_type(struct parse_ctx *ctx, const struct ynode *node, enum ynode_type type, const char *what);

/* Looks name up in a NULL-terminated table. On a miss adds "unknown <what> 'x'; did you mean 'y'?" or
 * "(expected a, b or c)" and returns -EINVAL. */
int lookup_name(struct parse_ctx *ctx, const struct ynode *node, const char *const *names, const char *what,
                unsigned *ret);

/* Writes "a, b or c" for a NULL-terminated table into buf. */
const char *join_names(char *buf, size_t size, const char *const *names);

/* Field parsers. The destination type is given in brackets. */
int field_string(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                 void *dest); /* char* */
int field_uint(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
               void *dest); /* unsigned */
int field_enum(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
               void *dest); /* unsigned */
int field_bool(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
               void *dest); /* bool */
int field_duration(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                   void *dest); /* usec_t */
/* A number from 0.0 to 1.0 [double]. */
int field_fraction(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
/* A plain number within [f->min, f->max] [double]. */
int field_number(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);
/* A length with a unit, "1200mm" or "12cm" [double, millimetres; negative allowed if f->min < 0]. */
int field_length_mm(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);

/* Parses "1h", "5m", "90s", "1m30s", "250ms" into usec. Returns 0, or -EINVAL with *ret_reason telling
 * why. */
int parse_duration(const char *s, usec_t *ret, const char **ret_reason);

/* Parses a whole decimal number without sign; -EINVAL unless s is all digits; -ERANGE on overflow. */
int parse_unsigned(const char *s, unsigned long long *ret);

/* Parses a plain decimal number ("0.25", "-3", "12.5"); -EINVAL if s is anything else. */
int parse_number(const char *s, double *ret);

/* A list of distinct names [char**, NULL-terminated]. With f->names, each must be one of them. */
int field_name_list(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest);

/* Checks name against allowed (NULL-terminated) as lookup_name() does, but for tables of strings that are
 * not an enum; returns 0 or -EINVAL. */
int check_name(struct parse_ctx *ctx, const struct ynode *node, const char *const *allowed,
               const char *what);
