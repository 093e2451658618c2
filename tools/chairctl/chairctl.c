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
        {"validate", verb_validate, "validate [--config FILE] [--patterns DIR]... FILE..."},
        {"plot", verb_plot, "plot [--config FILE] [--patterns DIR]... [--duration D] FILE -o OUT.svg"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: chairctl [--json] [-H USER@HOST] VERB [ARGS...]\n\n"
                "Verbs that talk to chaird (over the system bus, or over ssh with -H):\n"
                "  status                      the chair's state, program, heat, positions, fault\n"
                "  list                        the programs chaird offers\n"
                "  start PROGRAM [--duration D] [--intensity N] [--follow]\n"
                "                              start a program; --follow shows its progress until it ends\n"
                "  stop | pause | resume       the running program\n"
                "  estop                       emergency stop: everything safe, fault latched\n"
                "  release                     air out of every bag, rollers stop, legrest opens\n"
                "  reset                       reset the fault once its cause is gone\n"
                "  recline PRESET              e.g. zero-gravity-1, upright\n"
                "  jog AXIS up|down [--time D] move an axis while held (until Ctrl-C or D)\n");
        fprintf(f, "  heat ZONE LEVEL             heat level 0-%d\n", HEAT_LEVELS);
        fprintf(f, "  intensity N                 massage intensity %d-%d (%d: as programmed)\n",
                INTENSITY_MIN, INTENSITY_MAX, INTENSITY_DEFAULT);
        fprintf(f, "  lock on|off                 the child lock\n"
                   "  monitor                     a line per change, until Ctrl-C\n"
                   "  install FILE                validate a program and install it\n"
                   "  reload                      load the programs again\n"
                   "  names programs|presets|zones|axes\n"
                   "                              the names chaird takes, one per line (for scripts)\n"
                   "\nOffline verbs (no daemon needed):\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  chairctl %s\n", verbs[i].usage);
        fprintf(f, "\nExit status: 0 success, 1 failure (the daemon refused, an invalid program), 2 wrong "
                   "usage,\n"
                   "3 chaird not reachable, 4 start --follow: the program ended other than completed.\n");
}

int main(int argc, char *argv[])
{
        /* Options before the verb. */
        while (argc > 1 && argv[1][0] == '-' && !streq(argv[1], "-h") && !streq(argv[1], "--help") &&
               !streq(argv[1], "--version")) {
                if (streq(argv[1], "--json")) {
                        global.json = true;
                        argc--, argv++;
                } else if ((streq(argv[1], "-H") || streq(argv[1], "--host")) && argc > 2) {
                        global.host = argv[2];
                        argc -= 2, argv += 2;
                } else if (strncmp(argv[1], "--host=", 7) == 0) {
                        global.host = argv[1] + 7;
                        argc--, argv++;
                } else {
                        fprintf(stderr, "chairctl: unknown option '%s'\n", argv[1]);
                        usage(stderr);
                        return 2;
                }
        }
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
        if (is_online_verb(argv[1]))
                return run_online_verb(argc - 1, argv + 1);
        fprintf(stderr, "chairctl: unknown verb '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
