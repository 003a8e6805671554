/* placeholder: being written */
#ifndef SLEUTH_SINK_PAGE_H
#define SLEUTH_SINK_PAGE_H
#endif
