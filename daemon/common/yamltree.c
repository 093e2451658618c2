/* yamltree.c: a bounded YAML loader producing a tree of nodes that remember their line and column. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <unistd.h>
#include <yaml.h>

#include "files.h"
#include "yamltree.h"

const struct yload_limits yload_default_limits = {
        .max_bytes = 256 * 1024,
        .max_depth = 32,
        .max_nodes = 20000,
};

const struct yload_limits yload_config_limits = {
        .max_bytes = 256 * 1024,
        .max_depth = 32,
        .max_nodes = 20000,
        .follow_links = true,
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

/* ---- YAML syntax errors in plain words ---- */

/* Line n (1-based) of the text: its start and length, without the newline; false past the end. One pass
 * from the top: call it a fixed number of times per error, never in a loop over lines. */
static bool source_line(const char *data, size_t size, unsigned n, const char **ret, size_t *ret_len)
{
        const char *p = data, *end = data + size;

        for (unsigned i = 1; i < n; i++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p));
                if (!nl)
                        return false;
                p = nl + 1;
        }
        const char *nl = memchr(p, '\n', (size_t) (end - p));
        *ret = p;
        *ret_len = (size_t) ((nl ?: end) - p);
        if (*ret_len > 0 && p[*ret_len - 1] == '\r')
                (*ret_len)--;
        return true;
}

/* Where a line's key starts (0-based, after any "- " of a list item), and how long the key is; false for a
 * blank or comment line. */
static bool line_key(const char *line, size_t len, size_t *ret_col, size_t *ret_key_len)
{
        size_t i = 0, k;

        for (;;) {
                while (i < len && line[i] == ' ')
                        i++;
                if (i + 1 < len && line[i] == '-' && line[i + 1] == ' ')
                        i += 2;
                else
                        break;
        }
        if (i >= len || line[i] == '#')
                return false;
        for (k = i; k < len && line[k] != ':' && line[k] != ' '; k++)
                ;
        *ret_col = i;
        *ret_key_len = k - i;
        return true;
}

/* The nearest line above the one at line (line number n) that holds something (not blank, not a comment),
 * found by walking back from it; 0 when there is none. */
static unsigned line_above(const char *data, const char *line, unsigned n, const char **ret, size_t *ret_len)
{
        const char *end = line;

        while (end > data && --n > 0) {
                const char *start = end - 1; /* the newline that ends line n */
                size_t col, klen;

                while (start > data && start[-1] != '\n')
                        start--;
                *ret = start;
                *ret_len = (size_t) (end - 1 - start);
                if (*ret_len > 0 && start[*ret_len - 1] == '\r')
                        (*ret_len)--;
                if (line_key(start, *ret_len, &col, &klen))
                        return n;
                end = start;
        }
        return 0;
}

/* Says what a syntax error libyaml found means for the person who wrote the file, where the fix goes; false
 * when it is none of the usual mistakes (the caller then gives libyaml's words). Linear in the file's
 * size. */
static bool explain_syntax(const char *data, size_t size, const yaml_parser_t *parser, unsigned *ret_line,
                           unsigned *ret_col, char *buf, size_t bufsize)
{
        unsigned line = (unsigned) parser->problem_mark.line + 1;
        const char *problem = parser->problem ?: "", *context = parser->context ?: "", *t, *u;
        size_t len, ulen, col, klen, ucol, uklen;
        unsigned above;

        /* An unclosed bracket: libyaml's words, with where it opened, say it best. */
        if (strstr(context, "flow"))
                return false;
        if (!source_line(data, size, line, &t, &len))
                return false;
        /* A tab in the indentation of the line where libyaml stopped (a tab inside a block of text is
         * text, and fine). */
        for (size_t i = 0; i < len && (t[i] == ' ' || t[i] == '\t' || t[i] == '-'); i++)
                if (t[i] == '\t') {
                        *ret_line = line;
                        *ret_col = (unsigned) i + 1;
                        snprintf(buf, bufsize,
                                 "a tab indents this line: tabs cannot indent YAML; use spaces");
                        return true;
                }
        /* "key:value" on the line where the key began. */
        if (strstr(problem, "could not find expected ':'")) {
                unsigned n = (unsigned) parser->context_mark.line + 1;
                if (source_line(data, size, n, &u, &ulen) && line_key(u, ulen, &ucol, &uklen) &&
                    ucol + uklen + 1 < ulen && u[ucol + uklen] == ':' && u[ucol + uklen + 1] != ' ') {
                        *ret_line = n;
                        *ret_col = (unsigned) (ucol + uklen) + 2;
                        snprintf(buf, bufsize, "a colon after a key needs a space: write '%.*s: %.*s'",
                                 (int) uklen, u + ucol, (int) (ulen - ucol - uklen - 1),
                                 u + ucol + uklen + 1);
                        return true;
                }
        }
        if (!line_key(t, len, &col, &klen))
                return false;
        /* "key: text: more": the second colon starts a key where a value is. */
        if (strstr(problem, "mapping values are not allowed")) {
                const char *value =
                        col + klen + 2 <= len && t[col + klen] == ':' ? t + col + klen + 2 : NULL;
                if (value && value < t + parser->problem_mark.column) {
                        /* The value up to a comment, quoted so that it stays one: single quotes, doubled
                         * inside, as YAML writes them. */
                        size_t vlen = len - (size_t) (value - t), n = 0;
                        char quoted[160];
                        for (size_t i = 0; i + 1 < vlen; i++)
                                if (value[i] == ' ' && value[i + 1] == '#') {
                                        vlen = i;
                                        break;
                                }
                        while (vlen > 0 && value[vlen - 1] == ' ')
                                vlen--;
                        for (size_t i = 0; i < vlen && n + 3 < sizeof(quoted); i++) {
                                if (value[i] == '\'')
                                        quoted[n++] = '\'';
                                quoted[n++] = value[i];
                        }
                        quoted[n] = '\0';
                        *ret_line = line;
                        *ret_col = (unsigned) (value - t) + 1;
                        snprintf(buf, bufsize,
                                 "this value has a colon and a space in it, which starts a key: quote the "
                                 "value, e.g. %.*s: '%s'",
                                 (int) klen, t + col, quoted);
                        return true;
                }
        }
        /* A key that does not line up with the key above it. */
        if ((strstr(problem, "mapping values are not allowed") ||
             strstr(problem, "did not find expected")) &&
            (above = line_above(data, t, line, &u, &ulen)) && line_key(u, ulen, &ucol, &uklen) &&
            ucol != col) {
                *ret_line = line;
                *ret_col = (unsigned) col + 1;
                snprintf(buf, bufsize,
                         "'%.*s' starts at column %zu, but '%.*s' on line %u at column %zu: the keys of one "
                         "mapping must line up; indent '%.*s' like '%.*s'",
                         (int) klen, t + col, col + 1, (int) uklen, u + ucol, above, ucol + 1, (int) klen,
                         t + col, (int) uklen, u + ucol);
                return true;
        }
        return false;
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
                                char where[96] = "", plain[320];
                                unsigned line, col;
                                if (explain_syntax(data, size, &parser, &line, &col, plain, sizeof(plain))) {
                                        diag_add(diags, SEVERITY_ERROR, file, line, col, "YAML syntax: %s",
                                                 plain);
                                        r = -EINVAL;
                                        break;
                                }
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
        return ydoc_load_file_at(AT_FDCWD, path, path, limits, diags, ret);
}

int ydoc_load_file_at(int dirfd, const char *name, const char *path, const struct yload_limits *limits,
                      struct diag_list *diags, struct ydoc **ret)
{
        const struct yload_limits *lim = limits ?: &yload_default_limits;
        _cleanup_free_ char *buf = NULL;
        off_t size = 0;
        int fd, r;

        /* Never blocking (a FIFO), never through a link that an installer's folder holds, only a regular
         * file: an odd one is an error about the file, not about what it points to. */
        fd = file_open_regular(dirfd, name, lim->follow_links, lim->max_bytes, &size);
        if (fd == -FILE_TOO_LARGE) {
                diag_add(diags, SEVERITY_ERROR, path, 1, 1,
                         "file is too large (%lld bytes; the limit is %zu KiB)", (long long) size,
                         lim->max_bytes / 1024);
                return -EINVAL;
        }
        if (fd < 0 && fd != -ENOENT && fd != -EACCES && fd != -ENOMEM) {
                diag_add(diags, SEVERITY_ERROR, path, 0, 0, "%s", file_error_words(fd));
                return -EINVAL;
        }
        if (fd < 0)
                return fd;
        r = read_fd_text(fd, lim->max_bytes, &buf);
        close(fd);
        if (r == -FILE_TOO_LARGE) {
                diag_add(diags, SEVERITY_ERROR, path, 1, 1, "file is too large (more than %zu KiB)",
                         lim->max_bytes / 1024);
                return -EINVAL;
        }
        if (r < 0)
                return r;
        return ydoc_load(path, buf, (size_t) r, lim, diags, ret);
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
