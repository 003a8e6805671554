/*
 * The JSON-lines sink (see jsonl.h): the machine-readable end of `sleuth
 * watch`. It serialises what alert_json builds and adds nothing, so the
 * line, the webhook's generic body and the HTTP API agree field for field.
 */
#include "sink/jsonl.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int jsonl_alert_write(FILE *f, enum alert_change change, const struct alert *a, struct err *err)
{
    json_t *o = alert_json(a, (int)change);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!text)
        return err_set(err, ERR_IO, "cannot serialise alert %016" PRIx64, a->id);

    /* One locked write, so lines from several threads never mix. */
    flockfile(f);
    errno = 0;
    bool ok = fputs(text, f) != EOF && putc_unlocked('\n', f) != EOF;
    ok = fflush(f) == 0 && ok;
    int saved = errno;
    funlockfile(f);
    free(text);
    if (!ok || ferror(f))
        return err_set(err, ERR_IO, "cannot write alert: %s",
                       saved ? strerror(saved) : "write error");
    return 0;
}
