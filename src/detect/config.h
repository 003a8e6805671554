/* placeholder: being written */
#ifndef SLEUTH_DETECT_CONFIG_H
#define SLEUTH_DETECT_CONFIG_H
#endif
