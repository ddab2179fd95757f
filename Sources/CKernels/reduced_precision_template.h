// The float side of reduced-precision models, written once on clang vector types and compiled per ISA level by the
// reduced_precision_*.c files (which define ORK_WIDTH, ORK_TARGET and ORK_SUFFIX as for elementwise_template.h):
// a tensor's range (DynamicQuantizeLinear), int32 accumulators rescaled to float (onnxruntime's dynamic
// quantization: ConvInteger -> Cast -> Mul -> Add), and float32 rounded to the values of float16 (a Cast to float16
// computed in float32). Each step rounds as the separate ONNX operators do: no contraction into fused multiply-adds.
#include "internal.h"

#include <math.h>
#include <string.h>

#pragma clang fp contract(off)

typedef float rp_float __attribute__((ext_vector_type(ORK_WIDTH)));
typedef int32_t rp_int __attribute__((ext_vector_type(ORK_WIDTH)));

// MARK: - Range

ORK_TARGET void ORK_SUFFIX(ork_min_max)(const float *input, size_t count, float *minimum, float *maximum) {
    rp_float low = INFINITY, high = -INFINITY;
    size_t i = 0;
    for (; i + ORK_WIDTH <= count; i += ORK_WIDTH) {
        rp_float value;
        memcpy(&value, input + i, sizeof value);
        low = value < low ? value : low;
        high = value > high ? value : high;
    }
    float lowest = INFINITY, highest = -INFINITY;
    for (int lane = 0; lane < ORK_WIDTH; lane++) {
        lowest = low[lane] < lowest ? low[lane] : lowest;
        highest = high[lane] > highest ? high[lane] : highest;
    }
    for (; i < count; i++) {
        lowest = input[i] < lowest ? input[i] : lowest;
        highest = input[i] > highest ? input[i] : highest;
    }
    *minimum = lowest;
    *maximum = highest;
}

// MARK: - int32 accumulators to float

ORK_TARGET void ORK_SUFFIX(ork_rescale_int32)(const ork_rescale_args *args, size_t rows) {
    const size_t channels = args->channels;
    const rp_float low = args->min, high = args->max;
    for (size_t row = 0; row < rows; row++) {
        const int32_t *input = args->input + row * channels;
        float *output = args->output + row * channels;
        const float *residual = args->residual ? args->residual + row * channels : NULL;
        size_t c = 0;
        for (; c + ORK_WIDTH <= channels; c += ORK_WIDTH) {
            rp_int accumulator;
            rp_float scale, bias;
            memcpy(&accumulator, input + c, sizeof accumulator);
            memcpy(&scale, args->scale + c, sizeof scale);
            memcpy(&bias, args->bias + c, sizeof bias);
            rp_float value = __builtin_convertvector(accumulator, rp_float) * scale;
            value = value + bias;
            if (residual) {
                rp_float other;
                memcpy(&other, residual + c, sizeof other);
                value = value + other;
            }
            value = value < low ? low : value;
            value = value > high ? high : value;
            memcpy(output + c, &value, sizeof value);
        }
        for (; c < channels; c++) {
            float value = (float)input[c] * args->scale[c];
            value = value + args->bias[c];
            if (residual) value = value + residual[c];
            value = value < args->min ? args->min : value;
            output[c] = value > args->max ? args->max : value;
        }
    }
}

// MARK: - float16 rounding

// The float16 value nearest x (ties to even), as a float: normal float16 magnitudes keep 10 mantissa bits (rounded
// in the integer bits; past 65504 they overflow to infinity), subnormal ones are multiples of 2^-24 (rounded by
// adding and subtracting 0.5, whose ulp is 2^-24); infinities and NaN pass through.
ORK_TARGET void ORK_SUFFIX(ork_round_to_float16)(const float *input, float *output, size_t count) {
    size_t i = 0;
    for (; i + ORK_WIDTH <= count; i += ORK_WIDTH) {
        rp_int bits;
        memcpy(&bits, input + i, sizeof bits);
        const rp_int sign = bits & (int32_t)0x80000000, magnitude = bits & 0x7FFFFFFF;
        rp_int normal = (magnitude + 0x0FFF + ((magnitude >> 13) & 1)) & (int32_t)0xFFFFE000;
        normal = normal > 0x477FE000 ? 0x7F800000 : normal;
        rp_float absolute;
        memcpy(&absolute, &magnitude, sizeof absolute);
        const rp_float tiny = (absolute + 0.5f) - 0.5f;
        rp_int tiny_bits;
        memcpy(&tiny_bits, &tiny, sizeof tiny_bits);
        rp_int rounded = magnitude < 0x38800000 ? tiny_bits : normal;
        rounded = magnitude >= 0x7F800000 ? magnitude : rounded;
        rounded = rounded | sign;
        memcpy(output + i, &rounded, sizeof rounded);
    }
    for (; i < count; i++) {
        int32_t bits;
        memcpy(&bits, input + i, sizeof bits);
        const int32_t sign = bits & (int32_t)0x80000000, magnitude = bits & 0x7FFFFFFF;
        int32_t rounded;
        if (magnitude >= 0x7F800000) {
            rounded = magnitude;
        } else if (magnitude < 0x38800000) {
            float absolute;
            memcpy(&absolute, &magnitude, sizeof absolute);
            absolute = (absolute + 0.5f) - 0.5f;
            memcpy(&rounded, &absolute, sizeof rounded);
        } else {
            rounded = (magnitude + 0x0FFF + ((magnitude >> 13) & 1)) & (int32_t)0xFFFFE000;
            if (rounded > 0x477FE000) rounded = 0x7F800000;
        }
        rounded |= sign;
        memcpy(output + i, &rounded, sizeof rounded);
    }
}
