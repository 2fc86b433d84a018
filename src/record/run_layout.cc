#include "record/run_layout.h"
