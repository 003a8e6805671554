/* placeholder: being written */
#include "sink/console.h"
