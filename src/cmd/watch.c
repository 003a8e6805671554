/* placeholder: being written */
#include "cmd/cmd.h"
