// The parts of the C API that need no Swift: the version string and freeing what the library malloc'd.

#include "onnxrun.h"

#include <stdlib.h>

const char *onnxrun_version(void) { return ONNXRUN_VERSION; }

void onnxrun_free(void *pointer) { free(pointer); }
