/* files.c: files in folders others can write, opened without links or blocking, written inside the
 * folder. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "files.h"
#include "util.h"

const char *file_error_words(int r)
{
        switch (-r) {
        case FILE_IS_LINK:
                return "is a symbolic link, which is not followed";
        case FILE_IS_DIR:
                return "is a directory, not a regular file";
        case FILE_IS_FIFO:
                return "is a FIFO (named pipe), not a regular file";
        case FILE_IS_DEVICE:
                return "is a device, not a regular file";
        case FILE_IS_SOCKET:
                return "is a socket, not a regular file";
        case FILE_TOO_LARGE:
                return "is too large";
        case ENOTDIR:
                return "is not a directory";
        default:
                return strerror(-r);
        }
}

static int odd_file(mode_t mode)
{
        if (S_ISDIR(mode))
                return -FILE_IS_DIR;
        if (S_ISFIFO(mode))
                return -FILE_IS_FIFO;
        if (S_ISSOCK(mode))
                return -FILE_IS_SOCKET;
        if (S_ISLNK(mode))
                return -FILE_IS_LINK;
        return -FILE_IS_DEVICE;
}

/* What is in the place of a folder: a link, another odd file, or a regular file (-ENOTDIR). */
static int odd_file_or_regular(mode_t mode)
{
        return S_ISREG(mode) ? -ENOTDIR : odd_file(mode);
}

int file_open_regular(int dirfd, const char *name, bool follow, size_t max, off_t *ret_size)
{
        struct stat st;
        int fd, r;

        fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
        if (fd < 0) {
                r = -errno;
                /* O_NOFOLLOW on a link is ELOOP; a socket cannot be opened at all (ENXIO). */
                if (r == -ENXIO && fstatat(dirfd, name, &st, follow ? 0 : AT_SYMLINK_NOFOLLOW) == 0)
                        return odd_file(st.st_mode);
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                close(fd);
                return r;
        }
        if (ret_size)
                *ret_size = st.st_size;
        if (!S_ISREG(st.st_mode)) {
                close(fd);
                return odd_file(st.st_mode);
        }
        if ((uint64_t) st.st_size > max) {
                close(fd);
                return -FILE_TOO_LARGE;
        }
        return fd;
}

int file_open_writing(int dirfd, const char *name, int flags)
{
        struct stat st;
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | flags, 0644);
        int r;

        if (fd < 0) {
                r = -errno;
                /* A FIFO without a reader and a socket both say ENXIO: what is there says which. */
                if (r == -ENXIO && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                        return odd_file(st.st_mode);
                return r;
        }
        r = fstat(fd, &st) < 0 ? -errno : S_ISREG(st.st_mode) ? 0 : odd_file(st.st_mode);
        if (r < 0) {
                close(fd);
                return r;
        }
        return fd;
}

int read_fd_text(int fd, size_t max, char **ret)
{
        _cleanup_free_ char *text = malloc(max + 2);
        size_t size = 0;
        ssize_t n;

        if (!text)
                return -ENOMEM;
        /* One byte past the bound, so that a file that grew since its fstat is reported, not cut. */
        while (size <= max && (n = read(fd, text + size, max + 1 - size)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                size += (size_t) n;
        }
        if (size > max)
                return -FILE_TOO_LARGE;
        text[size] = '\0';
        *ret = TAKE_PTR(text);
        return (int) size;
}

static int read_file_opened(int dirfd, const char *name, bool follow, size_t max, char **ret)
{
        int fd = file_open_regular(dirfd, name, follow, max, NULL);
        int r;

        if (fd < 0)
                return fd;
        r = read_fd_text(fd, max, ret);
        close(fd);
        return r;
}

int read_file_at(int dirfd, const char *name, size_t max, char **ret)
{
        return read_file_opened(dirfd, name, false, max, ret);
}

int read_file(const char *path, size_t max, char **ret)
{
        return read_file_opened(AT_FDCWD, path, true, max, ret);
}

int dir_open_at(int dirfd, const char *name, bool create)
{
        int fd;

        if (create && mkdirat(dirfd, name, 0755) < 0 && errno != EEXIST)
                return -errno;
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && (errno == ENOTDIR || errno == ELOOP)) {
                /* A link to a folder says ENOTDIR here: what is there says what it is. */
                struct stat st;
                return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)
                               ? odd_file_or_regular(st.st_mode)
                               : -ENOTDIR;
        }
        return fd < 0 ? -errno : fd;
}

/* A temporary name next to name: ".tmp" and six characters that no other write uses now. */
static void temp_name(char *buf, size_t size, const char *name, unsigned attempt)
{
        static const char chars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        const size_t k = strlen(ATOMIC_TEMP_SUFFIX) - strlen(".tmp");
        uint8_t random[8] = {};
        size_t n;

        if (getrandom(random, sizeof(random), GRND_NONBLOCK) != (ssize_t) sizeof(random)) {
                /* No entropy yet (early at boot): the time and the attempt are enough against a clash. */
                uint64_t t = now_usec() ^ ((uint64_t) getpid() << 20) ^ attempt;
                memcpy(random, &t, sizeof(random));
        }
        n = (size_t) snprintf(buf, size, "%s.tmp", name);
        for (size_t i = 0; i < k && n + i + 1 < size; i++)
                buf[n + i] = chars[random[i] % (sizeof(chars) - 1)];
        buf[n + k < size ? n + k : size - 1] = '\0';
}

static int write_all(int fd, const void *data, size_t size)
{
        const char *p = data;

        while (size > 0) {
                ssize_t n = write(fd, p, size);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                p += n;
                size -= (size_t) n;
        }
        return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t size, unsigned mode)
{
        char tmp[NAME_MAX + 1];
        int fd = -1, r;

        if (strlen(name) + strlen(ATOMIC_TEMP_SUFFIX) > NAME_MAX)
                return -ENAMETOOLONG;
        for (unsigned attempt = 0; fd < 0 && attempt < 100; attempt++) {
                temp_name(tmp, sizeof(tmp), name, attempt);
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, (mode_t) mode);
                if (fd < 0 && errno != EEXIST)
                        return -errno;
        }
        if (fd < 0)
                return -EEXIST;
        r = write_all(fd, data, size);
        if (r == 0 && fchmod(fd, (mode_t) mode) < 0)
                r = -errno;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
                r = -errno;
        if (r < 0) {
                unlinkat(dirfd, tmp, 0);
                return r;
        }
        /* The rename itself must reach the disk too. */
        if (fsync(dirfd) < 0)
                return -errno;
        return 0;
}

int write_file_atomic(const char *path, const void *data, size_t size, unsigned mode)
{
        _cleanup_free_ char *dir_copy = strdup(path), *base_copy = strdup(path);
        int dfd, r;

        if (!dir_copy || !base_copy)
                return -ENOMEM;
        dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return -errno;
        r = write_file_atomic_at(dfd, basename(base_copy), data, size, mode);
        close(dfd);
        return r;
}

bool is_atomic_temp(const char *name)
{
        size_t n = strlen(name), k = strlen(ATOMIC_TEMP_SUFFIX);

        return n > k && strncmp(name + n - k, ".tmp", strlen(".tmp")) == 0;
}

int remove_atomic_temps(int dirfd)
{
        struct dirent *de;
        DIR *d;
        int fd, n = 0;

        fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3); /* closedir closes its own copy */
        if (fd < 0)
                return -errno;
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return -errno;
        }
        while ((de = readdir(d)))
                if (de->d_type == DT_REG && is_atomic_temp(de->d_name) &&
                    unlinkat(dirfd, de->d_name, 0) >= 0)
                        n++;
        closedir(d);
        return n;
}

int file_set_aside(int dirfd, const char *name)
{
        char aside[NAME_MAX + 1];

        /* NAME.broken, or NAME.broken.1 ... when one is there already: what was set aside before stays for a
         * person to look at. */
        for (unsigned i = 0; i < 100; i++) {
                int n = i == 0 ? snprintf(aside, sizeof(aside), "%s.broken", name)
                               : snprintf(aside, sizeof(aside), "%s.broken.%u", name, i);
                if (n < 0 || (size_t) n >= sizeof(aside))
                        return -ENAMETOOLONG;
                if (renameat2(dirfd, name, dirfd, aside, RENAME_NOREPLACE) >= 0)
                        return 0;
                if (errno != EEXIST)
                        return -errno;
        }
        return -EEXIST;
}

bool file_error_is_odd(int r)
{
        switch (-r) {
        case FILE_IS_LINK:
        case FILE_IS_DIR:
        case FILE_IS_FIFO:
        case FILE_IS_DEVICE:
        case FILE_IS_SOCKET:
        case FILE_TOO_LARGE:
                return true;
        default:
                return false;
        }
}

int read_kept_file(int dirfd, const char *name, size_t max, char **ret, bool *ret_aside)
{
        int r = read_file_at(dirfd, name, max, ret);

        *ret_aside = file_error_is_odd(r) && file_set_aside(dirfd, name) >= 0;
        return r;
}

char *text_next_line(char **at, char *end, bool *whole, bool *clean)
{
        char *line = *at, *nl;

        if (line >= end)
                return NULL;
        nl = memchr(line, '\n', (size_t) (end - line));
        *whole = nl != NULL;
        if (!nl)
                nl = end; /* read_file_at put a NUL there */
        *clean = !memchr(line, '\0', (size_t) (nl - line));
        *nl = '\0';
        *at = nl < end ? nl + 1 : end;
        return line;
}

/* A YAML file by its name: *.yaml, and *.yml, which editors and copies use as well. */
static int yaml_file_filter(const struct dirent *de)
{
        const char *dot = strrchr(de->d_name, '.');
        return de->d_name[0] != '.' && dot && dot != de->d_name &&
               (streq(dot, ".yaml") || streq(dot, ".yml"));
}

static int yaml_names(struct dirent **entries, int n, const char *dir, char ***ret)
{
        _cleanup_(strv_freep) char **files = calloc(1, sizeof(char *));
        int r = files ? 0 : -ENOMEM;

        for (int i = 0; i < n; i++) {
                _cleanup_free_ char *path = NULL;
                if (r == 0 && dir && asprintf(&path, "%s/%s", dir, entries[i]->d_name) < 0) {
                        path = NULL; /* undefined after a failed asprintf */
                        r = -ENOMEM;
                }
                if (r == 0 && strv_extend(&files, dir ? path : entries[i]->d_name) < 0)
                        r = -ENOMEM;
                free(entries[i]);
        }
        free(entries);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(files);
        return 0;
}

int list_yaml_files(const char *dir, char ***ret)
{
        struct dirent **entries = NULL;
        int n = scandir(dir, &entries, yaml_file_filter, alphasort);

        return n < 0 ? -errno : yaml_names(entries, n, dir, ret);
}

int list_yaml_files_at(int dirfd, char ***ret)
{
        struct dirent **entries = NULL;
        int n = scandirat(dirfd, ".", &entries, yaml_file_filter, alphasort);

        return n < 0 ? -errno : yaml_names(entries, n, NULL, ret);
}
