/* pattern.c: roller patterns (loops of steps along the back) and the shared pattern library. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>

#include "program.h"
#include "yamltree.h"

static int add_technique(struct parse_ctx *ctx, const struct ynode *node, const char *name, unsigned *set)
{
        int t = technique_from_string(name);
        char list[256];

        if (t < 0) {
                const char *guess = closest_name(name, technique_names);
                if (guess)
                        parse_error(ctx, node, "unknown technique '%s'; did you mean '%s'?", name, guess);
                else
                        parse_error(ctx, node,
                                    "unknown technique '%s' (expected %s, or several joined by '+')", name,
                                    join_names(list, sizeof(list), technique_names));
                return -EINVAL;
        }
        if (*set & TECHNIQUE_BIT(t)) {
                parse_error(ctx, node, "technique '%s' is given twice", name);
                return -EINVAL;
        }
        *set |= TECHNIQUE_BIT(t);
        return 0;
}

int parse_techniques(struct parse_ctx *ctx, const struct ynode *node, unsigned *ret)
{
        unsigned set = 0;
        int r, bad = 0;

        if (node->type == YNODE_SEQUENCE) {
                if (node->n_children == 0) {
                        parse_error(ctx, node, "technique must name at least one technique");
                        return -EINVAL;
                }
                /* Every item is checked, so that each bad name is reported. */
                for (size_t i = 0; i < node->n_children; i++) {
                        if (!expect_type(ctx, node->children[i], YNODE_SCALAR, "technique"))
                                bad = -EINVAL;
                        else if ((r = add_technique(ctx, node->children[i], node->children[i]->value,
                                                    &set)) < 0)
                                bad = r;
                }
        } else {
                _cleanup_free_ char *copy = NULL;
                char *save = NULL;

                if (!expect_type(ctx, node, YNODE_SCALAR, "technique"))
                        return -EINVAL;
                copy = strdup(node->value);
                if (!copy)
                        return -ENOMEM;
                if (!*copy || copy[strlen(copy) - 1] == '+' || *copy == '+' || strstr(copy, "++")) {
                        parse_error(ctx, node,
                                    "technique '%s' is malformed (write e.g. kneading or kneading+tapping)",
                                    node->value);
                        return -EINVAL;
                }
                for (char *w = strtok_r(copy, "+", &save); w; w = strtok_r(NULL, "+", &save)) {
                        r = add_technique(ctx, node, w, &set);
                        if (r < 0)
                                bad = r;
                }
        }
        if (bad < 0)
                return bad;
        if ((set & TECHNIQUES_PERCUSSION) == TECHNIQUES_PERCUSSION) {
                parse_error(ctx, node,
                            "tapping and clapping cannot run together: they share the percussion motor");
                return -EINVAL;
        }
        if (__builtin_popcount(set & TECHNIQUES_STROKE) > 1) {
                parse_error(ctx, node,
                            "shiatsu, rolling and swedish are different strokes: use one at a time");
                return -EINVAL;
        }
        *ret = set;
        return 0;
}

void pattern_done(struct pattern *p)
{
        free(p->name);
        free(p->file);
        free(p->steps);
        *p = (struct pattern){};
}

int pattern_copy(struct pattern *dst, const struct pattern *src)
{
        *dst = *src;
        dst->name = strdup(src->name);
        dst->file = strdup(src->file);
        dst->steps = malloc(src->n_steps * sizeof(*src->steps));
        if (!dst->name || !dst->file || !dst->steps) {
                pattern_done(dst);
                return -ENOMEM;
        }
        memcpy(dst->steps, src->steps, src->n_steps * sizeof(*src->steps));
        return 0;
}

static int parse_step_target(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                             void *dest)
{
        static const struct {
                const char *name;
                double area;
        } named[] = {{"start", 0.0}, {"middle", 0.5}, {"end", 1.0}};
        struct step_target *t = dest;
        double v;

        if (!expect_type(ctx, node, YNODE_SCALAR, "to"))
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(named); i++)
                if (streq(node->value, named[i].name)) {
                        *t = (struct step_target){.area = named[i].area};
                        return 0;
                }
        if (!node->quoted && parse_number(node->value, &v) == 0) {
                if (v < 0.0 || v > 1.0) {
                        parse_error(ctx, node, "to %s is outside the area (0.0 is its start, 1.0 its end)",
                                    node->value);
                        return -EINVAL;
                }
                *t = (struct step_target){.area = v};
                return 0;
        }
        if (landmark_from_string(node->value) < 0) {
                char list[256];
                parse_error(ctx, node,
                            "to '%s' is not a place: use start, middle, end, a fraction of the area from "
                            "0.0 to 1.0, or a landmark (%s)",
                            node->value, join_names(list, sizeof(list), landmark_names));
                return -EINVAL;
        }
        t->absolute = true;
        return parse_position(ctx, node, "to", &t->position);
}

static int parse_step_technique(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                                void *dest)
{
        return parse_techniques(ctx, node, dest);
}

static int parse_step_width(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                            void *dest)
{
        unsigned w;
        int r = lookup_name(ctx, node, width_names, "width", &w);
        if (r < 0)
                return r;
        *(unsigned *) dest = w + 1;
        return 0;
}

static const struct field step_fields[] = {
        {"to", parse_step_target, offsetof(struct pattern_step, to), FIELD_REQUIRED,
         .schema = "{\"anyOf\":[{\"type\":\"number\",\"minimum\":0,\"maximum\":1},{\"enum\":[\"start\","
                   "\"middle\",\"end\",@LANDMARKS@]}]}"},
        {"time", field_duration, offsetof(struct pattern_step, time_usec), FIELD_REQUIRED,
         (long long) STEP_TIME_MIN_USEC, (long long) STEP_TIME_MAX_USEC},
        {"technique", parse_step_technique, offsetof(struct pattern_step, technique),
         .schema = SCHEMA_TECHNIQUES},
        {"speed", field_uint, offsetof(struct pattern_step, speed), 0, 1, ROLLER_SPEED_MAX},
        {"depth", field_uint, offsetof(struct pattern_step, depth), 0, 1, ROLLER_DEPTH_MAX},
        {"width", parse_step_width, offsetof(struct pattern_step, width), .schema = SCHEMA_WIDTH},
        {},
};

static int parse_steps(struct parse_ctx *ctx, const struct ynode *node, const struct field *f, void *dest)
{
        struct pattern *p = dest;
        bool bad = false;

        if (!expect_type(ctx, node, YNODE_SEQUENCE, "steps"))
                return -EINVAL;
        if (node->n_children == 0) {
                parse_error(ctx, node, "a pattern needs at least one step");
                return -EINVAL;
        }
        if (node->n_children > PATTERN_MAX_STEPS) {
                parse_error(ctx, node->children[PATTERN_MAX_STEPS], "a pattern has at most %d steps",
                            PATTERN_MAX_STEPS);
                return -EINVAL;
        }
        p->steps = calloc(node->n_children, sizeof(*p->steps));
        if (!p->steps)
                return -ENOMEM;
        for (size_t i = 0; i < node->n_children; i++) {
                const struct ynode *item = node->children[i];
                struct pattern_step *s = &p->steps[p->n_steps];
                int r;

                r = parse_mapping(ctx, item, "step", step_fields, s, NULL);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        bad = true;
                        continue;
                }
                /* Remember where depth and technique were written, for warnings about deep work. */
                if (item->type == YNODE_MAPPING)
                        for (size_t k = 0; k < ynode_n_pairs(item); k++) {
                                if (streq(ynode_key(item, k)->value, "depth"))
                                        s->depth_mark = ynode_mark(ynode_value(item, k));
                                else if (streq(ynode_key(item, k)->value, "technique"))
                                        s->technique_mark = ynode_mark(ynode_value(item, k));
                        }
                p->cycle_usec += s->time_usec;
                p->n_steps++;
        }
        return bad ? -EINVAL : 0;
}

/* A pattern as written: the description is for readers of the file and is not kept. */
struct pattern_source {
        char *description;
        struct pattern pattern;
};

const struct field pattern_fields[] = {
        {"description", field_string, offsetof(struct pattern_source, description)},
        {"steps", parse_steps, offsetof(struct pattern_source, pattern), FIELD_REQUIRED, 0,
         PATTERN_MAX_STEPS, .shape = SHAPE_LIST, .sub = step_fields},
        {},
};

static bool pattern_name_is_valid(const char *s)
{
        return name_is_valid(s, 64);
}

int patterns_parse(struct parse_ctx *ctx, const struct ynode *node, struct pattern **patterns, size_t *n)
{
        struct pattern *grown;
        bool bad = false;
        int r;

        if (!expect_type(ctx, node, YNODE_MAPPING, "patterns"))
                return -EINVAL;
        if (ynode_n_pairs(node) == 0)
                return 0;
        grown = realloc(*patterns, (*n + ynode_n_pairs(node)) * sizeof(**patterns));
        if (!grown)
                return -ENOMEM;
        *patterns = grown;
        for (size_t i = 0; i < ynode_n_pairs(node); i++) {
                const struct ynode *key = ynode_key(node, i), *value = ynode_value(node, i);
                struct pattern_source src = {.pattern.mark = ynode_mark(key)};

                if (!pattern_name_is_valid(key->value)) {
                        parse_error(ctx, key,
                                    "pattern name '%s' may only hold lowercase letters, digits and '-'",
                                    key->value);
                        bad = true;
                        continue;
                }
                r = parse_mapping(ctx, value, "pattern", pattern_fields, &src, NULL);
                free(src.description);
                if (r == 0) {
                        src.pattern.name = strdup(key->value);
                        src.pattern.file = strdup(ctx->file);
                        if (!src.pattern.name || !src.pattern.file)
                                r = -ENOMEM;
                }
                if (r < 0) {
                        pattern_done(&src.pattern);
                        if (r == -ENOMEM)
                                return r;
                        bad = true;
                        continue;
                }
                (*patterns)[(*n)++] = src.pattern;
        }
        return bad ? -EINVAL : 0;
}

const struct pattern *pattern_library_find(const struct pattern_library *lib, const char *name)
{
        for (size_t i = 0; lib && i < lib->n; i++)
                if (streq(lib->patterns[i].name, name))
                        return &lib->patterns[i];
        return NULL;
}

void pattern_library_clear(struct pattern_library *lib)
{
        for (size_t i = 0; i < lib->n; i++)
                pattern_done(&lib->patterns[i]);
        free(lib->patterns);
        strv_free(lib->dirs);
        *lib = (struct pattern_library){};
}

static int parse_library_patterns(struct parse_ctx *ctx, const struct ynode *node, const struct field *f,
                                  void *dest)
{
        struct pattern_library *lib = dest;
        return patterns_parse(ctx, node, &lib->patterns, &lib->n);
}

const struct field library_file_fields[] = {
        {"patterns", parse_library_patterns, 0, FIELD_REQUIRED, .shape = SHAPE_MAP, .sub = pattern_fields},
        {},
};

/* Patterns before dir_start came from directories of higher priority: they hide ones of the same name here.
 * Within one directory a name may be defined once. */
static int load_file(struct pattern_library *lib, int dirfd, const char *name, const char *path,
                     size_t dir_start, struct diag_list *diags)
{
        _cleanup_(ydoc_freep) struct ydoc *doc = NULL;
        struct parse_ctx ctx = {.file = path, .diags = diags};
        size_t first = lib->n;
        bool bad = false;
        int r;

        r = ydoc_load_file_at(dirfd, name, path, NULL, diags, &doc);
        if (r < 0)
                return r;
        r = parse_mapping(&ctx, ydoc_root(doc), "a pattern file", library_file_fields, lib, NULL);
        if (r == -ENOMEM)
                return r;
        bad = r < 0;
        for (size_t i = first; i < lib->n;) {
                struct pattern *p = &lib->patterns[i];
                bool hidden = false, dup = false;

                for (size_t k = 0; k < i && !hidden && !dup; k++) {
                        if (!streq(p->name, lib->patterns[k].name))
                                continue;
                        if (k < dir_start)
                                hidden = true;
                        else {
                                parse_error_at(&ctx, p->mark, "pattern '%s' is already defined in %s:%u:%u",
                                               p->name, lib->patterns[k].file, lib->patterns[k].mark.line,
                                               lib->patterns[k].mark.column);
                                dup = true;
                        }
                }
                if (hidden || dup) {
                        pattern_done(p);
                        memmove(p, p + 1, (lib->n - i - 1) * sizeof(*p));
                        lib->n--;
                        bad |= dup;
                        continue;
                }
                i++;
        }
        return bad ? -EINVAL : 0;
}

int pattern_library_load_file(struct pattern_library *lib, const char *path, struct diag_list *diags)
{
        return load_file(lib, AT_FDCWD, path, path, lib->n, diags);
}

int pattern_library_load_dir(struct pattern_library *lib, const char *dir, struct diag_list *diags)
{
        _cleanup_(strv_freep) char **files = NULL;
        _cleanup_(closep) int fd = -1;
        size_t dir_start = lib->n;
        bool bad = false;
        int r;

        if (strv_extend(&lib->dirs, dir) < 0)
                return -ENOMEM;
        /* The folder is often in one others can write (the installer's programs): a link in its place is not
         * followed, and its files are opened inside it. */
        fd = dir_open_at(AT_FDCWD, dir, false);
        if (fd == -ENOENT)
                return fd;
        if (fd < 0) {
                diag_add(diags, SEVERITY_ERROR, dir, 0, 0, "%s", file_error_words(fd));
                return -EINVAL;
        }
        r = list_yaml_files_at(fd, &files);
        if (r < 0)
                return r;
        for (char **f = files; *f; f++) {
                _cleanup_free_ char *path = NULL;
                if (asprintf(&path, "%s/%s", dir, *f) < 0) {
                        path = NULL;
                        return -ENOMEM;
                }
                r = load_file(lib, fd, *f, path, dir_start, diags);
                if (r == -ENOMEM)
                        return r;
                if (r == -EINVAL)
                        bad = true;
                else if (r < 0) {
                        diag_add(diags, SEVERITY_ERROR, path, 0, 0, "cannot read: %s", strerror(-r));
                        bad = true;
                }
        }
        return bad ? -EINVAL : 0;
}
