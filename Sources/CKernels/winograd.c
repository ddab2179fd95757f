// Winograd F(2x2, 3x3) convolution NHWC: weight transform and packing, sizes, the dispatching entry.
#include "internal.h"

size_t ork_winograd_packed_size(size_t output_channels, size_t input_channels) {
    return 16 * ork_gemm_packed_size(input_channels, output_channels);
}

// U = G g Gt for one 3x3 kernel g (row-major), G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]; in double so the
// packed weights are the exact transform rounded once.
static void transform_kernel(const float *g, float u[16]) {
    double rows[4][3];  // G g
    for (int j = 0; j < 3; j++) {
        const double g0 = g[j], g1 = g[3 + j], g2 = g[6 + j];
        rows[0][j] = g0;
        rows[1][j] = 0.5 * (g0 + g1 + g2);
        rows[2][j] = 0.5 * (g0 - g1 + g2);
        rows[3][j] = g2;
    }
    for (int i = 0; i < 4; i++) {
        const double r0 = rows[i][0], r1 = rows[i][1], r2 = rows[i][2];
        u[4 * i + 0] = (float)r0;
        u[4 * i + 1] = (float)(0.5 * (r0 + r1 + r2));
        u[4 * i + 2] = (float)(0.5 * (r0 - r1 + r2));
        u[4 * i + 3] = (float)r2;
    }
}

void ork_winograd_pack(const float *weights, const float *bias, size_t output_channels, size_t input_channels,
                       float *packed) {
    const size_t block = ork_gemm_packed_size(input_channels, output_channels);
    const size_t panel_stride = ORK_TILE + input_channels * ORK_TILE;
    // Zero padding columns and zero bias everywhere but xi = 5.
    for (size_t i = 0; i < 16 * block; i++) packed[i] = 0.0f;
    for (size_t co = 0; co < output_channels; co++) {
        const size_t panel = co / ORK_TILE, column = co % ORK_TILE;
        if (bias != NULL) packed[5 * block + panel * panel_stride + column] = bias[co];
        for (size_t ci = 0; ci < input_channels; ci++) {
            float u[16];
            transform_kernel(weights + (co * input_channels + ci) * 9, u);
            for (size_t xi = 0; xi < 16; xi++)
                packed[xi * block + panel * panel_stride + ORK_TILE + ci * ORK_TILE + column] = u[xi];
        }
    }
}

size_t ork_winograd_tile_count(const ork_convolution_args *args) {
    return args->batch * ((args->output_h + 1) / 2) * ((args->output_w + 1) / 2);
}

size_t ork_winograd_scratch_size(const ork_convolution_args *args) {
    const size_t tiles = ork_winograd_tiles_per_block(args->input_channels, args->output_channels);
    // A zero row for the taps in the padding, rounded to a cache line, then V and M.
    const size_t zeros = (args->input_channels + 15) / 16 * 16;
    return zeros + 16 * tiles * (args->input_channels + args->output_channels);
}

void ork_winograd(const ork_convolution_args *args, size_t tile_begin, size_t tile_end, float *scratch) {
    ork_kernels()->winograd(args, tile_begin, tile_end, scratch);
}
