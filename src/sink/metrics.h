/* placeholder: being written */
#ifndef SLEUTH_SINK_METRICS_H
#define SLEUTH_SINK_METRICS_H
#endif
