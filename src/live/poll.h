/* placeholder: being written */
#ifndef SLEUTH_LIVE_POLL_H
#define SLEUTH_LIVE_POLL_H
#endif
