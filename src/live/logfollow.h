/* placeholder: being written */
#ifndef SLEUTH_LIVE_LOGFOLLOW_H
#define SLEUTH_LIVE_LOGFOLLOW_H
#endif
