/*
 * host_main.c: the host runner tinyml compiles with the generated model for tests and
 * `tinyml infer --engine native`. Not part of any firmware.
 *
 * Usage: runner <out_dir> <cases> <input files: case 0 inputs in model order, then case 1, ...>
 * Each case starts from tml_model_init() (state tensors at zero), copies its input files into
 * the model's inputs (each file must hold exactly tml_model_input_bytes(i) bytes), invokes once
 * and writes <out_dir>/case_<k>_output_<j>.bin. With TML_KEEP_STATE=1 in the environment only
 * the first case initialises: the cases are consecutive invocations of one stateful model
 * (SVDF, LSTM). Exit status: 0 ok, 2 usage, 3 file, 4 invoke.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "model.h"

static int read_exact(const char *path, void *dst, unsigned bytes) {
  FILE *f = fopen(path, "rb");
  long size;
  if (!f) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    fprintf(stderr, "cannot read %s\n", path);
    return -1;
  }
  if ((unsigned long)size != bytes) {
    fclose(f);
    fprintf(stderr, "%s has %ld bytes, the model input needs %u\n", path, size, bytes);
    return -1;
  }
  if (bytes > 0 && fread(dst, 1, bytes, f) != bytes) {
    fclose(f);
    fprintf(stderr, "short read on %s\n", path);
    return -1;
  }
  fclose(f);
  return 0;
}

#ifdef TML_TRACE
/* Writes each traced tensor to $TML_TRACE_DIR/t<tensor index>.bin (the last write wins). */
void tml_trace_tensor(int op_index, int tensor_index, const void *data, unsigned bytes) {
  const char *dir = getenv("TML_TRACE_DIR");
  char path[4096];
  FILE *f;
  (void)op_index;
  if (!dir || !*dir) return;
  snprintf(path, sizeof(path), "%s/t%d.bin", dir, tensor_index);
  f = fopen(path, "wb");
  if (!f) return;
  if (bytes > 0) fwrite(data, 1, bytes, f);
  fclose(f);
}
#endif

int main(int argc, char **argv) {
  int cases, k, i, status;
  char path[4096];
  const char *keep = getenv("TML_KEEP_STATE");
  const int keep_state = keep != NULL && keep[0] == '1';
  if (argc < 3) {
    fprintf(stderr, "usage: %s <out_dir> <cases> <input files...>\n", argv[0]);
    return 2;
  }
  cases = atoi(argv[2]);
  if (cases < 1 || argc != 3 + cases * TML_MODEL_NUM_INPUTS) {
    fprintf(stderr, "expected %d input files for %d cases\n", cases * TML_MODEL_NUM_INPUTS, cases);
    return 2;
  }
  for (k = 0; k < cases; ++k) {
    if (k == 0 || !keep_state) tml_model_init();
    for (i = 0; i < TML_MODEL_NUM_INPUTS; ++i) {
      if (read_exact(argv[3 + k * TML_MODEL_NUM_INPUTS + i], tml_model_input(i), tml_model_input_bytes(i)) != 0) return 3;
    }
    status = tml_model_invoke();
    if (status != 0) {
      fprintf(stderr, "tml_model_invoke failed at op %d\n", status - 1);
      return 4;
    }
    for (i = 0; i < TML_MODEL_NUM_OUTPUTS; ++i) {
      FILE *f;
      snprintf(path, sizeof(path), "%s/case_%d_output_%d.bin", argv[1], k, i);
      f = fopen(path, "wb");
      if (!f || fwrite(tml_model_output(i), 1, tml_model_output_bytes(i), f) != tml_model_output_bytes(i)) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f) fclose(f);
        return 3;
      }
      fclose(f);
    }
  }
  return 0;
}
