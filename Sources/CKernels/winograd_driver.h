// Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution NHWC, written once in the vector vocabulary of vector_ops.h
// and compiled per ISA by winograd_{portable,avx2,avx512}.c: per block of tiles, the input transform (channels
// innermost, so every transform is a few vector adds per channel vector), 16 or 36 GEMMs on that level's kernel,
// the output transform with the epilogue (residual, clamp, activation) in its store.
//
// Define ORK_WINOGRAD_FUNCTION (the exported name) and ORK_WINOGRAD_GEMM (the level's ork_gemm); include
// vector_ops.h first.
#include <math.h>
#include <string.h>

// Loads the channel vector at c (masked on the last one).
ORK_INLINE ORK_V_TARGET ork_v load_channels(const float *p, size_t c, int masked, ork_v_mask mask) {
    return masked ? ork_v_load_masked(mask, p + c) : ork_v_load(p + c);
}

ORK_INLINE ORK_V_TARGET void store_channels(float *p, size_t c, int masked, ork_v_mask mask, ork_v value) {
    if (masked) {
        ork_v_store_masked(p + c, mask, value);
    } else {
        ork_v_store(p + c, value);
    }
}

// The epilogue of one output pixel's channel vector: clamp(y + residual) into destination (NULL: past the image).
ORK_INLINE ORK_V_TARGET void store_output(float *destination, const float *residual, size_t c, int masked,
                                          ork_v_mask mask, ork_v y, ork_v vmin, ork_v vmax) {
    if (destination == NULL) return;
    if (residual) y = ork_v_add(y, load_channels(residual, c, masked, mask));
    store_channels(destination, c, masked, mask, ork_v_min(vmax, ork_v_max(vmin, y)));
}

// MARK: - F(2x2, 3x3)

// V = Bt d B for the channel vector at c of the 16 window pixels (row-major 4x4; padding taps point at zeros),
// Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]; V[xi] goes to v + xi * xi_stride + c.
ORK_INLINE ORK_V_TARGET void transform_input2(const float *const window[16], size_t c, int masked, ork_v_mask mask,
                                              float *v, size_t xi_stride) {
    ork_v t[4][4];
    for (int j = 0; j < 4; j++) {
        ork_v d[4];
        for (int i = 0; i < 4; i++) d[i] = load_channels(window[4 * i + j], c, masked, mask);
        t[0][j] = ork_v_sub(d[0], d[2]);
        t[1][j] = ork_v_add(d[1], d[2]);
        t[2][j] = ork_v_sub(d[2], d[1]);
        t[3][j] = ork_v_sub(d[1], d[3]);
    }
    for (int i = 0; i < 4; i++) {
        const ork_v row[4] = {ork_v_sub(t[i][0], t[i][2]), ork_v_add(t[i][1], t[i][2]), ork_v_sub(t[i][2], t[i][1]),
                              ork_v_sub(t[i][1], t[i][3])};
        for (int j = 0; j < 4; j++) store_channels(v + (size_t)(4 * i + j) * xi_stride, c, masked, mask, row[j]);
    }
}

// Y = At M A for the channel vector at c (M[xi] at m + xi * xi_stride + c), At = [1 1 1 0; 0 1 -1 -1], then
// the epilogue into the outputs that exist (NULL past the image's edge).
ORK_INLINE ORK_V_TARGET void transform_output2(const float *m, size_t xi_stride, size_t c, int masked,
                                               ork_v_mask mask, float *const output[4], const float *const residual[4],
                                               ork_v vmin, ork_v vmax) {
    ork_v s[2][4];
    for (int j = 0; j < 4; j++) {
        ork_v p[4];
        for (int i = 0; i < 4; i++) p[i] = load_channels(m + (size_t)(4 * i + j) * xi_stride, c, masked, mask);
        s[0][j] = ork_v_add(ork_v_add(p[0], p[1]), p[2]);
        s[1][j] = ork_v_sub(ork_v_sub(p[1], p[2]), p[3]);
    }
    for (int i = 0; i < 2; i++) {
        const ork_v y[2] = {ork_v_add(ork_v_add(s[i][0], s[i][1]), s[i][2]),
                            ork_v_sub(ork_v_sub(s[i][1], s[i][2]), s[i][3])};
        for (int j = 0; j < 2; j++)
            store_output(output[2 * i + j], residual[2 * i + j], c, masked, mask, y[j], vmin, vmax);
    }
}

// MARK: - F(4x4, 3x3)

// Bt d (one column of six) with Bt = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
// 0 4 0 -5 0 1], in the factored form of NNPACK/ncnn (shared partial sums).
ORK_INLINE ORK_V_TARGET void input_column4(const ork_v d[6], ork_v t[6]) {
    const ork_v four = ork_v_set1(4.0f), minus_four = ork_v_set1(-4.0f), minus_five = ork_v_set1(-5.0f);
    const ork_v p = ork_v_fma(minus_four, d[2], d[4]), q = ork_v_fma(minus_four, d[1], d[3]);
    const ork_v r = ork_v_sub(d[4], d[2]), difference = ork_v_sub(d[3], d[1]);
    const ork_v s = ork_v_add(difference, difference);
    t[0] = ork_v_fma(four, d[0], ork_v_fma(minus_five, d[2], d[4]));
    t[1] = ork_v_add(p, q);
    t[2] = ork_v_sub(p, q);
    t[3] = ork_v_add(r, s);
    t[4] = ork_v_sub(r, s);
    t[5] = ork_v_fma(four, d[1], ork_v_fma(minus_five, d[3], d[5]));
}

// V = Bt d B for the channel vector at c of the 36 window pixels (row-major 6x6).
ORK_INLINE ORK_V_TARGET void transform_input4(const float *const window[36], size_t c, int masked, ork_v_mask mask,
                                              float *v, size_t xi_stride) {
    ork_v columns[6][6];  // columns[j] = Bt d[:, j]
    for (int j = 0; j < 6; j++) {
        ork_v d[6];
        for (int i = 0; i < 6; i++) d[i] = load_channels(window[6 * i + j], c, masked, mask);
        input_column4(d, columns[j]);
    }
    for (int i = 0; i < 6; i++) {
        ork_v row[6], out[6];
        for (int j = 0; j < 6; j++) row[j] = columns[j][i];
        input_column4(row, out);
        for (int j = 0; j < 6; j++) store_channels(v + (size_t)(6 * i + j) * xi_stride, c, masked, mask, out[j]);
    }
}

// At m (one column of six) with At = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1].
ORK_INLINE ORK_V_TARGET void output_column4(const ork_v m[6], ork_v o[4]) {
    const ork_v a = ork_v_add(m[1], m[2]), b = ork_v_sub(m[1], m[2]);
    const ork_v c = ork_v_add(m[3], m[4]), d = ork_v_sub(m[3], m[4]);
    o[0] = ork_v_add(ork_v_add(m[0], a), c);
    o[1] = ork_v_fma(ork_v_set1(2.0f), d, b);
    o[2] = ork_v_fma(ork_v_set1(4.0f), c, a);
    o[3] = ork_v_add(ork_v_fma(ork_v_set1(8.0f), d, b), m[5]);
}

// Y = At M A for the channel vector at c, then the epilogue into the outputs that exist.
ORK_INLINE ORK_V_TARGET void transform_output4(const float *m, size_t xi_stride, size_t c, int masked,
                                               ork_v_mask mask, float *const output[16],
                                               const float *const residual[16], ork_v vmin, ork_v vmax) {
    ork_v columns[6][4];  // columns[j] = At M[:, j]
    for (int j = 0; j < 6; j++) {
        ork_v p[6];
        for (int i = 0; i < 6; i++) p[i] = load_channels(m + (size_t)(6 * i + j) * xi_stride, c, masked, mask);
        output_column4(p, columns[j]);
    }
    for (int i = 0; i < 4; i++) {
        ork_v row[6], y[4];
        for (int j = 0; j < 6; j++) row[j] = columns[j][i];
        output_column4(row, y);
        for (int j = 0; j < 4; j++)
            store_output(output[4 * i + j], residual[4 * i + j], c, masked, mask, y[j], vmin, vmax);
    }
}

// MARK: - The driver

// `tile` (2 or 4) is a constant after inlining, so each variant's window and transforms are fixed-size.
ORK_INLINE ORK_V_TARGET void winograd(const ork_convolution_args *args, const size_t tile, size_t tile_begin,
                                      size_t tile_end, size_t channel_begin, size_t channel_end, float *scratch) {
    const size_t input_channels = args->input_channels, output_channels = args->output_channels;
    const size_t tiles_h = (args->output_h + tile - 1) / tile, tiles_w = (args->output_w + tile - 1) / tile;
    channel_end = ORK_MIN(channel_end, output_channels);
    if (tile_begin >= tile_end || channel_begin >= channel_end || channel_begin % ORK_GEMM_COLUMN_BLOCK != 0 ||
        input_channels == 0)
        return;
    const size_t side = tile + 2, positions = side * side;
    const size_t block = ork_winograd_tiles_per_block(input_channels, output_channels, positions);
    float *zeros = scratch;
    memset(zeros, 0, input_channels * sizeof(float));
    float *v = scratch + (input_channels + 15) / 16 * 16;
    float *m = v + positions * block * input_channels;
    const size_t v_stride = block * input_channels, m_stride = block * output_channels;
    const size_t packed_stride = ork_gemm_packed_size(input_channels, output_channels);
    const ork_v vmin = ork_v_set1(args->min), vmax = ork_v_set1(args->max);
    const ork_v_mask input_mask = ork_v_mask_first(input_channels % ORK_V_LANES);
    const size_t input_vectors = input_channels / ORK_V_LANES;
    // Blocks of equal size, so that no block is left with a few tiles that stream all the weights alone.
    const size_t blocks = (tile_end - tile_begin + block - 1) / block;
    const size_t per_block = (tile_end - tile_begin + blocks - 1) / blocks;
    ork_gemm_args gemm = {
        .k = input_channels,
        .n = output_channels,
        .a_row_stride = input_channels,
        .c_row_stride = output_channels,
        .min = -INFINITY,
        .max = INFINITY,
    };
    for (size_t begin = tile_begin; begin < tile_end; begin += per_block) {
        const size_t count = ORK_MIN(per_block, tile_end - begin);
        for (size_t i = 0; i < count; i++) {
            const size_t index = begin + i;
            const size_t tw = index % tiles_w, th = (index / tiles_w) % tiles_h, image = index / (tiles_w * tiles_h);
            const float *window[36];
            for (size_t dy = 0; dy < side; dy++) {
                const ptrdiff_t ih = (ptrdiff_t)(tile * th + dy) - (ptrdiff_t)args->pad_top;
                for (size_t dx = 0; dx < side; dx++) {
                    const ptrdiff_t iw = (ptrdiff_t)(tile * tw + dx) - (ptrdiff_t)args->pad_left;
                    const int inside = ih >= 0 && ih < (ptrdiff_t)args->input_h && iw >= 0 &&
                                       iw < (ptrdiff_t)args->input_w;
                    window[side * dy + dx] =
                        inside ? args->input + ((image * args->input_h + (size_t)ih) * args->input_w + (size_t)iw) *
                                                   input_channels
                               : zeros;
                }
            }
            float *tile_v = v + i * input_channels;
            for (size_t vector = 0; vector <= input_vectors; vector++) {
                const int masked = vector == input_vectors;
                if (masked && input_channels % ORK_V_LANES == 0) break;
                if (tile == 4) {
                    transform_input4(window, vector * ORK_V_LANES, masked, input_mask, tile_v, v_stride);
                } else {
                    transform_input2(window, vector * ORK_V_LANES, masked, input_mask, tile_v, v_stride);
                }
            }
        }
        for (size_t xi = 0; xi < positions; xi++) {
            gemm.a = v + xi * v_stride;
            gemm.packed_b = args->packed_weights + xi * packed_stride;
            gemm.c = m + xi * m_stride;
            ork_gemm_args slice;
            if (ork_gemm_column_slice(&gemm, channel_begin, channel_end, &slice)) ORK_WINOGRAD_GEMM(&slice, 0, count);
        }
        for (size_t i = 0; i < count; i++) {
            const size_t index = begin + i;
            const size_t tw = index % tiles_w, th = (index / tiles_w) % tiles_h, image = index / (tiles_w * tiles_h);
            const size_t rows = ORK_MIN(tile, args->output_h - tile * th);
            const size_t columns = ORK_MIN(tile, args->output_w - tile * tw);
            float *output[16] = {NULL};
            const float *residual[16] = {NULL};
            for (size_t dy = 0; dy < rows; dy++) {
                for (size_t dx = 0; dx < columns; dx++) {
                    const size_t pixel = (image * args->output_h + tile * th + dy) * args->output_w + tile * tw + dx;
                    output[tile * dy + dx] = args->output + pixel * ork_output_pixel_stride(args);
                    residual[tile * dy + dx] = args->residual ? args->residual + pixel * output_channels : NULL;
                }
            }
            const float *tile_m = m + i * output_channels;
            for (size_t c = channel_begin; c < channel_end; c += ORK_V_LANES) {
                const int masked = c + ORK_V_LANES > channel_end;
                const ork_v_mask mask = ork_v_mask_first(channel_end - c);
                if (tile == 4) {
                    transform_output4(tile_m, m_stride, c, masked, mask, output, residual, vmin, vmax);
                } else {
                    transform_output2(tile_m, m_stride, c, masked, mask, output, residual, vmin, vmax);
                }
            }
            for (size_t pixel = 0; pixel < tile * tile; pixel++) {
                if (output[pixel] == NULL) continue;
                ork_activate_rows(ORK_V_ACTIVATION, &args->activation, output[pixel] + channel_begin, 1,
                                  channel_end - channel_begin, 0);
            }
        }
    }
}

ORK_V_TARGET void ORK_WINOGRAD_FUNCTION(const ork_convolution_args *args, size_t output_tile, size_t tile_begin,
                                        size_t tile_end, size_t channel_begin, size_t channel_end, float *scratch) {
    if (output_tile == 4) {
        winograd(args, 4, tile_begin, tile_end, channel_begin, channel_end, scratch);
    } else {
        winograd(args, 2, tile_begin, tile_end, channel_begin, channel_end, scratch);
    }
}
