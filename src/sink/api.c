/* placeholder: being written */
#include "sink/api.h"
