/* options.h: chaird's command-line options, as main.c parses them and the core uses them. */
#pragma once

#include <stdbool.h>

struct options {
        char *config_path;
        char **program_dirs; /* lowest priority first; InstallProgram writes into the last */
        char *state_dir;
        double time_scale;
        char *control_group;
        bool verbose;
};
