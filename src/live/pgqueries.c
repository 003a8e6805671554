/* placeholder: being written */
#include "live/pgqueries.h"
