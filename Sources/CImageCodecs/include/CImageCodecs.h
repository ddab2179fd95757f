// JPEG/PNG decoding shims for onnxrun.
#pragma once
