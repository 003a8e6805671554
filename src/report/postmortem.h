/*
 * The postmortem of one incident: the draft a team would otherwise write by
 * hand, in the shape they already use for web-stack outages (issue
 * summary, timeline, root cause and resolution, corrective and preventive
 * measures, a playbook for the next time, time to detect and to recover).
 *
 * Every sentence is built from the incident (core/incident.h) and the
 * analysis it came from; what no log can know (who was paged, who decided)
 * is left as a marked blank, and what these sources lack (the users' side
 * without a web access log) is said, not invented. The document is built
 * once (struct pm_doc) and written as Markdown, HTML or JSON from it, so
 * the three forms say the same; the JSON lists every number with where it
 * came from.
 */
#ifndef SLEUTH_REPORT_POSTMORTEM_H
#define SLEUTH_REPORT_POSTMORTEM_H

#include "report/render.h"

#include <stdbool.h>
#include <stdio.h>

/*
 * The incident a postmortem is about: the one whose seq is `seq` (0: the
 * worst, incident_worst). NULL when there is none.
 */
const struct incident *postmortem_pick(const struct incident *incs, size_t n, int seq);

/* Writes the postmortem of inc in r's format (text is written as Markdown); 0, or -1. */
int postmortem_write(const struct report *r, const struct incident *inc, FILE *out);

/*
 * With access logs and no database incident: the web tier's worst stretch
 * of failed or slow pages as an incident (release with incident_release),
 * whose postmortem says whether the database is to blame. False when the
 * web tier had none.
 */
bool postmortem_web_incident(const struct report *r, struct incident *out);
/* Writes the postmortem of such an incident. */
int postmortem_write_web(const struct report *r, const struct incident *inc, FILE *out);

#endif
