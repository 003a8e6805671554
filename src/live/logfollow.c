/* placeholder: being written */
#include "live/logfollow.h"
