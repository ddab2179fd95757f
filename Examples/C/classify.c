/* classify: the onnxrun C API's image classifier; prints the top-k of each photo as `onnxrun MODEL IMAGE` does.

   Build:  cc classify.c $(pkg-config --cflags --libs onnxrun) -o classify
   Usage:  classify MODEL IMAGE... (JPEG or PNG; the preprocessing comes from the model's metadata) */

#include <onnxrun.h>

#include <stdio.h>

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    enum { top_k = 5 };
    char *error = NULL;
    onnxrun_classifier *classifier = onnxrun_classifier_create(argv[1], NULL, top_k, 0, &error);
    if (!classifier) {
        fprintf(stderr, "classify: %s\n", error);
        onnxrun_free(error);
        return 1;
    }
    int status = 0;
    for (int i = 2; i < argc; i++) {
        onnxrun_prediction predictions[top_k];
        size_t count = 0;
        if (onnxrun_classifier_classify_file(classifier, argv[i], predictions, &count, &error) != 0) {
            fprintf(stderr, "classify: %s\n", error);
            onnxrun_free(error);
            status = 1;
            continue;
        }
        printf("%s\n", argv[i]);
        for (size_t rank = 0; rank < count; rank++)
            printf("  %zu. %6.2f%%  %4lld  %s\n", rank + 1, predictions[rank].probability * 100,
                   (long long)predictions[rank].index, predictions[rank].label);
    }
    onnxrun_classifier_destroy(classifier);
    return status;
}
