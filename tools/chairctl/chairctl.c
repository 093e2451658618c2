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
        {"schema", verb_schema, "schema program|pattern|config"},
};

static void usage(FILE *f)
{
        fprintf(f,
                "Usage: chairctl [--json] [-H USER@HOST] VERB [ARGS...]\n\n"
                "Options:\n"
                "  --json                      JSON instead of text (status, list, names, validate, ...)\n"
                "  -H, --host USER@HOST        talk to chaird on another machine, over ssh\n"
                "  -h, --help                  this help; after a verb, what that verb takes\n"
                "  --version                   the version\n\n"
                "Verbs that talk to chaird (over the system bus, or over ssh with -H):\n"
                "  status                      the chair's state, program, heat, positions, fault\n"
                "  list                        the programs chaird offers\n"
                "  start [PROGRAM] [--duration D] [--intensity N] [--follow]\n"
                "                              start a program (none: the profile's); --follow shows its\n"
                "                              progress until it ends\n"
                "  stop | pause | resume       the running program\n"
                "  estop                       emergency stop: everything safe, fault latched\n"
                "  release                     air out of every bag, rollers stop, legrest opens\n"
                "  reset                       reset the fault once its cause is gone\n"
                "  recline PRESET|POSITION     e.g. zero-gravity-1, upright, or a profile's saved position\n"
                "  jog AXIS up|down [--time D] move an axis while held (until Ctrl-C or D)\n"
                "  manual OPTIONS [--follow]   a manual session: technique, area, airbags, heat by hand\n"
                "  adjust OPTIONS [--reset]    change the running session at once (speed, area, ...)\n"
                "  shoulders [OFFSET]          the shoulder position in use; OFFSET mm moves it (+ down)\n"
                "  history [N]                 the last N sessions and faults (20; 0: all), newest first\n"
                "  usage                       counters since install: sessions, massage, heat, motors\n"
                "  profile [list|show NAME|select NAME|save NAME [SETTINGS]|delete NAME]\n"
                "                              a person's memory: favourites, intensity, heat, program\n"
                "  position save|delete NAME   the recline as it is now, in the selected profile\n");
        fprintf(f, "  heat ZONE LEVEL             heat level 0-%d\n", HEAT_LEVELS);
        fprintf(f, "  intensity N                 massage intensity %d-%d (%d: as programmed)\n",
                INTENSITY_MIN, INTENSITY_MAX, INTENSITY_DEFAULT);
        fprintf(f,
                "  lock on|off                 the child lock\n"
                "  monitor                     a line per change, until Ctrl-C\n"
                "  install FILE                validate a program and install it\n"
                "  reload                      load the programs again\n"
                "  names "
                "programs|presets|zones|axes|profiles|techniques|widths|areas|airbag-zones|airbag-patterns\n"
                "                              the names chaird takes, one per line (for scripts)\n"
                "\nOffline verbs (no daemon needed):\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                fprintf(f, "  chairctl %s\n", verbs[i].usage);
        fprintf(f, "\nExit status: 0 success, 1 failure (the daemon refused, an invalid program), 2 wrong "
                   "usage,\n"
                   "3 chaird not reachable, 4 start --follow: the program ended other than completed.\n");
}

/* The ranges the help gives, from the vocabulary. */
#define SPEED_MAX_TEXT       STRINGIFY(ROLLER_SPEED_MAX)
#define AIRBAG_LEVELS_TEXT   STRINGIFY(AIRBAG_INTENSITY_LEVELS)
#define HEAT_LEVELS_TEXT     STRINGIFY(HEAT_LEVELS)
#define FOOT_MAX_TEXT        STRINGIFY(FOOT_SPEED_MAX)
#define INTENSITY_RANGE_TEXT STRINGIFY(INTENSITY_MIN) "-" STRINGIFY(INTENSITY_MAX)

/* chairctl VERB --help: what the verb does and takes. */
static const struct verb_help {
        const char *name, *usage, *text;
} verb_helps[] = {
        {"status", "status",
         "The chair's state, the running program and phase, intensity, recline, heat,\n"
         "temperatures, positions, the fault and the child lock. --json: one object."},
        {"list", "list", "The programs chaird offers: id, duration, name. --json: a list of objects."},
        {"start", "start [PROGRAM] [--duration D] [--intensity N] [--follow]",
         "Starts a program by id; without one, the selected profile's program. The selected\n"
         "profile's intensity and heat apply unless --intensity says otherwise.\n"
         "--duration D runs it scaled to D (at least 1m, at most the\n"
         "session cap); --intensity N (" INTENSITY_RANGE_TEXT ") sets the intensity first.\n"
         "--follow shows the progress until it ends: exit status 4 when it ended other than\n"
         "completed."},
        {"stop", "stop", "Ends the program gracefully: rollers park, air out, heat off, back upright."},
        {"pause", "pause", "Freezes the program's clock; motors and rollers stop where they are."},
        {"resume", "resume", "The paused program goes on from where it stopped."},
        {"estop", "estop",
         "Emergency stop: every output safe at once, the fault latched (reset clears it)."},
        {"release", "release",
         "For a trapped person: air out of every bag, rollers stop, the legrest opens."},
        {"reset", "reset", "Resets the latched fault once its cause is gone; nothing moves by itself."},
        {"recline", "recline PRESET|POSITION",
         "Drives the recline to a preset (chairctl names presets lists them), or to a saved\n"
         "position of the selected profile (chairctl profile show NAME lists them)."},
        {"jog", "jog AXIS up|down [--time D]",
         "Moves an axis while held: until Ctrl-C, or for D (e.g. 2s)."},
        {"heat", "heat ZONE LEVEL",
         "Sets a heat zone's level, 0 (off) to " STRINGIFY(
                 HEAT_LEVELS) " (chairctl names zones lists them)."},
        {"intensity", "intensity N",
         "Massage intensity " STRINGIFY(INTENSITY_MIN) "-" STRINGIFY(INTENSITY_MAX) "; " STRINGIFY(
                 INTENSITY_DEFAULT) " is the program as written."},
        {"manual",
         "manual [--technique T] [--pattern P] [--area A | --from A --to B] [--speed N]\n"
         "              [--width W] [--depth N] [--airbags Z,Z...] [--airbag-pattern P]\n"
         "              [--airbag-intensity N] [--heat ZONE=LEVEL]... [--foot-rollers N]\n"
         "              [--recline PRESET] [--duration D] [--follow]",
         "Starts a manual session: the roller's technique (e.g. kneading, kneading+tapping),\n"
         "pattern, area (back, full, a landmark, or a fraction of the track) or --from and\n"
         "--to, speed 1-" SPEED_MAX_TEXT ", width, depth; the airbag zones, their pattern and\n"
         "intensity 1-" AIRBAG_LEVELS_TEXT "; heat per zone 0-" HEAT_LEVELS_TEXT
         "; foot-roller speed 0-" FOOT_MAX_TEXT "; a recline preset.\n"
         "Checked like a program against this chair. --duration: default the config's\n"
         "sessions.manual-duration. --follow shows the progress until it ends."},
        {"adjust",
         "adjust [--speed N] [--width W] [--depth N] [--area A | --from A --to B]\n"
         "              [--airbag-intensity N] [--foot-rollers N] [--reset]\n"
         "              [--technique T] [--pattern P] [--airbags Z,Z...] [--airbag-pattern P]\n"
         "              [--heat ZONE=LEVEL]... [--recline PRESET] [--duration D]",
         "Changes the running program or manual session at once; the change holds until the\n"
         "session ends, whatever later phases say. --reset gives the program's own settings\n"
         "back. The options of the last two lines change a manual session only."},
        {"shoulders", "shoulders [OFFSET]",
         "Prints the shoulder position in use (mm from the top of the roller track). With\n"
         "OFFSET (mm, e.g. +20 or -15), moves it down (+) or up (-) first: every landmark\n"
         "target follows at once. --json: {\"shoulders_mm\": N}."},
        {"history", "history [N]",
         "The last N records (default 20, 0: all that chaird keeps), newest first: when each\n"
         "session started, how long it ran, its program (manual for manual mode), how it ended\n"
         "and the fault that ended it, and the profile; a fault outside a session has a line\n"
         "of its own. --json: a list of objects (times in microseconds)."},
        {"usage", "usage",
         "Counters since install, for planning service: sessions, massage time, heat time and\n"
         "each motor's run time. --json: one object (times in microseconds)."},
        {"profile",
         "profile [list | show NAME | select NAME|--none | delete NAME |\n"
         "              save NAME [--intensity N] [--heat ZONE=LEVEL]... [--no-heat]\n"
         "                        [--favourite PROGRAM]... [--no-favourites]\n"
         "                        [--shoulder-offset MM] [--program PROGRAM]]",
         "A person's memory on the chair. list (the default): the profiles, * before the\n"
         "selected one. show: its settings and saved positions. select: the one whose\n"
         "intensity, heat and program apply at each start and whose shoulder offset is in\n"
         "use (--none: no profile). save: makes or changes a profile; only the settings\n"
         "given change (--intensity 0, --program '', --no-heat, --no-favourites clear one).\n"
         "delete: the profile and its file. --json: list and show print objects."},
        {"position", "position save|delete NAME",
         "save: the recline as it is now, as a position of the selected profile (e.g.\n"
         "reading, nap), kept across restarts; chairctl recline NAME drives there again.\n"
         "delete: forgets one."},
        {"lock", "lock on|off", "The child lock: while on, only stopping works."},
        {"monitor", "monitor", "A line per change of the chair's state, until Ctrl-C."},
        {"install", "install FILE", "Validates a program file on chaird and installs it (it needs an id:)."},
        {"reload", "reload", "Loads the program folders again, as SIGHUP does."},
        {"names",
         "names programs|presets|zones|axes|profiles|techniques|widths|areas|airbag-zones|airbag-patterns",
         "The names chaird takes, one per line (--json: a list): for scripts and completion."},
        {"validate", "validate [--config FILE] [--patterns DIR]... FILE...",
         "Checks program files, and pattern library files (a file with only patterns:), as\n"
         "chaird would load them: each error and warning as FILE:LINE:COL, then a line per\n"
         "valid file saying what was checked. --config FILE checks against that chair\n"
         "(its presets, zones, techniques, roller track); without it, against the\n"
         "standard names. --patterns DIR (repeatable) replaces the pattern folders searched:\n"
         "by default the patterns/ folder beside the file, then " LOCAL_PROGRAMS_DIR "/patterns\n"
         "and " STOCK_PROGRAMS_DIR "/patterns. --json: a list of the files with their\n"
         "diagnostics. Exit status 1 when a file is invalid."},
        {"schema", "schema program|pattern|config",
         "Prints the JSON Schema of a program file, a pattern library file or the hardware\n"
         "config, made from the tables chaird parses them with, for editors (see\n"
         "programs.md); the installed copies are in " PKGDATADIR_SCHEMA "."},
        {"plot", "plot [--config FILE] [--patterns DIR]... [--duration D] FILE -o OUT.svg",
         "Draws a program's timeline as an SVG picture (-o - writes it to standard output).\n"
         "--duration D: as if started with that duration. --config and --patterns as for\n"
         "validate."},
};

/* When an argument after the verb asks for help: prints the verb's and returns true. */
static bool verb_help(int argc, char *argv[])
{
        for (int i = 1; i < argc; i++)
                if (streq(argv[i], "--help") || streq(argv[i], "-h"))
                        for (size_t k = 0; k < ELEMENTSOF(verb_helps); k++)
                                if (streq(verb_helps[k].name, argv[0])) {
                                        printf("Usage: chairctl %s\n\n%s\n", verb_helps[k].usage,
                                               verb_helps[k].text);
                                        return true;
                                }
        return false;
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
        if (verb_help(argc - 1, argv + 1))
                return 0;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[1], verbs[i].name))
                        return verbs[i].run(argc - 1, argv + 1);
        if (is_online_verb(argv[1]))
                return run_online_verb(argc - 1, argv + 1);
        fprintf(stderr, "chairctl: unknown verb '%s'\n", argv[1]);
        usage(stderr);
        return 2;
}
