/* placeholder: being written */
#include "sink/webhook.h"
