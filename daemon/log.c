/* log.c: the daemon's logging: structured journal entries under systemd, plain lines on stderr otherwise. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <systemd/sd-journal.h>

#include "log.h"

static bool use_journal;
static int max_priority = LOG_INFO;

void log_setup(bool verbose)
{
        const char *stream = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        max_priority = verbose ? LOG_DEBUG : LOG_INFO;
        /* systemd sets JOURNAL_STREAM=dev:ino for a service whose stderr goes to the journal. */
        use_journal = stream && sscanf(stream, "%llu:%llu", &dev, &ino) == 2 &&
                      fstat(STDERR_FILENO, &st) == 0 && (unsigned long long) st.st_dev == dev &&
                      (unsigned long long) st.st_ino == ino;
}

int log_fields(int priority, int error, const char *program, const char *phase, const char *fault,
               const char *fmt, ...)
{
        int saved_errno = errno;
        char message[1024];
        va_list ap;

        if (error < 0)
                error = -error;
        if (priority > max_priority)
                return error ? -error : 0;
        errno = error; /* for %m */
        va_start(ap, fmt);
        vsnprintf(message, sizeof(message), fmt, ap);
        va_end(ap);

        if (use_journal) {
                char f_message[1100], f_priority[32], f_program[128], f_phase[128], f_fault[128],
                        f_errno[32];
                struct iovec iov[6];
                size_t n = 0;

#define FIELD(buf, ...)                                                                                     \
        do {                                                                                                \
                snprintf(buf, sizeof(buf), __VA_ARGS__);                                                    \
                iov[n++] = (struct iovec){buf, strlen(buf)};                                                \
        } while (0)
                FIELD(f_message, "MESSAGE=%s", message);
                FIELD(f_priority, "PRIORITY=%i", priority);
                if (program)
                        FIELD(f_program, "PROGRAM=%s", program);
                if (phase)
                        FIELD(f_phase, "PHASE=%s", phase);
                if (fault)
                        FIELD(f_fault, "FAULT=%s", fault);
                if (error)
                        FIELD(f_errno, "ERRNO=%i", error);
#undef FIELD
                sd_journal_sendv(iov, (int) n);
        } else {
                /* Outside the journal the fields go into the line, so that tests and people see them too. */
                fprintf(stderr, "chaird: %s", message);
                if (program)
                        fprintf(stderr, " [PROGRAM=%s", program);
                if (phase)
                        fprintf(stderr, "%sPHASE=%s", program ? " " : " [", phase);
                if (fault)
                        fprintf(stderr, "%sFAULT=%s", program || phase ? " " : " [", fault);
                fputs(program || phase || fault ? "]\n" : "\n", stderr);
        }
        errno = saved_errno;
        return error ? -error : 0;
}

void log_damaged_lines(const char *path, unsigned count, unsigned first)
{
        if (count > 0)
                log_warning("%s: %u damaged line%s left out (the first is line %u)", path, count,
                            count == 1 ? "" : "s", first);
}
