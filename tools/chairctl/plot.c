/* plot.c: chairctl plot, a picture of a program's timeline as SVG (drawn by the common library's plot.c). */
#include <errno.h>
#include <stdio.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "chairctl.h"
#include "plot.h"
#include "timeline.h"

struct plot_args {
        const char *output;
        usec_t duration_usec;
};

static const struct verb_option plot_options[] = {
        {"output", 'o', true},
        {"duration", 'd', true},
        {},
};

static int plot_option(int c, const char *arg, void *userdata)
{
        struct plot_args *a = userdata;
        const char *reason;

        if (c == 'o') {
                /* SVG only: a .png name would get an SVG picture inside it. */
                size_t n = strlen(arg);
                if (!streq(arg, "-") && (n < 4 || strcasecmp(arg + n - 4, ".svg") != 0)) {
                        fprintf(stderr,
                                "chairctl plot: the picture is SVG: name the output FILE.svg (or - for "
                                "standard output); for a PNG, convert it: rsvg-convert FILE.svg -o "
                                "FILE.png\n");
                        return -EINVAL;
                }
                a->output = arg;
                return 0;
        }
        if (parse_duration(arg, &a->duration_usec, &reason) < 0) {
                fprintf(stderr, "chairctl plot: invalid --duration '%s': %s\n", arg, reason);
                return -EINVAL;
        }
        if (a->duration_usec == 0) {
                fprintf(stderr, "chairctl plot: --duration must be longer than zero\n");
                return -EINVAL;
        }
        return 0;
}

/* Writes the picture to path atomically: a temporary file beside it, fsync, rename. */
static int write_atomically(const char *path, const struct program *p, const struct timeline *t,
                            const struct chair_config *config)
{
        _cleanup_free_ char *tmp = NULL;
        FILE *f;
        int fd, r;

        if (streq(path, "-"))
                return plot_svg(stdout, p, t, config);
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkstemp(tmp);
        if (fd < 0)
                return -errno;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                close(fd);
                unlink(tmp);
                return r;
        }
        r = plot_svg(f, p, t, config);
        if (r >= 0 && (fflush(f) != 0 || fsync(fileno(f)) < 0))
                r = -errno;
        if (fclose(f) != 0 && r >= 0)
                r = -errno;
        /* mkstemp makes 0600; a picture is for everyone to look at. */
        if (r >= 0 && chmod(tmp, 0644) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                unlink(tmp);
        return r;
}

int verb_plot(int argc, char *argv[])
{
        _cleanup_(chair_config_freep) struct chair_config *config = NULL;
        _cleanup_(program_freep) struct program *p = NULL;
        _cleanup_(timeline_freep) struct timeline *t = NULL;
        _cleanup_(strv_freep) char **dirs = NULL;
        struct offline_options o = {};
        struct plot_args a = {};
        struct pattern_library lib = {};
        struct diag_list diags = {};
        int first, r;

        first = parse_offline_options(argc, argv, &o, "plot", plot_options, plot_option, &a);
        dirs = o.pattern_dirs;
        if (first >= 0 && (first + 1 != argc || !a.output))
                fprintf(stderr, "chairctl plot: %s\n",
                        first + 1 > argc   ? "name the program file"
                        : first + 1 < argc ? "one program file at a time"
                                           : "name the picture with -o OUT.svg");
        if (first < 0 || first + 1 != argc || !a.output) {
                fprintf(stderr, "Usage: chairctl plot [--config FILE] [--patterns DIR]... [--duration D] "
                                "FILE -o OUT.svg\n");
                return 2;
        }
        r = offline_setup(&o, argv[first], &config, &lib);
        if (r < 0)
                return 1;
        r = program_load_file(argv[first], config, &lib, &diags, &p);
        diag_sort(&diags);
        diag_print(&diags, stderr);
        diag_list_clear(&diags);
        pattern_library_clear(&lib);
        if (r < 0) {
                if (r != -EINVAL)
                        fprintf(stderr, "%s: error: %s\n", argv[first], strerror(-r));
                return 1;
        }
        r = timeline_compile(p, a.duration_usec, config, &t);
        if (r == -EINVAL) {
                fprintf(stderr, "chairctl plot: --duration must be at least 1m\n");
                return 1;
        }
        if (r >= 0)
                r = write_atomically(a.output, p, t, config);
        if (r < 0) {
                fprintf(stderr, "chairctl: cannot write %s: %s\n", a.output, strerror(-r));
                return 1;
        }
        return 0;
}
