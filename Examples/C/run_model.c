/* run_model: the onnxrun C API on a raw float32 input: a run checked against a reference output, the same run
   from 4 threads at once, the generic named-tensor run, and every kind of misuse reported as an error.

   Build:  cc run_model.c $(pkg-config --cflags --libs onnxrun) -lpthread -o run_model
   Usage:  run_model MODEL INPUT.f32 DIMS EXPECTED.f32 BROKEN_MODEL [CYCLES]
           INPUT.f32, EXPECTED.f32: raw little-endian float32; DIMS: the input shape, e.g. 1,3,96,96;
           BROKEN_MODEL: a file that is not a valid model; CYCLES: extra create/run/destroy cycles (for valgrind).
   Exit status 0 when every check passes. */

#include <onnxrun.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failures = 0;

#define CHECK(condition, ...)                       \
    do {                                            \
        if (!(condition)) {                         \
            fprintf(stderr, "FAILED: " __VA_ARGS__); \
            fprintf(stderr, "\n");                  \
            failures++;                             \
        }                                           \
    } while (0)

/* Reads a whole raw float32 file; *count gets the number of floats. */
static float *read_floats(const char *path, size_t *count) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    fseek(file, 0, SEEK_END);
    long bytes = ftell(file);
    fseek(file, 0, SEEK_SET);
    float *values = malloc(bytes > 0 ? (size_t)bytes : 1);
    *count = fread(values, sizeof(float), (size_t)bytes / sizeof(float), file);
    fclose(file);
    return values;
}

static size_t element_count(const int64_t *shape, size_t rank) {
    size_t count = 1;
    for (size_t axis = 0; axis < rank; axis++) count *= (size_t)shape[axis];
    return count;
}

static float max_difference(const float *a, const float *b, size_t count) {
    float worst = 0;
    for (size_t i = 0; i < count; i++) {
        float difference = fabsf(a[i] - b[i]);
        if (!(difference <= worst)) worst = difference; /* NaN counts as a difference */
    }
    return worst;
}

/* Expects a failed call: non-zero status and a message; prints and frees the message. */
static void expect_error(int status, char *error, const char *what) {
    CHECK(status != 0, "%s: succeeded, expected an error", what);
    CHECK(error != NULL && error[0] != '\0', "%s: no error message", what);
    if (error) printf("error as expected (%s): %s\n", what, error);
    onnxrun_free(error);
}

/* Evaluates `call` (which may set `error`), then checks that it failed with a message. */
#define EXPECT_ERROR(what, call)              \
    do {                                      \
        error = NULL;                         \
        int failed_status = (call);           \
        expect_error(failed_status, error, what); \
    } while (0)

/* MARK: - 4 threads at once */

struct worker {
    onnxrun_session *session;
    const float *input;
    const int64_t *shape;
    size_t rank;
    const float *expected;
    size_t expected_count;
    float difference; /* largest over its runs */
    int failed;
};

static void *run_worker(void *argument) {
    struct worker *worker = argument;
    for (int round = 0; round < 8; round++) {
        float *output = NULL;
        int64_t out_shape[ONNXRUN_MAX_RANK];
        size_t out_rank = 0;
        char *error = NULL;
        if (onnxrun_session_run_f32(worker->session, worker->input, worker->shape, worker->rank, 0, &output,
                                    out_shape, &out_rank, &error) != 0) {
            fprintf(stderr, "thread run failed: %s\n", error ? error : "(no message)");
            onnxrun_free(error);
            worker->failed = 1;
            return NULL;
        }
        if (element_count(out_shape, out_rank) != worker->expected_count) worker->failed = 1;
        else {
            float difference = max_difference(output, worker->expected, worker->expected_count);
            if (difference > worker->difference) worker->difference = difference;
        }
        onnxrun_free(output);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: %s MODEL INPUT.f32 DIMS EXPECTED.f32 BROKEN_MODEL [CYCLES]\n", argv[0]);
        return 2;
    }
    const char *model = argv[1], *broken_model = argv[5];
    int cycles = argc > 6 ? atoi(argv[6]) : 0;
    int64_t shape[ONNXRUN_MAX_RANK];
    size_t rank = 0;
    for (char *dimension = strtok(argv[3], ","); dimension && rank < ONNXRUN_MAX_RANK; dimension = strtok(NULL, ","))
        shape[rank++] = atoll(dimension);
    size_t input_count = 0, expected_count = 0;
    float *input = read_floats(argv[2], &input_count);
    float *expected = read_floats(argv[4], &expected_count);
    if (!input || !expected || input_count != element_count(shape, rank)) {
        fprintf(stderr, "cannot read the input or reference, or the input does not have the shape's size\n");
        return 2;
    }
    printf("onnxrun %s\n", onnxrun_version());

    /* One run, against the reference. */
    char *error = NULL;
    onnxrun_session *session = onnxrun_session_create(model, 2, &error);
    if (!session) {
        fprintf(stderr, "cannot create the session: %s\n", error);
        onnxrun_free(error);
        return 1;
    }
    printf("inputs: %zu (%s), outputs: %zu (%s)\n", onnxrun_session_input_count(session),
           onnxrun_session_input_name(session, 0), onnxrun_session_output_count(session),
           onnxrun_session_output_name(session, 0));
    int element_type = 0;
    int64_t declared[ONNXRUN_MAX_RANK];
    size_t declared_rank = 0;
    CHECK(onnxrun_session_input_type(session, 0, &element_type, declared, &declared_rank, NULL) == 0, "input type");
    printf("input type %d, rank %zu, dims", element_type, declared_rank);
    for (size_t axis = 0; axis < declared_rank; axis++) printf(" %lld", (long long)declared[axis]);
    printf("\n");

    float *output = NULL;
    int64_t out_shape[ONNXRUN_MAX_RANK];
    size_t out_rank = 0;
    int status = onnxrun_session_run_f32(session, input, shape, rank, 0, &output, out_shape, &out_rank, &error);
    CHECK(status == 0 && error == NULL, "run: %s", error ? error : "");
    if (status == 0) {
        CHECK(element_count(out_shape, out_rank) == expected_count, "output has %zu elements, reference %zu",
              element_count(out_shape, out_rank), expected_count);
        float difference = max_difference(output, expected, expected_count);
        printf("run_f32: output rank %zu, %zu values, max abs difference from the reference %.3g\n", out_rank,
               element_count(out_shape, out_rank), difference);
        CHECK(difference <= 1e-4f, "difference %g above 1e-4", difference);
        onnxrun_free(output);
    }

    /* The same input from 4 threads at once, 8 runs each. */
    pthread_t threads[4];
    struct worker workers[4];
    for (int i = 0; i < 4; i++) {
        workers[i] = (struct worker){session, input, shape, rank, expected, expected_count, 0, 0};
        pthread_create(&threads[i], NULL, run_worker, &workers[i]);
    }
    float worst = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(threads[i], NULL);
        CHECK(!workers[i].failed, "thread %d failed", i);
        if (workers[i].difference > worst) worst = workers[i].difference;
    }
    printf("4 threads x 8 runs: max abs difference from the reference %.3g\n", worst);
    CHECK(worst <= 1e-4f, "threads: difference %g above 1e-4", worst);

    /* The generic run: named tensors, output chosen by position. */
    onnxrun_tensor feed = {onnxrun_session_input_name(session, 0), ONNXRUN_ELEMENT_FLOAT, rank, {0}, input};
    memcpy(feed.shape, shape, rank * sizeof(int64_t));
    onnxrun_tensor result = {NULL, 0, 0, {0}, NULL};
    status = onnxrun_session_run(session, &feed, 1, &result, 1, &error);
    CHECK(status == 0, "onnxrun_session_run: %s", error ? error : "");
    if (status == 0) {
        CHECK(result.element_type == ONNXRUN_ELEMENT_FLOAT, "generic run: element type %d", result.element_type);
        CHECK(result.name && strcmp(result.name, onnxrun_session_output_name(session, 0)) == 0, "output name");
        float difference = max_difference(result.data, expected, expected_count);
        printf("onnxrun_session_run: output '%s', max abs difference %.3g\n", result.name, difference);
        CHECK(difference <= 1e-4f, "generic run: difference %g", difference);
        onnxrun_free(result.data);
    }

    /* Misuse: each is an error with a message, never a crash. */
    EXPECT_ERROR("missing file", onnxrun_session_create("/nonexistent/model.onnx", 1, &error) == NULL);
    EXPECT_ERROR("malformed model", onnxrun_session_create(broken_model, 1, &error) == NULL);
    EXPECT_ERROR("NULL model path", onnxrun_session_create(NULL, 1, &error) == NULL);
    EXPECT_ERROR("negative thread count", onnxrun_session_create(model, -3, &error) == NULL);
    int64_t wrong_shape[4] = {1, 3, shape[2] - 1, shape[3]};
    EXPECT_ERROR("wrong shape", onnxrun_session_run_f32(session, input, wrong_shape, 4, 0, &output, out_shape, &out_rank, &error));
    EXPECT_ERROR("wrong rank", onnxrun_session_run_f32(session, input, shape, 3, 0, &output, out_shape, &out_rank, &error));
    int64_t negative[4] = {1, -3, shape[2], shape[3]};
    EXPECT_ERROR("negative dimension", onnxrun_session_run_f32(session, input, negative, 4, 0, &output, out_shape, &out_rank, &error));
    int64_t nine[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    EXPECT_ERROR("rank 9", onnxrun_session_run_f32(session, input, nine, 9, 0, &output, out_shape, &out_rank, &error));
    EXPECT_ERROR("output index out of range", onnxrun_session_run_f32(session, input, shape, rank, 7, &output, out_shape, &out_rank, &error));
    EXPECT_ERROR("NULL session", onnxrun_session_run_f32(NULL, input, shape, rank, 0, &output, out_shape, &out_rank, &error));
    EXPECT_ERROR("NULL input", onnxrun_session_run_f32(session, NULL, shape, rank, 0, &output, out_shape, &out_rank, &error));
    EXPECT_ERROR("NULL shape", onnxrun_session_run_f32(session, input, NULL, rank, 0, &output, out_shape, &out_rank, &error));
    EXPECT_ERROR("NULL output", onnxrun_session_run_f32(session, input, shape, rank, 0, NULL, out_shape, &out_rank, &error));
    EXPECT_ERROR("NULL out_shape", onnxrun_session_run_f32(session, input, shape, rank, 0, &output, NULL, &out_rank, &error));
    EXPECT_ERROR("NULL out_rank", onnxrun_session_run_f32(session, input, shape, rank, 0, &output, out_shape, NULL, &error));
    feed.element_type = ONNXRUN_ELEMENT_INT64;
    EXPECT_ERROR("wrong element type", onnxrun_session_run(session, &feed, 1, &result, 1, &error));
    feed.element_type = 42;
    EXPECT_ERROR("unknown element type", onnxrun_session_run(session, &feed, 1, &result, 1, &error));
    feed.element_type = ONNXRUN_ELEMENT_FLOAT;
    feed.name = "no such input";
    EXPECT_ERROR("unknown input name", onnxrun_session_run(session, &feed, 1, &result, 1, &error));
    EXPECT_ERROR("NULL inputs", onnxrun_session_run(session, NULL, 1, &result, 1, &error));
    EXPECT_ERROR("missing input", onnxrun_session_run(session, &feed, 0, &result, 1, &error));
    CHECK(onnxrun_session_input_name(session, 5) == NULL, "input name out of range");
    CHECK(onnxrun_session_input_count(NULL) == 0, "input count of NULL");
    /* Without an error pointer, failures are still reported by the status. */
    CHECK(onnxrun_session_run_f32(NULL, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL) != 0, "all NULL");

    onnxrun_session_destroy(session);
    /* A destroyed handle is refused, not dereferenced. */
    EXPECT_ERROR("destroyed session", onnxrun_session_run_f32(session, input, shape, rank, 0, &output, out_shape, &out_rank, &error));
    onnxrun_session_destroy(NULL);

    /* Create/run/destroy cycles (valgrind: no definite leak). */
    for (int cycle = 0; cycle < cycles; cycle++) {
        onnxrun_session *again = onnxrun_session_create(model, 1, NULL);
        CHECK(again != NULL, "cycle %d: create", cycle);
        CHECK(onnxrun_session_run_f32(again, input, shape, rank, 0, &output, out_shape, &out_rank, NULL) == 0,
              "cycle %d: run", cycle);
        onnxrun_free(output);
        onnxrun_session_destroy(again);
    }
    if (cycles > 0) printf("%d create/run/destroy cycles\n", cycles);

    free(input);
    free(expected);
    printf(failures == 0 ? "all checks passed\n" : "%d checks failed\n", failures);
    return failures == 0 ? 0 : 1;
}
