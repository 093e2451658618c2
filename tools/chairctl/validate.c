/* validate.c: chairctl validate, and the set-up every offline verb shares. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>

#include "build-config.h"
#include "chairctl.h"
#include "wiring.h"
#include "yamltree.h"

static int load_library_dir(struct pattern_library *lib, const char *dir, struct diag_list *diags, bool must)
{
        int r = pattern_library_load_dir(lib, dir, diags);

        if ((r == -ENOENT || r == -ENOTDIR) && !must)
                return 0;
        if (r < 0 && r != -EINVAL) {
                fprintf(stderr, "chairctl: cannot read patterns from %s: %s\n", dir, strerror(-r));
                return r;
        }
        return r;
}

int offline_setup(const struct offline_options *o, const char *program_file,
                  struct chair_config **ret_config, struct pattern_library *ret_library)
{
        _cleanup_(chair_config_freep) struct chair_config *config = NULL;
        struct pattern_library lib = {};
        struct diag_list diags = {};
        int r = 0;

        if (o->config_path) {
                r = chair_config_load_file(o->config_path, &diags, &config);
                if (r < 0 && r != -EINVAL && r != -ENOMEM)
                        fprintf(stderr, "chairctl: cannot read config %s: %s\n", o->config_path,
                                strerror(-r));
        }
        if (r >= 0) {
                if (o->pattern_dirs)
                        for (char **d = o->pattern_dirs; *d && r >= 0; d++)
                                r = load_library_dir(&lib, *d, &diags, true);
                else {
                        _cleanup_free_ char *copy = strdup(program_file), *beside = NULL;
                        if (!copy || asprintf(&beside, "%s/patterns", dirname(copy)) < 0)
                                r = -ENOMEM;
                        /* The folder beside the file first: an installer editing a copy sees its own
                         * patterns. Each folder is searched even when missing, so that a message about an
                         * unknown pattern names it. */
                        if (r >= 0)
                                r = load_library_dir(&lib, beside, &diags, false);
                        if (r >= 0)
                                r = load_library_dir(&lib, LOCAL_PROGRAMS_DIR "/patterns", &diags, false);
                        if (r >= 0)
                                r = load_library_dir(&lib, STOCK_PROGRAMS_DIR "/patterns", &diags, false);
                }
        }
        diag_sort(&diags);
        diag_print(&diags, stderr);
        diag_list_clear(&diags);
        if (r == -ENOMEM)
                fprintf(stderr, "chairctl: out of memory\n");
        if (r < 0) {
                pattern_library_clear(&lib);
                return r;
        }
        *ret_config = TAKE_PTR(config);
        *ret_library = lib;
        return 0;
}

int parse_offline_options(int argc, char *argv[], struct offline_options *o, const char *verb,
                          const struct verb_option *own,
                          int (*extra)(int c, const char *arg, void *userdata), void *userdata)
{
        struct option options[16] = {
                {"config", required_argument, NULL, 'c'},
                {"patterns", required_argument, NULL, 'p'},
        };
        char shortopts[32] = "";
        size_t n = 2, len = 0;
        int c;

        for (size_t i = 0; own && own[i].name && n + 1 < ELEMENTSOF(options); i++, n++) {
                options[n] = (struct option){own[i].name, own[i].has_arg ? required_argument : no_argument,
                                             NULL, own[i].letter ?: (int) (0x100 + i)};
                if (own[i].letter && len + 3 < sizeof(shortopts)) {
                        shortopts[len++] = own[i].letter;
                        if (own[i].has_arg)
                                shortopts[len++] = ':';
                }
        }
        /* ':' first: a missing value is told apart from an unknown option. */
        memmove(shortopts + 1, shortopts, len + 1);
        shortopts[0] = ':';
        optind = 1;
        opterr = 0;
        while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o->config_path = optarg;
                        break;
                case 'p':
                        if (strv_extend(&o->pattern_dirs, optarg) < 0)
                                return -1;
                        break;
                case ':':
                        fprintf(stderr, "chairctl %s: %s needs a value\n", verb, argv[optind - 1]);
                        return -1;
                case '?': {
                        /* Named as the user wrote it, with the verb it was given to: a short one by its
                         * letter, as it may sit in a bundle ("-qo"); a long one as written. */
                        char letter[3] = {'-', (char) optopt, 0};
                        fprintf(stderr,
                                "chairctl %s: unknown option '%s' (chairctl %s --help lists its options)\n",
                                verb, optopt ? letter : argv[optind - 1], verb);
                        return -1;
                }
                default:
                        if (extra(c >= 0x100 ? c - 0x100 : c, optarg, userdata) < 0)
                                return -1;
                }
        return optind;
}

/* A pattern library file: its top level has patterns: and no program's keys. */
static bool is_pattern_file(const char *path)
{
        struct diag_list ignored = {};
        struct ydoc *doc = NULL;
        bool yes = false;

        if (ydoc_load_file(path, NULL, &ignored, &doc) >= 0) {
                const struct ynode *root = ydoc_root(doc);
                yes = root && root->type == YNODE_MAPPING && ynode_lookup(root, "patterns") &&
                      !ynode_lookup(root, "phases") && !ynode_lookup(root, "name");
        }
        ydoc_free(doc);
        diag_list_clear(&ignored);
        return yes;
}

/* One file's outcome with --json: {"file", "valid", "kind", "diagnostics": [{line, column, severity,
 * message}]}. */
static void print_json_result(const char *file, bool valid, const char *kind, const struct diag_list *d,
                              bool first)
{
        json_object *o = json_object_new_object(), *list = json_object_new_array();

        json_object_object_add(o, "file", json_object_new_string(file));
        json_object_object_add(o, "valid", json_object_new_boolean(valid));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        for (size_t i = 0; i < d->n; i++) {
                json_object *e = json_object_new_object();
                json_object_object_add(e, "file", json_string_or_empty(d->items[i].file));
                json_object_object_add(e, "line", json_object_new_int64(d->items[i].line));
                json_object_object_add(e, "column", json_object_new_int64(d->items[i].column));
                json_object_object_add(e, "severity",
                                       json_object_new_string(d->items[i].severity == SEVERITY_ERROR
                                                                      ? "error"
                                                                      : "warning"));
                json_object_object_add(e, "message", json_string_or_empty(d->items[i].message));
                json_object_array_add(list, e);
        }
        json_object_object_add(o, "diagnostics", list);
        if (!first)
                fputs(",", stdout);
        json_print(o, "");
}

/* What was checked, for the line that says a file is valid. */
static const char *checked_against(const struct offline_options *o, char *buf, size_t size)
{
        if (o->config_path)
                snprintf(buf, size, "checked against the chair of %s", o->config_path);
        else
                snprintf(buf, size,
                         "checked against the standard names (--config FILE checks against a "
                         "chair)");
        return buf;
}

int verb_validate(int argc, char *argv[])
{
        _cleanup_(strv_freep) char **dirs = NULL;
        struct offline_options o = {};
        bool invalid = false;
        int first;

        first = parse_offline_options(argc, argv, &o, "validate", NULL, NULL, NULL);
        dirs = o.pattern_dirs;
        if (first < 0 || first >= argc) {
                if (first >= 0)
                        fprintf(stderr, "chairctl validate: name at least one file\n");
                fprintf(stderr, "Usage: chairctl validate [--config FILE] [--patterns DIR]... FILE...\n");
                return 2;
        }
        if (global.json)
                printf("[");
        for (int i = first; i < argc; i++) {
                _cleanup_(chair_config_freep) struct chair_config *config = NULL;
                _cleanup_(program_freep) struct program *p = NULL;
                struct pattern_library lib = {}, own = {};
                struct diag_list diags = {};
                bool patterns = is_pattern_file(argv[i]);
                char what[256];
                int r;

                r = offline_setup(&o, argv[i], &config, &lib);
                if (r < 0) {
                        /* Why is said on stderr; the JSON list stays whole. */
                        if (global.json)
                                printf("]\n");
                        return 1;
                }
                if (patterns)
                        r = pattern_library_load_file(&own, argv[i], &diags);
                else
                        r = program_load_file(argv[i], config, &lib, &diags, &p);
                diag_sort(&diags);
                if (r < 0 && r != -EINVAL && !diags.oom)
                        diag_add(&diags, SEVERITY_ERROR, argv[i], 0, 0, "%s",
                                 r == -ENOMEM ? "out of memory" : strerror(-r));
                if (global.json)
                        print_json_result(argv[i], r >= 0, patterns ? "patterns" : "program", &diags,
                                          i == first);
                else {
                        diag_print(&diags, stderr);
                        if (r >= 0 && patterns)
                                printf("%s: valid%s: %zu pattern%s\n", argv[i],
                                       diags.n_warnings ? " (with the warnings above)" : "", own.n,
                                       own.n == 1 ? "" : "s");
                        else if (r >= 0) {
                                char d[DURATION_MAX_STR];
                                printf("%s: valid%s: program '%s', %zu phase%s, %s; %s\n", argv[i],
                                       diags.n_warnings ? " (with the warnings above)" : "",
                                       p->id ?: p->name, p->n_phases, p->n_phases == 1 ? "" : "s",
                                       format_duration(d, sizeof(d), p->duration_usec),
                                       checked_against(&o, what, sizeof(what)));
                        }
                }
                invalid |= r < 0;
                diag_list_clear(&diags);
                pattern_library_clear(&lib);
                pattern_library_clear(&own);
        }
        if (global.json)
                printf("]\n");
        return invalid ? 1 : 0;
}

int verb_schema(int argc, char *argv[])
{
        static const struct {
                const char *kind, *title;
                const struct field *fields, *io;
        } kinds[] = {
                {"program", "chaird program", program_fields, NULL},
                {"pattern", "chaird pattern library file", library_file_fields, NULL},
                {"config", "chaird hardware config", config_fields, io_fields},
        };

        for (size_t i = 0; argc == 2 && i < ELEMENTSOF(kinds); i++) {
                int r;
                if (!streq(argv[1], kinds[i].kind))
                        continue;
                r = json_schema_write(stdout, kinds[i].title, kinds[i].fields, kinds[i].io);
                return r < 0 || fflush(stdout) != 0 ? EXIT_FAILED : 0;
        }
        fprintf(stderr, "Usage: chairctl schema program|pattern|config\n");
        return EXIT_USAGE;
}
