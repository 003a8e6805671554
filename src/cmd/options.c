/*
 * Option value parsing shared by the subcommands.
 */
#include "cmd.h"

#include "util/xalloc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

bool parse_duration_us(const char *s, int64_t default_unit_us, int64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return false;
    int64_t unit = default_unit_us;
    if (strcmp(end, "us") == 0)
        unit = 1;
    else if (strcmp(end, "ms") == 0)
        unit = 1000;
    else if (strcmp(end, "s") == 0)
        unit = 1000000;
    else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
        unit = 60 * 1000000LL;
    else if (strcmp(end, "h") == 0)
        unit = 3600 * 1000000LL;
    else if (strcmp(end, "d") == 0)
        unit = 86400 * 1000000LL;
    else if (*end)
        return false;
    *out = (int64_t)(v * (double)unit + 0.5);
    return true;
}

bool parse_size_bytes(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno || *s == '-')
        return false;
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift && *++end == 'B')
        end++;
    if (*end || v > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

void list_add_csv(const char ***list, size_t *n, const char *s)
{
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        *list = xrealloc(*list, (*n + 2) * sizeof(**list));
        (*list)[(*n)++] = xmemdup(p, len);
        (*list)[*n] = NULL;
        if (!comma)
            break;
        p = comma + 1;
    }
}

int usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "sleuth %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'sleuth %s --help'\n", cmd);
    return EXIT_USAGE;
}

int parse_log_format(const char *s, enum log_format *f)
{
    if (strcmp(s, "auto") == 0)
        *f = LOGFMT_AUTO;
    else if (strcmp(s, "stderr") == 0)
        *f = LOGFMT_STDERR;
    else if (strcmp(s, "csvlog") == 0 || strcmp(s, "csv") == 0)
        *f = LOGFMT_CSV;
    else if (strcmp(s, "jsonlog") == 0 || strcmp(s, "json") == 0 || strcmp(s, "cnpg") == 0)
        *f = LOGFMT_JSON; /* the jsonlog reader reads CloudNativePG's records too */
    else if (strcmp(s, "syslog") == 0 || strcmp(s, "logplex") == 0 || strcmp(s, "cloudsql") == 0)
        *f = LOGFMT_SYSLOG; /* the syslog reader reads Heroku's and Cloud SQL's wrappings too */
    else if (strcmp(s, "pgbouncer") == 0)
        *f = LOGFMT_PGBOUNCER;
    else
        return -1;
    return 0;
}

char *secret_arg_take(char *arg, bool (*scrub)(char *arg))
{
    if (!arg)
        return NULL;
    char *copy = xstrdup(arg);
    scrub(arg);
    return copy;
}

char *secret_read_file(const char *path, char *msg, size_t msg_size)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        snprintf(msg, msg_size, "cannot read '%s': %s", path, strerror(errno));
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f);
    if (f != stdin)
        fclose(f);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (n <= 0) {
        snprintf(msg, msg_size, "'%s' has an empty first line", path);
        free(line);
        return NULL;
    }
    return line;
}
