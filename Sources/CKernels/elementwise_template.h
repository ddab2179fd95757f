// Elementwise kernels written once on clang vector types, compiled once per ISA level by the elementwise_*.c files.
//
// The including file defines:
//   ORK_WIDTH      floats per vector (4 portable, 8 AVX2, 16 AVX-512)
//   ORK_TARGET     the function attribute selecting the ISA (empty for portable)
//   ORK_HAS_FMA    1 when fused multiply-add is an instruction (otherwise a libm call per lane: never used then)
//   ORK_SUFFIX(n)  the exported name of function n at this level (n##_avx512, ...)
//
// The transcendental functions are polynomial approximations (as onnxruntime's MLAS and XNNPACK use), measured by
// the tests against libm: exp ~1 ULP (Cephes' expf polynomial), erf from polynomials fitted for this file (max abs
// error 7e-8), tanh from Cephes' tanhf; sigmoid, swish and GELU are built from them.
#include "internal.h"

#include <math.h>
#include <string.h>
#if ORK_WIDTH == 16
#include <immintrin.h>
#endif

typedef float vfloat __attribute__((ext_vector_type(ORK_WIDTH)));
typedef int32_t vint __attribute__((ext_vector_type(ORK_WIDTH)));

#define VECTOR_FUNCTION ORK_INLINE ORK_TARGET

// MARK: - Loads, stores, arithmetic

VECTOR_FUNCTION vfloat load(const float *p) {
    vfloat v;
    memcpy(&v, p, sizeof v);
    return v;
}

VECTOR_FUNCTION void store(float *p, vfloat v) { memcpy(p, &v, sizeof v); }

// The first `count` (< ORK_WIDTH) lanes; the others are 0.
VECTOR_FUNCTION vfloat load_partial(const float *p, size_t count) {
    float lanes[ORK_WIDTH] = {0};
    memcpy(lanes, p, count * sizeof(float));
    return load(lanes);
}

VECTOR_FUNCTION void store_partial(float *p, vfloat v, size_t count) {
    float lanes[ORK_WIDTH];
    store(lanes, v);
    memcpy(p, lanes, count * sizeof(float));
}

VECTOR_FUNCTION vfloat multiply_add(vfloat a, vfloat b, vfloat c) {
#if ORK_HAS_FMA
    return __builtin_elementwise_fma(a, b, c);
#else
    return a * b + c;
#endif
}

// NaN in `value` propagates (the comparisons are false), like the GEMM epilogue's max/min.
VECTOR_FUNCTION vfloat clamp(vfloat value, vfloat minimum, vfloat maximum) {
    value = value < minimum ? minimum : value;
    return value > maximum ? maximum : value;
}

// MARK: - Transcendental functions

// e^x: x = n ln2 + r (Cody-Waite), e^r by Cephes' expf polynomial, 2^n applied in two halves so that n down to
// -150 (denormal results) and up to 128 stay exact; overflow gives +inf, NaN stays NaN.
VECTOR_FUNCTION vfloat exponential(vfloat x) {
    const vfloat clamped = clamp(x, -104.0f, 88.8f);
    // Round to nearest: adding 1.5 * 2^23 leaves n in the low mantissa bits.
    const vfloat shifter = 12582912.0f;
    const vfloat shifted = multiply_add(clamped, 1.44269504088896341f, shifter);
    const vfloat n = shifted - shifter;
    vfloat r = multiply_add(n, -0.693359375f, clamped);
    r = multiply_add(n, 2.12194440e-4f, r);
    vfloat p = 1.9875691500e-4f;
    p = multiply_add(p, r, 1.3981999507e-3f);
    p = multiply_add(p, r, 8.3334519073e-3f);
    p = multiply_add(p, r, 4.1665795894e-2f);
    p = multiply_add(p, r, 1.6666665459e-1f);
    p = multiply_add(p, r, 5.0000001201e-1f);
    p = multiply_add(p, r * r, r + 1.0f);
    const vint exponent = __builtin_convertvector(n, vint);
    const vint half = exponent >> 1;
    const vfloat scale_low = (vfloat)((half + 127) << 23), scale_high = (vfloat)((exponent - half + 127) << 23);
    vfloat result = p * scale_low * scale_high;
    result = x > 88.72283935546875f ? (vfloat)INFINITY : result;
    return x != x ? x : result;
}

// e^z for z <= 0 (NaN stays NaN), the half of the range sigmoid and swish need: a degree-5 polynomial (relative
// error 1e-7 on [-ln2/2, ln2/2], fitted for this file; exponential's degree 7 gives 1 ULP) and no overflow checks.
// Below -120 the result is 0 (e^-104 is already below the smallest denormal). Half the instructions of
// exponential, which matters where a SiLU follows every convolution (EfficientNet: a quarter of its time).
VECTOR_FUNCTION vfloat exponential_nonpositive(vfloat z) {
    z = z < -120.0f ? (vfloat)-120.0f : z;
    const vfloat shifter = 12582912.0f;
    const vfloat n = multiply_add(z, 1.44269504088896341f, shifter) - shifter;
    vfloat r = multiply_add(n, -0.693359375f, z);
    r = multiply_add(n, 2.12194440e-4f, r);
    vfloat p = 0.008290309458971024f;
    p = multiply_add(p, r, 0.041897933930158615f);
    p = multiply_add(p, r, 0.1666763573884964f);
    p = multiply_add(p, r, 0.4999915063381195f);
    p = multiply_add(p, r, 0.9999997019767761f);
    p = multiply_add(p, r, 1.0f);
#if ORK_WIDTH == 16
    // vscalefps: p * 2^n in one instruction, denormal results included.
    return (vfloat)_mm512_scalef_ps((__m512)p, (__m512)n);
#else
    // 2^n in two halves, each a normal float for n down to -174 (z = -120), so denormal results come out right.
    const vint exponent = __builtin_convertvector(n, vint);
    const vint half = exponent >> 1;
    return p * (vfloat)((half + 127) << 23) * (vfloat)((exponent - half + 127) << 23);
#endif
}

// 1 / (1 + e^-x) as (x > 0 ? 1 : e) / (1 + e) with e = e^-|x| <= 1: no overflow, and for x < 0 the result keeps
// its relative accuracy down to the denormals (1 - something never appears). Swish (x sigmoid(alpha x)) likewise.
VECTOR_FUNCTION vfloat sigmoid(vfloat x) {
    const vfloat e = exponential_nonpositive(-__builtin_elementwise_abs(x));
    return (x > 0.0f ? (vfloat)1.0f : e) / (1.0f + e);
}

VECTOR_FUNCTION vfloat swish(vfloat x, vfloat alpha) {
    const vfloat scaled = alpha * x;
    const vfloat e = exponential_nonpositive(-__builtin_elementwise_abs(scaled));
    return (scaled > 0.0f ? x : x * e) / (1.0f + e);
}

// Cephes tanhf: an odd polynomial below |x| = 0.625, 1 - 2 / (e^2|x| + 1) above, the sign put back.
VECTOR_FUNCTION vfloat hyperbolic_tangent(vfloat x) {
    const vfloat magnitude = __builtin_elementwise_abs(x);
    const vfloat z = x * x;
    vfloat p = -5.70498872745e-3f;
    p = multiply_add(p, z, 2.06390887954e-2f);
    p = multiply_add(p, z, -5.37397155531e-2f);
    p = multiply_add(p, z, 1.33314422036e-1f);
    p = multiply_add(p, z, -3.33332819422e-1f);
    const vfloat small = multiply_add(p * z, x, x);
    vfloat large = 1.0f - 2.0f / (exponential(2.0f * magnitude) + 1.0f);
    large = x < 0.0f ? -large : large;
    return magnitude < 0.625f ? small : large;
}

// erf: x * P(x^2) below |x| = 0.9375, 1 - e^Q(|x|) up to 3.92 (erf rounds to 1 above), sign put back.
// P and Q were fitted in double precision (least squares on Chebyshev nodes) to erf(x) / x and log(erfc(x)).
VECTOR_FUNCTION vfloat error_function(vfloat x) {
    const vfloat magnitude = __builtin_elementwise_abs(x);
    const vfloat z = x * x;
    vfloat p = 8.309148688567802e-05f;
    p = multiply_add(p, z, -0.0008129749330691993f);
    p = multiply_add(p, z, 0.005200077313929796f);
    p = multiply_add(p, z, -0.02685912884771824f);
    p = multiply_add(p, z, 0.11283694207668304f);
    p = multiply_add(p, z, -0.37612634897232056f);
    p = multiply_add(p, z, 1.128379225730896f);
    const vfloat small = x * p;
    const vfloat t = magnitude < 3.92f ? magnitude : 3.92f;
    vfloat q = 1.639773472561501e-06f;
    q = multiply_add(q, t, -4.607579467119649e-05f);
    q = multiply_add(q, t, 0.0005966665339656174f);
    q = multiply_add(q, t, -0.004757590126246214f);
    q = multiply_add(q, t, 0.026411600410938263f);
    q = multiply_add(q, t, -0.11005659401416779f);
    q = multiply_add(q, t, -0.6318580508232117f);
    q = multiply_add(q, t, -1.1302106380462646f);
    q = multiply_add(q, t, 0.00031354391830973327f);
    vfloat large = magnitude < 3.92f ? 1.0f - exponential(q) : (vfloat)1.0f;
    large = x < 0.0f ? -large : large;
    return magnitude < 0.9375f ? small : (x != x ? x : large);
}

// GELU, x / 2 * (1 + erf(x / sqrt(2))), with erf as one odd rational function on [-4, 4] (erf is +-1 in float
// outside): the approximation XLA and Eigen use, max abs error 4.5e-7 on erf, so GELU stays within 3e-7 of
// max(|x|, |GELU(x)|). A third of the work of error_function's two branches and its exponential, which a GEMM
// epilogue pays on every output (ConvNeXt's MLP).
VECTOR_FUNCTION vfloat gelu(vfloat v) {
    const vfloat x = clamp(v * 0.70710678118654752f, -4.0f, 4.0f);
    const vfloat z = x * x;
    vfloat p = -2.72614225801306e-10f;
    p = multiply_add(p, z, 2.77068142495902e-08f);
    p = multiply_add(p, z, -2.10102402082508e-06f);
    p = multiply_add(p, z, -5.69250639462346e-05f);
    p = multiply_add(p, z, -7.34990630326855e-04f);
    p = multiply_add(p, z, -2.95459980854025e-03f);
    p = multiply_add(p, z, -1.60960333262415e-02f);
    vfloat q = -1.45660718464996e-05f;
    q = multiply_add(q, z, -2.13374055278905e-04f);
    q = multiply_add(q, z, -1.68282697438203e-03f);
    q = multiply_add(q, z, -7.37332916720468e-03f);
    q = multiply_add(q, z, -1.42647390514189e-02f);
    return 0.5f * v * (1.0f + x * p / q);
}

// MARK: - Activations

// `body(v)` over count floats, ORK_WIDTH at a time, the rest through a partial vector.
#define FOR_EACH_VECTOR(EXPRESSION)                                                                   \
    do {                                                                                              \
        size_t i = 0;                                                                                 \
        for (; i + ORK_WIDTH <= count; i += ORK_WIDTH) {                                              \
            const vfloat v = load(input + i);                                                         \
            store(output + i, (EXPRESSION));                                                          \
        }                                                                                             \
        if (i < count) {                                                                              \
            const vfloat v = load_partial(input + i, count - i);                                      \
            store_partial(output + i, (EXPRESSION), count - i);                                       \
        }                                                                                             \
    } while (0)

ORK_TARGET void ORK_SUFFIX(ork_activation_apply)(const ork_activation *activation, const float *input,
                                                 float *output, size_t count) {
    const vfloat alpha = activation->alpha, beta = activation->beta;
    switch ((ork_activation_kind)activation->kind) {
    case ORK_ACTIVATION_IDENTITY:
        if (input != output) memmove(output, input, count * sizeof(float));
        return;
    case ORK_ACTIVATION_CLAMP: FOR_EACH_VECTOR(clamp(v, alpha, beta)); return;
    case ORK_ACTIVATION_SIGMOID: FOR_EACH_VECTOR(sigmoid(v)); return;
    case ORK_ACTIVATION_HARD_SIGMOID: FOR_EACH_VECTOR(clamp(alpha * v + beta, 0.0f, 1.0f)); return;
    case ORK_ACTIVATION_HARD_SWISH: FOR_EACH_VECTOR(v * clamp(v / 6.0f + 0.5f, 0.0f, 1.0f)); return;
    case ORK_ACTIVATION_SWISH: FOR_EACH_VECTOR(swish(v, alpha)); return;
    case ORK_ACTIVATION_LEAKY_RELU: FOR_EACH_VECTOR(v >= 0.0f ? v : alpha * v); return;
    case ORK_ACTIVATION_GELU: FOR_EACH_VECTOR(gelu(v)); return;
    case ORK_ACTIVATION_GELU_TANH:
        FOR_EACH_VECTOR(0.5f * v * (1.0f + hyperbolic_tangent(0.79788456080286536f * (v + 0.044715f * v * v * v))));
        return;
    case ORK_ACTIVATION_TANH: FOR_EACH_VECTOR(hyperbolic_tangent(v)); return;
    case ORK_ACTIVATION_EXP: FOR_EACH_VECTOR(exponential(v)); return;
    case ORK_ACTIVATION_ERF: FOR_EACH_VECTOR(error_function(v)); return;
    case ORK_ACTIVATION_NEGATE: FOR_EACH_VECTOR(-v); return;
    case ORK_ACTIVATION_ABSOLUTE: FOR_EACH_VECTOR(__builtin_elementwise_abs(v)); return;
    case ORK_ACTIVATION_SQUARE_ROOT: FOR_EACH_VECTOR(__builtin_elementwise_sqrt(v)); return;
    case ORK_ACTIVATION_RECIPROCAL: FOR_EACH_VECTOR(1.0f / v); return;
    case ORK_ACTIVATION_SQUARE: FOR_EACH_VECTOR(v * v); return;
    }
}

#undef FOR_EACH_VECTOR

// MARK: - Binary arithmetic with broadcasting

// Binary maximum / minimum with NaN from either side propagating (ONNX Max/Min, as onnxruntime).
VECTOR_FUNCTION vfloat maximum(vfloat a, vfloat b) {
    const vfloat larger = a > b ? a : b;
    return a != a ? a : (b != b ? b : larger);
}

VECTOR_FUNCTION vfloat minimum(vfloat a, vfloat b) {
    const vfloat smaller = a < b ? a : b;
    return a != a ? a : (b != b ? b : smaller);
}

// One row: out[i] = a[i * a_step] op b[i * b_step], steps 0 (one value for the row) or 1.
#define ROW_LOOP(EXPRESSION)                                                                          \
    do {                                                                                              \
        size_t i = 0;                                                                                 \
        if (a_step && b_step) {                                                                       \
            for (; i + ORK_WIDTH <= count; i += ORK_WIDTH) {                                          \
                const vfloat x = load(a + i), y = load(b + i);                                        \
                store(output + i, (EXPRESSION));                                                      \
            }                                                                                         \
        } else if (a_step) {                                                                          \
            const vfloat y = b[0];                                                                    \
            for (; i + ORK_WIDTH <= count; i += ORK_WIDTH) {                                          \
                const vfloat x = load(a + i);                                                         \
                store(output + i, (EXPRESSION));                                                      \
            }                                                                                         \
        } else if (b_step) {                                                                          \
            const vfloat x = a[0];                                                                    \
            for (; i + ORK_WIDTH <= count; i += ORK_WIDTH) {                                          \
                const vfloat y = load(b + i);                                                         \
                store(output + i, (EXPRESSION));                                                      \
            }                                                                                         \
        }                                                                                             \
        if (i < count) {                                                                              \
            const vfloat x = a_step ? load_partial(a + i, count - i) : (vfloat)a[0];                  \
            const vfloat y = b_step ? load_partial(b + i, count - i) : (vfloat)b[0];                  \
            store_partial(output + i, (EXPRESSION), count - i);                                       \
        }                                                                                             \
    } while (0)

static ORK_TARGET void binary_row(ork_binary_operation operation, const float *a, size_t a_step, const float *b,
                                  size_t b_step, float *output, size_t count) {
    switch (operation) {
    case ORK_BINARY_ADD: ROW_LOOP(x + y); return;
    case ORK_BINARY_SUBTRACT: ROW_LOOP(x - y); return;
    case ORK_BINARY_MULTIPLY: ROW_LOOP(x * y); return;
    case ORK_BINARY_DIVIDE: ROW_LOOP(x / y); return;
    case ORK_BINARY_MAXIMUM: ROW_LOOP(maximum(x, y)); return;
    case ORK_BINARY_MINIMUM: ROW_LOOP(minimum(x, y)); return;
    }
}

#undef ROW_LOOP

// Rows shorter than this, repeated down a contiguous operand, take the periodic loop.
#define PERIODIC_ROW_LIMIT (2 * ORK_WIDTH)

// Elements begin..<end of `full op row` (or `row op full` when `row_is_a`) where `row` (`inner` < PERIODIC_ROW_LIMIT
// values) repeats along the contiguous `full`: a per-channel constant on the last axis of an NHWC image ([H * W, 3]
// for an RGB input's normalization) would otherwise make rows of 3 elements, each a partial vector. `row` is laid
// out repeated in a tile whose period is a multiple of both `inner` and the vector width, so whole vectors run.
#define PERIODIC_LOOP(EXPRESSION)                                                                     \
    do {                                                                                              \
        for (size_t start = 0; start < count; start += period) {                                      \
            const size_t length = ORK_MIN(period, count - start);                                     \
            size_t t = 0;                                                                             \
            for (; t + ORK_WIDTH <= length; t += ORK_WIDTH) {                                         \
                const vfloat p = load(full + start + t), q = load(tile + phase + t);                  \
                const vfloat x = row_is_a ? q : p, y = row_is_a ? p : q;                              \
                store(output + start + t, (EXPRESSION));                                              \
            }                                                                                         \
            if (t < length) {                                                                         \
                const vfloat p = load_partial(full + start + t, length - t);                          \
                const vfloat q = load_partial(tile + phase + t, length - t);                          \
                const vfloat x = row_is_a ? q : p, y = row_is_a ? p : q;                              \
                store_partial(output + start + t, (EXPRESSION), length - t);                          \
            }                                                                                         \
        }                                                                                             \
    } while (0)

static ORK_TARGET void binary_periodic(ork_binary_operation operation, const float *full, const float *row,
                                       size_t inner, int row_is_a, float *output, size_t begin, size_t end) {
    size_t period = inner;
    while (period % ORK_WIDTH) period += inner;
    // period <= inner * ORK_WIDTH; a range starts `phase` elements into the row.
    float tile[PERIODIC_ROW_LIMIT * ORK_WIDTH + PERIODIC_ROW_LIMIT];
    for (size_t i = 0; i < period + inner; i++) tile[i] = row[i % inner];
    const size_t phase = begin % inner, count = end - begin;
    full += begin;
    output += begin;
    switch (operation) {
    case ORK_BINARY_ADD: PERIODIC_LOOP(x + y); return;
    case ORK_BINARY_SUBTRACT: PERIODIC_LOOP(x - y); return;
    case ORK_BINARY_MULTIPLY: PERIODIC_LOOP(x * y); return;
    case ORK_BINARY_DIVIDE: PERIODIC_LOOP(x / y); return;
    case ORK_BINARY_MAXIMUM: PERIODIC_LOOP(maximum(x, y)); return;
    case ORK_BINARY_MINIMUM: PERIODIC_LOOP(minimum(x, y)); return;
    }
}

#undef PERIODIC_LOOP

ORK_TARGET void ORK_SUFFIX(ork_binary)(int operation, const ork_broadcast *geometry, const float *a, const float *b,
                                       float *output, size_t begin, size_t end) {
    const size_t rank = geometry->rank;
    if (rank == 0 || rank > ORK_BROADCAST_MAX_RANK || begin >= end) return;
    const size_t inner = geometry->shape[rank - 1];
    if (inner == 0) return;
    const size_t a_step = geometry->a_strides[rank - 1], b_step = geometry->b_strides[rank - 1];
    if (rank == 2 && inner < PERIODIC_ROW_LIMIT && a_step == 1 && b_step == 1) {
        const size_t a_rows = geometry->a_strides[0], b_rows = geometry->b_strides[0];
        if (a_rows == inner && b_rows == 0) {
            binary_periodic((ork_binary_operation)operation, a, b, inner, 0, output, begin, end);
            return;
        }
        if (a_rows == 0 && b_rows == inner) {
            binary_periodic((ork_binary_operation)operation, b, a, inner, 1, output, begin, end);
            return;
        }
    }
    // The outer index of `begin`'s row, digit by digit (an odometer over the outer axes from here on).
    size_t index[ORK_BROADCAST_MAX_RANK] = {0};
    size_t row = begin / inner, a_offset = 0, b_offset = 0;
    for (size_t axis = rank - 1; axis-- > 0;) {
        index[axis] = row % geometry->shape[axis];
        row /= geometry->shape[axis];
        a_offset += index[axis] * geometry->a_strides[axis];
        b_offset += index[axis] * geometry->b_strides[axis];
    }
    size_t column = begin % inner, position = begin;
    while (position < end) {
        const size_t count = ORK_MIN(inner - column, end - position);
        binary_row((ork_binary_operation)operation, a + a_offset + column * a_step, a_step,
                   b + b_offset + column * b_step, b_step, output + position, count);
        position += count;
        column = 0;
        for (size_t axis = rank - 1; axis-- > 0;) {
            a_offset += geometry->a_strides[axis];
            b_offset += geometry->b_strides[axis];
            if (++index[axis] < geometry->shape[axis]) break;
            a_offset -= index[axis] * geometry->a_strides[axis];
            b_offset -= index[axis] * geometry->b_strides[axis];
            index[axis] = 0;
        }
    }
}

// MARK: - Reductions

ORK_TARGET void ORK_SUFFIX(ork_mean_rows)(const float *input, size_t rows, size_t columns, float *output) {
    const float scale = rows ? 1.0f / (float)rows : 0.0f;
    size_t column = 0;
    // Four vectors of columns at a time: four independent add chains down the rows.
    for (; column + 4 * ORK_WIDTH <= columns; column += 4 * ORK_WIDTH) {
        vfloat sum0 = 0.0f, sum1 = 0.0f, sum2 = 0.0f, sum3 = 0.0f;
        for (size_t row = 0; row < rows; row++) {
            const float *p = input + row * columns + column;
            sum0 += load(p);
            sum1 += load(p + ORK_WIDTH);
            sum2 += load(p + 2 * ORK_WIDTH);
            sum3 += load(p + 3 * ORK_WIDTH);
        }
        store(output + column, sum0 * scale);
        store(output + column + ORK_WIDTH, sum1 * scale);
        store(output + column + 2 * ORK_WIDTH, sum2 * scale);
        store(output + column + 3 * ORK_WIDTH, sum3 * scale);
    }
    for (; column < columns; column += ORK_WIDTH) {
        const size_t count = ORK_MIN((size_t)ORK_WIDTH, columns - column);
        vfloat sum = 0.0f;
        for (size_t row = 0; row < rows; row++) sum += load_partial(input + row * columns + column, count);
        store_partial(output + column, sum * scale, count);
    }
}
