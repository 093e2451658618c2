/* chairctl: the command-line client of chaird; offline verbs check and picture program files. */
#include <stdio.h>
#include <string.h>

#include "build-config.h"
#include "chairctl.h"

static const struct verb {
        const char *name;
        int (*run)(int argc, char *argv[]);
        const char *usage;
} verbs[] = {
        { "validate", verb_validate, "validate [--config FILE] [--patterns DIR]... FILE..." },
        { "plot", verb_plot, "plot [--config FILE] [--patterns DIR]... [--duration D] FILE -o OUT.svg" },
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: chairctl VERB [ARGS...]\n\nOffline verbs (no daemon needed):\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  chairctl %s\n", verbs[i].usage);
        fprintf(f, "\nExit status: 0 success, 1 failure (e.g. an invalid program), 2 wrong usage.\n");
}

int main(int argc, char *argv[])
{
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (streq(argv[1], "--help") || streq(argv[1], "-h") || streq(argv[1], "help")) {
                usage(stdout);
                return 0;
        }
        if (streq(argv[1], "--version")) {
                printf("chairctl %s\n", PACKAGE_VERSION);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1);
        fprintf(stderr, "chairctl: unknown verb '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
