// The AVX-512 int8 depthwise kernel's body, included once per variant with QDW_TARGET (the target attribute),
// QDW_NAME(name) (per-variant helper names), QDW_ENTRY (the exported function) and QDW_ACCUMULATE(acc, x, w)
// (acc + x * w on int32 lanes holding int16 values: vpmaddwd + vpaddd, or vpdpwssd with VNNI).
// 16 channels as int32 lanes (bytes widened by vpmovzxbd); interior pixels of full rows skip the zero-point
// subtraction (it is in their bias); border pixels subtract it and visit only the taps inside the input.

#define MAX_PIXELS 8


// `pixels` consecutive output pixels of one 16-channel tile. interior: every tap is inside the input, so the
// raw bytes are multiplied and the interior bias holds -x_zp * sum(w); otherwise x_zp is subtracted per tap and
// only taps [kw_begin, kw_end) x [g->kh_begin, g->kh_end) are visited.
ORK_INLINE QDW_TARGET void QDW_NAME(block)(const int pixels, const int interior, const int constant_kernel_w,
                                        const int constant_stride,
                                        const ork_qdepthwise_args *args, const ork_depthwise_row *g, size_t ow,
                                        ptrdiff_t iw0, size_t kw_begin, size_t kw_end, const int32_t *words,
                                        size_t channel0, __mmask16 mask) {
    const size_t channels = args->channels, kernel_w = args->kernel_w;
    // A constant stride (with dilation 1) lets the compiler load each input column once for all the
    // (pixel, tap) pairs that read it.
    const size_t pixel_step = (constant_stride ? (size_t)constant_stride : args->stride_w) * channels;
    const size_t tap_step = (constant_stride ? 1 : args->dilation_w) * channels;
    __m512i acc[MAX_PIXELS];
    const __m512i bias = _mm512_loadu_si512(words + (interior ? 0 : ORK_TILE));
    ORK_UNROLL
    for (int p = 0; p < pixels; p++) acc[p] = bias;
    const __m512i zero_point = _mm512_set1_epi32(args->x_zero_point);
    if (constant_kernel_w) {
        kw_begin = 0;
        kw_end = (size_t)constant_kernel_w;
    }
    for (size_t kh = g->kh_begin; kh < g->kh_end; kh++) {
        const ptrdiff_t row = (ptrdiff_t)g->input_rows[kh - g->kh_begin] + iw0 * (ptrdiff_t)channels +
                              (ptrdiff_t)channel0;
        const int32_t *wk = words + ORK_QDEPTHWISE_HEADER + kh * kernel_w * ORK_TILE;
#define TAP(kw)                                                                                                  \
    {                                                                                                            \
        const __m512i w = _mm512_loadu_si512(wk + (kw) * ORK_TILE);                                              \
        ORK_UNROLL                                                                                               \
        for (int p = 0; p < pixels; p++) {                                                                       \
            const uint8_t *x = args->input + row + (ptrdiff_t)(p * pixel_step + (kw) * tap_step);                \
            __m512i xv = _mm512_cvtepu8_epi32(mask == 0xFFFF ? _mm_loadu_si128((const __m128i *)x)             \
                                                            : _mm_maskz_loadu_epi8(mask, x));                    \
            if (!interior) xv = _mm512_sub_epi32(xv, zero_point);                                                \
            acc[p] = QDW_ACCUMULATE(acc[p], xv, w);                                                              \
        }                                                                                                        \
    }
        if (constant_kernel_w) {
            ORK_UNROLL
            for (int kw = 0; kw < constant_kernel_w; kw++) TAP(kw)
        } else {
            for (size_t kw = kw_begin; kw < kw_end; kw++) TAP(kw)
        }
#undef TAP
    }
    const ork_qepilogue *e = &args->epilogue;
    const float *scale = (const float *)(words + 2 * ORK_TILE);
    ORK_UNROLL
    for (int p = 0; p < pixels; p++) {
        const size_t offset = (g->output_row + ow + (size_t)p) * channels + channel0;
        if (args->output_int32) {
            _mm512_mask_storeu_epi32(args->output_int32 + offset, mask, acc[p]);
            continue;
        }
        ork_qstore16(acc[p], scale, e, e->residual ? e->residual + offset : NULL, args->output + offset, mask);
    }
}

// All channel tiles of `pixels` pixels from ow.
ORK_INLINE QDW_TARGET void QDW_NAME(pixels_all_tiles)(const int pixels, const int interior, const int constant_kernel_w,
                                                   const int constant_stride,
                                                   const ork_qdepthwise_args *args, const ork_depthwise_row *g,
                                                   size_t ow, ptrdiff_t iw0, size_t kw_begin, size_t kw_end) {
    const size_t channels = args->channels;
    const size_t tile_words = ork_qdepthwise_tile_words(args->kernel_h * args->kernel_w);
    const int32_t *weights = (const int32_t *)args->packed_weights;
    // Full tiles with a constant mask (plain loads), then the tail tile masked.
    const size_t full_tiles = channels / ORK_TILE, tail = channels % ORK_TILE;
    for (size_t tile = 0; tile < full_tiles; tile++) {
        QDW_NAME(block)(pixels, interior, constant_kernel_w, constant_stride, args, g, ow, iw0, kw_begin, kw_end,
                        weights + tile * tile_words, tile * ORK_TILE, (__mmask16)0xFFFF);
    }
    if (tail) {
        QDW_NAME(block)(pixels, interior, constant_kernel_w, constant_stride, args, g, ow, iw0, kw_begin, kw_end,
                        weights + full_tiles * tile_words, full_tiles * ORK_TILE, (__mmask16)((1u << tail) - 1u));
    }

}

ORK_INLINE QDW_TARGET void QDW_NAME(interior_pixels)(const int constant_kernel_w, const int constant_stride,
                                                  const ork_qdepthwise_args *args,
                                                  const ork_depthwise_row *g, size_t begin, size_t end) {
    size_t ow = begin;
    for (; ow + MAX_PIXELS <= end; ow += MAX_PIXELS) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
        QDW_NAME(pixels_all_tiles)(MAX_PIXELS, 1, constant_kernel_w, constant_stride, args, g, ow, iw0, 0, args->kernel_w);
    }
    // The rest (1-7 pixels) in one block: independent accumulator chains instead of one pixel at a time.
    if (ow < end) {
        const ptrdiff_t iw0 = (ptrdiff_t)(ow * args->stride_w) - (ptrdiff_t)args->pad_left;
#define REST(PIXELS)                                                                                              \
    case PIXELS:                                                                                                  \
        QDW_NAME(pixels_all_tiles)(PIXELS, 1, constant_kernel_w, constant_stride, args, g, ow, iw0, 0,           \
                                   args->kernel_w);                                                               \
        break;
        switch (end - ow) {
            REST(7) REST(6) REST(5) REST(4) REST(3) REST(2) REST(1)
        default: break;
        }
#undef REST
    }
}

QDW_TARGET void QDW_ENTRY(const ork_qdepthwise_args *args, size_t row_begin, size_t row_end) {
    const ork_depthwise_args geometry = ork_qdepthwise_geometry(args);
    size_t interior_begin, interior_end;
    ork_depthwise_interior_columns(&geometry, &interior_begin, &interior_end);
    ork_depthwise_row g;
    for (size_t row = row_begin; row < row_end; row++) {
        ork_depthwise_row_geometry(&geometry, row, &g);
        const int full_rows = g.kh_begin == 0 && g.kh_end == args->kernel_h;
        const size_t begin = full_rows ? interior_begin : args->output_w, end = full_rows ? interior_end : args->output_w;
        for (size_t ow = 0; ow < args->output_w; ow++) {
            if (ow == begin && begin < end) {
                const int stride = args->dilation_w == 1 && args->stride_w <= 2 ? (int)args->stride_w : 0;
                if (args->kernel_w == 3 && stride == 1) QDW_NAME(interior_pixels)(3, 1, args, &g, begin, end);
                else if (args->kernel_w == 3 && stride == 2) QDW_NAME(interior_pixels)(3, 2, args, &g, begin, end);
                else if (args->kernel_w == 5 && stride == 1) QDW_NAME(interior_pixels)(5, 1, args, &g, begin, end);
                else if (args->kernel_w == 5 && stride == 2) QDW_NAME(interior_pixels)(5, 2, args, &g, begin, end);
                else QDW_NAME(interior_pixels)(0, 0, args, &g, begin, end);
                ow = end - 1;
                continue;
            }
            ork_depthwise_pixel_geometry p;
            ork_depthwise_pixel(&geometry, ow, &p);
            QDW_NAME(pixels_all_tiles)(1, 0, 0, 0, args, &g, ow, p.iw0, p.kw_begin, p.kw_end);
        }
    }
}


#undef MAX_PIXELS
