// float32 micro-kernels for onnxrun; see kernels.c.
#pragma once
