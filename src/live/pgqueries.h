/* placeholder: being written */
#ifndef SLEUTH_LIVE_PGQUERIES_H
#define SLEUTH_LIVE_PGQUERIES_H
#endif
