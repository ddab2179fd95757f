/* onnxrun.h: the C API of onnxrun (libonnxrun), an ONNX interpreter for image classifiers. */
#ifndef ONNXRUN_H
#define ONNXRUN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions
 * - Every function checks its arguments (NULL pointers, ranks, negative dimensions, shapes and element types
 *   against the model, handles that are not live) and reports misuse as an error; none aborts the process.
 * - `char **error` may be NULL. When it is not, a failing call sets *error to a UTF-8 message that the caller
 *   frees with onnxrun_free, and a successful call sets it to NULL.
 * - Buffers returned to the caller are malloc'd and freed with onnxrun_free. Names and labels (const char *)
 *   belong to their session or classifier and stay valid until it is destroyed.
 * - A session or classifier may be used from several threads at once. Destroying it while calls on it are
 *   running is safe: it is freed when the last of them returns.
 */

#define ONNXRUN_VERSION "0.1.0"
/* The largest tensor rank the API passes in either direction. */
#define ONNXRUN_MAX_RANK 8

/* ONNXRUN_VERSION of the library in use (a static string: do not free). */
const char *onnxrun_version(void);

/* Frees a buffer or message the library returned; NULL is ignored. */
void onnxrun_free(void *pointer);

/* MARK: Sessions */

typedef struct onnxrun_session onnxrun_session;

/* Loads, validates and optimizes the model at `model_path`. `thread_count`: threads per run, the caller
   included; 0 = all cores. NULL on failure; then *error holds a message the caller frees with onnxrun_free. */
onnxrun_session *onnxrun_session_create(const char *model_path, int thread_count, char **error);
/* NULL is ignored. */
void onnxrun_session_destroy(onnxrun_session *session);

/* The model's inputs and outputs; a count is 0 and a name NULL for a NULL session or an index out of range. */
size_t onnxrun_session_input_count(const onnxrun_session *session);
const char *onnxrun_session_input_name(const onnxrun_session *session, size_t index);
size_t onnxrun_session_output_count(const onnxrun_session *session);
const char *onnxrun_session_output_name(const onnxrun_session *session, size_t index);

/* Runs a model with one float input; writes output `output_index` into a buffer the caller frees with
   onnxrun_free, and its shape into out_shape (up to 8 dims). 0 on success, else non-zero with *error set. */
int onnxrun_session_run_f32(onnxrun_session *session, const float *input, const int64_t *shape, size_t rank,
                            size_t output_index, float **output, int64_t *out_shape, size_t *out_rank,
                            char **error);

/* MARK: Tensors of any element type, several inputs */

/* Element types: the ONNX TensorProto.DataType numbers. */
typedef enum onnxrun_element_type {
    ONNXRUN_ELEMENT_FLOAT = 1,
    ONNXRUN_ELEMENT_UINT8 = 2,
    ONNXRUN_ELEMENT_INT8 = 3,
    ONNXRUN_ELEMENT_UINT16 = 4,
    ONNXRUN_ELEMENT_INT16 = 5,
    ONNXRUN_ELEMENT_INT32 = 6,
    ONNXRUN_ELEMENT_INT64 = 7,
    ONNXRUN_ELEMENT_BOOL = 9, /* one byte per element, 0 or 1 */
    ONNXRUN_ELEMENT_FLOAT16 = 10, /* IEEE half, as uint16_t bits */
    ONNXRUN_ELEMENT_DOUBLE = 11,
    ONNXRUN_ELEMENT_UINT32 = 12,
    ONNXRUN_ELEMENT_UINT64 = 13,
    ONNXRUN_ELEMENT_BFLOAT16 = 16 /* as uint16_t bits */
} onnxrun_element_type;

/* A named, dense, row-major tensor. */
typedef struct onnxrun_tensor {
    const char *name;
    int element_type; /* an onnxrun_element_type */
    size_t rank;      /* 0...ONNXRUN_MAX_RANK */
    int64_t shape[ONNXRUN_MAX_RANK];
    void *data; /* product(shape) elements; inputs are only read */
} onnxrun_tensor;

/* The declared type of input (or output) `index`: element type, rank, and dims with -1 where a dimension is
   symbolic or unknown. 0 on success, else non-zero with *error set (index out of range, rank not declared). */
int onnxrun_session_input_type(const onnxrun_session *session, size_t index, int *element_type, int64_t *shape,
                               size_t *rank, char **error);
int onnxrun_session_output_type(const onnxrun_session *session, size_t index, int *element_type, int64_t *shape,
                                size_t *rank, char **error);

/* Runs the model on `input_count` named inputs (each model input exactly once). For each of the `output_count`
   outputs, set `name` to the output wanted, or NULL for the model's output at that position (then `name` is set
   to it); the call fills element_type, rank, shape and data (malloc'd: free with onnxrun_free).
   0 on success; else non-zero with *error set, and every outputs[i].data is NULL. */
int onnxrun_session_run(onnxrun_session *session, const onnxrun_tensor *inputs, size_t input_count,
                        onnxrun_tensor *outputs, size_t output_count, char **error);

/* MARK: Image classification */

typedef struct onnxrun_classifier onnxrun_classifier;

/* One ranked class. */
typedef struct onnxrun_prediction {
    int64_t index;     /* position in the model's output */
    float probability; /* softmax of the logits (or the model's own probabilities) */
    const char *label; /* belongs to the classifier */
} onnxrun_prediction;

/* An image classifier: decodes JPEG/PNG, preprocesses as the model's metadata (onnxrun.preprocess.*) says, like
   the `onnxrun MODEL IMAGE` command. `labels_path`: one class name per line, or NULL for the ImageNet names
   (1000 or 1001 classes; else "class <i>"). `top_k`: predictions per image (>= 1). `thread_count` as for
   onnxrun_session_create. NULL on failure, with *error set. */
onnxrun_classifier *onnxrun_classifier_create(const char *model_path, const char *labels_path, size_t top_k,
                                              int thread_count, char **error);
/* NULL is ignored. */
void onnxrun_classifier_destroy(onnxrun_classifier *classifier);

/* Classifies an image file, or an encoded image in memory: writes the best min(top_k, classes) predictions,
   best first, into `predictions` (room for top_k) and their number into *count. 0 on success, else non-zero
   with *error set. */
int onnxrun_classifier_classify_file(onnxrun_classifier *classifier, const char *image_path,
                                     onnxrun_prediction *predictions, size_t *count, char **error);
int onnxrun_classifier_classify_bytes(onnxrun_classifier *classifier, const void *bytes, size_t byte_count,
                                      onnxrun_prediction *predictions, size_t *count, char **error);

#ifdef __cplusplus
}
#endif

#endif /* ONNXRUN_H */
