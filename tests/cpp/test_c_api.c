/* The C ABI (losskit/losskit.h) from C11: values against formulas computed here, the status
 * code and message of every kind of refusal, nothing written by a refused call, and an
 * optimizer's steps, state and hyperparameters. Exits 1 on a failure. */
#include <losskit/losskit.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define EXPECT(cond)                                                  \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: EXPECT(%s) failed\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

/* A call refused with `status`, its message mentioning `text`. */
#define EXPECT_REFUSED(call, status, text)                                           \
  do {                                                                               \
    const losskit_status s_ = (call);                                                \
    EXPECT(s_ == (status));                                                          \
    if (!strstr(losskit_last_error(), (text))) {                                     \
      fprintf(stderr, "%s:%d: '%s' does not mention '%s'\n", __FILE__, __LINE__,     \
              losskit_last_error(), (text));                                         \
      ++failures;                                                                    \
    }                                                                                \
  } while (0)

static void test_losses(void) {
  enum { n = 5 };
  const double x[n] = {0.1, -2.0, 0.7, 3.5, -0.2}, y[n] = {0.0, 1.0, 0.5, 0.0, -0.3};
  double grad[n], expected = 0, value = 0;
  losskit_loss* huber = NULL;
  EXPECT(losskit_loss_new("huber", &huber) == LOSSKIT_OK);
  EXPECT(losskit_loss_set(huber, "delta", 0.5) == LOSSKIT_OK);
  EXPECT(losskit_loss_set_reduction(huber, LOSSKIT_REDUCTION_SUM) == LOSSKIT_OK);
  losskit_elementwise_f64 call = {.size = n, .input = x, .target = y, .grad = grad};
  EXPECT(losskit_evaluate_f64(huber, &call, &value) == LOSSKIT_OK);
  for (int i = 0; i < n; ++i) {
    const double r = x[i] - y[i], a = fabs(r);
    expected += a < 0.5 ? 0.5 * r * r : 0.5 * (a - 0.25);
    const double g = a < 0.5 ? r : (r > 0 ? 0.5 : -0.5);
    EXPECT(fabs(grad[i] - g) < 1e-15);
  }
  EXPECT(fabs(value - expected) < 1e-14);

  /* Refusals: status, message, nothing written. */
  double untouched[n] = {7, 7, 7, 7, 7};
  EXPECT_REFUSED(losskit_loss_set(huber, "delta", -1.0), LOSSKIT_INVALID_ARGUMENT,
                 "delta must be positive and finite, got -1.0");
  EXPECT_REFUSED(losskit_loss_set(huber, "delta", NAN), LOSSKIT_INVALID_ARGUMENT, "delta");
  EXPECT_REFUSED(losskit_loss_set(huber, "width", 1.0), LOSSKIT_UNKNOWN_NAME, "width");
  double delta = 0;
  EXPECT(losskit_loss_get(huber, "delta", &delta) == LOSSKIT_OK && delta == 0.5);
  EXPECT_REFUSED(losskit_loss_set_reduction(huber, LOSSKIT_REDUCTION_BATCHMEAN),
                 LOSSKIT_INVALID_ARGUMENT, "reduction");
  losskit_elementwise_f64 null_input = {.size = n, .target = y, .grad = untouched};
  EXPECT_REFUSED(losskit_evaluate_f64(huber, &null_input, &value), LOSSKIT_INVALID_ARGUMENT,
                 "input is null");
  const double weights[n] = {1, 1, -3, 1, 1};
  losskit_elementwise_f64 negative = {.size = n, .input = x, .target = y, .sample_weight = weights,
                                      .grad = untouched};
  EXPECT_REFUSED(losskit_evaluate_f64(huber, &negative, NULL), LOSSKIT_INVALID_ARGUMENT,
                 "sample_weight[2] = -3.0");
  losskit_elementwise_f64 overlapping = {.size = n - 1, .input = x, .target = y, .grad = untouched,
                                         .hess = untouched + 1};
  EXPECT_REFUSED(losskit_evaluate_f64(huber, &overlapping, NULL), LOSSKIT_INVALID_ARGUMENT,
                 "share memory");
  losskit_elementwise_f64 policy = {.size = n, .input = x, .target = y, .grad = untouched,
                                    .hess = grad, .hessian = (losskit_hessian)9};
  EXPECT_REFUSED(losskit_evaluate_f64(huber, &policy, NULL), LOSSKIT_INVALID_ARGUMENT, "Hessian");
  for (int i = 0; i < n; ++i) EXPECT(untouched[i] == 7);
  EXPECT_REFUSED(losskit_evaluate_f64(NULL, &call, &value), LOSSKIT_INVALID_ARGUMENT, "loss is null");
  losskit_loss_free(huber);

  losskit_loss* missing = NULL;
  EXPECT_REFUSED(losskit_loss_new("hubert", &missing), LOSSKIT_UNKNOWN_NAME, "hubert");
  EXPECT(missing == NULL);

  /* A choice parameter, and float32 with a third argument (the variance). */
  losskit_loss* nll = NULL;
  EXPECT(losskit_loss_new("gaussian_nll", &nll) == LOSSKIT_OK);
  EXPECT(losskit_loss_set_choice(nll, "param", "precision") == LOSSKIT_OK);
  EXPECT_REFUSED(losskit_loss_set_choice(nll, "param", "stddev"), LOSSKIT_INVALID_ARGUMENT, "stddev");
  const float xf[2] = {1.0f, 2.0f}, yf[2] = {0.0f, 0.0f}, beta[2] = {2.0f, 0.5f};
  float gf[2], gbeta[2];
  losskit_elementwise_f32 f32 = {.size = 2, .input = xf, .target = yf, .third = beta,
                                 .grad = gf, .grad_third = gbeta};
  EXPECT(losskit_evaluate_f32(nll, &f32, &value) == LOSSKIT_OK);
  /* mean of (r^2 beta - log beta) / 2 */
  EXPECT(fabs(value - 0.25 * ((2.0 - log(2.0)) + (4.0 * 0.5 - log(0.5)))) < 1e-6);
  EXPECT(fabs(gf[0] - 1.0f) < 1e-6 && fabs(gf[1] - 0.5f) < 1e-6);
  losskit_loss_free(nll);

  /* Row-wise: labels checked, class weights checked. */
  losskit_loss* ce = NULL;
  EXPECT(losskit_loss_new("cross_entropy", &ce) == LOSSKIT_OK);
  EXPECT(losskit_loss_is_rowwise(ce) == 1);
  const double scores[6] = {0, 0, 0, 1, 2, 3};
  const int64_t labels[2] = {1, 4};
  double row_grad[6] = {7, 7, 7, 7, 7, 7};
  losskit_rowwise_f64 rows = {.rows = 2, .classes = 3, .input = scores, .labels = labels,
                              .grad = row_grad};
  EXPECT_REFUSED(losskit_evaluate_rowwise_f64(ce, &rows, &value), LOSSKIT_INVALID_ARGUMENT,
                 "labels[1] = 4");
  for (int i = 0; i < 6; ++i) EXPECT(row_grad[i] == 7);
  const double bad_weight[3] = {1, INFINITY, 1};
  EXPECT_REFUSED(losskit_loss_set_class_weight(ce, bad_weight, 3), LOSSKIT_INVALID_ARGUMENT,
                 "weight[1] = inf");
  const int64_t good[2] = {1, 2};
  rows.labels = good;
  EXPECT(losskit_evaluate_rowwise_f64(ce, &rows, &value) == LOSSKIT_OK);
  const double lse = 3 + log(exp(-2.0) + exp(-1.0) + 1.0);
  EXPECT(fabs(value - 0.5 * (log(3.0) + lse - 3)) < 1e-14);
  EXPECT_REFUSED(losskit_evaluate_f64(ce, &call, &value), LOSSKIT_INVALID_ARGUMENT, "row-wise");
  losskit_loss_free(ce);

  /* Pairs of rows: cosine_embedding(input1, input2, target) with both gradients. Row 0 is
   * similar (1 - cos), row 1 dissimilar (max(0, cos - margin)); margin 0, mean over 2 rows. */
  losskit_loss* cosine = NULL;
  EXPECT(losskit_loss_new("cosine_embedding", &cosine) == LOSSKIT_OK);
  const double a[4] = {1, 0, 3, 4}, b[4] = {1, 1, 3, 4}, signs[2] = {1, -1};
  double ga[4], gb[4];
  losskit_rowwise_f64 pair = {.rows = 2, .classes = 2, .input = a, .second = b, .target = signs,
                              .grad = ga, .grad_second = gb};
  EXPECT(losskit_evaluate_rowwise_f64(cosine, &pair, &value) == LOSSKIT_OK);
  const double cos0 = 1 / sqrt((1 + 1e-12) * (2 + 1e-12)), cos1 = 25 / (25 + 1e-12);
  EXPECT(fabs(value - 0.5 * ((1 - cos0) + cos1)) < 1e-15);
  /* d(1 - cos)/da_1 for a = (1, 0), b = (1, 1): -(b_1 / |a||b| - cos a_1 / |a|^2) / 2 rows */
  EXPECT(fabs(ga[1] + 0.5 * (1 / sqrt(2.0))) < 1e-9);
  EXPECT(fabs(gb[0] + 0.5 * (1 / sqrt(2.0) - cos0 / 2)) < 1e-9);
  const double not_a_sign[2] = {1, 0};
  pair.target = not_a_sign;
  EXPECT_REFUSED(losskit_evaluate_rowwise_f64(cosine, &pair, &value), LOSSKIT_INVALID_ARGUMENT,
                 "target must be 1 or -1, got target[1] = 0.0");
  pair.target = signs;
  pair.second = NULL;
  EXPECT_REFUSED(losskit_evaluate_rowwise_f64(cosine, &pair, &value), LOSSKIT_INVALID_ARGUMENT,
                 "input2 has 0 elements");
  losskit_loss_free(cosine);

  int found = 0;
  for (size_t i = 0; i < losskit_num_losses(); ++i) found += strcmp(losskit_loss_name(i), "barron") == 0;
  EXPECT(found == 1 && losskit_loss_name(losskit_num_losses()) == NULL);
}

static void test_optimizer(void) {
  losskit_optimizer* sgd = NULL;
  EXPECT(losskit_optimizer_new("sgd", 1, 3, &sgd) == LOSSKIT_OK);
  EXPECT(losskit_optimizer_set(sgd, "lr", 0.1) == LOSSKIT_OK);
  EXPECT(losskit_optimizer_set(sgd, "momentum", 0.5) == LOSSKIT_OK);
  EXPECT_REFUSED(losskit_optimizer_set(sgd, "lr", -1.0), LOSSKIT_INVALID_ARGUMENT,
                 "lr must be non-negative and finite, got -1.0");
  EXPECT(losskit_optimizer_set(sgd, "dampening", 0.5) == LOSSKIT_OK);
  EXPECT_REFUSED(losskit_optimizer_set(sgd, "nesterov", 1.0), LOSSKIT_INVALID_ARGUMENT, "dampening");
  EXPECT(losskit_optimizer_set(sgd, "dampening", 0.0) == LOSSKIT_OK);
  EXPECT_REFUSED(losskit_optimizer_set(sgd, "betas", 1.0), LOSSKIT_UNKNOWN_NAME, "betas");
  double p[3] = {1, 2, 3};
  const double g[3] = {1, 1, 1};
  EXPECT(losskit_optimizer_step_f64(sgd, p, g, 3) == LOSSKIT_OK);
  EXPECT(losskit_optimizer_step_f64(sgd, p, g, 3) == LOSSKIT_OK);
  /* buf = 1, then 0.5 + 1 = 1.5: p -= 0.1 (1 + 1.5) */
  EXPECT(fabs(p[0] - 0.75) < 1e-15 && losskit_optimizer_steps(sgd) == 2);
  double buffer[3];
  EXPECT(losskit_optimizer_get_state(sgd, "momentum_buffer", buffer, 3) == LOSSKIT_OK);
  EXPECT(buffer[2] == 1.5);
  EXPECT_REFUSED(losskit_optimizer_get_state(sgd, "exp_avg", buffer, 3), LOSSKIT_INVALID_ARGUMENT,
                 "holds no value");
  EXPECT_REFUSED(losskit_optimizer_set_state(sgd, "exp_avg", buffer, 3), LOSSKIT_INVALID_ARGUMENT,
                 "keeps no state");
  EXPECT_REFUSED(losskit_optimizer_get_state(sgd, "velocity", buffer, 3), LOSSKIT_UNKNOWN_NAME,
                 "velocity");
  const float pf[3] = {0, 0, 0};
  EXPECT_REFUSED(losskit_optimizer_step_f32(sgd, (float*)pf, pf, 3), LOSSKIT_INVALID_ARGUMENT,
                 "float64");
  EXPECT_REFUSED(losskit_optimizer_step_f64(sgd, p, g, 2), LOSSKIT_INVALID_ARGUMENT, "has 2 elements");
  EXPECT_REFUSED(losskit_optimizer_set_steps(sgd, -1), LOSSKIT_INVALID_ARGUMENT, "non-negative");
  EXPECT(p[0] == 0.75);
  losskit_optimizer_free(sgd);
  losskit_optimizer* unknown = NULL;
  EXPECT_REFUSED(losskit_optimizer_new("lbfgs", 0, 3, &unknown), LOSSKIT_UNKNOWN_NAME, "lbfgs");
}

/* torch.nn.utils.clip_grad_norm_ / clip_grad_value_ on two arrays, against the formulas. */
static void test_clipping(void) {
  double a[3] = {3, 0, -4}, b[2] = {12, 0};
  double* arrays[2] = {a, b};
  const size_t sizes[2] = {3, 2};
  double norm = 0;
  EXPECT(losskit_clip_grad_norm_f64(arrays, sizes, 2, 6.5, LOSSKIT_NORM_L2, 0, &norm) == LOSSKIT_OK);
  const double coefficient = 6.5 / (13 + 1e-6); /* sqrt(9 + 16 + 144) = 13 */
  EXPECT(norm == 13 && fabs(a[2] + 4 * coefficient) < 1e-15 && fabs(b[0] - 12 * coefficient) < 1e-15);
  float f[3] = {1, -2, 3}, *farrays[1] = {f};
  const size_t fsize[1] = {3};
  EXPECT(losskit_clip_grad_norm_f32(farrays, fsize, 1, 100, LOSSKIT_NORM_INF, 0, &norm) == LOSSKIT_OK);
  EXPECT(norm == 3 && f[1] == -2); /* below max_norm: unchanged */
  EXPECT(losskit_clip_grad_norm_f32(farrays, fsize, 1, 3, LOSSKIT_NORM_L1, 0, &norm) == LOSSKIT_OK);
  EXPECT(norm == 6 && fabsf(f[2] - 3 * (float)(3 / (6 + 1e-6))) < 1e-6f);

  double before[3];
  memcpy(before, a, sizeof a);
  EXPECT_REFUSED(losskit_clip_grad_norm_f64(arrays, sizes, 2, -1, LOSSKIT_NORM_L2, 0, NULL),
                 LOSSKIT_INVALID_ARGUMENT, "max_norm must be non-negative");
  EXPECT_REFUSED(losskit_clip_grad_norm_f64(arrays, sizes, 2, 1, (losskit_norm)7, 0, NULL),
                 LOSSKIT_INVALID_ARGUMENT, "norm");
  double* overlapping[2] = {a, a + 1};
  EXPECT_REFUSED(losskit_clip_grad_norm_f64(overlapping, sizes, 2, 1, LOSSKIT_NORM_L2, 0, NULL),
                 LOSSKIT_INVALID_ARGUMENT, "overlaps");
  double* missing[2] = {a, NULL};
  EXPECT_REFUSED(losskit_clip_grad_norm_f64(missing, sizes, 2, 1, LOSSKIT_NORM_L2, 0, NULL),
                 LOSSKIT_INVALID_ARGUMENT, "arrays[1] is null");
  b[1] = NAN;
  EXPECT_REFUSED(losskit_clip_grad_norm_f64(arrays, sizes, 2, 1, LOSSKIT_NORM_L2, 1, &norm),
                 LOSSKIT_NOT_FINITE, "");
  EXPECT(memcmp(before, a, sizeof a) == 0 && b[0] == 12 * coefficient);

  double v[4] = {-3, 0.5, 2, NAN};
  EXPECT(losskit_clip_grad_value_f64(v, 4, 1) == LOSSKIT_OK);
  EXPECT(v[0] == -1 && v[1] == 0.5 && v[2] == 1 && isnan(v[3]));
  EXPECT_REFUSED(losskit_clip_grad_value_f64(v, 4, NAN), LOSSKIT_INVALID_ARGUMENT, "clip_value");
  EXPECT_REFUSED(losskit_clip_grad_value_f64(NULL, 4, 1), LOSSKIT_INVALID_ARGUMENT, "null");
  EXPECT(losskit_clip_grad_value_f32(NULL, 0, 1) == LOSSKIT_OK);
}

static void test_runtime(void) {
  EXPECT_REFUSED(losskit_set_num_threads(0), LOSSKIT_INVALID_ARGUMENT, "num_threads");
  EXPECT_REFUSED(losskit_set_isa("neon"), LOSSKIT_UNKNOWN_NAME, "neon");
  EXPECT(losskit_set_isa("sse2") == LOSSKIT_OK && strcmp(losskit_get_isa(), "sse2") == 0);
  EXPECT(losskit_get_num_threads() >= 1);
  EXPECT(strchr(losskit_version(), '.') != NULL);
}

int main(void) {
  test_losses();
  test_optimizer();
  test_clipping();
  test_runtime();
  if (failures) fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
