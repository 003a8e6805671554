/* placeholder: being written */
#ifndef SLEUTH_SINK_HTTPD_H
#define SLEUTH_SINK_HTTPD_H
#endif
