/* placeholder: being written */
#ifndef SLEUTH_SINK_CONSOLE_H
#define SLEUTH_SINK_CONSOLE_H
#endif
