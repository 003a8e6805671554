/* placeholder: being written */
#ifndef SLEUTH_LIVE_CONNINFO_H
#define SLEUTH_LIVE_CONNINFO_H
#endif
