/* placeholder: being written */
#include "sink/httpd.h"
