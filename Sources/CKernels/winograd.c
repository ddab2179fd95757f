// Winograd F(2x2, 3x3) and F(4x4, 3x3) convolution NHWC: weight transforms and packing, sizes, the dispatching
// entry.
#include "internal.h"

// Positions of a tile's transformed window: (t + 2)^2.
static size_t positions(size_t output_tile) { return (output_tile + 2) * (output_tile + 2); }

size_t ork_winograd_packed_size(size_t output_tile, size_t output_channels, size_t input_channels) {
    return positions(output_tile) * ork_gemm_packed_size(input_channels, output_channels);
}

// G of F(2x2, 3x3) and of F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks").
static const double g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double g4[6][3] = {{1.0 / 4, 0, 0},
                                {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                {0, 0, 1}};

// U = G g Gt for the 3x3 kernels of one input channel and a panel of ORK_TILE output channels (g[tap][column],
// zeros past the last output channel) into u[xi][column]; the column loops are innermost so they vectorize, and
// the arithmetic is in double so the packed weights are the exact transform rounded once.
static void transform_kernels(size_t side, const double (*g)[ORK_TILE], float (*u)[ORK_TILE]) {
    const double(*coefficients)[3] = side == 4 ? g2 : g4;
    double rows[6][3][ORK_TILE];  // G g
    for (size_t i = 0; i < side; i++)
        for (size_t j = 0; j < 3; j++)
            for (size_t column = 0; column < ORK_TILE; column++)
                rows[i][j][column] = coefficients[i][0] * g[j][column] + coefficients[i][1] * g[3 + j][column] +
                                     coefficients[i][2] * g[6 + j][column];
    for (size_t i = 0; i < side; i++)
        for (size_t j = 0; j < side; j++)
            for (size_t column = 0; column < ORK_TILE; column++)
                u[i * side + j][column] =
                    (float)(coefficients[j][0] * rows[i][0][column] + coefficients[j][1] * rows[i][1][column] +
                            coefficients[j][2] * rows[i][2][column]);
}

void ork_winograd_pack(size_t output_tile, const float *weights, const float *bias, size_t output_channels,
                       size_t input_channels, float *packed) {
    const size_t side = output_tile + 2, count = side * side, bias_position = side + 1;
    const size_t block = ork_gemm_packed_size(input_channels, output_channels);
    const size_t panel_stride = ORK_TILE + input_channels * ORK_TILE;
    for (size_t panel = 0; panel * ORK_TILE < output_channels; panel++) {
        const size_t columns = ORK_MIN((size_t)ORK_TILE, output_channels - panel * ORK_TILE);
        // Bias row: zero at every position but p = q = 1.
        for (size_t xi = 0; xi < count; xi++)
            for (size_t column = 0; column < ORK_TILE; column++)
                packed[xi * block + panel * panel_stride + column] =
                    xi == bias_position && column < columns && bias != NULL ? bias[panel * ORK_TILE + column] : 0.0f;
        for (size_t ci = 0; ci < input_channels; ci++) {
            double g[9][ORK_TILE];
            float u[36][ORK_TILE];
            for (size_t tap = 0; tap < 9; tap++)
                for (size_t column = 0; column < ORK_TILE; column++)
                    g[tap][column] = column < columns
                                         ? weights[((panel * ORK_TILE + column) * input_channels + ci) * 9 + tap]
                                         : 0.0;
            transform_kernels(side, g, u);
            for (size_t xi = 0; xi < count; xi++)
                for (size_t column = 0; column < ORK_TILE; column++)
                    packed[xi * block + panel * panel_stride + ORK_TILE + ci * ORK_TILE + column] = u[xi][column];
        }
    }
}

size_t ork_winograd_tile_count(size_t output_tile, const ork_convolution_args *args) {
    if (output_tile == 0) return 0;
    return args->batch * ((args->output_h + output_tile - 1) / output_tile) *
           ((args->output_w + output_tile - 1) / output_tile);
}

size_t ork_winograd_scratch_size(size_t output_tile, const ork_convolution_args *args) {
    const size_t count = positions(output_tile);
    const size_t tiles = ork_winograd_tiles_per_block(args->input_channels, args->output_channels, count);
    // A zero row for the taps in the padding, rounded to a cache line, then V and M.
    const size_t zeros = (args->input_channels + 15) / 16 * 16;
    return zeros + count * tiles * (args->input_channels + args->output_channels);
}

void ork_winograd(const ork_convolution_args *args, size_t output_tile, size_t tile_begin, size_t tile_end,
                  size_t channel_begin, size_t channel_end, float *scratch) {
    ork_kernels()->winograd(args, output_tile, tile_begin, tile_end, channel_begin, channel_end, scratch);
}
