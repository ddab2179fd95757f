// Depthwise convolution NHWC: weight packing and the dispatching entry (the levels: depthwise_driver.h).
#include "internal.h"

// MARK: - Packing

size_t ork_depthwise_packed_size(size_t channels, size_t kernel_h, size_t kernel_w) {
    size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    return tiles * ORK_TILE * (1 + kernel_h * kernel_w);
}

void ork_depthwise_pack(const float *weights, const float *bias, size_t channels, size_t kernel_h, size_t kernel_w,
                        float *packed) {
    const size_t taps = kernel_h * kernel_w;
    const size_t tiles = (channels + ORK_TILE - 1) / ORK_TILE;
    for (size_t tile = 0; tile < tiles; tile++) {
        float *destination = packed + tile * ORK_TILE * (1 + taps);
        for (size_t j = 0; j < ORK_TILE; j++) {
            size_t channel = tile * ORK_TILE + j;
            destination[j] = (channel < channels && bias != NULL) ? bias[channel] : 0.0f;
            for (size_t tap = 0; tap < taps; tap++) {
                destination[ORK_TILE + tap * ORK_TILE + j] = channel < channels ? weights[channel * taps + tap] : 0.0f;
            }
        }
    }
}

// MARK: - Dispatch

void ork_depthwise(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    ork_kernels()->depthwise(args, row_begin, row_end);
}
