/*
 * libFuzzer harness for the two readers of index DDL: indexdef_parse
 * (pg_get_indexdef output) and the diagnoser's reading of CREATE INDEX and
 * DROP INDEX statements (which builds a definition and parses it back).
 * Any input must parse or be refused without reading or writing out of
 * bounds, and every parsed key must be a NUL-terminated name. One
 * diagnoser serves every input (diagnoser_reset between them): a new one
 * zeroes megabytes, which made page faults most of the run time.
 */
#include "diagnose/diagnose.h"
#include "sql/indexdef.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct indexdef d;
    if (indexdef_parse(text, &d) == 0) {
        if (d.ncols == 0 || d.ncols > INDEXDEF_MAX_COLS)
            abort();
        for (size_t i = 0; i < d.ncols; i++)
            if (memchr(d.cols[i], '\0', INDEXDEF_NAME_MAX) == NULL)
                abort();
        (void)indexdef_has_column(&d, d.cols[0], d.ncols);
    }
    /* The same text as a statement seen in an interval, then a diagnosis over it. */
    static struct diagnoser *dg;
    if (!dg)
        dg = diagnoser_new();
    diagnoser_reset(dg);
    for (int i = 0; i < 2; i++) {
        struct sample s;
        sample_init(&s);
        s.start_us = 1700000000000000LL + i * 10000000LL;
        s.end_us = s.start_us + 10000000LL;
        struct sample_query q = { .fingerprint = 1, .query = text, .calls = 1, .total_ms = 1 };
        s.queries = &q;
        s.nqueries = 1;
        diagnoser_add(dg, &s, NULL, 0);
        s.queries = NULL;
        s.nqueries = 0;
        sample_release(&s);
    }
    struct incident inc;
    incident_init(&inc);
    diagnoser_begin(dg, 1700000000000000LL, 0);
    diagnoser_diagnose(dg, 1700000000000000LL, 0, &inc);
    incident_release(&inc);
    free(text);
    return 0;
}
