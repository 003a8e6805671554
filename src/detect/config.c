/* placeholder: being written */
#include "detect/config.h"
