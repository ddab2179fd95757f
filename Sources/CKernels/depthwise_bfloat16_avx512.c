// Depthwise convolution on bfloat16 activations for AVX-512 (BF16 for the stores): 32 channels (16 words of
// bfloat16 pairs) per load, widened by a shift (even channels) and a mask (odd channels) into two float32 vectors
// for two FMAs with float32 weights packed even/odd; the output rounded back to bfloat16 pairs. Half the bytes of
// the float32 kernel's reads and writes, one load per 32 channels.
#include "CKernelsBFloat16.h"
#include "depthwise_geometry.h"

#if ORK_X86
#include <immintrin.h>

#define ORK_TARGET_AVX512BF16 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,fma,avx512bf16")))
#define GROUP 32
#define MAX_PIXELS 8
#define MAX_GROUPS 4
// Accumulators of each parity: pixels x groups is at most this (8 x 1 ... 2 x 4, 1 x 4). Flat arrays keep each
// inlined block's frame small in unoptimized builds (every instance has its own; the worker stacks are 1 MiB).
#define MAX_BLOCK 8
// Groups per outer step: 128 channels, as the float32 kernel (their input rows stay in L1 for the rows below).
#define GROUP_BLOCK 4

// `pixels` consecutive output pixels of `groups` adjacent channel groups, the first being group `first`. Kernel
// columns [kw_begin, kw_end) of every pixel are inside the input; `constant_taps` (0: use kw_end) is
// kw_end - kw_begin as a constant, so the tap loop unrolls (the whole width inside, or an edge pixel's part). `masked`: one tail group of `word_mask` words / `channel_mask` channels.
ORK_INLINE ORK_TARGET_AVX512BF16 void block(const int pixels, const int groups, const int constant_taps,
                                            const int masked, __mmask16 word_mask, __mmask32 channel_mask,
                                            const ork_depthwise_row *g, const uint16_t *input, ptrdiff_t iw0,
                                            size_t kw_begin, size_t kw_end, size_t kernel_w, size_t pixel_step,
                                            size_t tap_step, const uint32_t *packed, size_t first,
                                            size_t group_words, uint16_t *out, size_t channels, __m512 vmin,
                                            __m512 vmax, __m512i interleave) {
    __m512 even[MAX_BLOCK], odd[MAX_BLOCK];  // [t * pixels + p]
    const uint32_t *w[MAX_GROUPS];
    const __m512i high = _mm512_set1_epi32((int)0xFFFF0000u);  // an odd channel's bfloat16 is its word's high half
    ORK_UNROLL
    for (int t = 0; t < groups; t++) {
        w[t] = packed + (first + t) * group_words;
        const __m512 bias_even = _mm512_loadu_ps((const float *)(const void *)w[t]);
        const __m512 bias_odd = _mm512_loadu_ps((const float *)(const void *)(w[t] + 16));
        ORK_UNROLL
        for (int p = 0; p < pixels; p++) {
            even[t * pixels + p] = bias_even;
            odd[t * pixels + p] = bias_odd;
        }
    }
    for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
        // An offset, not a pointer: for a border pixel iw0 < 0 and only columns kw >= kw_begin are in the input.
        const ptrdiff_t row = (ptrdiff_t)g->input_rows[kh - g->kh_begin] + iw0 * (ptrdiff_t)channels;
        const size_t wk = GROUP + kh * kernel_w * GROUP;
#define TAP(kw)                                                                                               \
    ORK_UNROLL                                                                                                \
    for (int t = 0; t < groups; t++) {                                                                        \
        const __m512 w_even = _mm512_loadu_ps((const float *)(const void *)(w[t] + wk + (kw) * GROUP));      \
        const __m512 w_odd = _mm512_loadu_ps((const float *)(const void *)(w[t] + wk + (kw) * GROUP + 16));  \
        ORK_UNROLL                                                                                            \
        for (int p = 0; p < pixels; p++) {                                                                    \
            const uint16_t *x = input + row + (ptrdiff_t)(p * pixel_step + (kw) * tap_step + t * GROUP);      \
            const __m512i xv = masked ? _mm512_maskz_loadu_epi32(word_mask, x) : _mm512_loadu_si512(x);       \
            const int a = t * pixels + p;                                                                     \
            even[a] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(xv, 16)), w_even, even[a]);       \
            odd[a] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(xv, high)), w_odd, odd[a]);         \
        }                                                                                                     \
    }
        if (constant_taps) {
            ORK_UNROLL
            for (int tap = 0; tap < constant_taps; tap++) { TAP(kw_begin + (size_t)tap) }
        } else {
            for (size_t kw = kw_begin; kw < kw_end; kw++) { TAP(kw) }
        }
#undef TAP
    }
    // max(min, v) / min(max, v): a NaN propagates. cvtne2ps gives [even channels][odd channels]; the permutation
    // puts them back in channel order.
    ORK_UNROLL
    for (int t = 0; t < groups; t++) {
        ORK_UNROLL
        for (int p = 0; p < pixels; p++) {
            const __m512 e = _mm512_min_ps(vmax, _mm512_max_ps(vmin, even[t * pixels + p]));
            const __m512 o = _mm512_min_ps(vmax, _mm512_max_ps(vmin, odd[t * pixels + p]));
            const __m512i words = _mm512_permutexvar_epi16(interleave, (__m512i)_mm512_cvtne2ps_pbh(o, e));
            uint16_t *destination = out + p * channels + t * GROUP;
            if (masked) _mm512_mask_storeu_epi16(destination, channel_mask, words);
            else _mm512_storeu_si512(destination, words);
        }
    }
}

// Groups [group_begin, group_end) of `pixels` consecutive output pixels starting at ow, `groups` at a time.
ORK_INLINE ORK_TARGET_AVX512BF16 void pixels_all_groups(const int pixels, const int groups,
                                                        const int constant_taps, const ork_depthwise_args *args,
                                                        const ork_depthwise_row *g, size_t group_begin,
                                                        size_t group_end, size_t ow, ptrdiff_t iw0, size_t kw_begin,
                                                        size_t kw_end, __m512 vmin, __m512 vmax,
                                                        __m512i interleave) {
    const size_t channels = args->channels, full_groups = channels / GROUP, tail = channels % GROUP;
    const size_t group_words = GROUP * (1 + args->kernel_h * args->kernel_w);
    const size_t pixel_step = args->stride_w * channels, tap_step = args->dilation_w * channels;
    const uint16_t *input = (const uint16_t *)(const void *)args->input;
    const uint32_t *packed = (const uint32_t *)(const void *)args->packed_weights;
    uint16_t *out = (uint16_t *)(void *)args->output + (g->output_row + ow) * channels;
    const size_t full_end = ORK_MIN(group_end, full_groups);
    size_t group = group_begin;
    for (; group + groups <= full_end; group += groups) {
        block(pixels, groups, constant_taps, 0, 0xFFFF, 0xFFFFFFFFu, g, input + group * GROUP, iw0, kw_begin,
              kw_end, args->kernel_w, pixel_step, tap_step, packed, group, group_words, out + group * GROUP,
              channels, vmin, vmax, interleave);
    }
    for (; group < full_end; group++) {
        block(pixels, 1, constant_taps, 0, 0xFFFF, 0xFFFFFFFFu, g, input + group * GROUP, iw0, kw_begin,
              kw_end, args->kernel_w, pixel_step, tap_step, packed, group, group_words, out + group * GROUP,
              channels, vmin, vmax, interleave);
    }
    if (tail && group_end > full_groups) {
        const __mmask16 word_mask = (__mmask16)((1u << (tail / 2)) - 1u);
        const __mmask32 channel_mask = (__mmask32)((1u << tail) - 1u);
        block(pixels, 1, constant_taps, 1, word_mask, channel_mask, g, input + full_groups * GROUP, iw0,
              kw_begin, kw_end, args->kernel_w, pixel_step, tap_step, packed, full_groups, group_words,
              out + full_groups * GROUP, channels, vmin, vmax, interleave);
    }
}

static ORK_TARGET_AVX512BF16 void edge_pixel(const ork_depthwise_args *args, const ork_depthwise_row *g,
                                             size_t group_begin, size_t group_end, size_t ow, __m512 vmin,
                                             __m512 vmax, __m512i interleave) {
    ork_depthwise_pixel_geometry p;
    ork_depthwise_pixel(args, ow, &p);
    // The taps inside as a constant count where a 3x3 or 5x5 leaves 1-4 (EfficientNet's 5x5 at 7x7: 4 of 7 columns
    // are edges).
#define EDGE(TAPS)                                                                                              \
    case TAPS:                                                                                                  \
        pixels_all_groups(1, 4, TAPS, args, g, group_begin, group_end, ow, p.iw0, p.kw_begin, p.kw_end, vmin,  \
                          vmax, interleave);                                                                   \
        break;
    switch (p.kw_end - p.kw_begin) {
        EDGE(1) EDGE(2) EDGE(3) EDGE(4)
    default:
        pixels_all_groups(1, 4, 0, args, g, group_begin, group_end, ow, p.iw0, p.kw_begin, p.kw_end, vmin, vmax,
                          interleave);
        break;
    }
#undef EDGE
}

// Interior pixels [begin, end): groups of MAX_PIXELS, then the rest in one block, with the kernel width constant.
ORK_INLINE ORK_TARGET_AVX512BF16 void interior(const int constant_kernel_w, const ork_depthwise_args *args,
                                               const ork_depthwise_row *g, size_t group_begin, size_t group_end,
                                               size_t begin, size_t end, __m512 vmin, __m512 vmax,
                                               __m512i interleave) {
    size_t ow = begin;
    const size_t kernel_w = args->kernel_w;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        pixels_all_groups(MAX_PIXELS, 1, constant_kernel_w, args, g, group_begin, group_end, ow, iw0, 0, kernel_w,
                          vmin, vmax, interleave);
    }
    // The rest (1-7 pixels) in one block; fewer pixels take more groups, for enough independent chains.
    if (ow < end) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
#define REST(PIXELS, GROUPS)                                                                                       \
    case PIXELS:                                                                                                   \
        pixels_all_groups(PIXELS, GROUPS, constant_kernel_w, args, g, group_begin, group_end, ow, iw0, 0,         \
                          kernel_w, vmin, vmax, interleave);                                                      \
        break;
        switch (end - ow) {
            REST(7, 1) REST(6, 1) REST(5, 1) REST(4, 2) REST(3, 2) REST(2, 4) REST(1, 4)
        default: break;
        }
#undef REST
    }
}

// One function per kernel width (3, 5, any), each with its own inlined blocks: one frame holding every width's
// blocks would pass 100 KiB in unoptimized builds.
#define INTERIOR_FOR_WIDTH(NAME, WIDTH)                                                                            \
    static __attribute__((noinline)) ORK_TARGET_AVX512BF16 void NAME(                                            \
        const ork_depthwise_args *args, const ork_depthwise_row *g, size_t group_begin, size_t group_end,         \
        size_t begin, size_t end, __m512 vmin, __m512 vmax, __m512i interleave) {                                \
        interior(WIDTH, args, g, group_begin, group_end, begin, end, vmin, vmax, interleave);                   \
    }
INTERIOR_FOR_WIDTH(interior_3, 3)
INTERIOR_FOR_WIDTH(interior_5, 5)
INTERIOR_FOR_WIDTH(interior_any, 0)
#undef INTERIOR_FOR_WIDTH

ORK_TARGET_AVX512BF16 void ork_depthwise_bfloat16_avx512bf16(const ork_depthwise_args *args, size_t row_begin,
                                                             size_t row_end) {
    if (row_begin >= row_end || args->channels == 0 || args->output_w == 0) return;
    const __m512 vmin = _mm512_set1_ps(args->min), vmax = _mm512_set1_ps(args->max);
    // Word 2i of the output takes even channel i (word i of cvtne2ps's result), word 2i + 1 odd channel i (16 + i).
    uint16_t order[32];
    for (int i = 0; i < 16; i++) {
        order[2 * i] = (uint16_t)i;
        order[2 * i + 1] = (uint16_t)(16 + i);
    }
    const __m512i interleave = _mm512_loadu_si512(order);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(args, &interior_begin, &interior_end);
    const size_t groups = (args->channels + GROUP - 1) / GROUP;
    ork_depthwise_row g;
    for (size_t group_begin = 0; group_begin < groups; group_begin += GROUP_BLOCK) {
        const size_t group_end = ORK_MIN(groups, group_begin + GROUP_BLOCK);
        for (size_t row = row_begin; row < row_end; row++) {
            ork_depthwise_row_geometry(args, row, &g);
            for (size_t ow = 0; ow < interior_begin; ow++)
                edge_pixel(args, &g, group_begin, group_end, ow, vmin, vmax, interleave);
            switch (args->kernel_w) {
            case 3: interior_3(args, &g, group_begin, group_end, interior_begin, interior_end, vmin, vmax, interleave); break;
            case 5: interior_5(args, &g, group_begin, group_end, interior_begin, interior_end, vmin, vmax, interleave); break;
            default:
                interior_any(args, &g, group_begin, group_end, interior_begin, interior_end, vmin, vmax, interleave);
                break;
            }
            for (size_t ow = interior_end; ow < args->output_w; ow++)
                edge_pixel(args, &g, group_begin, group_end, ow, vmin, vmax, interleave);
        }
    }
}

#else

// Other architectures: the name links (tests list it), and ork_bfloat16_detected_isa() never selects it.
void ork_depthwise_bfloat16_avx512bf16(const ork_depthwise_args *args, size_t row_begin, size_t row_end) {
    ork_depthwise_bfloat16_portable(args, row_begin, row_end);
}

#endif
