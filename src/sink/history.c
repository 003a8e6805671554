/* placeholder: being written */
#include "sink/history.h"
