/* files.h: files in folders that others can write (programs, patterns, state), read and written the way
 * systemd reads them: from the folder's fd, never through a link, never blocking, only regular files of a
 * bounded size; and written atomically inside the folder's fd.
 *
 * A member of the control group may put a FIFO, a symbolic link, a directory or a huge file where chaird
 * expects one of its files. Opened as usual, a FIFO blocks the loop in open(), a link reads or writes a file
 * elsewhere (and an error message may quote it), a device never ends. Here each is an error of its own,
 * which file_error_words() says in plain words. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The errors of an odd file (besides the usual -errno): */
#define FILE_IS_LINK   ELOOP    /* a symbolic link: not followed */
#define FILE_IS_DIR    EISDIR   /* a directory */
#define FILE_IS_FIFO   ESPIPE   /* a FIFO (named pipe) */
#define FILE_IS_DEVICE ENODEV   /* a character or block device */
#define FILE_IS_SOCKET ENOTSOCK /* a socket (opening one says ENXIO) */
#define FILE_TOO_LARGE EFBIG    /* larger than the bound */

/* What went wrong with a file, in words that follow its name ("is a FIFO, not a regular file"); for any
 * other error, strerror's words after "cannot be read: ". */
const char *file_error_words(int r);

/* Opens name (relative to dirfd, or AT_FDCWD) for reading: O_NOFOLLOW unless follow, O_NONBLOCK (a FIFO
 * does not wait for a writer), then fstat: only a regular file of at most max bytes. Returns the fd, or
 * -errno (one of the FILE_* above for an odd file); *ret_size (may be NULL) holds the size, also for
 * -FILE_TOO_LARGE. */
int file_open_regular(int dirfd, const char *name, bool follow, size_t max, off_t *ret_size);

/* Opens name inside dirfd for writing (O_CREAT and flags: O_APPEND, O_TRUNC): never through a link, never
 * blocking on a FIFO, only a regular file. Returns the fd or -errno (FILE_* for an odd file). */
int file_open_writing(int dirfd, const char *name, int flags);

/* What fd holds, as text (NUL-terminated, malloc'ed): its size, or -FILE_TOO_LARGE past max bytes. */
int read_fd_text(int fd, size_t max, char **ret);
/* A whole regular file as text (NUL-terminated, malloc'ed) through file_open_regular (links not followed):
 * its size in bytes, or -errno as there, -FILE_TOO_LARGE when it holds more than max (below INT_MAX). */
int read_file_at(int dirfd, const char *name, size_t max, char **ret);
/* The same for a path named by root (a config file): links followed, but a FIFO or device is refused. */
int read_file(const char *path, size_t max, char **ret);

/* Opens the folder name inside dirfd (O_DIRECTORY, links not followed: a link in its place is -ELOOP or
 * -ENOTDIR), made first when create and missing. Returns the fd or -errno. */
int dir_open_at(int dirfd, const char *name, bool create);

/* Writes a file atomically inside dirfd: a temporary file there (name, then ATOMIC_TEMP_SUFFIX made
 * unique), opened O_EXCL|O_NOFOLLOW, fsync, renamed over name (a link or FIFO in its place is replaced,
 * never followed), fsync of the folder. Either the old or the new content survives a crash. 0 or -errno. */
#define ATOMIC_TEMP_SUFFIX ".tmpXXXXXX" /* six characters of its own replace the X's */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, unsigned mode);
/* The same by path: inside the path's folder. */
int write_file_atomic(const char *path, const void *data, size_t size, unsigned mode);
/* A file name that write_file_atomic's temporary file has: one a crash during a write left behind. */
bool is_atomic_temp(const char *name);
/* Removes the temporary files (regular ones) that a crash during a write left in dirfd: at start, before
 * any writer runs. Returns how many were removed, or -errno. */
int remove_atomic_temps(int dirfd);

/* Sets an odd or broken file aside inside dirfd as NAME.broken (NAME.broken.1 ... when that is taken: an
 * earlier one is never replaced), the link, FIFO or directory itself, never what it points to, so that a
 * fresh one can take its place. 0 or -errno. */
int file_set_aside(int dirfd, const char *name);

/* A file chaird keeps (state) read whole: read_file_at, and an odd or too large one set aside as
 * NAME.broken, so that a fresh one takes its place; *ret_aside tells whether it was. Returns the size or
 * -errno (-ENOENT: there is none). */
int read_kept_file(int dirfd, const char *name, size_t max, char **ret, bool *ret_aside);
/* Whether an error of read_file_at is about the file being odd or too large (not about reading it). */
bool file_error_is_odd(int r);

/* The lines of a text read whole (from *at to end): the next one, its '\n' made a NUL, or NULL past the
 * last. *whole: it ended with '\n' (a last line without one was cut short); *clean: it holds no NUL byte (a
 * binary file's line; the text ends at its size, not at a NUL). */
char *text_next_line(char **at, char *end, bool *whole, bool *clean);

/* The paths of the *.yaml and *.yml files in dir (not hidden ones), sorted by name, NULL-terminated.
 * -errno when the directory cannot be read. */
int list_yaml_files(const char *dir, char ***ret);
/* The same in the folder dirfd: their names. */
int list_yaml_files_at(int dirfd, char ***ret);
