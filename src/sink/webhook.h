/* placeholder: being written */
#ifndef SLEUTH_SINK_WEBHOOK_H
#define SLEUTH_SINK_WEBHOOK_H
#endif
