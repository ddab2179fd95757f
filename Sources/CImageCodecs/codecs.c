// JPEG (libjpeg-turbo) and PNG (libpng) decoding to 8-bit RGB, with every library error caught by setjmp here.
//
// libjpeg's default error handler calls exit() and libpng's longjmps; neither may unwind through Swift frames, so
// each entry point installs its own error manager, sets the jump target inside this file, and returns a status
// code with the library's message copied into the caller's buffer.

#include "CImageCodecs.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

// MARK: - Shared helpers

static void copy_message(char *destination, size_t capacity, const char *text) {
    if (destination == NULL || capacity == 0) return;
    snprintf(destination, capacity, "%s", text);
}

static int check_pixel_limit(uint64_t width, uint64_t height, uint64_t max_pixels, char *message,
                             size_t capacity) {
    if (width == 0 || height == 0) {
        copy_message(message, capacity, "the header declares an empty image (width or height 0)");
        return ONNXRUN_IMAGE_CORRUPT;
    }
    if (width * height > max_pixels) {
        if (message != NULL && capacity > 0) {
            snprintf(message, capacity, "the header declares %llux%llu pixels, more than the limit of %llu",
                     (unsigned long long)width, (unsigned long long)height, (unsigned long long)max_pixels);
        }
        return ONNXRUN_IMAGE_TOO_LARGE;
    }
    return ONNXRUN_IMAGE_OK;
}

static uint32_t read_big_endian_32(const uint8_t *bytes) {
    return ((uint32_t)bytes[0] << 24) | ((uint32_t)bytes[1] << 16) | ((uint32_t)bytes[2] << 8) | bytes[3];
}

// MARK: - JPEG

/// A progressive JPEG can declare thousands of tiny scans that each cost a full pass over the coefficients
/// (a known denial of service); libjpeg-turbo's own tools cap them the same way (djpeg -maxscans).
#define JPEG_MAX_SCANS 1000

typedef struct {
    struct jpeg_error_mgr base;
    struct jpeg_progress_mgr progress;
    struct jpeg_source_mgr source;
    jmp_buf jump;
    char *message;
    size_t capacity;
    int status;
} jpeg_error_context;

static void jpeg_fail(j_common_ptr info) {
    jpeg_error_context *context = (jpeg_error_context *)info->err;
    char text[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, text);
    copy_message(context->message, context->capacity, text);
    context->status = ONNXRUN_IMAGE_CORRUPT;
    longjmp(context->jump, 1);
}

/// libjpeg reports truncation as a warning and pads with a fake EOI, which yields a grey lower part of the image;
/// those warnings are errors here. Other warnings (extraneous bytes before a marker, ...) are harmless and
/// ignored, as Pillow ignores them.
static void jpeg_message(j_common_ptr info, int level) {
    if (level < 0) {
        int code = info->err->msg_code;
        if (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER) {
            jpeg_fail(info);
        }
        info->err->num_warnings++;
    }
}

static void jpeg_progress(j_common_ptr info) {
    if (!info->is_decompressor) return;
    j_decompress_ptr decompressor = (j_decompress_ptr)info;
    if (decompressor->input_scan_number > JPEG_MAX_SCANS) {
        jpeg_error_context *context = (jpeg_error_context *)info->err;
        snprintf(context->message, context->capacity, "the progressive JPEG has more than %d scans",
                 JPEG_MAX_SCANS);
        context->status = ONNXRUN_IMAGE_CORRUPT;
        longjmp(context->jump, 1);
    }
}

/// Walks the markers up to the frame header (SOFn) and checks the declared size, so a header that claims a huge
/// image is refused even when the rest of the file is missing.
static int jpeg_precheck_size(const uint8_t *data, size_t size, uint64_t max_pixels, char *message,
                              size_t capacity) {
    size_t offset = 2;  // after SOI
    while (offset + 4 <= size) {
        if (data[offset] != 0xFF) return ONNXRUN_IMAGE_OK;  // let libjpeg describe the problem
        uint8_t marker = data[offset + 1];
        if (marker == 0xFF) {  // fill byte
            offset += 1;
            continue;
        }
        if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {  // no length
            offset += 2;
            continue;
        }
        size_t length = ((size_t)data[offset + 2] << 8) | data[offset + 3];
        int is_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
        if (is_frame) {
            if (offset + 9 > size) return ONNXRUN_IMAGE_OK;
            uint64_t height = ((uint64_t)data[offset + 5] << 8) | data[offset + 6];
            uint64_t width = ((uint64_t)data[offset + 7] << 8) | data[offset + 8];
            // Height 0 means "defined later by DNL"; libjpeg refuses it with its own message.
            if (height == 0 || width == 0) return ONNXRUN_IMAGE_OK;
            return check_pixel_limit(width, height, max_pixels, message, capacity);
        }
        if (marker == 0xDA || marker == 0xD9) return ONNXRUN_IMAGE_OK;  // SOS/EOI before SOF: libjpeg reports it
        offset += 2 + length;
    }
    return ONNXRUN_IMAGE_OK;
}

/// A memory source like jpeg_mem_src, except at the end of the data: it supplies an EOI marker without a warning.
/// A file that lacks only its EOI then decodes (as in Pillow), while a file cut inside the entropy-coded data
/// still makes the decoder run into that marker while it needs bits, which it reports as JWRN_HIT_MARKER, an error
/// here. (libjpeg's own source warns JWRN_JPEG_EOF as soon as its bit reader looks ahead past the end, which
/// happens on every file without EOI.)
static const JOCTET jpeg_end_marker[2] = {0xFF, JPEG_EOI};

static void jpeg_source_init(j_decompress_ptr decompressor) { (void)decompressor; }

static boolean jpeg_source_fill(j_decompress_ptr decompressor) {
    decompressor->src->next_input_byte = jpeg_end_marker;
    decompressor->src->bytes_in_buffer = 2;
    return TRUE;
}

static void jpeg_source_skip(j_decompress_ptr decompressor, long count) {
    struct jpeg_source_mgr *source = decompressor->src;
    if (count <= 0) return;
    while ((size_t)count > source->bytes_in_buffer) {
        count -= (long)source->bytes_in_buffer;
        jpeg_source_fill(decompressor);
    }
    source->next_input_byte += count;
    source->bytes_in_buffer -= (size_t)count;
}

static void jpeg_source_term(j_decompress_ptr decompressor) { (void)decompressor; }

static void jpeg_memory_source(j_decompress_ptr decompressor, struct jpeg_source_mgr *source, const uint8_t *data,
                               size_t size) {
    source->init_source = jpeg_source_init;
    source->fill_input_buffer = jpeg_source_fill;
    source->skip_input_data = jpeg_source_skip;
    source->resync_to_restart = jpeg_resync_to_restart;
    source->term_source = jpeg_source_term;
    source->next_input_byte = data;
    source->bytes_in_buffer = size;
    decompressor->src = source;
}

static void jpeg_setup(struct jpeg_decompress_struct *decompressor, jpeg_error_context *context, char *message,
                       size_t capacity) {
    decompressor->err = jpeg_std_error(&context->base);
    context->base.error_exit = jpeg_fail;
    context->base.emit_message = jpeg_message;
    context->message = message;
    context->capacity = capacity;
    context->status = ONNXRUN_IMAGE_OK;
    context->progress.progress_monitor = jpeg_progress;
}

/// Reads the header of an opened decompressor and fills `info`; 0 or a status code.
static int jpeg_header(struct jpeg_decompress_struct *decompressor, uint64_t max_pixels, onnxrun_image_info *info,
                       char *message, size_t capacity) {
    if (jpeg_read_header(decompressor, TRUE) != JPEG_HEADER_OK) {
        copy_message(message, capacity, "the JPEG holds tables but no image");
        return ONNXRUN_IMAGE_CORRUPT;
    }
    int status = check_pixel_limit(decompressor->image_width, decompressor->image_height, max_pixels, message,
                                   capacity);
    if (status != ONNXRUN_IMAGE_OK) return status;
    if (info != NULL) {
        info->width = decompressor->image_width;
        info->height = decompressor->image_height;
        info->components = decompressor->num_components;
        info->bit_depth = decompressor->data_precision;
        info->progressive = decompressor->progressive_mode ? 1 : 0;
        info->special_color =
            decompressor->jpeg_color_space == JCS_CMYK || decompressor->jpeg_color_space == JCS_YCCK;
    }
    return ONNXRUN_IMAGE_OK;
}

int onnxrun_jpeg_read_info(const uint8_t *data, size_t size, uint64_t max_pixels, onnxrun_image_info *info,
                           char *message, size_t message_capacity) {
    int status = jpeg_precheck_size(data, size, max_pixels, message, message_capacity);
    if (status != ONNXRUN_IMAGE_OK) return status;

    struct jpeg_decompress_struct decompressor;
    jpeg_error_context context;
    memset(&decompressor, 0, sizeof decompressor);
    jpeg_setup(&decompressor, &context, message, message_capacity);
    if (setjmp(context.jump)) {
        jpeg_destroy_decompress(&decompressor);
        return context.status;
    }
    jpeg_create_decompress(&decompressor);
    decompressor.progress = &context.progress;
    jpeg_memory_source(&decompressor, &context.source, data, size);
    status = jpeg_header(&decompressor, max_pixels, info, message, message_capacity);
    jpeg_destroy_decompress(&decompressor);
    return status;
}

/// Pillow's CMYK -> RGB (Convert.c cmyk2rgb): R = (255 - K) - (C * (255 - K)) / 255 with its rounding; the file
/// stores Adobe-inverted values (Pillow reads CMYK JPEGs as "CMYK;I"), so C = 255 - stored.
static inline uint8_t cmyk_channel(uint8_t stored_color, uint8_t stored_black) {
    int color = 255 - stored_color;
    int not_black = stored_black;  // 255 - K with K = 255 - stored
    int product = color * not_black + 128;
    int scaled = ((product >> 8) + product) >> 8;
    int value = not_black - scaled;
    return (uint8_t)(value < 0 ? 0 : (value > 255 ? 255 : value));
}

/// Columns decoded on each side of a window beyond it (when the image has them): libjpeg-turbo's fancy
/// upsampling treats the edges of a cropped scanline like the image's edges, so the window's own pixels match a
/// full decode only when the crop reaches at least one chroma sample (2 pixels) past them; 16 is an iMCU.
#define JPEG_WINDOW_MARGIN 16

int onnxrun_jpeg_decode_rgb(const uint8_t *data, size_t size, uint64_t max_pixels, int scale_denominator,
                            uint32_t first_column, uint32_t column_count, uint8_t *output, size_t output_size,
                            char *message, size_t message_capacity) {
    int status = jpeg_precheck_size(data, size, max_pixels, message, message_capacity);
    if (status != ONNXRUN_IMAGE_OK) return status;

    struct jpeg_decompress_struct decompressor;
    jpeg_error_context context;
    uint8_t *volatile row = NULL;
    memset(&decompressor, 0, sizeof decompressor);
    jpeg_setup(&decompressor, &context, message, message_capacity);
    if (setjmp(context.jump)) {
        free(row);
        jpeg_destroy_decompress(&decompressor);
        return context.status;
    }
    jpeg_create_decompress(&decompressor);
    decompressor.progress = &context.progress;
    jpeg_memory_source(&decompressor, &context.source, data, size);
    status = jpeg_header(&decompressor, max_pixels, NULL, message, message_capacity);
    if (status != ONNXRUN_IMAGE_OK) {
        jpeg_destroy_decompress(&decompressor);
        return status;
    }
    if (scale_denominator != 1 && scale_denominator != 2 && scale_denominator != 4 && scale_denominator != 8) {
        copy_message(message, message_capacity, "the JPEG scale denominator must be 1, 2, 4 or 8");
        jpeg_destroy_decompress(&decompressor);
        return ONNXRUN_IMAGE_BAD_ARGUMENT;
    }
    // Pillow's settings, which libjpeg-turbo defaults to: the accurate integer IDCT (JDCT_ISLOW) and fancy
    // (triangle-filter) chroma upsampling. DCT scaling (1/2, 1/4, 1/8) changes the pixels; only opted-in callers
    // ask for it.
    decompressor.dct_method = JDCT_ISLOW;
    decompressor.do_fancy_upsampling = TRUE;
    decompressor.scale_num = 1;
    decompressor.scale_denom = (unsigned int)scale_denominator;
    // ceil(size / denominator), as jpeg_calc_output_dimensions computes it for these scales.
    size_t width = (decompressor.image_width + (size_t)scale_denominator - 1) / (size_t)scale_denominator;
    size_t height = (decompressor.image_height + (size_t)scale_denominator - 1) / (size_t)scale_denominator;
    if (output == NULL || column_count == 0 || (size_t)first_column + column_count > width ||
        output_size != (size_t)column_count * height * 3) {
        copy_message(message, message_capacity, "output buffer or window does not match the JPEG header");
        jpeg_destroy_decompress(&decompressor);
        return ONNXRUN_IMAGE_BAD_ARGUMENT;
    }
    int source_components;
    switch (decompressor.jpeg_color_space) {
    case JCS_GRAYSCALE:
        decompressor.out_color_space = JCS_GRAYSCALE;
        source_components = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        decompressor.out_color_space = JCS_CMYK;  // libjpeg turns YCCK into CMYK
        source_components = 4;
        break;
    default:
        // YCbCr and RGB; anything else makes libjpeg fail with "Unsupported color conversion request".
        decompressor.out_color_space = JCS_RGB;
        source_components = 3;
        break;
    }
    jpeg_start_decompress(&decompressor);
    if (decompressor.output_width != width || decompressor.output_height != height ||
        decompressor.output_components != source_components) {
        copy_message(message, message_capacity, "libjpeg produced an unexpected output format");
        jpeg_destroy_decompress(&decompressor);
        return ONNXRUN_IMAGE_CORRUPT;
    }
    // Only the iMCU columns around the window go through the IDCT, upsampling and colour conversion
    // (jpeg_crop_scanline moves the start down to an iMCU boundary). Every row is still read, so truncated data
    // fails as in a full decode.
    JDIMENSION crop_start = first_column > JPEG_WINDOW_MARGIN ? first_column - JPEG_WINDOW_MARGIN : 0;
    size_t crop_end = (size_t)first_column + column_count + JPEG_WINDOW_MARGIN;
    JDIMENSION crop_width = (JDIMENSION)((crop_end < width ? crop_end : width) - crop_start);
    jpeg_crop_scanline(&decompressor, &crop_start, &crop_width);
    size_t skipped = first_column - crop_start;  // decoded columns left of the window
    int direct = source_components == 3 && crop_width == column_count;
    if (!direct) {
        row = malloc((size_t)crop_width * (size_t)source_components);
        if (row == NULL) {
            copy_message(message, message_capacity, "out of memory for a JPEG row");
            jpeg_destroy_decompress(&decompressor);
            return ONNXRUN_IMAGE_CORRUPT;
        }
    }
    size_t row_bytes = (size_t)column_count * 3;
    while (decompressor.output_scanline < height) {
        uint8_t *destination = output + (size_t)decompressor.output_scanline * row_bytes;
        JSAMPROW target = direct ? destination : row;
        if (jpeg_read_scanlines(&decompressor, &target, 1) != 1) {
            copy_message(message, message_capacity, "libjpeg returned no scanline (suspended input)");
            free(row);
            jpeg_destroy_decompress(&decompressor);
            return ONNXRUN_IMAGE_CORRUPT;
        }
        if (direct) continue;
        const uint8_t *source = row + skipped * (size_t)source_components;
        if (source_components == 3) {
            memcpy(destination, source, row_bytes);
        } else if (source_components == 1) {
            for (size_t x = 0; x < column_count; x++) {
                destination[3 * x] = destination[3 * x + 1] = destination[3 * x + 2] = source[x];
            }
        } else {
            for (size_t x = 0; x < column_count; x++) {
                const uint8_t *pixel = source + 4 * x;
                destination[3 * x] = cmyk_channel(pixel[0], pixel[3]);
                destination[3 * x + 1] = cmyk_channel(pixel[1], pixel[3]);
                destination[3 * x + 2] = cmyk_channel(pixel[2], pixel[3]);
            }
        }
    }
    // No jpeg_finish_decompress: every pixel is read, and a missing EOI marker alone should not fail the image.
    free(row);
    jpeg_destroy_decompress(&decompressor);
    return ONNXRUN_IMAGE_OK;
}

// MARK: - PNG

typedef struct {
    jmp_buf jump;
    char *message;
    size_t capacity;
    const uint8_t *data;
    size_t size;
    size_t offset;
} png_context;

static void png_fail(png_structp png, png_const_charp text) {
    png_context *context = (png_context *)png_get_error_ptr(png);
    copy_message(context->message, context->capacity, text);
    longjmp(context->jump, 1);
}

static void png_ignore_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_read_memory(png_structp png, png_bytep destination, size_t length) {
    png_context *context = (png_context *)png_get_io_ptr(png);
    if (length > context->size - context->offset) {
        png_error(png, "unexpected end of file (the PNG is truncated)");
    }
    memcpy(destination, context->data + context->offset, length);
    context->offset += length;
}

/// Checks the size declared in IHDR (always the first chunk) before libpng reads further, so a header that
/// claims a huge image is refused even when the rest of the file is missing.
static int png_precheck_size(const uint8_t *data, size_t size, uint64_t max_pixels, char *message,
                             size_t capacity) {
    if (size < 24 || memcmp(data + 12, "IHDR", 4) != 0) return ONNXRUN_IMAGE_OK;  // libpng describes it
    uint64_t width = read_big_endian_32(data + 16);
    uint64_t height = read_big_endian_32(data + 20);
    if (width == 0 || height == 0) return ONNXRUN_IMAGE_OK;
    return check_pixel_limit(width, height, max_pixels, message, capacity);
}

typedef struct {
    png_structp volatile png;
    png_infop volatile info;
    png_bytep *volatile rows;
} png_state;

static void png_release(png_state *state) {
    png_structp png = state->png;
    png_infop info = state->info;
    free(state->rows);
    if (png != NULL) png_destroy_read_struct(&png, info != NULL ? &info : NULL, NULL);
}

/// Creates the reader and reads up to the first IDAT; must run after setjmp(context->jump).
static void png_open(png_state *state, png_context *context) {
    state->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, context, png_fail, png_ignore_warning);
    if (state->png == NULL) {
        copy_message(context->message, context->capacity, "libpng could not create a reader");
        longjmp(context->jump, 1);
    }
    state->info = png_create_info_struct(state->png);
    if (state->info == NULL) png_error(state->png, "libpng could not create an info structure");
    png_set_user_limits(state->png, 0x7fffffff, 0x7fffffff);  // our pixel limit applies instead
    png_set_chunk_malloc_max(state->png, 64u << 20);              // ancillary chunks (ICC, text) of at most 64 MiB
    png_set_read_fn(state->png, context, png_read_memory);
    png_read_info(state->png, state->info);
}

static int png_begin(png_context *context, const uint8_t *data, size_t size, char *message, size_t capacity) {
    context->message = message;
    context->capacity = capacity;
    context->data = data;
    context->size = size;
    context->offset = 0;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        copy_message(message, capacity, "not a PNG signature");
        return ONNXRUN_IMAGE_CORRUPT;
    }
    return ONNXRUN_IMAGE_OK;
}

int onnxrun_png_read_info(const uint8_t *data, size_t size, uint64_t max_pixels, onnxrun_image_info *info,
                          char *message, size_t message_capacity) {
    png_context context;
    int status = png_begin(&context, data, size, message, message_capacity);
    if (status == ONNXRUN_IMAGE_OK) status = png_precheck_size(data, size, max_pixels, message, message_capacity);
    if (status != ONNXRUN_IMAGE_OK) return status;

    png_state state = {NULL, NULL, NULL};
    if (setjmp(context.jump)) {
        png_release(&state);
        return ONNXRUN_IMAGE_CORRUPT;
    }
    png_open(&state, &context);
    png_uint_32 width = png_get_image_width(state.png, state.info);
    png_uint_32 height = png_get_image_height(state.png, state.info);
    status = check_pixel_limit(width, height, max_pixels, message, message_capacity);
    if (status == ONNXRUN_IMAGE_OK && info != NULL) {
        int color_type = png_get_color_type(state.png, state.info);
        info->width = width;
        info->height = height;
        info->components = png_get_channels(state.png, state.info);
        info->bit_depth = png_get_bit_depth(state.png, state.info);
        info->progressive = png_get_interlace_type(state.png, state.info) != PNG_INTERLACE_NONE;
        info->special_color = color_type == PNG_COLOR_TYPE_PALETTE;
    }
    png_release(&state);
    return status;
}

int onnxrun_png_decode_rgb(const uint8_t *data, size_t size, uint64_t max_pixels, uint8_t *output,
                           size_t output_size, char *message, size_t message_capacity) {
    png_context context;
    int status = png_begin(&context, data, size, message, message_capacity);
    if (status == ONNXRUN_IMAGE_OK) status = png_precheck_size(data, size, max_pixels, message, message_capacity);
    if (status != ONNXRUN_IMAGE_OK) return status;

    png_state state = {NULL, NULL, NULL};
    if (setjmp(context.jump)) {
        png_release(&state);
        return ONNXRUN_IMAGE_CORRUPT;
    }
    png_open(&state, &context);
    png_structp png = state.png;
    png_infop info = state.info;
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    status = check_pixel_limit(width, height, max_pixels, message, message_capacity);
    if (status != ONNXRUN_IMAGE_OK) {
        png_release(&state);
        return status;
    }
    if (output == NULL || output_size != (size_t)width * height * 3) {
        copy_message(message, message_capacity, "output buffer does not match the PNG header");
        png_release(&state);
        return ONNXRUN_IMAGE_BAD_ARGUMENT;
    }

    // Pillow's convert("RGB"): palette looked up, gray replicated, alpha (channel or tRNS) dropped, no gamma.
    int color_type = png_get_color_type(png, info);
    int bit_depth = png_get_bit_depth(png, info);
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0 && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_scale_16(png);
    if ((color_type & PNG_COLOR_MASK_ALPHA) != 0 || png_get_valid(png, info, PNG_INFO_tRNS)) {
        png_set_strip_alpha(png);
    }
    if ((color_type & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)width * 3) {
        png_error(png, "libpng produced an unexpected output format");
    }

    state.rows = malloc(sizeof(png_bytep) * height);
    if (state.rows == NULL) png_error(png, "out of memory for row pointers");
    png_bytep *rows = state.rows;
    for (png_uint_32 y = 0; y < height; y++) rows[y] = output + (size_t)y * width * 3;
    png_read_image(png, rows);
    // No png_read_end: the pixels are complete, and chunks after IDAT carry nothing we use.
    png_release(&state);
    return ONNXRUN_IMAGE_OK;
}
