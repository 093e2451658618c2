/* test-files: files in folders others can write, in a temporary folder: every odd kind of file refused
 * for what it is without blocking or following a link, bounded sizes, writes that replace a link instead of
 * writing through it, and the leftovers of cut writes. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "files.h"
#include "tap.h"

static char dir[64], away[64];
static int dir_fd = -1;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void setup(void)
{
        snprintf(dir, sizeof(dir), "/tmp/test-files-XXXXXX");
        snprintf(away, sizeof(away), "/tmp/test-files-away-XXXXXX");
        if (!mkdtemp(dir) || !mkdtemp(away))
                abort();
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                abort();
}

static void teardown(void)
{
        close(dir_fd);
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        nftw(away, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void put(const char *folder, const char *name, const char *text)
{
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", folder, name);
        f = fopen(path, "w");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static char *read_back(const char *folder, const char *name)
{
        char path[128], *text = NULL;
        snprintf(path, sizeof(path), "%s/%s", folder, name);
        return read_file(path, 4096, &text) >= 0 ? text : NULL;
}

static void test_each_odd_file_is_refused_for_what_it_is_without_blocking(void)
{
        char path[128], secret[128], *text = NULL;
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int s;

        setup();
        snprintf(path, sizeof(path), "%s/fifo", dir);
        CHECK(mkfifo(path, 0644) == 0);
        put(away, "secret", "SECRET\n");
        snprintf(secret, sizeof(secret), "%s/secret", away);
        snprintf(path, sizeof(path), "%s/link", dir);
        CHECK(symlink(secret, path) == 0);
        snprintf(path, sizeof(path), "%s/zero", dir);
        CHECK(symlink("/dev/zero", path) == 0);
        snprintf(path, sizeof(path), "%s/folder", dir);
        CHECK(mkdir(path, 0755) == 0);
        s = socket(AF_UNIX, SOCK_STREAM, 0);
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/socket", dir);
        CHECK(s >= 0 && bind(s, (struct sockaddr *) &sa, sizeof(sa)) == 0);

        /* A FIFO without a writer would block an open() for ever: here it is an answer at once. */
        CHECK_EQ_U(read_file_at(dir_fd, "fifo", 4096, &text), -FILE_IS_FIFO);
        CHECK_EQ_U(read_file_at(dir_fd, "link", 4096, &text), -FILE_IS_LINK);
        CHECK_EQ_U(read_file_at(dir_fd, "zero", 4096, &text), -FILE_IS_LINK);
        CHECK_EQ_U(read_file_at(dir_fd, "folder", 4096, &text), -FILE_IS_DIR);
        CHECK_EQ_U(read_file_at(dir_fd, "socket", 4096, &text), -FILE_IS_SOCKET);
        CHECK(text == NULL);
        /* A device named by root's path is refused too, with its own words (not "too large (0 bytes)"). */
        CHECK_EQ_U(read_file("/dev/zero", 4096, &text), -FILE_IS_DEVICE);
        CHECK_STREQ(file_error_words(-FILE_IS_FIFO), "is a FIFO (named pipe), not a regular file");
        CHECK_STREQ(file_error_words(-FILE_IS_DIR), "is a directory, not a regular file");
        CHECK(file_error_is_odd(-FILE_IS_LINK) && !file_error_is_odd(-ENOENT));
        /* Opened for writing, the same: a FIFO does not wait for a reader, a link is not followed. */
        CHECK_EQ_U(file_open_writing(dir_fd, "fifo", O_APPEND), -FILE_IS_FIFO);
        CHECK_EQ_U(file_open_writing(dir_fd, "link", O_APPEND), -FILE_IS_LINK);
        CHECK_EQ_U(file_open_writing(dir_fd, "folder", O_APPEND), -FILE_IS_DIR);
        CHECK_EQ_U(file_open_writing(dir_fd, "socket", O_APPEND), -FILE_IS_SOCKET);
        close(s);
        teardown();
}

static void test_a_file_is_read_only_within_its_bound(void)
{
        char *text = NULL;
        off_t size = 0;
        int fd;

        setup();
        put(dir, "small", "12345");
        CHECK_EQ_U(read_file_at(dir_fd, "small", 5, &text), 5);
        CHECK_STREQ(text, "12345");
        free(text);
        text = NULL;
        CHECK_EQ_U(read_file_at(dir_fd, "small", 4, &text), -FILE_TOO_LARGE);
        fd = file_open_regular(dir_fd, "small", false, 4, &size);
        CHECK_EQ_U(fd, -FILE_TOO_LARGE);
        CHECK_EQ_U(size, 5); /* the size, for the message */
        teardown();
}

static void test_a_write_replaces_a_link_and_never_writes_through_it(void)
{
        char path[128], secret[128];
        char *text;
        struct stat st;

        setup();
        put(away, "secret", "SECRET\n");
        snprintf(secret, sizeof(secret), "%s/secret", away);
        snprintf(path, sizeof(path), "%s/history", dir);
        CHECK(symlink(secret, path) == 0);
        CHECK(write_file_atomic_at(dir_fd, "history", "mine\n", 5, 0644) == 0);
        CHECK(lstat(path, &st) == 0 && S_ISREG(st.st_mode));
        text = read_back(away, "secret");
        CHECK_STREQ(text, "SECRET\n");
        free(text);
        text = read_back(dir, "history");
        CHECK_STREQ(text, "mine\n");
        free(text);
        /* A link in place of a folder is not entered either. */
        snprintf(path, sizeof(path), "%s/profiles", dir);
        CHECK(symlink(away, path) == 0);
        CHECK_EQ_U(dir_open_at(dir_fd, "profiles", true), -FILE_IS_LINK);
        CHECK_EQ_U(dir_open_at(dir_fd, "history", false), -ENOTDIR);
        int fd = dir_open_at(dir_fd, "made", true);
        CHECK(fd >= 0);
        if (fd >= 0)
                close(fd);
        teardown();
}

static void test_leftovers_of_cut_writes_go_and_odd_files_are_set_aside(void)
{
        char path[128];
        struct stat st;

        setup();
        put(dir, "usage.tmpAb12Cd", "half");
        put(dir, "usage", "whole\n");
        put(dir, "notes.tmp", "not ours: no six characters after .tmp");
        CHECK_EQ_U(remove_atomic_temps(dir_fd), 1);
        snprintf(path, sizeof(path), "%s/usage.tmpAb12Cd", dir);
        CHECK(access(path, F_OK) < 0);
        snprintf(path, sizeof(path), "%s/usage", dir);
        CHECK(access(path, F_OK) == 0);

        snprintf(path, sizeof(path), "%s/positions", dir);
        CHECK(mkfifo(path, 0644) == 0);
        char *text = NULL;
        bool aside = false;
        CHECK_EQ_U(read_kept_file(dir_fd, "positions", 4096, &text, &aside), -FILE_IS_FIFO);
        CHECK(aside);
        CHECK(access(path, F_OK) < 0);
        snprintf(path, sizeof(path), "%s/positions.broken", dir);
        CHECK(lstat(path, &st) == 0 && S_ISFIFO(st.st_mode));
        teardown();
}

RUN_TESTS(T(test_each_odd_file_is_refused_for_what_it_is_without_blocking),
          T(test_a_file_is_read_only_within_its_bound),
          T(test_a_write_replaces_a_link_and_never_writes_through_it),
          T(test_leftovers_of_cut_writes_go_and_odd_files_are_set_aside))
