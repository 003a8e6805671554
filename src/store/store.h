/* placeholder: being written */
#ifndef SLEUTH_STORE_STORE_H
#define SLEUTH_STORE_STORE_H
#endif
