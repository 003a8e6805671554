/*
 * Names for the event enums, from the X-macro lists in event.h.
 */
#include "event.h"

#include "util/tstamp.h"

const char *event_kind_name(enum event_kind kind)
{
    static const char *const names[] = {
#define EVENT_KIND_NAME(name, json, doc) json,
        EVENT_KIND_MAP(EVENT_KIND_NAME)
#undef EVENT_KIND_NAME
    };
    return (unsigned)kind < EV__COUNT ? names[kind] : "?";
}

const char *severity_name(enum severity sev)
{
    static const char *const names[] = { "",    "DEBUG", "INFO",  "NOTICE", "WARNING",
                                         "LOG", "ERROR", "FATAL", "PANIC" };
    return (unsigned)sev < sizeof(names) / sizeof(names[0]) ? names[sev] : "?";
}

void event_clear(struct event *ev)
{
    *ev = (struct event){ 0 };
    ev->ts_us = TS_NONE;
    ev->duration_us = -1;
}

void event_emit_unparsed(event_fn *emit, void *ctx, uint32_t input, uint64_t line, struct str text)
{
    struct event ev;
    event_clear(&ev);
    ev.kind = EV_UNPARSED;
    ev.message = text;
    ev.line = line;
    ev.input = input;
    emit(ctx, &ev);
}
