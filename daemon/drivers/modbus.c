/* modbus.c: the Modbus driver, RTU and TCP. libmodbus blocks, so each bus gets one I/O thread; the loop
 * and the thread share an output image and an input image under one lock, and the thread wakes the loop
 * through an eventfd. A slow or dead bus therefore never stalls the loop. Writes are coalesced: the thread
 * writes only registers whose wanted value differs from the last one written, and contiguous ones in one
 * transaction. */
#include <errno.h>
#include <math.h>
#include <modbus.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "driver.h"

#define RECONNECT_MIN_USEC  (100 * USEC_PER_MSEC)
#define RECONNECT_MAX_USEC  (5 * USEC_PER_SEC)
#define MAX_READ_BITS       2000 /* the protocol's limits per request */
#define MAX_READ_REGISTERS  125
#define MAX_WRITE_BITS      1968
#define MAX_WRITE_REGISTERS 123

enum read_back {
        READ_BACK_OK,       /* it answered what was written (or was not read back yet) */
        READ_BACK_DIFFERS,  /* it answered something else, for less than a poll period */
        READ_BACK_MISMATCH, /* ... and still did a poll period later: for the loop to report */
};

/* One coil or holding register that an output is wired to. */
struct mb_output {
        enum io_table table;
        uint16_t address;
        uint16_t wanted, written;
        uint16_t safe; /* its safe value, when has_safe */
        bool has_safe;
        bool has_wanted;     /* set by the loop; outputs without a safe value start without one */
        bool is_written;     /* written is what the device has: not while a change is in flight, nor after a
                                failed write or a reconnect */
        usec_t written_usec; /* when the device answered the write of written */
        /* Read-back: each write is followed by a read of what it wrote; an output that answers something
         * else is read again every poll period until it answers written, and is a mismatch once it still
         * does a poll period after the first such answer. */
        enum read_back state;
        uint16_t held;       /* what the device answered at the last read-back */
        bool unreadable;     /* the device refused to read it back: it is not read back again */
        bool read_back_due;  /* written by this sweep: read back once every write of it has gone out */
        usec_t differs_usec; /* when it first answered other than written */
        usec_t recheck_usec; /* when to read it again (while not READ_BACK_OK) */
};

/* A run of contiguous inputs of one table read in one request, every period. */
struct mb_poll {
        enum io_table table;
        uint16_t address, count;
        usec_t period_usec, next_usec;
        uint16_t *raw;
        bool have;
        bool stale;       /* a refresh waits for this run to be read */
        usec_t read_usec; /* when the last good read of it was sent */
};

/* Where one of this bus's ios lives in the images. */
struct mb_io {
        int io;
        int output;      /* index into outputs, or -1 */
        int poll;        /* index into polls, or -1 */
        unsigned offset; /* within the poll's run */
        double last;     /* last value delivered to the loop */
        bool delivered;
        bool mismatch_reported; /* outputs: DRIVER_OUTPUT_MISMATCH was the last read-back news delivered */
        int refused_error;      /* a Modbus exception for it the loop has not heard of yet (under lock) */
};

struct modbus_driver {
        struct driver base;
        const struct bus_config *bus;
        modbus_t *ctx;
        sd_event_source *event_source;
        int eventfd;
        pthread_t thread;
        bool thread_started;

        struct mb_io *ios;
        size_t n_ios;

        pthread_mutex_t lock;
        pthread_cond_t wake;    /* the thread waits on it for work */
        pthread_cond_t settled; /* signalled when every output has been written */
        /* Shared under lock: */
        struct mb_output *outputs;
        size_t n_outputs;
        struct mb_poll *polls;
        size_t n_polls;
        bool work; /* the loop flushed or asked for something */
        bool quit;
        bool coalesce;
        bool polling; /* inputs are read; off while the chair is idle, so the bus thread sleeps */
        uint16_t heartbeat_wanted, heartbeat_written;
        bool resync;          /* polling came back on: write the heartbeat, then every output again */
        bool timeout_written; /* the heartbeat timeout went to the board since it was (re)connected */
        /* The last heartbeat that went out while the chair was active; 0: none yet. */
        usec_t heartbeat_ok_usec;
        /* The heartbeat went out later than the board's timeout while the chair was active: the board has
         * put everything safe by itself. Until the loop has heard of it and asked for the safe state,
         * nothing that would start an output again is written (nothing resumes by itself). */
        bool board_stopped, board_stopped_reported;
        /* When an output was first sent a value other than its safe one while the chair was active (0:
         * none since the board last had everything safe): a board found again after a lost connection
         * may have restarted and dropped it, even before any heartbeat was answered. */
        usec_t board_live_usec;
        usec_t board_stopped_gap_usec;
        bool comm_ok;          /* as the thread last found the bus */
        bool comm_reported_ok; /* as the loop last reported it */
        int comm_error;
        int refused_error; /* the last Modbus exception for no io of the config, for the loop to report */
        bool refresh;      /* the loop asked for every input afresh */
        unsigned refresh_asked; /* how many times, so that a read under way when it asked does not count */
        bool refreshed;         /* ... and every run was read since, or the bus failed: to report */
        int refresh_error;
        bool inputs_changed;
        struct driver_stats stats;
};

static struct modbus_driver *to_modbus(struct driver *d)
{
        return (struct modbus_driver *) d;
}

static bool is_bit_table(enum io_table t)
{
        return t == IO_COIL || t == IO_DISCRETE;
}

/* Wakes the loop (from the thread). */
static void notify_loop(struct modbus_driver *m)
{
        uint64_t one = 1;
        if (write(m->eventfd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                abort(); /* an eventfd write fails only on overflow, which EAGAIN covers */
}

static bool connection_error(int error)
{
        return error == ECONNRESET || error == ECONNREFUSED || error == EPIPE || error == EBADF ||
               error == ENOTCONN || error == ENOENT || error == EIO || error == ENODEV;
}

static bool modbus_exception(int error)
{
        return error >= EMBXILFUN && error <= EMBXGPATH;
}

/* Runs one request with the bus's retries. Called from the thread, without the lock. Returns 0 or the
 * error of the last attempt. */
static int transact(struct modbus_driver *m, enum io_table table, bool write, uint16_t address,
                    uint16_t count, uint16_t *regs, uint8_t *bits)
{
        int error = 0;

        for (unsigned attempt = 0; attempt <= m->bus->retries; attempt++) {
                int r;

                pthread_mutex_lock(&m->lock);
                m->stats.transactions++;
                m->stats.retries += attempt > 0;
                pthread_mutex_unlock(&m->lock);

                switch (table) {
                case IO_COIL:
                        r = write ? modbus_write_bits(m->ctx, address, count, bits)
                                  : modbus_read_bits(m->ctx, address, count, bits);
                        break;
                case IO_DISCRETE:
                        r = modbus_read_input_bits(m->ctx, address, count, bits);
                        break;
                case IO_INPUT:
                        r = modbus_read_input_registers(m->ctx, address, count, regs);
                        break;
                case IO_HOLDING:
                        r = write ? modbus_write_registers(m->ctx, address, count, regs)
                                  : modbus_read_registers(m->ctx, address, count, regs);
                        break;
                default:
                        return EINVAL;
                }
                if (r >= 0) {
                        pthread_mutex_lock(&m->lock);
                        if (write)
                                m->stats.writes++;
                        else
                                m->stats.reads++;
                        pthread_mutex_unlock(&m->lock);
                        return 0;
                }
                error = errno;
                if (modbus_exception(error) || connection_error(error))
                        break; /* the device said no, or the link is gone: retrying will not help */
                /* A timeout or a garbled reply: drop whatever is left of it on the line and try again. */
                modbus_flush(m->ctx);
        }
        pthread_mutex_lock(&m->lock);
        m->stats.failures++;
        pthread_mutex_unlock(&m->lock);
        return error;
}

/* Records the result of a transaction on the bus's health (thread, lock held). */
static void comm_result(struct modbus_driver *m, int error)
{
        bool ok = error == 0 || modbus_exception(error);
        if (ok == m->comm_ok)
                return;
        m->comm_ok = ok;
        m->comm_error = error;
        notify_loop(m);
}

static struct mb_io *io_for_place(struct modbus_driver *m, enum io_table table, uint16_t address)
{
        const struct chair_config *c = m->base.config;
        for (size_t i = 0; i < m->n_ios; i++) {
                const struct io_config *io = &c->ios[m->ios[i].io];
                if (io->table == table && io->address == address)
                        return &m->ios[i];
        }
        return NULL;
}

/* Each io keeps its own refusal until the loop hears of it: two in one sweep (a heater's sensor among
 * them) are both reported. A request for no io of the config keeps the driver's one. */
static void refused(struct modbus_driver *m, enum io_table table, uint16_t address, int error)
{
        struct mb_io *mi = io_for_place(m, table, address);

        if (mi)
                mi->refused_error = error;
        else
                m->refused_error = error;
        notify_loop(m);
}

/* Whether an output's write waits because the board stopped by itself: it would start something again. */
static bool held(const struct modbus_driver *m, const struct mb_output *o)
{
        return m->board_stopped && o->has_safe && o->wanted != o->safe;
}

/* Finds the next write: from output i on, the first that differs from what was written, and the run of
 * contiguous outputs of its table up to the last one that differs. Without coalescing, one register.
 * Returns false when nothing is left to write. Lock held. */
static bool next_write(struct modbus_driver *m, size_t *i, size_t *ret_first, size_t *ret_n)
{
        for (; *i < m->n_outputs; (*i)++) {
                struct mb_output *o = &m->outputs[*i];
                size_t last = *i, max = is_bit_table(o->table) ? MAX_WRITE_BITS : MAX_WRITE_REGISTERS;

                if (!o->has_wanted || (o->is_written && o->written == o->wanted) || held(m, o))
                        continue;
                if (m->coalesce)
                        for (size_t j = *i + 1; j < m->n_outputs && j - *i < max; j++) {
                                const struct mb_output *p = &m->outputs[j];
                                if (p->table != o->table || p->address != m->outputs[j - 1].address + 1 ||
                                    !p->has_wanted || held(m, p))
                                        break;
                                if (!p->is_written || p->written != p->wanted)
                                        last = j;
                        }
                *ret_first = *i;
                *ret_n = last - *i + 1;
                *i = last + 1;
                return true;
        }
        return false;
}

static int read_back(struct modbus_driver *m, size_t first, size_t n);

/* Reads back what the sweep wrote, after all of it went out: a read (slow, or failing on a noisy line)
 * never holds up a write, least of all the safe state's. Runs as the writes went, n at a time. */
static int read_back_written(struct modbus_driver *m)
{
        for (size_t i = 0; i < m->n_outputs;) {
                struct mb_output *o = &m->outputs[i];
                size_t n = 1, max = is_bit_table(o->table) ? MAX_WRITE_BITS : MAX_WRITE_REGISTERS;
                int error;

                if (!o->read_back_due) {
                        i++;
                        continue;
                }
                while (m->coalesce && i + n < m->n_outputs && n < max && o[n].read_back_due &&
                       o[n].table == o->table && o[n].address == o->address + n)
                        n++;
                for (size_t k = 0; k < n; k++)
                        o[k].read_back_due = false;
                error = read_back(m, i, n);
                if (error)
                        return error;
                i += n;
        }
        return 0;
}

/* Writes every output that changed, then reads back what it wrote. Lock held on entry and exit; dropped
 * around I/O. Returns the error of a failed transaction, or 0. */
static int write_outputs(struct modbus_driver *m)
{
        size_t i = 0, first, n;

        while (next_write(m, &i, &first, &n)) {
                struct mb_output *o = &m->outputs[first];
                enum io_table table = o->table;
                uint16_t address = o->address, regs[MAX_WRITE_REGISTERS];
                uint8_t bits[MAX_WRITE_BITS];
                int error;

                for (size_t k = 0; k < n; k++) {
                        if (is_bit_table(table))
                                bits[k] = (uint8_t) (o[k].wanted != 0);
                        else
                                regs[k] = o[k].wanted;
                        if (m->polling && o[k].has_safe && o[k].wanted != o[k].safe && !m->board_live_usec)
                                m->board_live_usec = now_usec(); /* from the moment it may reach the board */
                        /* What changes is not known to be on the device until the device answers: not while
                         * in flight, and not after a failure (then it is sent again). written() relies on
                         * it. */
                        if (o[k].written != o[k].wanted)
                                o[k].is_written = false;
                }
                pthread_mutex_unlock(&m->lock);
                error = transact(m, table, true, address, (uint16_t) n, regs, bits);
                pthread_mutex_lock(&m->lock);
                comm_result(m, error);
                if (error && modbus_exception(error)) {
                        refused(m, table, address, error);
                        for (size_t k = 0; k < n; k++) /* do not repeat a refused write until it changes */
                                o[k].written = o[k].wanted, o[k].is_written = true;
                        continue;
                }
                if (error)
                        return error;
                /* The loop may have changed a value during the write: only what went out counts. */
                usec_t now = now_usec();
                for (size_t k = 0; k < n; k++) {
                        uint16_t v = is_bit_table(table) ? bits[k] : regs[k];
                        if (!o[k].is_written || o[k].written != v)
                                o[k].written_usec = now;
                        o[k].written = v;
                        o[k].is_written = true;
                        o[k].read_back_due = true;
                }
        }
        pthread_cond_broadcast(&m->settled);
        return read_back_written(m);
}

/* Takes what outputs [first, first + n) of one table answered when read back. Lock held. */
static void take_read_back(struct modbus_driver *m, size_t first, size_t n, const uint16_t *regs,
                           const uint8_t *bits)
{
        usec_t now = now_usec();

        for (size_t k = 0; k < n; k++) {
                struct mb_output *o = &m->outputs[first + k];
                enum read_back was = o->state;

                o->held = is_bit_table(o->table) ? bits[k] : regs[k];
                o->recheck_usec = now + m->bus->poll_usec;
                if (!o->is_written)
                        continue; /* a change in flight, or a reconnect: judged at the next read */
                if (o->held == o->written)
                        o->state = READ_BACK_OK;
                else if (o->state == READ_BACK_OK) {
                        o->state = READ_BACK_DIFFERS;
                        o->differs_usec = now;
                } else if (now - o->differs_usec >= m->bus->poll_usec)
                        o->state = READ_BACK_MISMATCH;
                if ((was == READ_BACK_MISMATCH) != (o->state == READ_BACK_MISMATCH))
                        notify_loop(m);
        }
}

/* Reads back outputs [first, first + n) of one table, contiguous. Lock held, dropped around I/O. Returns
 * the error of a failed read, or 0; a device that refuses the read is not asked again for them. */
static int read_back(struct modbus_driver *m, size_t first, size_t n)
{
        struct mb_output *o = &m->outputs[first];
        uint16_t regs[MAX_WRITE_REGISTERS];
        uint8_t bits[MAX_WRITE_BITS];
        enum io_table table = o->table;
        uint16_t address = o->address;
        int error;

        for (size_t k = 0; k < n; k++)
                if (o[k].unreadable)
                        return 0; /* the device said no to this run before */
        pthread_mutex_unlock(&m->lock);
        error = transact(m, table, false, address, (uint16_t) n, regs, bits);
        pthread_mutex_lock(&m->lock);
        comm_result(m, error);
        if (error && modbus_exception(error)) {
                refused(m, table, address, error);
                for (size_t k = 0; k < n; k++) {
                        if (o[k].state == READ_BACK_MISMATCH)
                                notify_loop(m);
                        o[k].unreadable = true;
                        o[k].state = READ_BACK_OK;
                }
                return 0;
        }
        if (error)
                return error;
        take_read_back(m, first, n, regs, bits);
        return 0;
}

/* Reads again each output that answered other than written, once its poll period has passed (at once
 * after a refresh asked for it), polling or not: a stuck output is no idle chair. Lowers *next to the
 * earliest next one. Lock held, dropped around I/O. Returns the error of a failed read, or 0. */
static int recheck_outputs(struct modbus_driver *m, usec_t *next)
{
        for (size_t i = 0; i < m->n_outputs; i++) {
                struct mb_output *o = &m->outputs[i];
                int error;

                if (o->state == READ_BACK_OK)
                        continue;
                if (o->recheck_usec <= now_usec()) {
                        error = read_back(m, i, 1);
                        if (error)
                                return error;
                }
                if (o->state != READ_BACK_OK && o->recheck_usec < *next)
                        *next = o->recheck_usec;
        }
        return 0;
}

/* Writes one holding register of the bus's own (the heartbeat, its timeout), not an output. Lock held,
 * dropped around I/O. Returns the transaction's error; a refusal is reported to the loop. */
static int write_own_register(struct modbus_driver *m, int address, uint16_t value)
{
        int error;

        pthread_mutex_unlock(&m->lock);
        error = transact(m, IO_HOLDING, true, (uint16_t) address, 1, &value, NULL);
        pthread_mutex_lock(&m->lock);
        comm_result(m, error);
        if (error && modbus_exception(error))
                refused(m, IO_HOLDING, (uint16_t) address, error);
        return error;
}

/* Whether a heartbeat going out at now finds the board stopped by itself: while the chair is active, the
 * last one is older than the board's timeout. */
static bool board_missed_heartbeat(const struct modbus_driver *m, usec_t now)
{
        return m->bus->heartbeat >= 0 && m->polling && m->heartbeat_ok_usec && !m->board_stopped &&
               now - m->heartbeat_ok_usec > m->bus->heartbeat_timeout_usec;
}

/* The board has put every output safe by itself (it missed the heartbeat, or it restarted): it holds every
 * output at its safe value now (motor targets it leaves alone), and the loop hears of it. */
static void board_stopped(struct modbus_driver *m, usec_t now)
{
        usec_t since = m->heartbeat_ok_usec ?: m->board_live_usec;

        m->board_stopped = true;
        m->board_stopped_reported = false;
        m->board_stopped_gap_usec = since ? now - since : 0;
        m->board_live_usec = 0;
        for (size_t i = 0; i < m->n_outputs; i++)
                if (m->outputs[i].has_safe) {
                        /* At some time before now (unknown): a change, or an unanswered write, counts from
                         * now. */
                        if (!m->outputs[i].is_written || m->outputs[i].written != m->outputs[i].safe)
                                m->outputs[i].written_usec = now;
                        m->outputs[i].written = m->outputs[i].safe;
                        m->outputs[i].is_written = true;
                }
        notify_loop(m);
}

static int write_heartbeat(struct modbus_driver *m)
{
        uint16_t value = m->heartbeat_wanted;
        int error;

        if (m->bus->heartbeat < 0 || value == m->heartbeat_written)
                return 0;
        error = write_own_register(m, m->bus->heartbeat, value);
        if (error == 0 || modbus_exception(error)) {
                m->heartbeat_written = value;
                m->stats.heartbeats += error == 0;
        }
        if (error == 0 && m->polling) {
                usec_t now = now_usec();
                if (board_missed_heartbeat(m, now))
                        board_stopped(m, now);
                m->heartbeat_ok_usec = now;
        }
        pthread_cond_broadcast(&m->settled);
        return modbus_exception(error) ? 0 : error;
}

/* Tells the board its heartbeat timeout, when the config names the register for it. */
static int write_heartbeat_timeout(struct modbus_driver *m)
{
        int error;

        if (m->bus->heartbeat_timeout_register < 0 || m->timeout_written)
                return 0;
        error = write_own_register(m, m->bus->heartbeat_timeout_register,
                                   (uint16_t) (m->bus->heartbeat_timeout_usec / USEC_PER_MSEC));
        m->timeout_written = error == 0 || modbus_exception(error);
        return modbus_exception(error) ? 0 : error;
}

static void point_ios_at_polls(struct modbus_driver *m);

/* A run the device refused may hold an address it does not have: read its addresses one by one from now
 * on, so that one wrong address in the config costs only its own input. Lock held. */
static int split_poll(struct modbus_driver *m, size_t k)
{
        struct mb_poll old = m->polls[k], *np;

        np = realloc(m->polls, (m->n_polls + old.count - 1) * sizeof(*np));
        if (!np)
                return -ENOMEM;
        m->polls = np;
        for (unsigned j = 0; j < old.count; j++) {
                size_t at = j == 0 ? k : m->n_polls++;
                m->polls[at] =
                        (struct mb_poll){old.table, (uint16_t) (old.address + j), 1,     old.period_usec,
                                         0,         calloc(1, sizeof(uint16_t)),  false, old.stale};
                if (!m->polls[at].raw)
                        abort(); /* 2 bytes; the realloc above succeeded */
        }
        free(old.raw);
        point_ios_at_polls(m);
        return 0;
}

/* Reads every poll that is due and lowers *next to the earliest next deadline. Lock held, dropped around
 * I/O. Returns the error of a failed read, or 0. */
static int read_inputs(struct modbus_driver *m, usec_t now, usec_t *next)
{
        for (size_t i = 0; i < m->n_polls; i++) {
                uint16_t regs[MAX_READ_REGISTERS];
                uint8_t bits[MAX_READ_BITS];
                struct mb_poll p = m->polls[i];
                int error;

                if (p.next_usec <= now) {
                        /* A refresh asked for while this read is under way wants a read that starts
                         * after. */
                        unsigned asked = m->refresh_asked;
                        usec_t sent = now_usec();
                        pthread_mutex_unlock(&m->lock);
                        error = transact(m, p.table, false, p.address, p.count, regs, bits);
                        pthread_mutex_lock(&m->lock);
                        comm_result(m, error);
                        now = now_usec();
                        m->polls[i].next_usec = now + p.period_usec;
                        if (error && modbus_exception(error) && p.count > 1) {
                                if (split_poll(m, i) == 0)
                                        m->polls[i].next_usec = now; /* retry the pieces at once */
                                i--;
                                continue;
                        } else if (error && modbus_exception(error)) {
                                refused(m, p.table, p.address, error);
                                if (asked == m->refresh_asked)
                                        m->polls[i].stale =
                                                false; /* refused: there is nothing more to read */
                                m->polls[i].next_usec =
                                        now + RECONNECT_MAX_USEC; /* a config mistake: ask seldom */
                        } else if (error)
                                return error;
                        else {
                                struct mb_poll *q = &m->polls[i];
                                for (unsigned k = 0; k < q->count; k++) {
                                        uint16_t v = is_bit_table(q->table) ? bits[k] : regs[k];
                                        if (!q->have || q->raw[k] != v)
                                                m->inputs_changed = true;
                                        q->raw[k] = v;
                                }
                                q->have = true;
                                q->read_usec = sent;
                                if (asked == m->refresh_asked)
                                        q->stale = false;
                        }
                }
                if (m->polls[i].next_usec < *next)
                        *next = m->polls[i].next_usec;
                /* A command waits for no more than the read under way: the rest of the sweep comes after
                 * it. */
                if (m->work) {
                        *next = now;
                        break;
                }
        }
        if (m->inputs_changed)
                notify_loop(m);
        return 0;
}

/* A refresh is over once every run has been read since it was asked for, or as soon as the bus fails. Lock
 * held. */
static void refresh_settle(struct modbus_driver *m, int error)
{
        if (!m->refresh)
                return;
        for (size_t i = 0; i < m->n_polls && !error; i++)
                if (m->polls[i].stale)
                        return;
        m->refresh = false;
        m->refreshed = true;
        m->refresh_error = error;
        notify_loop(m);
}

static int bus_connect(struct modbus_driver *m)
{
        if (modbus_connect(m->ctx) < 0)
                return errno;
        if (m->bus->type == BUS_MODBUS_RTU && m->bus->rs485) {
                if (modbus_rtu_set_serial_mode(m->ctx, MODBUS_RTU_RS485) < 0)
                        return errno;
                if (m->bus->rts != RTS_NONE &&
                    modbus_rtu_set_rts(m->ctx,
                                       m->bus->rts == RTS_UP ? MODBUS_RTU_RTS_UP : MODBUS_RTU_RTS_DOWN) < 0)
                        return errno;
                if (m->bus->rts_delay_usec &&
                    modbus_rtu_set_rts_delay(m->ctx, (int) m->bus->rts_delay_usec) < 0)
                        return errno;
        }
        return 0;
}

static void *io_thread(void *userdata)
{
        struct modbus_driver *m = userdata;
        usec_t backoff = RECONNECT_MIN_USEC, retry_at = 0;
        bool connected = false;

        pthread_mutex_lock(&m->lock);
        while (!m->quit) {
                usec_t now = now_usec(), next = USEC_INFINITY;
                int error = 0;

                if (now >= retry_at) {
                        if (!connected) {
                                pthread_mutex_unlock(&m->lock);
                                error = bus_connect(m);
                                pthread_mutex_lock(&m->lock);
                                if (!error) {
                                        connected = true;
                                        /* A board that was restarted lost its outputs: write them all
                                         * again. */
                                        for (size_t i = 0; i < m->n_outputs; i++)
                                                m->outputs[i].is_written = false;
                                        m->heartbeat_written = (uint16_t) (m->heartbeat_wanted - 1);
                                        m->timeout_written = false;
                                        /* Found again while the chair is active after the board heard a
                                         * heartbeat or was sent a live output: it may have restarted and
                                         * lost them, however quickly it came back. Nothing is written
                                         * that would start it again. */
                                        if (m->bus->heartbeat >= 0 && m->polling && !m->board_stopped &&
                                            (m->heartbeat_ok_usec || m->board_live_usec))
                                                board_stopped(m, now_usec());
                                } else
                                        comm_result(m, error);
                        }
                        if (connected) {
                                m->work = false;
                                if (m->resync) {
                                        /* The chair was idle and the heartbeat quiet: a board that watches
                                         * it has put every output safe by itself (docs/reference-board.md).
                                         * The heartbeat first, so that it cannot trip between the writes,
                                         * then every output again. */
                                        m->resync = false;
                                        m->timeout_written = false;
                                        m->heartbeat_ok_usec = 0;
                                        m->board_live_usec = 0;
                                        for (size_t i = 0; i < m->n_outputs; i++)
                                                m->outputs[i].is_written = false;
                                        error = write_heartbeat_timeout(m);
                                        if (!error)
                                                error = write_heartbeat(m);
                                } else if (board_missed_heartbeat(m, now_usec())) {
                                        /* The heartbeat first: if it finds the board stopped, nothing is
                                         * written that would start it again. */
                                        m->heartbeat_written = (uint16_t) (m->heartbeat_wanted - 1);
                                        error = write_heartbeat(m);
                                }
                                if (!error)
                                        error = write_heartbeat_timeout(m);
                                if (!error)
                                        error = write_outputs(m);
                                if (!error)
                                        error = write_heartbeat(m);
                                if (!error && m->polling)
                                        error = read_inputs(m, now, &next);
                                else if (!error && m->refresh) {
                                        usec_t unused =
                                                USEC_INFINITY; /* not polling: no wakeup for the next */
                                        error = read_inputs(m, now, &unused);
                                }
                                if (!error)
                                        error = recheck_outputs(m, &next);
                        }
                        refresh_settle(m, error);
                        if (m->refresh && !error)
                                next = now; /* a command cut the sweep short: the rest at once */
                        if (error) {
                                if (connected && connection_error(error)) {
                                        modbus_close(m->ctx);
                                        connected = false;
                                }
                                retry_at = now_usec() + backoff;
                                backoff =
                                        backoff * 2 > RECONNECT_MAX_USEC ? RECONNECT_MAX_USEC : backoff * 2;
                        } else
                                backoff = RECONNECT_MIN_USEC;
                }
                if (!connected)
                        refresh_settle(m, m->comm_error ?: ENOTCONN); /* in its back-off: nothing to read */
                now = now_usec();
                if (retry_at > now && retry_at < next)
                        next = retry_at;
                /* New work goes out at once, unless the bus is in its back-off after a failure. */
                if (m->quit || (m->work && now >= retry_at))
                        continue;
                if (next == USEC_INFINITY) {
                        pthread_cond_wait(&m->wake, &m->lock); /* idle: nothing to poll, nothing to retry */
                        continue;
                }
                struct timespec ts = {(time_t) (next / USEC_PER_SEC), (long) (next % USEC_PER_SEC) * 1000};
                pthread_cond_timedwait(&m->wake, &m->lock, &ts);
        }
        pthread_mutex_unlock(&m->lock);
        if (connected)
                modbus_close(m->ctx);
        return NULL;
}

/* A register's or a bit's raw value in the config's units. */
static double raw_value(const struct io_config *io, uint16_t raw)
{
        if (io->role == IO_IN_SWITCH || io->role == IO_OUT_SWITCH)
                return raw != 0;
        return (io->is_signed ? (double) (int16_t) raw : (double) raw) * io->scale;
}

static int on_eventfd(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        struct modbus_driver *m = userdata;
        struct driver *d = &m->base;
        const struct chair_config *c = d->config;
        struct driver_event events[64];
        size_t n = 0;
        uint64_t count;

        if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
                return -errno;

        /* Take the news under the lock, report it without: a handler may call back into the driver. */
        for (;;) {
                pthread_mutex_lock(&m->lock);
                if (m->comm_ok != m->comm_reported_ok) {
                        m->comm_reported_ok = m->comm_ok;
                        events[n++] =
                                (struct driver_event){m->comm_ok ? DRIVER_COMM_RESTORED : DRIVER_COMM_LOST,
                                                      IO_NONE, 0, m->comm_error};
                }
                if (m->refused_error) {
                        events[n++] = (struct driver_event){DRIVER_REFUSED, IO_NONE, 0, m->refused_error};
                        m->refused_error = 0;
                }
                for (size_t i = 0; i < m->n_ios && n < ELEMENTSOF(events); i++)
                        if (m->ios[i].refused_error) {
                                events[n++] = (struct driver_event){DRIVER_REFUSED, m->ios[i].io, 0,
                                                                    m->ios[i].refused_error};
                                m->ios[i].refused_error = 0;
                        }
                if (m->board_stopped && !m->board_stopped_reported) {
                        m->board_stopped_reported = true;
                        events[n++] =
                                (struct driver_event){DRIVER_BOARD_STOPPED, IO_NONE,
                                                      (double) m->board_stopped_gap_usec / USEC_PER_MSEC, 0};
                }
                for (size_t i = 0; i < m->n_ios && n < ELEMENTSOF(events); i++) {
                        struct mb_io *mi = &m->ios[i];
                        bool mismatch;

                        if (mi->output < 0)
                                continue;
                        const struct mb_output *o = &m->outputs[mi->output];
                        mismatch = o->state == READ_BACK_MISMATCH;
                        if (mismatch == mi->mismatch_reported)
                                continue;
                        mi->mismatch_reported = mismatch;
                        events[n++] = (struct driver_event){mismatch ? DRIVER_OUTPUT_MISMATCH
                                                                     : DRIVER_OUTPUT_MATCHED,
                                                            mi->io, raw_value(&c->ios[mi->io], o->held), 0};
                }
                m->inputs_changed = false;
                for (size_t i = 0; i < m->n_ios && n < ELEMENTSOF(events); i++) {
                        struct mb_io *mi = &m->ios[i];
                        const struct io_config *io = &c->ios[mi->io];
                        const struct mb_poll *p;
                        double v;

                        if (mi->poll < 0 || !(p = &m->polls[mi->poll])->have)
                                continue;
                        v = raw_value(io, p->raw[mi->offset]);
                        if (mi->delivered && mi->last == v)
                                continue;
                        mi->last = v;
                        mi->delivered = true;
                        events[n++] = (struct driver_event){DRIVER_INPUT_CHANGED, mi->io, v, 0};
                }
                /* After the inputs it read (a full batch goes round again first). */
                if (m->refreshed && n < ELEMENTSOF(events)) {
                        m->refreshed = false;
                        events[n++] = (struct driver_event){DRIVER_REFRESHED, IO_NONE, 0, m->refresh_error};
                }
                pthread_mutex_unlock(&m->lock);
                for (size_t i = 0; i < n; i++)
                        if (d->handler)
                                d->handler(d, &events[i], d->userdata);
                if (n < ELEMENTSOF(events))
                        break;
                n = 0; /* more changes than one batch holds: go round again */
        }
        return 0;
}

static struct mb_io *find_io(struct modbus_driver *m, int io)
{
        for (size_t i = 0; i < m->n_ios; i++)
                if (m->ios[i].io == io)
                        return &m->ios[i];
        return NULL;
}

static int mb_set(struct driver *d, int io, double value)
{
        struct modbus_driver *m = to_modbus(d);
        struct mb_io *mi = find_io(m, io);
        const struct io_config *ic;
        double raw;

        if (!mi || mi->output < 0)
                return -EINVAL;
        ic = &d->config->ios[io];
        if (ic->role == IO_OUT_SWITCH) {
                if (value != 0.0 && value != 1.0)
                        return -ERANGE; /* a switch is off or on, nothing between (NaN included) */
                raw = value;
        } else {
                raw = round(value / ic->scale);
                if (!isfinite(raw) || raw < (ic->is_signed ? -32768 : 0) ||
                    raw > (ic->is_signed ? 32767 : 65535))
                        return -ERANGE;
        }
        pthread_mutex_lock(&m->lock);
        m->outputs[mi->output].wanted = (uint16_t) (int) raw;
        m->outputs[mi->output].has_wanted = true;
        pthread_mutex_unlock(&m->lock);
        return 0;
}

static int mb_written(struct driver *d, int io, usec_t *ret_usec)
{
        struct modbus_driver *m = to_modbus(d);
        struct mb_io *mi = find_io(m, io);
        int r = -EINPROGRESS;

        if (!mi || mi->output < 0)
                return -EINVAL;
        pthread_mutex_lock(&m->lock);
        const struct mb_output *o = &m->outputs[mi->output];
        if (!o->has_wanted || (o->is_written && o->written == o->wanted)) {
                *ret_usec = o->has_wanted ? o->written_usec : 0;
                r = 0;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

static int mb_flush(struct driver *d)
{
        struct modbus_driver *m = to_modbus(d);

        pthread_mutex_lock(&m->lock);
        m->heartbeat_wanted++;
        m->work = true;
        pthread_mutex_unlock(&m->lock);
        /* After the unlock, so that the woken thread does not at once block on the lock we hold; it looks
         * at work under the lock before it waits, so the wakeup cannot be lost. */
        pthread_cond_signal(&m->wake);
        return 0;
}

static void mb_set_polling(struct driver *d, bool on)
{
        struct modbus_driver *m = to_modbus(d);

        pthread_mutex_lock(&m->lock);
        if (on && !m->polling) {
                for (size_t i = 0; i < m->n_polls; i++)
                        m->polls[i].next_usec = 0; /* read everything at once: the values may be stale */
                m->resync = m->bus->heartbeat >= 0;
        }
        if (!on) {
                m->heartbeat_ok_usec = 0; /* the heartbeat may stop now: the board tripping is expected */
                m->board_live_usec = 0;
        }
        m->polling = on;
        m->work = true;
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
}

static int mb_refresh(struct driver *d)
{
        struct modbus_driver *m = to_modbus(d);

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_polls; i++) {
                m->polls[i].next_usec = 0;
                m->polls[i].stale = true;
        }
        for (size_t i = 0; i < m->n_outputs; i++)
                m->outputs[i].recheck_usec = 0; /* those that answered other than written, at once */
        m->refresh = true;
        m->refresh_asked++;
        m->work = true;
        pthread_mutex_unlock(&m->lock);
        pthread_cond_signal(&m->wake);
        return 0;
}

static int mb_read_at(struct driver *d, int io, usec_t *ret_usec)
{
        struct modbus_driver *m = to_modbus(d);
        struct mb_io *mi = find_io(m, io);
        int r = -ENODATA;

        if (!mi || io_role_is_output(d->config->ios[io].role))
                return -EINVAL;
        /* The io thread moves an io to another poll when it splits a run the device refused: under the
         * lock. */
        pthread_mutex_lock(&m->lock);
        if (mi->poll >= 0 && m->polls[mi->poll].have && mi->delivered) {
                *ret_usec = m->polls[mi->poll].read_usec;
                r = 0;
        }
        pthread_mutex_unlock(&m->lock);
        return r;
}

static int mb_get(struct driver *d, int io, double *ret)
{
        struct modbus_driver *m = to_modbus(d);
        struct mb_io *mi = find_io(m, io);

        if (!mi || io_role_is_output(d->config->ios[io].role))
                return -EINVAL;
        /* last and delivered belong to the loop, like this call: no lock needed. */
        if (!mi->delivered)
                return -ENODATA;
        *ret = mi->last;
        return 0;
}

static bool all_written(struct modbus_driver *m)
{
        if (m->bus->heartbeat >= 0 && m->heartbeat_written != m->heartbeat_wanted)
                return false;
        for (size_t i = 0; i < m->n_outputs; i++) {
                const struct mb_output *o = &m->outputs[i];
                if (o->has_wanted && (!o->is_written || o->written != o->wanted))
                        return false;
        }
        return true;
}

/* Waits until every output is written, or the deadline passes. Lock held. */
static int wait_written(struct modbus_driver *m, usec_t timeout_usec)
{
        usec_t deadline = now_usec() + timeout_usec;

        while (!all_written(m)) {
                struct timespec ts = {(time_t) (deadline / USEC_PER_SEC),
                                      (long) (deadline % USEC_PER_SEC) * 1000};
                if (timeout_usec == 0 || pthread_cond_timedwait(&m->settled, &m->lock, &ts) == ETIMEDOUT)
                        return all_written(m) ? 0 : -ETIMEDOUT;
        }
        return 0;
}

static int mb_safe_state(struct driver *d, usec_t timeout_usec)
{
        struct modbus_driver *m = to_modbus(d);
        const struct chair_config *c = d->config;
        int r = 0;

        pthread_mutex_lock(&m->lock);
        for (size_t i = 0; i < m->n_ios; i++) {
                double v;
                if (m->ios[i].output >= 0 && io_safe_value(&c->ios[m->ios[i].io], &v)) {
                        m->outputs[m->ios[i].output].wanted = (uint16_t) v;
                        m->outputs[m->ios[i].output].has_wanted = true;
                }
        }
        if (m->board_stopped_reported)
                m->board_stopped = m->board_stopped_reported =
                        false; /* the loop knows, and wants it all safe */
        m->work = true;
        pthread_cond_signal(&m->wake);
        if (timeout_usec > 0)
                r = wait_written(m, timeout_usec);
        pthread_mutex_unlock(&m->lock);
        return r;
}

static int mb_sync(struct driver *d, usec_t timeout_usec)
{
        struct modbus_driver *m = to_modbus(d);
        int r;

        pthread_mutex_lock(&m->lock);
        r = wait_written(m, timeout_usec);
        pthread_mutex_unlock(&m->lock);
        return r;
}

static void mb_stats(struct driver *d, struct driver_stats *ret)
{
        struct modbus_driver *m = to_modbus(d);
        pthread_mutex_lock(&m->lock);
        *ret = m->stats;
        pthread_mutex_unlock(&m->lock);
}

static void mb_driver_free(struct driver *d)
{
        struct modbus_driver *m = to_modbus(d);

        if (m->thread_started) {
                pthread_mutex_lock(&m->lock);
                m->quit = true;
                pthread_cond_signal(&m->wake);
                pthread_mutex_unlock(&m->lock);
                pthread_join(m->thread, NULL);
        }
        sd_event_source_disable_unref(m->event_source);
        if (m->eventfd >= 0)
                close(m->eventfd);
        if (m->ctx)
                modbus_free(m->ctx);
        for (size_t i = 0; i < m->n_polls; i++)
                free(m->polls[i].raw);
        free(m->polls);
        free(m->outputs);
        free(m->ios);
        pthread_mutex_destroy(&m->lock);
        pthread_cond_destroy(&m->wake);
        pthread_cond_destroy(&m->settled);
        free(m);
}

void modbus_driver_set_coalescing(struct driver *d, bool on)
{
        struct modbus_driver *m = to_modbus(d);
        pthread_mutex_lock(&m->lock);
        m->coalesce = on;
        pthread_mutex_unlock(&m->lock);
}

static const struct driver_ops modbus_ops = {
        .type = "modbus",
        .set = mb_set,
        .flush = mb_flush,
        .get = mb_get,
        .safe_state = mb_safe_state,
        .sync = mb_sync,
        .stats = mb_stats,
        .set_polling = mb_set_polling,
        .refresh = mb_refresh,
        .written = mb_written,
        .read_at = mb_read_at,
        .free = mb_driver_free,
};

static int compare_outputs(const void *a, const void *b)
{
        const struct mb_output *x = a, *y = b;
        if (x->table != y->table)
                return x->table < y->table ? -1 : 1;
        return (x->address > y->address) - (x->address < y->address);
}

/* Outputs: one entry per written place, sorted so that contiguous registers sit together. */
static int plan_outputs(struct modbus_driver *m)
{
        const struct chair_config *c = m->base.config;

        m->outputs = calloc(m->n_ios, sizeof(*m->outputs));
        if (!m->outputs && m->n_ios)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_ios; i++) {
                const struct io_config *io = &c->ios[m->ios[i].io];
                double v;
                if (!io_role_is_output(io->role))
                        continue;
                /* Start safe; outputs without a safe value (motor targets) wait to be set. */
                bool safe = io_safe_value(io, &v);
                m->outputs[m->n_outputs++] = (struct mb_output){
                        .table = io->table,
                        .address = (uint16_t) io->address,
                        .wanted = safe ? (uint16_t) v : 0,
                        .safe = safe ? (uint16_t) v : 0,
                        .has_safe = safe,
                        .has_wanted = safe,
                };
        }
        qsort(m->outputs, m->n_outputs, sizeof(*m->outputs), compare_outputs);
        for (size_t i = 0; i < m->n_ios; i++) {
                const struct io_config *io = &c->ios[m->ios[i].io];
                m->ios[i].output = -1;
                if (!io_role_is_output(io->role))
                        continue;
                for (size_t k = 0; k < m->n_outputs; k++)
                        if (m->outputs[k].table == io->table && m->outputs[k].address == io->address)
                                m->ios[i].output = (int) k;
        }
        return 0;
}

static usec_t poll_period(const struct modbus_driver *m, const struct io_config *io)
{
        return io->poll_usec ?: m->bus->poll_usec;
}

/* The run that reads an input, or -1. */
static int find_poll(const struct modbus_driver *m, const struct io_config *io)
{
        for (size_t k = 0; k < m->n_polls; k++) {
                const struct mb_poll *p = &m->polls[k];
                if (p->table == io->table && p->period_usec == poll_period(m, io) &&
                    io->address >= p->address && io->address < (unsigned) p->address + p->count)
                        return (int) k;
        }
        return -1;
}

/* Points each input at the run that reads it. */
static void point_ios_at_polls(struct modbus_driver *m)
{
        const struct chair_config *c = m->base.config;

        for (size_t i = 0; i < m->n_ios; i++) {
                const struct io_config *io = &c->ios[m->ios[i].io];
                if (io_role_is_output(io->role))
                        continue;
                m->ios[i].poll = find_poll(m, io);
                if (m->ios[i].poll >= 0)
                        m->ios[i].offset = io->address - m->polls[m->ios[i].poll].address;
        }
}

/* Inputs: runs of contiguous addresses of one table and one period, each read in one request. */
static int plan_polls(struct modbus_driver *m)
{
        const struct chair_config *c = m->base.config;
        usec_t now = now_usec();

        for (size_t i = 0; i < m->n_ios; i++) {
                const struct io_config *io = &c->ios[m->ios[i].io];

                m->ios[i].poll = -1;
                if (io_role_is_output(io->role) || find_poll(m, io) >= 0)
                        continue;
                /* A new run from this address; runs that touch are merged below. */
                struct mb_poll *np = realloc(m->polls, (m->n_polls + 1) * sizeof(*np));
                if (!np)
                        return -ENOMEM;
                m->polls = np;
                m->polls[m->n_polls++] = (struct mb_poll){
                        io->table, (uint16_t) io->address, 1, poll_period(m, io), now, NULL, false};
        }
        /* Merge runs that touch: [10] and [11] become [10, 11], while an address nobody asked for stays a
         * gap (the device may answer exception 2 for it). */
        for (bool merged = true; merged;) {
                merged = false;
                for (size_t a = 0; a < m->n_polls && !merged; a++)
                        for (size_t b = 0; b < m->n_polls && !merged; b++) {
                                struct mb_poll *p = &m->polls[a], *q = &m->polls[b];
                                unsigned max = is_bit_table(p->table) ? MAX_READ_BITS : MAX_READ_REGISTERS;
                                if (a == b || p->table != q->table || p->period_usec != q->period_usec ||
                                    q->address != p->address + p->count || p->count + q->count > max)
                                        continue;
                                p->count = (uint16_t) (p->count + q->count);
                                m->polls[b] = m->polls[--m->n_polls];
                                merged = true;
                        }
        }
        for (size_t k = 0; k < m->n_polls; k++) {
                m->polls[k].raw = calloc(m->polls[k].count, sizeof(uint16_t));
                if (!m->polls[k].raw)
                        return -ENOMEM;
        }
        point_ios_at_polls(m);
        return 0;
}

static int new_context(const struct bus_config *b, modbus_t **ret)
{
        static const char parity[] = {[PARITY_NONE] = 'N', [PARITY_EVEN] = 'E', [PARITY_ODD] = 'O'};
        char port[8];
        modbus_t *ctx;

        if (b->type == BUS_MODBUS_TCP) {
                snprintf(port, sizeof(port), "%u", b->port);
                ctx = modbus_new_tcp_pi(b->host, port);
        } else
                ctx = modbus_new_rtu(b->device, (int) b->baud, parity[b->parity], (int) b->data_bits,
                                     (int) b->stop_bits);
        if (!ctx)
                return -errno;
        if (modbus_set_slave(ctx, (int) b->unit) < 0 ||
            modbus_set_response_timeout(ctx, (uint32_t) (b->timeout_usec / USEC_PER_SEC),
                                        (uint32_t) (b->timeout_usec % USEC_PER_SEC)) < 0 ||
            modbus_set_error_recovery(ctx, MODBUS_ERROR_RECOVERY_PROTOCOL) < 0) {
                int r = -errno;
                modbus_free(ctx);
                return r;
        }
        *ret = ctx;
        return 0;
}

int modbus_driver_new(const struct chair_config *config, unsigned bus, sd_event *event, struct driver **ret)
{
        struct modbus_driver *m;
        pthread_condattr_t attr;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->base = (struct driver){.ops = &modbus_ops, .config = config, .bus = bus};
        m->bus = &config->buses[bus];
        m->eventfd = -1;
        m->coalesce = true;
        m->polling = true;
        m->comm_ok = m->comm_reported_ok = true;
        pthread_mutex_init(&m->lock, NULL);
        pthread_condattr_init(&attr);
        pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
        pthread_cond_init(&m->wake, &attr);
        pthread_cond_init(&m->settled, &attr);
        pthread_condattr_destroy(&attr);

        m->ios = calloc(config->n_ios, sizeof(*m->ios));
        if (!m->ios && config->n_ios) {
                r = -ENOMEM;
                goto fail;
        }
        for (size_t i = 0; i < config->n_ios; i++)
                if (config->ios[i].bus == bus)
                        m->ios[m->n_ios++] = (struct mb_io){.io = (int) i};
        r = plan_outputs(m);
        if (r >= 0)
                r = plan_polls(m);
        if (r >= 0)
                r = new_context(m->bus, &m->ctx);
        if (r < 0)
                goto fail;

        m->eventfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m->eventfd < 0) {
                r = -errno;
                goto fail;
        }
        r = sd_event_add_io(event, &m->event_source, m->eventfd, EPOLLIN, on_eventfd, m);
        /* Readings (an e-stop, an over-current) go before D-Bus traffic, however much of it waits. */
        if (r >= 0)
                r = sd_event_source_set_priority(m->event_source, SD_EVENT_PRIORITY_IMPORTANT);
        if (r < 0)
                goto fail;
        r = -pthread_create(&m->thread, NULL, io_thread, m);
        if (r < 0)
                goto fail;
        m->thread_started = true;
        *ret = &m->base;
        return 0;
fail:
        mb_driver_free(&m->base);
        return r;
}
