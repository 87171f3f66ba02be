/* The same robust linear regression from C, through the C ABI (losskit/losskit.h): a Huber
 * loss and its gradient in one call, Adam owning its state. Every call returns a status;
 * losskit_last_error() says why one failed. Exits with status 1 unless the weights are
 * recovered. */
#include <losskit/losskit.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 4000, D = 8, BATCH = 64, EPOCHS = 30 };

/* A call that must succeed: report and stop otherwise. */
#define TRY(call)                                                           \
  do {                                                                      \
    if ((call) != LOSSKIT_OK) {                                             \
      fprintf(stderr, "%s failed: %s\n", #call, losskit_last_error());      \
      exit(2);                                                              \
    }                                                                       \
  } while (0)

/* Uniform in [0, 1) and standard normal (Box-Muller) from a 64-bit LCG: the data only. */
static unsigned long long state = 1;
static double uniform(void) {
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(state >> 11) * 0x1.0p-53;
}
static double normal(void) {
  return sqrt(-2.0 * log(1.0 - uniform())) * cos(6.283185307179586 * uniform());
}

int main(void) {
  static double X[N][D], y[N];
  const double w_true[D] = {0.5, -1.0, 2.0, 0.0, 1.5, -0.5, 0.25, 1.0}, b_true = 0.3;
  for (int i = 0; i < N; ++i) {
    double t = b_true;
    for (int j = 0; j < D; ++j) {
      X[i][j] = normal();
      t += X[i][j] * w_true[j];
    }
    y[i] = uniform() < 0.1 ? 50.0 * (uniform() - 0.5) : t + 0.05 * normal();
  }

  losskit_loss* huber;
  TRY(losskit_loss_new("huber", &huber));
  TRY(losskit_loss_set(huber, "delta", 1.0));
  losskit_optimizer* adam;
  TRY(losskit_optimizer_new("adam", /*double_precision=*/1, D + 1, &adam));

  double params[D + 1] = {0}, grads[D + 1], pred[BATCH], dpred[BATCH];
  for (int epoch = 0; epoch < EPOCHS; ++epoch) {
    TRY(losskit_optimizer_set(adam, "lr", 0.05 / (1.0 + 0.5 * epoch)));
    double epoch_loss = 0;
    for (int start = 0; start + BATCH <= N; start += BATCH) {
      for (int i = 0; i < BATCH; ++i) {
        pred[i] = params[D];
        for (int j = 0; j < D; ++j) pred[i] += X[start + i][j] * params[j];
      }
      losskit_elementwise_f64 call = {.size = BATCH, .input = pred, .target = y + start,
                                      .grad = dpred};
      double loss;
      TRY(losskit_evaluate_f64(huber, &call, &loss));
      epoch_loss += loss;
      for (int j = 0; j <= D; ++j) grads[j] = 0;
      for (int i = 0; i < BATCH; ++i) {
        for (int j = 0; j < D; ++j) grads[j] += dpred[i] * X[start + i][j];
        grads[D] += dpred[i];
      }
      TRY(losskit_optimizer_step_f64(adam, params, grads, D + 1));
    }
    if (epoch % 5 == 4 || epoch + 1 == EPOCHS)
      printf("epoch %2d  mean Huber loss %.4f\n", epoch + 1, epoch_loss / (N / BATCH));
  }

  /* A refused call: the status, the message, and nothing written. */
  if (losskit_loss_set(huber, "delta", -1.0) != LOSSKIT_INVALID_ARGUMENT) return 1;
  printf("refused: %s\n", losskit_last_error());

  double max_error = fabs(params[D] - b_true);
  for (int j = 0; j < D; ++j) max_error = fmax(max_error, fabs(params[j] - w_true[j]));
  printf("losskit %s, isa %s: max |w - w*| = %.4f\n", losskit_version(), losskit_get_isa(),
         max_error);
  losskit_optimizer_free(adam);
  losskit_loss_free(huber);
  return max_error < 0.05 ? 0 : 1;
}
