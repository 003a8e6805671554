/* placeholder: being written */
#include "detect/alerts.h"
