/* placeholder: being written */
#ifndef SLEUTH_LIVE_PGBOUNCER_H
#define SLEUTH_LIVE_PGBOUNCER_H
#endif
