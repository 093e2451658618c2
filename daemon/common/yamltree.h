/* yamltree.h: a bounded YAML loader producing a tree of nodes that remember their line and column. */
#pragma once

#include <stdbool.h>

#include "diag.h"

enum ynode_type {
        YNODE_SCALAR,
        YNODE_SEQUENCE,
        YNODE_MAPPING,
};

struct ynode {
        enum ynode_type type;
        unsigned line, column;   /* 1-based, where the node starts */
        bool quoted;             /* scalar written quoted or as a block: always text, never a number */
        char *value;             /* scalar text, NUL-terminated (borrowed from the document) */
        struct ynode **children; /* sequence: items; mapping: key, value, key, value, ... */
        size_t n_children;
        size_t cap;
};

/* Number of key/value pairs of a mapping node, and the i-th key and value. */
static inline size_t ynode_n_pairs(const struct ynode *n)
{
        return n->n_children / 2;
}
static inline const struct ynode *ynode_key(const struct ynode *n, size_t i)
{
        return n->children[2 * i];
}
static inline const struct ynode *ynode_value(const struct ynode *n, size_t i)
{
        return n->children[2 * i + 1];
}

/* True for a plain scalar that YAML reads as null: empty, "~" or "null". */
bool ynode_is_null(const struct ynode *n);

/* "text", "list" or "mapping", for messages. */
const char *ynode_type_to_string(enum ynode_type t);

struct yload_limits {
        size_t max_bytes;   /* larger input is refused before parsing */
        unsigned max_depth; /* deeper nesting is refused where it starts */
        size_t max_nodes;   /* more nodes in one file are refused */
        bool follow_links;  /* ydoc_load_file: a file named by root (a config), not one found in a folder */
};

/* Limits for program and config files: far above any real file, far below what would hurt the daemon. */
extern const struct yload_limits yload_default_limits;
/* The same for a config file, which root names: a link to it is followed (a FIFO or device still is not). */
extern const struct yload_limits yload_config_limits;

struct ydoc;

/* Loads one YAML document from data. Refuses (with a diagnostic at the offending spot, returning -EINVAL):
 * input over the size limit, text that is not UTF-8, syntax errors, more than one document, aliases
 * (which also stops "billion laughs" alias bombs), nesting or node counts over the limits, non-text
 * mapping keys, duplicate keys, NUL characters, and an empty document. -ENOMEM on allocation failure.
 * On success *ret owns the tree; free it with ydoc_free(). */
int ydoc_load(const char *file, const void *data, size_t size, const struct yload_limits *limits,
              struct diag_list *diags, struct ydoc **ret);

/* Reads path (at most limits->max_bytes) and loads it as above; -errno if the file cannot be read (no
 * diagnostic is added then: the caller says what it was trying to read). */
int ydoc_load_file(const char *path, const struct yload_limits *limits, struct diag_list *diags,
                   struct ydoc **ret);
/* The same for the file name inside the folder dirfd (AT_FDCWD: a path); path names it in messages. */
int ydoc_load_file_at(int dirfd, const char *name, const char *path, const struct yload_limits *limits,
                      struct diag_list *diags, struct ydoc **ret);

/* The root node; borrowed, valid until ydoc_free(). */
const struct ynode *ydoc_root(const struct ydoc *doc);

struct ydoc *ydoc_free(struct ydoc *doc);
static inline void ydoc_freep(struct ydoc **d)
{
        ydoc_free(*d);
}

/* Validates UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF). Returns the offset of the first
 * bad byte, or size when all of it is valid. */
size_t utf8_check(const unsigned char *s, size_t size);

/* The value of key in a mapping node, or NULL (also when node is not a mapping). Borrowed. */
const struct ynode *ynode_lookup(const struct ynode *map, const char *key);
/* The key node of key in map, for messages about the key itself; map when it has no such key. */
const struct ynode *ynode_lookup_key(const struct ynode *map, const char *key);
