/* catalog.c: the programs the daemon offers, from its program directories. */
#include <errno.h>
#include <stdio.h>

#include "catalog.h"

static struct catalog_entry *entry_new(struct program *p, const char *path);

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

/* Adds an entry (its reference is the catalog's now), replacing one with the same id from an earlier
 * directory. -EEXIST for an id this directory has already (the entry is dropped). */
static int catalog_add(struct catalog *c, struct catalog_entry *e, size_t dir_start, struct diag_list *diags)
{
        for (size_t i = 0; i < c->n; i++) {
                if (!streq(c->entries[i]->program->id, e->program->id))
                        continue;
                if (i >= dir_start) {
                        diag_add(diags, SEVERITY_ERROR, e->path, 0, 0,
                                 "program id '%s' is already used by %s", e->program->id,
                                 c->entries[i]->path);
                        catalog_entry_unref(e);
                        return -EEXIST;
                }
                catalog_entry_unref(c->entries[i]);
                memmove(c->entries + i, c->entries + i + 1, (c->n - i - 1) * sizeof(*c->entries));
                c->n--;
                break;
        }
        struct catalog_entry **n = realloc(c->entries, (c->n + 1) * sizeof(*n));
        if (!n) {
                catalog_entry_unref(e);
                return -ENOMEM;
        }
        c->entries = n;
        c->entries[c->n++] = e;
        return 0;
}

int catalog_entry_new(struct program *p, const char *path, struct catalog_entry **ret)
{
        struct catalog_entry *e = entry_new(p, path);

        if (!e)
                return -ENOMEM;
        *ret = e;
        return 0;
}

static struct catalog_entry *entry_new(struct program *p, const char *path)
{
        struct catalog_entry *e = calloc(1, sizeof(*e));

        if (!e || !(e->path = strdup(path))) {
                free(e);
                program_free(p);
                return NULL;
        }
        e->n_ref = 1;
        e->program = p;
        return e;
}

/* Lists path as broken, with the first error diags got since first. */
static int add_broken(struct catalog *c, const char *path, const struct diag_list *diags, size_t first)
{
        _cleanup_free_ char *message = NULL, *copy = strdup(path);
        struct catalog_broken *b;

        for (size_t i = first; i < diags->n && !message; i++)
                if (diags->items[i].severity == SEVERITY_ERROR)
                        message = diag_format(&diags->items[i]);
        if (!message && asprintf(&message, "%s: error: cannot be loaded", path) < 0)
                message = NULL; /* undefined after a failed asprintf */
        if (!message || !copy)
                return -ENOMEM;
        b = realloc(c->broken, (c->n_broken + 1) * sizeof(*b));
        if (!b)
                return -ENOMEM;
        c->broken = b;
        b[c->n_broken++] = (struct catalog_broken){TAKE_PTR(copy), TAKE_PTR(message)};
        return 0;
}

/* The entry old had from path: a broken file's last good program. */
static struct catalog_entry *old_entry(const struct catalog *old, const char *path)
{
        for (size_t i = 0; old && i < old->n; i++)
                if (streq(old->entries[i]->path, path))
                        return old->entries[i];
        return NULL;
}

/* The pattern files with errors since first: each listed as broken once. */
static int add_broken_patterns(struct catalog *c, const struct diag_list *diags, size_t first)
{
        for (size_t i = first; i < diags->n; i++) {
                const struct diag *d = &diags->items[i];
                bool listed = false;
                if (d->severity != SEVERITY_ERROR || !d->file)
                        continue;
                for (size_t k = 0; k < c->n_broken && !listed; k++)
                        listed = streq(c->broken[k].path, d->file);
                if (!listed && add_broken(c, d->file, diags, i) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static bool id_from(const struct catalog *c, size_t from, const char *id)
{
        for (size_t i = from; i < c->n; i++)
                if (streq(c->entries[i]->program->id, id))
                        return true;
        return false;
}

/* Loads one directory's files. A broken file's last good program (from old) is added after the directory's
 * valid files, and only if none of them has its id: a fixed copy wins over a stale one. */
static int load_dir(struct catalog *c, const char *dir, char **files, const struct chair_config *config,
                    struct pattern_library *lib, const struct catalog *old, struct diag_list *diags)
{
        _cleanup_free_ struct catalog_entry **carried = calloc(strv_length(files) + 1, sizeof(*carried));
        size_t n_carried = 0,
               dir_start = c->n; /* ids of this directory replace earlier ones, not each other */
        int r = 0;

        if (!carried)
                return -ENOMEM;
        for (char **f = files; *f && r >= 0; f++) {
                struct program *p = NULL;
                size_t first = diags->n, before = c->n;
                int k = program_load_file(*f, config, lib, diags, &p);

                if (k == -ENOMEM) {
                        r = k;
                        break;
                }
                if (k < 0 && k != -EINVAL)
                        diag_add(diags, SEVERITY_ERROR, *f, 0, 0, "cannot read: %s", strerror(-k));
                if (k >= 0) {
                        struct catalog_entry *e = entry_new(p, *f);
                        k = e ? catalog_add(c, e, dir_start, diags) : -ENOMEM;
                        if (k == -ENOMEM) {
                                r = k;
                                break;
                        }
                        /* A replaced entry leaves the list: count this directory's start from the end. */
                        if (k >= 0 && c->n == before && dir_start > 0)
                                dir_start--;
                }
                if (k >= 0)
                        continue;
                r = add_broken(c, *f, diags, first);
                struct catalog_entry *o = old_entry(old, *f);
                if (o)
                        carried[n_carried++] = catalog_entry_ref(o);
        }
        for (size_t i = 0; i < n_carried; i++) {
                size_t before = c->n;
                if (r < 0 || id_from(c, dir_start, carried[i]->program->id)) {
                        catalog_entry_unref(carried[i]);
                        continue;
                }
                r = catalog_add(c, carried[i], dir_start, diags);
                if (r >= 0 && c->n == before && dir_start > 0)
                        dir_start--;
        }
        return r < 0 ? r : 0;
}

int catalog_load(char *const *dirs, const struct chair_config *config, const struct catalog *old,
                 struct diag_list *diags, struct catalog **ret)
{
        _cleanup_(catalog_freep) struct catalog *c = calloc(1, sizeof(*c));
        struct pattern_library lib = {};
        size_t first = diags->n;
        int r;

        if (!c)
                return -ENOMEM;
        r = catalog_load_library(dirs, &lib, diags);
        if (r == -EINVAL)
                r = add_broken_patterns(c, diags, first);
        for (char *const *d = dirs; *d && r >= 0; d++) {
                _cleanup_(strv_freep) char **files = NULL;

                r = list_yaml_files(*d, &files);
                if (r == -ENOENT) {
                        r = 0;
                        continue;
                }
                if (r < 0) {
                        first = diags->n;
                        diag_add(diags, SEVERITY_ERROR, *d, 0, 0, "cannot read the directory: %s",
                                 strerror(-r));
                        r = add_broken(c, *d, diags, first);
                        continue;
                }
                r = load_dir(c, *d, files, config, &lib, old, diags);
        }
        pattern_library_clear(&lib);
        if (r < 0)
                return r; /* out of memory: what is there is not the whole set */
        qsort(c->entries, c->n, sizeof(*c->entries), compare_entries);
        *ret = TAKE_PTR(c);
        return 0;
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
        for (size_t i = 0; i < c->n_broken; i++) {
                free(c->broken[i].path);
                free(c->broken[i].message);
        }
        free(c->broken);
        free(c);
        return NULL;
}
