/* log.h: the daemon's logging: structured journal entries under systemd, plain lines on stderr otherwise. */
#pragma once

#include <syslog.h>

#include "util.h"

/* Decides where messages go: the journal when stderr is connected to it (JOURNAL_STREAM), else stderr. */
void log_setup(bool verbose);

/* Logs one message with optional structured fields (NULL to leave one out): PROGRAM= the program id,
 * PHASE= the phase name, FAULT= the fault name. Returns -error when error is non-zero, else 0, so that
 * callers can write "return log_error_errno(r, ...)". */
int log_fields(int priority, int error, const char *program, const char *phase, const char *fault,
               const char *fmt, ...) _printf_(6, 7);

#define log_debug(...)   log_fields(LOG_DEBUG, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_info(...)    log_fields(LOG_INFO, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_notice(...)  log_fields(LOG_NOTICE, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_warning(...) log_fields(LOG_WARNING, 0, NULL, NULL, NULL, __VA_ARGS__)
#define log_error(...)   log_fields(LOG_ERR, 0, NULL, NULL, NULL, __VA_ARGS__)
/* With errno-style error (either sign); %m in the format prints it. */
#define log_error_errno(error, ...)   log_fields(LOG_ERR, (error), NULL, NULL, NULL, __VA_ARGS__)
#define log_warning_errno(error, ...) log_fields(LOG_WARNING, (error), NULL, NULL, NULL, __VA_ARGS__)

/* One line for the damaged lines of a file that were left out as it was read (none: nothing): how many,
 * and the first, never a line each (a file of a million bad lines is one line in the journal). */
void log_damaged_lines(const char *path, unsigned count, unsigned first);
