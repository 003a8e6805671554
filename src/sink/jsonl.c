/* placeholder: being written */
#include "sink/jsonl.h"
