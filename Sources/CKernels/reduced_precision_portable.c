// The reduced-precision float kernels (reduced_precision_template.h) at the portable level (4-float vectors).
#include "internal.h"

#define ORK_WIDTH 4
#define ORK_TARGET
#define ORK_SUFFIX(name) name##_portable
#include "reduced_precision_template.h"
