/* chaird-bus.h: chaird on the system bus, as the daemon publishes it and its clients (chairctl, the bridges)
 * call it: the names (docs/dbus.md) and the limits both sides apply. */
#pragma once

#include "util.h"

#define CHAIRD_BUS_NAME            "io.chaird.Chair1"
#define CHAIRD_OBJECT_PATH         "/io/chaird/Chair1"
#define CHAIRD_INTERFACE           "io.chaird.Chair1"
#define CHAIRD_PROGRAM_INTERFACE   CHAIRD_INTERFACE ".Program"
#define CHAIRD_PROGRAM_PATH_PREFIX CHAIRD_OBJECT_PATH "/program" /* one object per program below it */
/* chaird's typed errors are this followed by their short name (NoSuchProgram, Faulted, ...). */
#define CHAIRD_ERROR_PREFIX CHAIRD_INTERFACE ".Error."

/* InstallProgram and ValidateProgram refuse a program text longer than this many bytes; chairctl refuses
 * such a file before sending it. */
#define CHAIRD_PROGRAM_TEXT_MAX (1024 * 1024)

/* Jog moves an axis for this long unless it is called again: a dead-man button. chairctl jog repeats the call
 * at a third of it, so one late or lost call does not stop a held jog. */
#define CHAIRD_JOG_HOLD_USEC (300 * USEC_PER_MSEC)

/* SaveProfile refuses more favourites or heat zones than these; chairctl refuses such a command line. */
#define CHAIRD_PROFILE_FAVOURITES_MAX 32
#define CHAIRD_PROFILE_HEAT_MAX       8
