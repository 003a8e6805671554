/*
 * libFuzzer harness for ddl_parse, the reader of schema and settings
 * changes (libpg_query's parse tree as JSON): any statement must be read
 * or refused without reading or writing out of bounds, and every name it
 * keeps must be NUL-terminated within its field.
 */
#include "sql/ddl.h"

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
    struct ddl d;
    bool is = ddl_parse(text, &d);
    if (is != (d.kind != DDL_NONE) || !memchr(d.object, '\0', sizeof(d.object)) ||
        !memchr(d.table, '\0', sizeof(d.table)) || !memchr(d.detail, '\0', sizeof(d.detail)))
        abort();
    (void)ddl_candidate(text);
    free(text);
    return 0;
}
