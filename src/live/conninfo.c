/* placeholder: being written */
#include "live/conninfo.h"
