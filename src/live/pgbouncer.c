/* placeholder: being written */
#include "live/pgbouncer.h"
