/* placeholder: being written */
#include "live/poll.h"
