/* chaird-bus.h: chaird on the system bus, as the daemon publishes it and its clients (chairctl, the bridges)
 * call it: the names (docs/dbus.md) and the limits both sides apply. */
#pragma once

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
