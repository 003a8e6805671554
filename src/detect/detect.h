/* placeholder: being written */
#ifndef SLEUTH_DETECT_DETECT_H
#define SLEUTH_DETECT_DETECT_H
#endif
