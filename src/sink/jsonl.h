/* placeholder: being written */
#ifndef SLEUTH_SINK_JSONL_H
#define SLEUTH_SINK_JSONL_H
#endif
