/* placeholder: being written */
#include "sink/page.h"
