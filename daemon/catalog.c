/* catalog.c: the programs the daemon offers, from its program directories. */
#include <errno.h>
#include <stdio.h>

#include "catalog.h"

struct catalog_entry *catalog_entry_ref(struct catalog_entry *e)
{
        if (e)
                e->n_ref++;
        return e;
}

struct catalog_entry *catalog_entry_unref(struct catalog_entry *e)
{
        if (!e || --e->n_ref > 0)
                return NULL;
        program_free(e->program);
        free(e->path);
        free(e);
        return NULL;
}

int catalog_load_library(char *const *dirs, struct pattern_library *lib, struct diag_list *diags)
{
        bool bad = false;
        size_t n = strv_length((char **) dirs);

        /* Highest priority first: a pattern loaded earlier hides a later one of the same name. */
        for (size_t i = n; i-- > 0;) {
                _cleanup_free_ char *path = NULL;
                int r;

                if (asprintf(&path, "%s/patterns", dirs[i]) < 0) {
                        path = NULL; /* undefined after a failed asprintf */
                        return -ENOMEM;
                }
                r = pattern_library_load_dir(lib, path, diags);
                if (r == -ENOMEM)
                        return r;
                if (r == -EINVAL)
                        bad = true;
                else if (r < 0 && r != -ENOENT) {
                        diag_add(diags, SEVERITY_ERROR, path, 0, 0, "cannot read: %s", strerror(-r));
                        bad = true;
                }
        }
        return bad ? -EINVAL : 0;
}

static int compare_entries(const void *a, const void *b)
{
        const struct catalog_entry *const *x = a, *const *y = b;
        return strcmp((*x)->program->id, (*y)->program->id);
}

/* Adds a program, replacing one with the same id from an earlier directory. */
static int catalog_add(struct catalog *c, struct program *p, const char *path, size_t dir_start,
                       struct diag_list *diags)
{
        struct catalog_entry *e;

        for (size_t i = 0; i < c->n; i++) {
                if (!streq(c->entries[i]->program->id, p->id))
                        continue;
                if (i >= dir_start) {
                        diag_add(diags, SEVERITY_ERROR, path, 0, 0, "program id '%s' is already used by %s",
                                 p->id, c->entries[i]->path);
                        program_free(p);
                        return -EINVAL;
                }
                catalog_entry_unref(c->entries[i]);
                memmove(c->entries + i, c->entries + i + 1, (c->n - i - 1) * sizeof(*c->entries));
                c->n--;
                break;
        }
        e = calloc(1, sizeof(*e));
        struct catalog_entry **n = realloc(c->entries, (c->n + 1) * sizeof(*n));
        if (n)
                c->entries = n;
        if (!e || !n || !(e->path = strdup(path))) {
                free(e);
                program_free(p);
                return -ENOMEM;
        }
        e->n_ref = 1;
        e->program = p;
        c->entries[c->n++] = e;
        return 0;
}

int catalog_load(char *const *dirs, const struct chair_config *config, struct diag_list *diags,
                 struct catalog **ret)
{
        _cleanup_(catalog_freep) struct catalog *c = calloc(1, sizeof(*c));
        struct pattern_library lib = {};
        bool bad = false;
        int r;

        if (!c)
                return -ENOMEM;
        r = catalog_load_library(dirs, &lib, diags);
        if (r == -EINVAL)
                bad = true;
        else if (r < 0)
                goto finish;
        for (char *const *d = dirs; *d; d++) {
                _cleanup_(strv_freep) char **files = NULL;
                size_t dir_start;

                r = list_yaml_files(*d, &files);
                if (r == -ENOENT)
                        continue;
                if (r < 0) {
                        diag_add(diags, SEVERITY_ERROR, *d, 0, 0, "cannot read the directory: %s",
                                 strerror(-r));
                        bad = true;
                        continue;
                }
                /* Ids of this directory replace earlier directories' ones, not each other. */
                dir_start = c->n;
                for (char **f = files; *f; f++) {
                        struct program *p = NULL;

                        r = program_load_file(*f, config, &lib, diags, &p);
                        if (r == -ENOMEM)
                                goto finish;
                        if (r == -EINVAL) {
                                bad = true;
                                continue;
                        }
                        if (r < 0) {
                                diag_add(diags, SEVERITY_ERROR, *f, 0, 0, "cannot read: %s", strerror(-r));
                                bad = true;
                                continue;
                        }
                        /* A replaced entry leaves the list: count this directory's start from the end. */
                        size_t before = c->n;
                        r = catalog_add(c, p, *f, dir_start, diags);
                        if (r == -ENOMEM)
                                goto finish;
                        if (r < 0)
                                bad = true;
                        else if (c->n == before && dir_start > 0)
                                dir_start--;
                }
        }
        qsort(c->entries, c->n, sizeof(*c->entries), compare_entries);
        r = bad ? -EINVAL : 0;
        if (r == 0)
                *ret = TAKE_PTR(c);
finish:
        pattern_library_clear(&lib);
        return r;
}

struct catalog_entry *catalog_find(const struct catalog *c, const char *id)
{
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->entries[i]->program->id, id))
                        return c->entries[i];
        return NULL;
}

struct catalog *catalog_free(struct catalog *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                catalog_entry_unref(c->entries[i]);
        free(c->entries);
        free(c);
        return NULL;
}
