/* yamltree.c: a bounded YAML loader producing a tree of nodes that remember their line and column. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include <yaml.h>

#include "yamltree.h"

const struct yload_limits yload_default_limits = {
        .max_bytes = 256 * 1024,
        .max_depth = 32,
        .max_nodes = 20000,
};

struct ydoc {
        struct ynode *root;
        struct ynode **nodes; /* every node, for freeing */
        size_t n_nodes, cap_nodes;
};

const char *ynode_type_to_string(enum ynode_type t)
{
        switch (t) {
        case YNODE_SCALAR:
                return "text";
        case YNODE_SEQUENCE:
                return "list";
        case YNODE_MAPPING:
                return "mapping";
        }
        return "?";
}

bool ynode_is_null(const struct ynode *n)
{
        return n->type == YNODE_SCALAR && !n->quoted &&
               (n->value[0] == '\0' || streq(n->value, "~") || streq(n->value, "null") ||
                streq(n->value, "Null") || streq(n->value, "NULL"));
}

const struct ynode *ydoc_root(const struct ydoc *doc)
{
        return doc->root;
}

struct ydoc *ydoc_free(struct ydoc *doc)
{
        if (!doc)
                return NULL;
        for (size_t i = 0; i < doc->n_nodes; i++) {
                free(doc->nodes[i]->value);
                free(doc->nodes[i]->children);
                free(doc->nodes[i]);
        }
        free(doc->nodes);
        free(doc);
        return NULL;
}

size_t utf8_check(const unsigned char *s, size_t size)
{
        size_t i = 0;

        while (i < size) {
                unsigned char c = s[i];
                size_t len;
                uint32_t cp;

                if (c < 0x80) {
                        i++;
                        continue;
                } else if ((c & 0xe0) == 0xc0) {
                        len = 2;
                        cp = c & 0x1f;
                } else if ((c & 0xf0) == 0xe0) {
                        len = 3;
                        cp = c & 0x0f;
                } else if ((c & 0xf8) == 0xf0) {
                        len = 4;
                        cp = c & 0x07;
                } else
                        return i;
                if (size - i < len)
                        return i;
                for (size_t k = 1; k < len; k++) {
                        if ((s[i + k] & 0xc0) != 0x80)
                                return i;
                        cp = (cp << 6) | (s[i + k] & 0x3f);
                }
                if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
                    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                        return i;
                i += len;
        }
        return size;
}

/* Line and column (1-based, in characters like libyaml's marks) of byte offset off. */
static void offset_to_position(const unsigned char *s, size_t off, unsigned *ret_line, unsigned *ret_col)
{
        unsigned line = 1, col = 1;

        for (size_t i = 0; i < off; i++) {
                if (s[i] == '\n') {
                        line++;
                        col = 1;
                } else if ((s[i] & 0xc0) != 0x80)
                        col++;
        }
        *ret_line = line;
        *ret_col = col;
}

struct loader {
        const char *file;
        const struct yload_limits *limits;
        struct diag_list *diags;
        struct ydoc *doc;
        struct ynode *stack[64]; /* open collections; limits->max_depth is checked against ELEMENTSOF */
        unsigned depth;
};

#define loader_error(l, m, ...)                                                                             \
        diag_add((l)->diags, SEVERITY_ERROR, (l)->file, (unsigned) (m)->line + 1,                           \
                 (unsigned) (m)->column + 1, __VA_ARGS__)

static int node_append(struct ynode *parent, struct ynode *child)
{
        int r = grow_array(&parent->children, &parent->cap, parent->n_children + 1,
                           sizeof(*parent->children));
        if (r < 0)
                return r;
        parent->children[parent->n_children++] = child;
        return 0;
}

static int key_compare(const void *pa, const void *pb)
{
        const struct ynode *a = *(const struct ynode *const *) pa, *b = *(const struct ynode *const *) pb;
        int r = strcmp(a->value, b->value);

        if (r != 0)
                return r;
        if (a->line != b->line)
                return a->line < b->line ? -1 : 1;
        return a->column < b->column ? -1 : a->column > b->column;
}

/* Reports every repeated key of a mapping at its repetition, pointing back to the first. Sorting keeps this
 * O(n log n), so a file of ten thousand keys cannot stall the daemon. */
static int check_duplicate_keys(struct loader *l, const struct ynode *map)
{
        size_t n = ynode_n_pairs(map);
        _cleanup_free_ const struct ynode **keys = NULL;

        if (n < 2)
                return 0;
        keys = malloc(n * sizeof(*keys));
        if (!keys)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                keys[i] = ynode_key(map, i);
        qsort(keys, n, sizeof(*keys), key_compare);
        for (size_t i = 1, first = 0; i < n; i++) {
                if (!streq(keys[i]->value, keys[first]->value)) {
                        first = i;
                        continue;
                }
                diag_add(l->diags, SEVERITY_ERROR, l->file, keys[i]->line, keys[i]->column,
                         "duplicate key '%s' (first given at line %u, column %u)", keys[i]->value,
                         keys[first]->line, keys[first]->column);
        }
        return 0;
}

static struct ynode *node_new(struct loader *l, enum ynode_type type, const yaml_mark_t *m)
{
        struct ydoc *d = l->doc;
        struct ynode *n;

        if (grow_array(&d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof(*d->nodes)) < 0)
                return NULL;
        n = calloc(1, sizeof(*n));
        if (!n)
                return NULL;
        n->type = type;
        n->line = (unsigned) m->line + 1;
        n->column = (unsigned) m->column + 1;
        d->nodes[d->n_nodes++] = n;
        return n;
}

/* Adds a finished node to the open collection (or makes it the root). */
static int loader_attach(struct loader *l, struct ynode *n)
{
        struct ynode *parent;

        if (l->depth == 0) {
                l->doc->root = n;
                return 0;
        }
        parent = l->stack[l->depth - 1];
        if (parent->type == YNODE_MAPPING && parent->n_children % 2 == 0 && n->type != YNODE_SCALAR) {
                diag_add(l->diags, SEVERITY_ERROR, l->file, n->line, n->column,
                         "a key must be plain text, not a %s", ynode_type_to_string(n->type));
                return -EINVAL;
        }
        return node_append(parent, n);
}

static int loader_event(struct loader *l, const yaml_event_t *ev, bool *done)
{
        const yaml_mark_t *m = &ev->start_mark;
        struct ynode *n;
        int r;

        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                if (l->doc->root) {
                        loader_error(l, m,
                                     "a file holds one YAML document; this is a second one (after '---')");
                        return -EINVAL;
                }
                return 0;

        case YAML_ALIAS_EVENT:
                loader_error(l, m,
                             "aliases (*%s) are not supported: write the value out, or use a shared pattern",
                             (const char *) ev->data.alias.anchor);
                return -EINVAL;

        case YAML_SCALAR_EVENT:
                n = node_new(l, YNODE_SCALAR, m);
                if (!n)
                        return -ENOMEM;
                n->value = strndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
                if (!n->value)
                        return -ENOMEM;
                if (strlen(n->value) != ev->data.scalar.length) {
                        loader_error(l, m, "text contains a NUL character");
                        return -EINVAL;
                }
                n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
                return loader_attach(l, n);

        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
                if (l->depth >= l->limits->max_depth || l->depth >= ELEMENTSOF(l->stack)) {
                        diag_add(l->diags, SEVERITY_ERROR, l->file, (unsigned) m->line + 1,
                                 (unsigned) m->column + 1, "nesting is deeper than %u levels", l->depth);
                        return -EINVAL;
                }
                n = node_new(l, ev->type == YAML_MAPPING_START_EVENT ? YNODE_MAPPING : YNODE_SEQUENCE, m);
                if (!n)
                        return -ENOMEM;
                r = loader_attach(l, n);
                if (r < 0)
                        return r;
                l->stack[l->depth++] = n;
                return 0;

        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                n = l->stack[--l->depth];
                return n->type == YNODE_MAPPING ? check_duplicate_keys(l, n) : 0;

        case YAML_STREAM_END_EVENT:
                *done = true;
                return 0;

        default:
                return 0;
        }
}

int ydoc_load(const char *file, const void *data, size_t size, const struct yload_limits *limits,
              struct diag_list *diags, struct ydoc **ret)
{
        struct loader l = {.file = file, .limits = limits ?: &yload_default_limits, .diags = diags};
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        size_t errors_before = diags->n_errors;
        yaml_parser_t parser;
        bool done = false;
        size_t bad;
        int r = 0;

        /* A UTF-8 byte-order mark, as Windows Notepad writes one: not text, and no column of line 1. */
        if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
                data = (const char *) data + 3;
                size -= 3;
        }
        if (size > l.limits->max_bytes) {
                diag_add(diags, SEVERITY_ERROR, file, 1, 1,
                         "file is too large (%zu bytes; the limit is %zu KiB)", size,
                         l.limits->max_bytes / 1024);
                return -EINVAL;
        }
        bad = utf8_check(data, size);
        if (bad < size) {
                unsigned line, col;
                offset_to_position(data, bad, &line, &col);
                diag_add(diags, SEVERITY_ERROR, file, line, col, "text is not valid UTF-8 (byte 0x%02x)",
                         ((const unsigned char *) data)[bad]);
                return -EINVAL;
        }

        doc = calloc(1, sizeof(*doc));
        if (!doc)
                return -ENOMEM;
        l.doc = doc;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, data, size);
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

        while (!done && r >= 0) {
                yaml_event_t ev;

                if (!yaml_parser_parse(&parser, &ev)) {
                        if (parser.error == YAML_MEMORY_ERROR)
                                r = -ENOMEM;
                        else {
                                char where[96] = "";
                                /* libyaml notices a missing bracket where the next thing starts; say where
                                 * the unfinished thing began, which is where the fix goes. */
                                if (parser.context && parser.context_mark.line != parser.problem_mark.line)
                                        snprintf(where, sizeof(where), " (it starts at line %u, column %u)",
                                                 (unsigned) parser.context_mark.line + 1,
                                                 (unsigned) parser.context_mark.column + 1);
                                diag_add(diags, SEVERITY_ERROR, file,
                                         (unsigned) parser.problem_mark.line + 1,
                                         (unsigned) parser.problem_mark.column + 1, "YAML syntax: %s%s%s%s",
                                         parser.problem ?: "malformed input", parser.context ? " " : "",
                                         parser.context ?: "", where);
                                r = -EINVAL;
                        }
                        break;
                }
                r = loader_event(&l, &ev, &done);
                yaml_event_delete(&ev);
                if (r >= 0 && doc->n_nodes > l.limits->max_nodes) {
                        diag_add(diags, SEVERITY_ERROR, file, doc->nodes[doc->n_nodes - 1]->line,
                                 doc->nodes[doc->n_nodes - 1]->column,
                                 "file has too many values (the limit is %zu)", l.limits->max_nodes);
                        r = -EINVAL;
                }
        }
        yaml_parser_delete(&parser);
        if (r < 0)
                return r;
        if (!doc->root || ynode_is_null(doc->root)) {
                diag_add(diags, SEVERITY_ERROR, file, 1, 1, "file is empty");
                return -EINVAL;
        }
        if (diags->n_errors > errors_before)
                return -EINVAL;
        *ret = TAKE_PTR(doc);
        return 0;
}

int ydoc_load_file(const char *path, const struct yload_limits *limits, struct diag_list *diags,
                   struct ydoc **ret)
{
        const struct yload_limits *lim = limits ?: &yload_default_limits;
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* Read one byte past the limit so that an oversized file is reported as such, not truncated. */
        buf = malloc(lim->max_bytes + 1);
        if (!buf) {
                close(fd);
                return -ENOMEM;
        }
        while (size <= lim->max_bytes) {
                n = read(fd, buf + size, lim->max_bytes + 1 - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        close(fd);
                        return r;
                }
                if (n == 0)
                        break;
                size += (size_t) n;
        }
        close(fd);
        if (size > lim->max_bytes) {
                struct stat st;
                diag_add(diags, SEVERITY_ERROR, path, 1, 1,
                         "file is too large (%lld bytes; the limit is %zu KiB)",
                         stat(path, &st) == 0 ? (long long) st.st_size : (long long) size,
                         lim->max_bytes / 1024);
                return -EINVAL;
        }
        return ydoc_load(path, buf, size, lim, diags, ret);
}

const struct ynode *ynode_lookup(const struct ynode *map, const char *key)
{
        if (map->type != YNODE_MAPPING)
                return NULL;
        for (size_t i = 0; i < ynode_n_pairs(map); i++)
                if (streq(ynode_key(map, i)->value, key))
                        return ynode_value(map, i);
        return NULL;
}

const struct ynode *ynode_lookup_key(const struct ynode *map, const char *key)
{
        for (size_t i = 0; i < ynode_n_pairs(map); i++)
                if (streq(ynode_key(map, i)->value, key))
                        return ynode_key(map, i);
        return map;
}
