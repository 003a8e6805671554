/* placeholder: being written */
#include "sink/metrics.h"
