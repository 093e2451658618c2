/* validate.c: chairctl validate, and the set-up every offline verb shares. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>

#include "build-config.h"
#include "chairctl.h"

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

int parse_offline_options(int argc, char *argv[], struct offline_options *o, const char *extra_short,
                          int (*extra)(int c, const char *arg, void *userdata), void *userdata)
{
        static const struct option options[] = {
                {"config", required_argument, NULL, 'c'},
                {"patterns", required_argument, NULL, 'p'},
                {"duration", required_argument, NULL, 'd'},
                {"output", required_argument, NULL, 'o'},
                {},
        };
        char shortopts[32];
        int c;

        snprintf(shortopts, sizeof(shortopts), "%s", extra_short ?: "");
        optind = 1;
        while ((c = getopt_long(argc, argv, shortopts, options, NULL)) >= 0)
                switch (c) {
                case 'c':
                        o->config_path = optarg;
                        break;
                case 'p':
                        if (strv_extend(&o->pattern_dirs, optarg) < 0)
                                return -1;
                        break;
                case '?':
                        return -1;
                default:
                        if (!extra || extra(c, optarg, userdata) < 0) {
                                fprintf(stderr, "chairctl: option -%c does not apply here\n", c);
                                return -1;
                        }
                }
        return optind;
}

int verb_validate(int argc, char *argv[])
{
        _cleanup_(strv_freep) char **dirs = NULL;
        struct offline_options o = {};
        bool invalid = false;
        int first;

        first = parse_offline_options(argc, argv, &o, NULL, NULL, NULL);
        dirs = o.pattern_dirs;
        if (first < 0 || first >= argc) {
                fprintf(stderr, "Usage: chairctl validate [--config FILE] [--patterns DIR]... FILE...\n");
                return 2;
        }
        for (int i = first; i < argc; i++) {
                _cleanup_(chair_config_freep) struct chair_config *config = NULL;
                _cleanup_(program_freep) struct program *p = NULL;
                struct pattern_library lib = {};
                struct diag_list diags = {};
                int r;

                r = offline_setup(&o, argv[i], &config, &lib);
                if (r < 0)
                        return 1;
                r = program_load_file(argv[i], config, &lib, &diags, &p);
                diag_sort(&diags);
                diag_print(&diags, stderr);
                if (r < 0 && r != -EINVAL)
                        fprintf(stderr, "%s: error: %s\n", argv[i],
                                r == -ENOMEM ? "out of memory" : strerror(-r));
                invalid |= r < 0;
                diag_list_clear(&diags);
                pattern_library_clear(&lib);
        }
        return invalid ? 1 : 0;
}
