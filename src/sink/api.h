/* placeholder: being written */
#ifndef SLEUTH_SINK_API_H
#define SLEUTH_SINK_API_H
#endif
