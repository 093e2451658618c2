/* chair-link.h: a bridge's D-Bus side, whatever its transport: chaird's state, programs, presence and events
 * as JSON, and a checked command run as one D-Bus call whose outcome is the reply JSON. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "command.h"

struct chair_link;

/* What the transport hears. Every JSON object passed is borrowed: valid during the call (take a reference to
 * keep it). Any callback may be NULL. */
struct chair_link_callbacks {
        /* chaird's properties changed: state is every property of io.chaird.Chair1 but Usage (it changes on
         * every tick of a session without a signal), keys and values as on D-Bus. The changes of one loop
         * iteration come as one call; a Finished event comes after the changes that came with it. */
        void (*state_changed)(struct chair_link *l, json_object *state, void *userdata);
        /* The programs changed (read at start, after chaird came back, after a reload or an install): a list
         * of {"id", "name", "description", "duration-usec"}, sorted by id. */
        void (*programs_changed)(struct chair_link *l, json_object *programs, void *userdata);
        /* {"event":"finished","program":P,"reason":R} (Finished), or {"event":"fault","name":F,"message":M}
         * once per newly latched fault (not for a fault already latched when the link started). */
        void (*event)(struct chair_link *l, json_object *event, void *userdata);
        /* Whether chaird is on the bus with its state read: false when it leaves or its name gets a new
         * owner, true once the new owner's state is read. Called on every change. */
        void (*availability)(struct chair_link *l, bool available, void *userdata);
};

/* A new link on bus (attached to event by the caller); cb is copied. It watches nothing until started. */
int chair_link_new(sd_event *event, sd_bus *bus, const struct chair_link_callbacks *cb, void *userdata,
                   struct chair_link **ret);
/* Watches chaird's signals and name, and reads its state and programs (asynchronously). */
int chair_link_start(struct chair_link *l);
struct chair_link *chair_link_free(struct chair_link *l);
static inline void chair_link_freep(struct chair_link **l)
{
        chair_link_free(*l);
}

bool chair_link_available(const struct chair_link *l);
/* Borrowed, or NULL: the state while it is known (chaird on the bus and read), the programs once read. */
json_object *chair_link_state(const struct chair_link *l);
json_object *chair_link_programs(const struct chair_link *l);
/* The file a program of the programs list came from (its Path on D-Bus), borrowed until the programs change;
 * NULL for an id chaird does not offer. */
const char *chair_link_program_path(const struct chair_link *l, const char *id);

/* Called once with the reply to a command: {"id":ID,"ok":true} (ID: the request's id, left out when it has
 * none), with "result" for a command that answers a value (get-profile, history, usage), or
 * {"id":ID,"ok":false,"error":NAME,"message":TEXT} with chaird's error as it came (an error without a
 * message has its name as its message). reply is borrowed. */
typedef void (*chair_link_reply_t)(struct chair_link *l, json_object *reply, void *userdata);

/* A command under way. */
struct chair_call;

/* Sends the checked command q (q->error NULL; answer a refused one with command_reply_new()) as one D-Bus
 * call; done gets its outcome. *ret_call (when ret_call is not NULL) is a handle that stays valid until done
 * is called: chair_call_cancel() it when the one who asked is gone (a closed connection), and done is never
 * called. Freeing the link cancels every call under way. destroy (may be NULL) frees userdata once the call
 * is over: after done, or when it is cancelled. Returns 0, -EINVAL for a refused q, or a negative errno from
 * sd-bus: then nothing was sent, and neither done nor destroy is called (answer "Failed"). */
int chair_link_call(struct chair_link *l, const struct command_request *q, chair_link_reply_t done,
                    void (*destroy)(void *userdata), void *userdata, struct chair_call **ret_call);
void chair_call_cancel(struct chair_call *c);
