/*
 * Classification of PostgreSQL log messages into events; see pgmsg.h.
 *
 * Every reader hands us the message text of one record. Query durations
 * are by far the most frequent, so they are tested first and parsed without
 * any library call; the rarer kinds are matched by their fixed English
 * openings (lc_messages = 'C').
 */
#include "pgmsg.h"

#include "util/compat.h"
#include "util/str.h"

#include <string.h>

#include "util/banned.h"

size_t pgmsg_severity(struct str s, enum severity *sev, char *aux)
{
    static const struct {
        const char *word;
        enum severity sev;
        char aux;
    } words[] = {
        { "LOG:", SEV_LOG, 0 },          { "DETAIL:", SEV_NONE, 'D' },
        { "STATEMENT:", SEV_NONE, 'S' }, { "ERROR:", SEV_ERROR, 0 },
        { "HINT:", SEV_NONE, 'H' },      { "CONTEXT:", SEV_NONE, 'C' },
        { "FATAL:", SEV_FATAL, 0 },      { "WARNING:", SEV_WARNING, 0 },
        { "QUERY:", SEV_NONE, 'Q' },     { "LOCATION:", SEV_NONE, 'L' },
        { "NOTICE:", SEV_NOTICE, 0 },    { "INFO:", SEV_INFO, 0 },
        { "PANIC:", SEV_PANIC, 0 },      { "DEBUG1:", SEV_DEBUG, 0 },
        { "DEBUG2:", SEV_DEBUG, 0 },     { "DEBUG3:", SEV_DEBUG, 0 },
        { "DEBUG4:", SEV_DEBUG, 0 },     { "DEBUG5:", SEV_DEBUG, 0 },
    };
    if (s.len < PGMSG_SEVERITY_MIN_LEN || s.ptr[0] < 'A' || s.ptr[0] > 'W')
        return 0;
    for (size_t i = 0; i < ARRAY_SIZE(words); i++) {
        size_t n = strlen(words[i].word);
        if (s.len >= n && s.ptr[0] == words[i].word[0] && memcmp(s.ptr, words[i].word, n) == 0) {
            *sev = words[i].sev;
            *aux = words[i].aux;
            return n;
        }
    }
    return 0;
}

/* Parses "12.345" (a decimal number of ms or s) into micro-units times scale. */
static size_t parse_decimal_us(struct str s, int64_t unit_us, int64_t *out)
{
    size_t i = 0;
    int64_t whole = 0;
    /* Digits stop where whole * unit_us could overflow (a damaged line, found by fuzz_stderr). */
    int64_t max_whole = (INT64_MAX / unit_us - 9) / 10;
    while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9' && i < 15 && whole <= max_whole)
        whole = whole * 10 + (s.ptr[i++] - '0');
    if (i == 0)
        return 0;
    int64_t frac = 0, scale = unit_us;
    if (i < s.len && s.ptr[i] == '.') {
        i++;
        int64_t round = 0;
        while (i < s.len && s.ptr[i] >= '0' && s.ptr[i] <= '9') {
            if (scale >= 10) {
                scale /= 10;
                frac += (s.ptr[i] - '0') * scale;
            } else if (!round && scale == 1) {
                round = s.ptr[i] >= '5';
                scale = 0;
            }
            i++;
        }
        frac += round;
    }
    *out = whole * unit_us + frac;
    return i;
}

/*
 * Consumes lit at the front of s. A loop, not strlen and memcmp: the words
 * are short and this runs several times per log record.
 */
static bool eat(struct str *s, const char *lit)
{
    size_t i = 0;
    for (; lit[i]; i++)
        if (i >= s->len || s->ptr[i] != lit[i])
            return false;
    *s = str_skip(*s, i);
    return true;
}

/* "parse <unnamed>: TEXT", "execute S_1/C_2: TEXT", "statement: TEXT" after a duration. */
static bool classify_statement(struct event *ev, struct str m)
{
    static const struct {
        const char *word;
        enum stmt_phase phase;
    } phases[] = {
        { "statement: ", PH_SIMPLE },
        { "execute ", PH_EXECUTE },
        { "parse ", PH_PARSE },
        { "bind ", PH_BIND },
        { "fastpath function call: ", PH_FASTPATH },
    };
    for (size_t i = 0; i < ARRAY_SIZE(phases); i++) {
        if (!eat(&m, phases[i].word))
            continue;
        ev->phase = phases[i].phase;
        if (phases[i].phase == PH_EXECUTE || phases[i].phase == PH_PARSE ||
            phases[i].phase == PH_BIND) {
            long colon = str_find(m, ": ");
            if (colon < 0)
                return false;
            ev->stmt_name = str_make(m.ptr, (size_t)colon);
            m = str_skip(m, (size_t)colon + 2);
        }
        ev->statement = m;
        ev->kind = EV_QUERY;
        return true;
    }
    return false;
}

/* auto_explain: "plan:\n\tQuery Text: …\n\t<plan>" or a JSON document. */
static void classify_plan(struct event *ev, struct str m)
{
    ev->kind = EV_PLAN;
    ev->plan = str_trim(m);
    if (ev->plan.len && ev->plan.ptr[0] == '{') {
        /* JSON format: the query text is the "Query Text" member's string. */
        ev->flags |= EVF_PLAN_JSON;
        long at = str_find(ev->plan, "\"Query Text\": \"");
        if (at < 0)
            return;
        struct str q = str_skip(ev->plan, (size_t)at + 15);
        size_t i = 0;
        while (i < q.len && q.ptr[i] != '"')
            i += q.ptr[i] == '\\' && i + 1 < q.len ? 2 : 1;
        ev->statement = str_make(q.ptr, i); /* still JSON-escaped; normalisation copes */
        return;
    }
    long at = str_find(ev->plan, "Query Text: ");
    if (at < 0)
        return;
    struct str q = str_skip(ev->plan, (size_t)at + 12);
    /* The query ends at the first plan line: one carrying "(cost=" or "(actual". */
    const char *end = q.ptr + q.len;
    for (const char *nl = memchr(q.ptr, '\n', q.len); nl;
         nl = memchr(nl + 1, '\n', (size_t)(end - nl - 1))) {
        struct str line = str_make(nl + 1, (size_t)(end - nl - 1));
        const char *eol = memchr(line.ptr, '\n', line.len);
        if (eol)
            line.len = (size_t)(eol - line.ptr);
        if (str_find(line, "(cost=") >= 0 || str_find(line, "(actual") >= 0 ||
            str_find(line, "(never executed)") >= 0) {
            ev->statement = str_trim(str_make(q.ptr, (size_t)(nl - q.ptr)));
            ev->plan = str_make(nl + 1, (size_t)(end - nl - 1));
            return;
        }
        if (nl + 1 >= end)
            break;
    }
    ev->statement = str_trim(q);
}

static bool classify_duration(struct event *ev, struct str m)
{
    if (!eat(&m, "duration: "))
        return false;
    size_t n = parse_decimal_us(m, 1000, &ev->duration_us);
    if (n == 0)
        return false;
    m = str_skip(m, n);
    if (!eat(&m, " ms"))
        return false;
    if (m.len == 0 || str_trim(m).len == 0) {
        ev->kind = EV_QUERY;
        ev->phase = PH_NONE;
        return true;
    }
    if (!eat(&m, "  "))
        return false;
    if (eat(&m, "plan:")) {
        classify_plan(ev, m);
        return true;
    }
    return classify_statement(ev, m);
}

/* "process 123 still waiting for ShareLock on transaction 5 after 100.2 ms" */
static bool classify_lock(struct event *ev, struct str m)
{
    if (!eat(&m, "process "))
        return false;
    while (m.len && m.ptr[0] >= '0' && m.ptr[0] <= '9')
        m = str_skip(m, 1);
    enum event_kind kind;
    if (eat(&m, " still waiting for "))
        kind = EV_LOCK_WAIT;
    else if (eat(&m, " acquired "))
        kind = EV_LOCK_ACQUIRED;
    else
        return false;
    long after = str_find(m, " after ");
    if (after < 0)
        return false;
    ev->object = str_make(m.ptr, (size_t)after);
    struct str rest = str_skip(m, (size_t)after + 7);
    int64_t us;
    if (parse_decimal_us(rest, 1000, &us) == 0)
        return false;
    ev->kind = kind;
    ev->duration_us = us;
    return true;
}

/* "disconnection: session time: 1:02:03.456 user=…" */
static void classify_disconnect(struct event *ev, struct str m)
{
    ev->kind = EV_DISCONNECT;
    if (!eat(&m, "session time: "))
        return;
    unsigned long long h, mi;
    size_t n = str_parse_u64(m, &h);
    if (!n || n >= m.len || m.ptr[n] != ':')
        return;
    m = str_skip(m, n + 1);
    n = str_parse_u64(m, &mi);
    if (!n || n >= m.len || m.ptr[n] != ':')
        return;
    m = str_skip(m, n + 1);
    int64_t s_us, v;
    /* Absurd hours (a damaged line; fuzz_stderr) would overflow: the time is then unknown. */
    if (h <= 1000000 && mi < 60 && parse_decimal_us(m, 1000000, &s_us) &&
        !__builtin_add_overflow((int64_t)(h * 3600 + mi * 60) * 1000000, s_us, &v))
        ev->value = v;
}

/* "checkpoint complete: wrote 14178 buffers (43.3%); …; total=0.077 s; …" */
static void classify_checkpoint(struct event *ev, struct str m)
{
    ev->kind = EV_CHECKPOINT;
    long at = str_find(m, "wrote ");
    unsigned long long buffers;
    if (at >= 0 && str_parse_u64(str_skip(m, (size_t)at + 6), &buffers))
        ev->value = (int64_t)buffers;
    at = str_find(m, "total=");
    if (at >= 0)
        parse_decimal_us(str_skip(m, (size_t)at + 6), 1000000, &ev->duration_us);
}

/* "automatic vacuum of table \"db.public.t\": … elapsed: 0.06 s" */
static void classify_autovacuum(struct event *ev, struct str m, enum event_kind kind)
{
    ev->kind = kind;
    long q = str_find(m, "\"");
    if (q >= 0) {
        struct str t = str_skip(m, (size_t)q + 1);
        long e = str_find(t, "\"");
        if (e >= 0)
            ev->object = str_make(t.ptr, (size_t)e);
    }
    long at = str_find(m, "elapsed: ");
    if (at >= 0)
        parse_decimal_us(str_skip(m, (size_t)at + 9), 1000000, &ev->duration_us);
}

/* The SQLSTATE of common errors, for stderr logs whose prefix has no %e. */
static const struct {
    const char *opening;
    const char *sqlstate;
} known_errors[] = {
    { "deadlock detected", "40P01" },
    { "sorry, too many clients already", "53300" },
    { "remaining connection slots are reserved", "53300" },
    { "too many connections for", "53300" },
    { "canceling statement due to statement timeout", "57014" },
    { "canceling statement due to user request", "57014" },
    { "canceling statement due to lock timeout", "55P03" },
    { "could not obtain lock", "55P03" },
    { "canceling statement due to conflict with recovery", "40001" },
    { "could not serialize access", "40001" },
    { "duplicate key value violates unique constraint", "23505" },
    { "null value in column", "23502" },
    { "syntax error at", "42601" },
    { "division by zero", "22012" },
    { "invalid input syntax", "22P02" },
    { "current transaction is aborted", "25P02" },
    { "permission denied", "42501" },
    { "password authentication failed", "28P01" },
    { "no pg_hba.conf entry", "28000" },
    { "terminating connection due to administrator command", "57P01" },
    { "terminating connection due to idle-in-transaction timeout", "25P03" },
    { "the database system is starting up", "57P03" },
    { "the database system is shutting down", "57P03" },
    { "out of memory", "53200" },
    { "value too long for type", "22001" },
};

static void classify_error(struct event *ev, struct str m)
{
    ev->kind = EV_ERROR;
    if (ev->sqlstate.len == 0 || str_eq_cstr(ev->sqlstate, "00000")) {
        ev->sqlstate = STR_NULL;
        for (size_t i = 0; i < ARRAY_SIZE(known_errors); i++) {
            if (str_starts(m, known_errors[i].opening)) {
                ev->sqlstate = str_cstr(known_errors[i].sqlstate);
                break;
            }
        }
        if (!ev->sqlstate.len) {
            /* "relation \"x\" does not exist", "column … does not exist" */
            if (str_find(m, " does not exist") >= 0) {
                if (str_starts(m, "relation "))
                    ev->sqlstate = STR_LIT("42P01");
                else if (str_starts(m, "column "))
                    ev->sqlstate = STR_LIT("42703");
                else if (str_starts(m, "function "))
                    ev->sqlstate = STR_LIT("42883");
                else if (str_starts(m, "database "))
                    ev->sqlstate = STR_LIT("3D000");
                else if (str_starts(m, "role "))
                    ev->sqlstate = STR_LIT("28000");
            } else if (str_find(m, "violates foreign key constraint") >= 0) {
                ev->sqlstate = STR_LIT("23503");
            }
        }
    }
    if (str_eq_cstr(ev->sqlstate, "40P01"))
        ev->flags |= EVF_DEADLOCK;
    else if (str_eq_cstr(ev->sqlstate, "53300"))
        ev->flags |= EVF_TOO_MANY_CLIENTS;
    else if (str_eq_cstr(ev->sqlstate, "57014"))
        ev->flags |= EVF_CANCELED;
}

/*
 * log_error_verbosity = verbose writes the SQLSTATE before the text
 * ("ERROR:  42P01: relation …", "LOG:  00000: duration: …"): take it off.
 * A class starts with a digit or with F, H, P or X (F0, HV, P0, XX).
 */
static void take_verbose_sqlstate(struct event *ev)
{
    struct str m = ev->message;
    if (m.len < 7 || m.ptr[5] != ':' || m.ptr[6] != ' ')
        return;
    if (!(m.ptr[0] >= '0' && m.ptr[0] <= '9') && !strchr("FHPX", m.ptr[0]))
        return;
    for (size_t i = 1; i < 5; i++)
        if (!(m.ptr[i] >= '0' && m.ptr[i] <= '9') && !(m.ptr[i] >= 'A' && m.ptr[i] <= 'Z'))
            return;
    if (!ev->sqlstate.len)
        ev->sqlstate = str_make(m.ptr, 5);
    ev->message = str_skip(m, 7);
}

void pgmsg_classify(struct event *ev)
{
    take_verbose_sqlstate(ev);
    struct str m = ev->message;
    if (ev->detail.len && str_starts(ev->detail, "parameters: ")) {
        ev->params = str_skip(ev->detail, 12);
        ev->detail = STR_NULL;
    }
    if (ev->severity >= SEV_ERROR) {
        classify_error(ev, m);
        return;
    }
    if (ev->severity != SEV_LOG || m.len < 8)
        return;
    switch (m.ptr[0]) {
    case 'd':
        if (classify_duration(ev, m))
            return;
        if (eat(&m, "disconnection: "))
            classify_disconnect(ev, m);
        return;
    case 's':
        classify_statement(ev, m);
        return;
    case 'e':
        classify_statement(ev, m);
        return;
    case 'p':
        classify_lock(ev, m);
        return;
    case 'c':
        if (str_starts(m, "connection received: "))
            ev->kind = EV_CONN_RECEIVED;
        else if (str_starts(m, "connection authorized: "))
            ev->kind = EV_CONNECT;
        else if (str_starts(m, "checkpoint complete: "))
            classify_checkpoint(ev, m);
        return;
    case 'r':
        if (str_starts(m, "replication connection authorized: "))
            ev->kind = EV_CONNECT;
        else if (str_starts(m, "restartpoint complete: "))
            classify_checkpoint(ev, m);
        return;
    case 't':
        if (eat(&m, "temporary file: ")) {
            long at = str_find(m, ", size ");
            unsigned long long bytes;
            if (at >= 0 && str_parse_u64(str_skip(m, (size_t)at + 7), &bytes)) {
                ev->kind = EV_TEMP_FILE;
                ev->value = (int64_t)bytes;
            }
        }
        return;
    case 'a':
        if (str_starts(m, "automatic vacuum of table ") ||
            str_starts(m, "automatic aggressive vacuum of table ") ||
            str_starts(m, "automatic aggressive vacuum to prevent wraparound of table ") ||
            str_starts(m, "automatic vacuum to prevent wraparound of table "))
            classify_autovacuum(ev, m, EV_AUTOVACUUM);
        else if (str_starts(m, "automatic analyze of table "))
            classify_autovacuum(ev, m, EV_AUTOANALYZE);
        return;
    default:
        return;
    }
}
