/* placeholder: being written */
#ifndef SLEUTH_DETECT_ALERTS_H
#define SLEUTH_DETECT_ALERTS_H
#endif
