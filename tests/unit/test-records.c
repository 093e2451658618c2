/* test-records: the history log and the usage counters on the disk, on a real event loop in a temporary
 * state directory: their lines, the bound and its rewrite, lines cut short or damaged, and what survives. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "history.h"
#include "profiles.h"
#include "tap.h"
#include "usage.h"

/* The shoulder offset a profile keeps, mm either way: a chair's shoulder range, 60 to 300 mm here. */
#define SHOULDER_OFFSET_MAX 240

static char dir[64];
static int dir_fd = -1; /* the state directory, as chaird holds it */
static sd_event *event;

/* fsync on the writers' threads, held at a gate while the test says so (a slow SD card): each byte written
 * to gate[1] lets one through; without a byte for 10 s it goes through anyway, so a loop that waited for
 * the thread finds the write ended. */
static int gate[2] = {-1, -1};

int __real_fsync(int fd);
int __wrap_fsync(int fd);
int __wrap_fsync(int fd)
{
        struct pollfd p = {.fd = gate[0], .events = POLLIN};
        char c;

        if (gate[0] >= 0 && poll(&p, 1, 10 * 1000) == 1)
                (void) !read(gate[0], &c, 1);
        return __real_fsync(fd);
}

static void gate_open(void)
{
        static const char bytes[64] = {};
        (void) !write(gate[1], bytes, sizeof(bytes));
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void setup(void)
{
        snprintf(dir, sizeof(dir), "/tmp/test-records-XXXXXX");
        if (!mkdtemp(dir))
                abort();
        dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir_fd < 0)
                abort();
        if (sd_event_new(&event) < 0)
                abort();
}

static void teardown(void)
{
        event = sd_event_unref(event);
        close(dir_fd);
        dir_fd = -1;
        nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Runs the loop until the history's sync or rewrite has ended (a minute at most). */
static void settle_history(const struct history *h)
{
        for (int i = 0; i < 600 && history_busy(h); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK(!history_busy(h));
}

static void settle_usage(const struct usage *u)
{
        for (int i = 0; i < 600 && usage_saving(u); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK(!usage_saving(u));
}

static char *read_text(const char *name)
{
        char path[128], *text = NULL;
        size_t size = 0;
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "re");
        if (!f)
                return NULL;
        if (getdelim(&text, &size, '\0', f) < 0) {
                free(text);
                text = strdup("");
        }
        fclose(f);
        return text;
}

static void write_text(const char *name, const char *text)
{
        char path[128];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static unsigned count_records(const char *text)
{
        unsigned n = 0;

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
                n += *l != '#';
        return n;
}

static struct history_record session(unsigned i)
{
        struct history_record r = {.start_usec = 1000000 * (usec_t) i, .duration_usec = 60000000};

        snprintf(r.program, sizeof(r.program), "%s", i % 2 ? "relax" : "manual");
        snprintf(r.reason, sizeof(r.reason), "completed");
        return r;
}

static void test_a_record_reads_back_as_it_was_written(void)
{
        struct history_record r = {.start_usec = 1795372416303480, .duration_usec = 1200000000}, back;
        char line[400];

        strcpy(r.program, "deep-tissue");
        strcpy(r.profile, "anna");
        strcpy(r.reason, "fault");
        strcpy(r.fault, "obstacle");
        CHECK(history_format_record(&r, line, sizeof(line)) > 0);
        CHECK_STREQ(line, "1795372416303480 1200000000 deep-tissue anna fault obstacle\n");
        CHECK(history_parse_record(line, &back) == 0);
        CHECK(memcmp(&r, &back, sizeof(r)) == 0);
        /* A fault outside a session: no program, no profile. */
        struct history_record f = {.start_usec = 5};
        strcpy(f.reason, "fault");
        strcpy(f.fault, "emergency-stop");
        CHECK(history_format_record(&f, line, sizeof(line)) > 0);
        CHECK_STREQ(line, "5 0 - - fault emergency-stop\n");
        CHECK(history_parse_record(line, &back) == 0 && back.program[0] == 0 && back.profile[0] == 0);
}

static void test_damaged_lines_are_refused(void)
{
        static const char *const bad[] = {
                "5 0 - - fault emergency-stop",         /* cut short: no newline */
                "5 0 - - fault\n",                      /* a field missing */
                "5 0 - - fault emergency-stop extra\n", /* one too many */
                "x 0 - - fault emergency-stop\n",       /* not a number */
                "5 0 Relax - completed -\n",            /* not a program id */
                "5 0 relax - - -\n",                    /* no reason */
                "-5 0 relax - completed -\n",           /* negative */
                "5 0 relax - completed -\r\n",          /* a stray character */
        };
        struct history_record r;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (history_parse_record(bad[i], &r) == 0) {
                        printf("# taken: %s\n", bad[i]);
                        CHECK(false);
                }
}

static void test_lines_cut_short_or_damaged_are_left_out_and_the_file_mended(void)
{
        struct history *h = NULL;
        char *text;

        setup();
        write_text("history", "# chaird history 1\n"
                              "1 60 relax - completed -\n"
                              "garbage\n"
                              "2 60 manual - stopped -\n"
                              "3 60 relax - compl");
        CHECK(history_new(event, dir_fd, dir, 100, &h) == 0);
        CHECK_EQ_U(history_count(h), 2);
        CHECK_STREQ(history_get(h, 0)->program, "manual");
        CHECK_STREQ(history_get(h, 1)->program, "relax");
        text = read_text("history");
        CHECK(text && !strstr(text, "garbage") && !strstr(text, "compl\n") && count_records(text) == 2);
        free(text);
        /* The next record starts a line of its own. */
        struct history_record r = session(4);
        history_add(h, &r);
        settle_history(h);
        history_free(h);
        CHECK(history_new(event, dir_fd, dir, 100, &h) == 0);
        CHECK_EQ_U(history_count(h), 3);
        CHECK_EQ_U(history_get(h, 0)->start_usec, 4000000);
        history_free(h);
        teardown();
}

static void test_the_bound_keeps_the_newest_and_the_file_stays_near_it(void)
{
        struct history *h = NULL;
        char *text;

        setup();
        CHECK(history_new(event, dir_fd, dir, 20, &h) == 0);
        for (unsigned i = 1; i <= 200; i++) {
                struct history_record r = session(i);
                history_add(h, &r);
                if (i % 7 == 0)
                        settle_history(h); /* some records come while a rewrite is under way, some not */
        }
        CHECK_EQ_U(history_count(h), 20);
        for (size_t i = 0; i < 20; i++)
                CHECK_EQ_U(history_get(h, i)->start_usec, 1000000 * (usec_t) (200 - i));
        CHECK(history_get(h, 20) == NULL);
        settle_history(h);
        CHECK(history_file_records(h) <= 20 + 8);
        text = read_text("history");
        CHECK(text && count_records(text) == history_file_records(h));
        free(text);
        history_free(h);
        /* What was made while a rewrite was under way is on the disk too. */
        CHECK(history_new(event, dir_fd, dir, 20, &h) == 0);
        CHECK_EQ_U(history_count(h), 20);
        CHECK_EQ_U(history_get(h, 0)->start_usec, 200000000);
        CHECK_EQ_U(history_get(h, 19)->start_usec, 181000000);
        history_free(h);
        teardown();
}

static void test_a_record_is_in_the_file_as_soon_as_it_is_added(void)
{
        struct history *h = NULL;
        struct history_record r = session(1);
        char *text;

        setup();
        CHECK(history_new(event, dir_fd, dir, 20, &h) == 0);
        history_add(h, &r);
        /* Before the loop ran (the sync comes later): a kill -9 now loses nothing. */
        text = read_text("history");
        CHECK(text && count_records(text) == 1 && strstr(text, "1000000 60000000 relax - completed -\n"));
        free(text);
        settle_history(h);
        history_free(h);
        teardown();
}

/* Files may grow to size bytes (RLIM_INFINITY: any): a write past it fails, as on a full disk. */
static void limit_file_size(rlim_t size)
{
        struct rlimit l;

        signal(SIGXFSZ, SIG_IGN);
        getrlimit(RLIMIT_FSIZE, &l);
        l.rlim_cur = size == RLIM_INFINITY ? l.rlim_max : size;
        if (setrlimit(RLIMIT_FSIZE, &l) < 0)
                abort();
}

static off_t file_size(const char *name)
{
        char path[128];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return stat(path, &st) < 0 ? -1 : st.st_size;
}

/* Records from..to, each once, and no other. */
static bool holds_each_once(const char *file_text, unsigned from, unsigned to)
{
        _cleanup_free_ char *text = NULL; /* each line after a '\n', the first too */

        if (asprintf(&text, "\n%s", file_text) < 0)
                abort();
        for (unsigned i = from; i <= to; i++) {
                char line[64];
                snprintf(line, sizeof(line), "\n%u000000 ", i);
                const char *at = strstr(text, line);
                if (!at || strstr(at + 1, line)) {
                        printf("# record %u: %s\n", i, at ? "twice" : "missing");
                        return false;
                }
        }
        if (count_records(file_text) != to - from + 1) {
                printf("# %u records, not %u:\n%s", count_records(file_text), to - from + 1, file_text);
                return false;
        }
        return true;
}

/* A history of bound 20 given records 1 to 29, each synced but the last, which set off a rewrite (past the
 * bound and its slack of 8); then records 30 to last, before the loop hears of the rewrite's end. */
static struct history *history_rewriting_with(unsigned last)
{
        struct history *h = NULL;

        CHECK(history_new(event, dir_fd, dir, 20, &h) == 0);
        for (unsigned i = 1; i <= 29; i++) {
                struct history_record r = session(i);
                history_add(h, &r);
                if (i < 29)
                        settle_history(h);
        }
        CHECK(history_rewriting(h));
        for (unsigned i = 30; i <= last; i++) {
                struct history_record r = session(i);
                history_add(h, &r);
        }
        return h;
}

/* While the new file is synced, records go on being appended to the old one: the file in place holds every
 * record at every moment (a kill -9 loses none), and after the rename the new one holds them, once each. */
static void test_records_made_during_a_rewrite_are_in_the_file_in_place_throughout(void)
{
        struct history *h = NULL;
        char *text;

        setup();
        h = history_rewriting_with(32);
        text = read_text("history");
        CHECK(text && holds_each_once(text, 1, 32));
        free(text);
        settle_history(h);
        CHECK(file_size("history.new") < 0);
        text = read_text("history");
        CHECK(text && holds_each_once(text, 10, 32)); /* the 20 it was written with, and the 3 after them */
        free(text);
        CHECK_EQ_U(history_file_records(h), 23);
        history_free(h);
        CHECK(history_new(event, dir_fd, dir, 20, &h) == 0);
        CHECK_EQ_U(history_count(h), 20);
        CHECK_EQ_U(history_get(h, 0)->start_usec, 32000000);
        history_free(h);
        teardown();
}

/* So many records come while the new file is synced (a slow card) that it is past the bound and its slack
 * itself: it is rewritten again at once, not left so until the next record. */
static void test_a_rewrite_that_ends_past_the_slack_is_done_again(void)
{
        struct history *h = NULL;
        char *text;

        setup();
        h = history_rewriting_with(39); /* 10 during the rewrite, more than the slack of 8 */
        settle_history(h);
        CHECK(file_size("history.new") < 0);
        text = read_text("history");
        CHECK(text && holds_each_once(text, 20, 39)); /* the newest 20, not 20 and the 10 after them */
        free(text);
        CHECK_EQ_U(history_file_records(h), 20);
        history_free(h);
        teardown();
}

/* A full disk cuts an append short: the part written is taken back, and once there is room again the next
 * record rewrites the file whole, with the one it lacks, and none twice. */
static void test_an_append_that_fails_is_taken_back_and_made_up_later(void)
{
        struct history *h = NULL;
        char *text;

        setup();
        CHECK(history_new(event, dir_fd, dir, 100, &h) == 0);
        for (unsigned i = 1; i <= 3; i++) {
                struct history_record r = session(i);
                history_add(h, &r);
        }
        settle_history(h);
        limit_file_size((rlim_t) file_size("history") + 10);
        struct history_record r4 = session(4);
        history_add(h, &r4);
        settle_history(h);
        limit_file_size(RLIM_INFINITY);
        text = read_text("history");
        CHECK(text && text[strlen(text) - 1] == '\n' && holds_each_once(text, 1, 3));
        free(text);
        CHECK_EQ_U(history_count(h), 4); /* kept in memory */
        struct history_record r5 = session(5);
        history_add(h, &r5);
        settle_history(h);
        text = read_text("history");
        CHECK(text && holds_each_once(text, 1, 5));
        free(text);
        history_free(h);
        teardown();
}

/* A line cut short at the end, and no room to write the file again at start: the cut line is cut off, so
 * that the next record starts a line of its own instead of being glued to it. */
static void test_a_cut_line_is_cut_off_when_the_file_cannot_be_written_again(void)
{
        struct history *h = NULL;
        char *text;

        setup();
        write_text("history", "# h\n1000000 60 relax - completed -\n2000000 60 relax - comp");
        limit_file_size((rlim_t) file_size("history")); /* the rewrite's header alone is longer */
        CHECK(history_new(event, dir_fd, dir, 100, &h) == 0);
        limit_file_size(RLIM_INFINITY);
        CHECK_EQ_U(history_count(h), 1);
        struct history_record r = session(3);
        history_add(h, &r);
        settle_history(h);
        history_free(h);
        text = read_text("history");
        CHECK(text && !strstr(text, "- comp3") && strstr(text, "\n3000000 60000000 relax - completed -\n") &&
              count_records(text) == 2);
        free(text);
        CHECK(history_new(event, dir_fd, dir, 100, &h) == 0);
        CHECK_EQ_U(history_count(h), 2);
        if (history_count(h) == 2) {
                CHECK_EQ_U(history_get(h, 0)->start_usec, 3000000);
                CHECK_EQ_U(history_get(h, 1)->start_usec, 1000000);
        }
        history_free(h);
        teardown();
}

/* A profile as its file holds it, read back; files broken by hand are refused with the line and why. */
static void test_a_profile_reads_back_and_broken_ones_are_refused(void)
{
        struct profile p = {.intensity = 4,
                            .has_heat = true,
                            .n_heat = 2,
                            .has_shoulder_offset = true,
                            .shoulder_offset_mm = -15,
                            .n_favourites = 2,
                            .n_positions = 1},
                       back;
        char *text = NULL, why[320];
        size_t size;

        strcpy(p.name, "anna");
        strcpy(p.favourites[0], "relax");
        strcpy(p.favourites[1], "deep-tissue");
        strcpy(p.heat[0].zone, "lumbar");
        p.heat[0].level = 2;
        strcpy(p.heat[1].zone, "calves");
        strcpy(p.program, "relax");
        strcpy(p.positions[0].name, "reading");
        p.positions[0].has[AXIS_BACKREST] = p.positions[0].has[AXIS_LEGREST] = true;
        p.positions[0].axis[AXIS_BACKREST] = 0.45;
        p.positions[0].axis[AXIS_LEGREST] = 0.3;
        CHECK(profile_format(&p, &text, &size) == 0);
        CHECK(text && strstr(text, "position reading backrest 0.4500 legrest 0.3000\n"));
        CHECK(profile_parse("anna", text, size, SHOULDER_OFFSET_MAX, &back, why, sizeof(why)) == 0);
        CHECK(memcmp(&p, &back, sizeof(p)) == 0);
        free(text);

        /* A heat zone is kept as the config spells it. */
        const char *odd = "# chaird profile 1\nheat Lower_Back 2\n";
        CHECK(profile_parse("anna", odd, strlen(odd), SHOULDER_OFFSET_MAX, &back, why, sizeof(why)) == 0);
        CHECK(back.n_heat == 1 && streq(back.heat[0].zone, "Lower_Back") && back.heat[0].level == 2);

        /* After the header line (line 1). */
        static const char *const bad[][2] = {
                {"intensity 9\n", "2: intensity"},
                {"# x\nvolume 3\n", "3: unknown key 'volume'"},
                {"intensity 3\nintensity 4\n", "3: intensity given twice"},
                {"heat lumbar\n", "2: heat takes"},
                {"heat lumbar 1 lumbar 2\n", "2: heat zone lumbar given twice"},
                {"program Relax\n", "2: program 'Relax'"},
                {"position nap backrest 0.5 backrest 0.6\n", "2: backrest given twice"},
                {"position nap elbow 0.5\n", "2: unknown axis"},
                {"position nap backrest lots\n", "2: backrest 'lots'"},
                {"position nap backrest 7.5\n", "2: backrest '7.5' is not a position from 0.0 to 1.0"},
                {"position nap legrest -0.1\n", "2: legrest '-0.1'"},
                {"shoulder-offset 9000\n", "2: shoulder-offset"},
                /* Beyond the chair's shoulder range, as SaveProfile refuses it. */
                {"shoulder-offset 241\n", "2: shoulder-offset '241' is not a number of mm from -240 to 240"},
                {"shoulder-offset -241\n", "2: shoulder-offset '-241'"},
                {"intensity 3", "2: cut short"},
        };
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                char file[256];
                snprintf(file, sizeof(file), "# chaird profile 1\n%s", bad[i][0]);
                why[0] = 0;
                if (profile_parse("x", file, strlen(file), SHOULDER_OFFSET_MAX, &back, why, sizeof(why)) !=
                            -EINVAL ||
                    strncmp(why, bad[i][1], strlen(bad[i][1])) != 0) {
                        printf("# %s: %s\n", bad[i][0], why);
                        CHECK(false);
                }
        }
        /* Not a profile at all: empty, without the header, another version, a NUL byte, too long. */
        static const char *const not_one[] = {"", "intensity 3\n", "# chaird profile 2\nintensity 3\n"};
        for (size_t i = 0; i < ELEMENTSOF(not_one); i++) {
                why[0] = 0;
                CHECK(profile_parse("x", not_one[i], strlen(not_one[i]), SHOULDER_OFFSET_MAX, &back, why,
                                    sizeof(why)) == -EINVAL);
                CHECK(strncmp(why, "1: not a chaird profile", strlen("1: not a chaird profile")) == 0);
        }
        const char nul[] = "# chaird profile 1\nintensity 3\n\0intensity 4\n";
        CHECK(profile_parse("x", nul, sizeof(nul) - 1, SHOULDER_OFFSET_MAX, &back, why, sizeof(why)) ==
              -EINVAL);
        CHECK(strstr(why, "NUL"));
        char *big = malloc(PROFILE_FILE_MAX + 2);
        CHECK(big);
        if (big) {
                /* A file of exactly the bound is read; one byte more is not. */
                size_t head = strlen("# chaird profile 1\n");
                memcpy(big, "# chaird profile 1\n", head);
                memset(big + head, '#', PROFILE_FILE_MAX - head - 1);
                big[PROFILE_FILE_MAX - 1] = '\n';
                big[PROFILE_FILE_MAX] = '\0';
                CHECK(profile_parse("x", big, PROFILE_FILE_MAX, SHOULDER_OFFSET_MAX, &back, why,
                                    sizeof(why)) == 0);
                big[PROFILE_FILE_MAX] = '\n';
                big[PROFILE_FILE_MAX + 1] = '\0';
                CHECK(profile_parse("x", big, PROFILE_FILE_MAX + 1, SHOULDER_OFFSET_MAX, &back, why,
                                    sizeof(why)) == -EINVAL);
                free(big);
        }
}

/* In a state directory: a broken file is set aside as NAME.broken and the others load; the bound holds; a
 * profile put is on the disk once the loop ran, and a deleted one is gone. */
static void test_profiles_on_the_disk(void)
{
        struct profiles *ps = NULL;
        struct profile p = {.intensity = 2};
        char path[128];

        setup();
        snprintf(path, sizeof(path), "%s/profiles", dir);
        mkdir(path, 0755);
        write_text("profiles/good", "# chaird profile 1\nintensity 3\n");
        write_text("profiles/bad", "# chaird profile 1\nintensity 3\nvolume 11\n");
        write_text("profiles/Not-A-Name", "intensity 3\n");
        CHECK(profiles_new(event, dir_fd, dir, 2, SHOULDER_OFFSET_MAX, &ps) == 0);
        CHECK_EQ_U(profiles_count(ps), 1);
        CHECK(profiles_find(ps, "good") && profiles_find(ps, "good")->intensity == 3);
        CHECK(file_size("profiles/bad.broken") > 0 && file_size("profiles/bad") < 0);
        strcpy(p.name, "zed");
        CHECK(profiles_put(ps, &p) == 0);
        strcpy(p.name, "one-more");
        CHECK(profiles_put(ps, &p) == -E2BIG);
        for (int i = 0; i < 600 && profiles_saving(ps); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK(file_size("profiles/zed") > 0);
        CHECK(profiles_delete(ps, "good") == 0 && profiles_delete(ps, "good") == -ENOENT);
        CHECK(file_size("profiles/good") < 0);
        /* A file that cannot be removed (here a folder in its place): the profile stays, and the caller
         * hears why. */
        snprintf(path, sizeof(path), "%s/profiles/zed", dir);
        CHECK(unlink(path) == 0 && mkdir(path, 0755) == 0);
        write_text("profiles/zed/in-the-way", "x");
        CHECK(profiles_delete(ps, "zed") == -EISDIR);
        CHECK(profiles_find(ps, "zed") != NULL);
        snprintf(path, sizeof(path), "%s/profiles/zed/in-the-way", dir);
        CHECK(unlink(path) == 0);
        snprintf(path, sizeof(path), "%s/profiles/zed", dir);
        CHECK(rmdir(path) == 0);
        p = *profiles_find(ps, "zed");
        CHECK(profiles_put(ps, &p) == 0);
        for (int i = 0; i < 600 && profiles_saving(ps); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK_STREQ(profiles_get(ps, 0)->name, "zed");
        profiles_free(ps);
        CHECK(profiles_new(event, dir_fd, dir, 2, SHOULDER_OFFSET_MAX, &ps) == 0);
        CHECK_EQ_U(profiles_count(ps), 1);
        CHECK(profiles_find(ps, "zed") && profiles_find(ps, "zed")->intensity == 2);
        profiles_free(ps);
        teardown();
}

/* A profile deleted while its file is being written: the delete does not wait for the write (the loop must
 * not stop), the profile is gone at once, and its file is gone once the write has ended; saved again
 * meanwhile, it is back, with its last settings on the disk. */
static void test_a_profile_deleted_during_its_write_is_gone_without_waiting(void)
{
        struct profiles *ps = NULL;
        struct profile p = {.name = "held", .intensity = 2};
        char *text;

        setup();
        CHECK(pipe2(gate, O_CLOEXEC) == 0);
        CHECK(profiles_new(event, dir_fd, dir, 4, SHOULDER_OFFSET_MAX, &ps) == 0);
        CHECK(profiles_put(ps, &p) == 0); /* its write now waits at the gate */
        CHECK(profiles_delete(ps, "held") == 0);
        CHECK(profiles_find(ps, "held") == NULL && profiles_count(ps) == 0);
        CHECK(profiles_saving(ps)); /* returned while the write was still under way */
        gate_open();
        for (int i = 0; i < 600 && profiles_saving(ps); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK(!profiles_saving(ps));
        CHECK(file_size("profiles/held") < 0); /* the write's rename did not bring it back */

        /* Deleted and saved again while the first write waits: one file, the last settings. */
        CHECK(read(gate[0], (char[64]){}, 64) >= 0); /* the gate shut again */
        CHECK(profiles_put(ps, &p) == 0);
        CHECK(profiles_delete(ps, "held") == 0);
        p.intensity = 4;
        CHECK(profiles_put(ps, &p) == 0);
        CHECK(profiles_count(ps) == 1 && profiles_find(ps, "held")->intensity == 4);
        gate_open();
        for (int i = 0; i < 600 && profiles_saving(ps); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        text = read_text("profiles/held");
        CHECK(text && strstr(text, "intensity 4\n"));
        free(text);

        /* Deleted during a write, then chaird exits: the write ends and the file goes. */
        CHECK(read(gate[0], (char[64]){}, 64) >= 0);
        p.intensity = 5;
        CHECK(profiles_put(ps, &p) == 0);
        CHECK(profiles_delete(ps, "held") == 0);
        gate_open();
        profiles_free(ps);
        CHECK(file_size("profiles/held") < 0);
        close(gate[0]);
        close(gate[1]);
        gate[0] = gate[1] = -1;
        teardown();
}

/* What a waiter heard: how many times, and the last result. */
struct heard {
        int calls, result;
};

static void on_heard(int result, const char *path, void *userdata)
{
        struct heard *h = userdata;
        h->calls++;
        h->result = result;
}

/* A call is answered once what it asked is on the disk: a save once its write ends, a delete once the
 * folder is synced; a delete overtaken by a save of the same name (its write still under way) is answered
 * too, never left waiting. */
static void test_a_wait_ends_once_the_change_is_on_the_disk(void)
{
        struct profiles *ps = NULL;
        struct profile p = {.name = "anna", .intensity = 2};
        struct heard saved = {}, deleted = {}, again = {};

        setup();
        CHECK(pipe2(gate, O_CLOEXEC) == 0);
        CHECK(profiles_new(event, dir_fd, dir, 4, SHOULDER_OFFSET_MAX, &ps) == 0);
        CHECK(profiles_put(ps, &p) == 0); /* its write waits at the gate */
        CHECK(profiles_wait(ps, "anna", on_heard, &saved) == 0);
        sd_event_run(event, 50 * USEC_PER_MSEC);
        CHECK_EQ_U(saved.calls, 0); /* not on the disk yet */
        CHECK(profiles_delete(ps, "anna") == 0);
        CHECK(profiles_wait(ps, "anna", on_heard, &deleted) == 0);
        p.intensity = 4;
        CHECK(profiles_put(ps, &p) == 0); /* takes the slot back: the delete is answered */
        CHECK_EQ_U(deleted.calls, 1);
        CHECK_EQ_U(deleted.result, 0);
        CHECK(profiles_wait(ps, "anna", on_heard, &again) == 0);
        gate_open();
        for (int i = 0; i < 600 && profiles_saving(ps); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK_EQ_U(saved.calls, 1);
        CHECK_EQ_U(saved.result, 0);
        CHECK_EQ_U(again.calls, 1);
        CHECK_EQ_U(again.result, 0);
        CHECK_EQ_U(deleted.calls, 1);
        /* Nothing pending: answered at once. */
        CHECK(profiles_wait(ps, "anna", on_heard, &again) == 1);
        CHECK(profiles_delete(ps, "anna") == 0);
        struct heard gone = {};
        int r = profiles_wait(ps, "anna", on_heard, &gone);
        for (int i = 0; i < 600 && profiles_saving(ps); i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK(r == 1 || (gone.calls == 1 && gone.result == 0));
        /* A write that fails is the waiter's error. */
        char path[128];
        snprintf(path, sizeof(path), "%s/profiles/anna", dir);
        CHECK(mkdir(path, 0755) == 0 && mkdir(strcat(path, "/in-the-way"), 0755) == 0);
        struct heard failed = {};
        CHECK(profiles_put(ps, &p) == 0);
        CHECK(profiles_wait(ps, "anna", on_heard, &failed) == 0);
        for (int i = 0; i < 600 && profiles_saving(ps) && failed.calls == 0; i++)
                sd_event_run(event, 100 * USEC_PER_MSEC);
        CHECK_EQ_U(failed.calls, 1);
        CHECK(failed.result < 0);
        profiles_free(ps);
        close(gate[0]);
        close(gate[1]);
        gate[0] = gate[1] = -1;
        teardown();
}

/* A temporary file left by a write that a power cut ended is removed at the next start. */
static void test_a_temporary_file_left_by_a_cut_is_removed(void)
{
        struct profiles *ps = NULL;
        char path[128];

        setup();
        snprintf(path, sizeof(path), "%s/profiles", dir);
        mkdir(path, 0755);
        write_text("profiles/anna", "# chaird profile 1\nintensity 3\n");
        write_text("profiles/anna.tmpAb12Cd", "# chaird profile 1\ninten");
        CHECK(profiles_new(event, dir_fd, dir, 4, SHOULDER_OFFSET_MAX, &ps) == 0);
        CHECK(profiles_count(ps) == 1 && profiles_find(ps, "anna")->intensity == 3);
        CHECK(file_size("profiles/anna.tmpAb12Cd") < 0);
        profiles_free(ps);
        teardown();
}

static void test_usage_counts_saves_and_reads_back(void)
{
        struct usage *u = NULL;
        char *text;

        setup();
        CHECK(usage_new(event, dir_fd, dir, &u) == 0);
        CHECK(usage_add(u, "sessions", 0) == 0);
        CHECK(usage_add(u, "roller-usec", 1500) == 0);
        CHECK(usage_add(u, "roller-usec", 500) == 0);
        CHECK(usage_add(u, "sessions", 1) == 0);
        CHECK(usage_add(u, "Bad Name", 1) == -EINVAL);
        CHECK_EQ_U(usage_get(u, "roller-usec"), 2000);
        /* Nothing on the disk until it is saved. */
        text = read_text("usage");
        CHECK(text == NULL);
        free(text);
        usage_save(u);
        settle_usage(u);
        text = read_text("usage");
        CHECK(text && strstr(text, "sessions 1\n") && strstr(text, "roller-usec 2000\n"));
        free(text);
        usage_save(u); /* nothing counted since: no write */
        CHECK(!usage_saving(u));
        CHECK(usage_add(u, "sessions", 1) == 0);
        usage_free(u); /* writes what was not saved */
        CHECK(usage_new(event, dir_fd, dir, &u) == 0);
        CHECK_EQ_U(usage_get(u, "sessions"), 2);
        CHECK_EQ_U(usage_count(u), 2);
        CHECK_STREQ(usage_name(u, 0), "sessions");
        usage_free(u);
        teardown();
}

static void test_a_damaged_usage_line_is_left_out(void)
{
        struct usage *u = NULL;

        setup();
        write_text("usage",
                   "# chaird usage 1\nsessions 12\nheat-usec lots\nBAD 3\nroller-usec 99\nsessions 4\n"
                   "legrest-usec 5");
        CHECK(usage_new(event, dir_fd, dir, &u) == 0);
        CHECK_EQ_U(usage_get(u, "sessions"), 12); /* the first of two */
        CHECK_EQ_U(usage_get(u, "roller-usec"), 99);
        CHECK_EQ_U(usage_get(u, "heat-usec"), 0);
        CHECK_EQ_U(usage_get(u, "legrest-usec"), 0); /* cut short */
        CHECK_EQ_U(usage_count(u), 2);
        usage_free(u);
        teardown();
}

RUN_TESTS(T(test_a_record_reads_back_as_it_was_written), T(test_damaged_lines_are_refused),
          T(test_lines_cut_short_or_damaged_are_left_out_and_the_file_mended),
          T(test_the_bound_keeps_the_newest_and_the_file_stays_near_it),
          T(test_a_record_is_in_the_file_as_soon_as_it_is_added),
          T(test_records_made_during_a_rewrite_are_in_the_file_in_place_throughout),
          T(test_a_rewrite_that_ends_past_the_slack_is_done_again),
          T(test_an_append_that_fails_is_taken_back_and_made_up_later),
          T(test_a_cut_line_is_cut_off_when_the_file_cannot_be_written_again),
          T(test_usage_counts_saves_and_reads_back),
          T(test_a_profile_reads_back_and_broken_ones_are_refused), T(test_profiles_on_the_disk),
          T(test_a_profile_deleted_during_its_write_is_gone_without_waiting),
          T(test_a_wait_ends_once_the_change_is_on_the_disk),
          T(test_a_temporary_file_left_by_a_cut_is_removed), T(test_a_damaged_usage_line_is_left_out))
