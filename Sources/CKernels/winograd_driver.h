// Winograd F(2x2, 3x3) convolution NHWC, written once in the vector vocabulary of vector_ops.h and compiled per ISA
// by winograd_{portable,avx2,avx512}.c: per block of tiles, the input transform (channels innermost, so every
// transform is a few vector adds per channel vector), 16 GEMMs on that level's kernel, the output transform with
// the epilogue (residual, clamp, activation) in its store.
//
// Define ORK_WINOGRAD_FUNCTION (the exported name) and ORK_WINOGRAD_GEMM (the level's ork_gemm); include
// vector_ops.h first.
#include <math.h>
#include <string.h>

// V = Bt d B for the channel vector at c of the 16 window pixels (row-major 4x4; padding taps point at zeros),
// Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]; V[xi] goes to v + xi * xi_stride + c.
ORK_INLINE ORK_V_TARGET void transform_input(const float *const window[16], size_t c, int masked, ork_v_mask mask,
                                             float *v, size_t xi_stride) {
    ork_v t[4][4];
    for (int j = 0; j < 4; j++) {
        ork_v d[4];
        for (int i = 0; i < 4; i++)
            d[i] = masked ? ork_v_load_masked(mask, window[4 * i + j] + c) : ork_v_load(window[4 * i + j] + c);
        t[0][j] = ork_v_sub(d[0], d[2]);
        t[1][j] = ork_v_add(d[1], d[2]);
        t[2][j] = ork_v_sub(d[2], d[1]);
        t[3][j] = ork_v_sub(d[1], d[3]);
    }
    for (int i = 0; i < 4; i++) {
        const ork_v row[4] = {ork_v_sub(t[i][0], t[i][2]), ork_v_add(t[i][1], t[i][2]), ork_v_sub(t[i][2], t[i][1]),
                              ork_v_sub(t[i][1], t[i][3])};
        for (int j = 0; j < 4; j++) {
            float *destination = v + (size_t)(4 * i + j) * xi_stride + c;
            if (masked) {
                ork_v_store_masked(destination, mask, row[j]);
            } else {
                ork_v_store(destination, row[j]);
            }
        }
    }
}

// Y = At M A for the channel vector at c (M[xi] at m + xi * xi_stride + c), At = [1 1 1 0; 0 1 -1 -1], then
// clamp(Y + residual) stored to the outputs that exist (NULL past the image's edge).
ORK_INLINE ORK_V_TARGET void transform_output(const float *m, size_t xi_stride, size_t c, int masked, ork_v_mask mask,
                                              float *const output[4], const float *const residual[4], ork_v vmin,
                                              ork_v vmax) {
    ork_v s[2][4];
    for (int j = 0; j < 4; j++) {
        ork_v p[4];
        for (int i = 0; i < 4; i++) {
            const float *source = m + (size_t)(4 * i + j) * xi_stride + c;
            p[i] = masked ? ork_v_load_masked(mask, source) : ork_v_load(source);
        }
        s[0][j] = ork_v_add(ork_v_add(p[0], p[1]), p[2]);
        s[1][j] = ork_v_sub(ork_v_sub(p[1], p[2]), p[3]);
    }
    for (int i = 0; i < 2; i++) {
        const ork_v y[2] = {ork_v_add(ork_v_add(s[i][0], s[i][1]), s[i][2]),
                            ork_v_sub(ork_v_sub(s[i][1], s[i][2]), s[i][3])};
        for (int j = 0; j < 2; j++) {
            float *destination = output[2 * i + j];
            if (destination == NULL) continue;
            ork_v value = y[j];
            const float *added = residual[2 * i + j];
            if (added) value = ork_v_add(value, masked ? ork_v_load_masked(mask, added + c) : ork_v_load(added + c));
            value = ork_v_min(vmax, ork_v_max(vmin, value));
            if (masked) {
                ork_v_store_masked(destination + c, mask, value);
            } else {
                ork_v_store(destination + c, value);
            }
        }
    }
}

ORK_V_TARGET void ORK_WINOGRAD_FUNCTION(const ork_convolution_args *args, size_t tile_begin, size_t tile_end,
                                        float *scratch) {
    const size_t input_channels = args->input_channels, output_channels = args->output_channels;
    const size_t tiles_h = (args->output_h + 1) / 2, tiles_w = (args->output_w + 1) / 2;
    if (tile_begin >= tile_end || input_channels == 0 || output_channels == 0) return;
    const size_t block = ork_winograd_tiles_per_block(input_channels, output_channels);
    float *zeros = scratch;
    memset(zeros, 0, input_channels * sizeof(float));
    float *v = scratch + (input_channels + 15) / 16 * 16;
    float *m = v + 16 * block * input_channels;
    const size_t v_stride = block * input_channels, m_stride = block * output_channels;
    const size_t packed_stride = ork_gemm_packed_size(input_channels, output_channels);
    const ork_v vmin = ork_v_set1(args->min), vmax = ork_v_set1(args->max);
    const ork_v_mask input_mask = ork_v_mask_first(input_channels % ORK_V_LANES);
    const ork_v_mask output_mask = ork_v_mask_first(output_channels % ORK_V_LANES);
    const size_t input_vectors = input_channels / ORK_V_LANES, output_vectors = output_channels / ORK_V_LANES;
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
            const size_t tile = begin + i;
            const size_t tw = tile % tiles_w, th = (tile / tiles_w) % tiles_h, image = tile / (tiles_w * tiles_h);
            const float *window[16];
            for (size_t dy = 0; dy < 4; dy++) {
                const ptrdiff_t ih = (ptrdiff_t)(2 * th + dy) - (ptrdiff_t)args->pad_top;
                for (size_t dx = 0; dx < 4; dx++) {
                    const ptrdiff_t iw = (ptrdiff_t)(2 * tw + dx) - (ptrdiff_t)args->pad_left;
                    const int inside = ih >= 0 && ih < (ptrdiff_t)args->input_h && iw >= 0 &&
                                       iw < (ptrdiff_t)args->input_w;
                    window[4 * dy + dx] =
                        inside ? args->input + ((image * args->input_h + (size_t)ih) * args->input_w + (size_t)iw) *
                                                   input_channels
                               : zeros;
                }
            }
            float *tile_v = v + i * input_channels;
            for (size_t vector = 0; vector < input_vectors; vector++)
                transform_input(window, vector * ORK_V_LANES, 0, input_mask, tile_v, v_stride);
            if (input_channels % ORK_V_LANES)
                transform_input(window, input_vectors * ORK_V_LANES, 1, input_mask, tile_v, v_stride);
        }
        for (size_t xi = 0; xi < 16; xi++) {
            gemm.a = v + xi * v_stride;
            gemm.packed_b = args->packed_weights + xi * packed_stride;
            gemm.c = m + xi * m_stride;
            ORK_WINOGRAD_GEMM(&gemm, 0, count);
        }
        for (size_t i = 0; i < count; i++) {
            const size_t tile = begin + i;
            const size_t tw = tile % tiles_w, th = (tile / tiles_w) % tiles_h, image = tile / (tiles_w * tiles_h);
            const size_t rows = ORK_MIN((size_t)2, args->output_h - 2 * th);
            const size_t columns = ORK_MIN((size_t)2, args->output_w - 2 * tw);
            float *output[4] = {NULL, NULL, NULL, NULL};
            const float *residual[4] = {NULL, NULL, NULL, NULL};
            for (size_t dy = 0; dy < rows; dy++) {
                for (size_t dx = 0; dx < columns; dx++) {
                    const size_t offset =
                        ((image * args->output_h + 2 * th + dy) * args->output_w + 2 * tw + dx) * output_channels;
                    output[2 * dy + dx] = args->output + offset;
                    residual[2 * dy + dx] = args->residual ? args->residual + offset : NULL;
                }
            }
            const float *tile_m = m + i * output_channels;
            for (size_t vector = 0; vector < output_vectors; vector++)
                transform_output(tile_m, m_stride, vector * ORK_V_LANES, 0, output_mask, output, residual, vmin, vmax);
            if (output_channels % ORK_V_LANES)
                transform_output(tile_m, m_stride, output_vectors * ORK_V_LANES, 1, output_mask, output, residual,
                                 vmin, vmax);
            // A tile row's pixels are adjacent in NHWC: one activation call per row.
            for (size_t dy = 0; dy < rows; dy++)
                ork_activate_rows(ORK_V_ACTIVATION, &args->activation, output[2 * dy], 1, columns * output_channels, 0);
        }
    }
}
