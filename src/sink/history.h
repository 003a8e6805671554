/* placeholder: being written */
#ifndef SLEUTH_SINK_HISTORY_H
#define SLEUTH_SINK_HISTORY_H
#endif
