/* placeholder: being written */
#include "detect/detect.h"
