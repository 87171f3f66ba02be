/* losskit: the C ABI, for C and for the foreign-function interfaces of other languages (R,
 * Julia, Rust, Go, ...). C11; no C++ types cross it. It calls the same checked kernels as the
 * C++ API (losskit/checked.hpp): every function returns a losskit_status, and on failure nothing
 * has been written and losskit_last_error() says why (the argument and the offending value).
 *
 *   losskit_loss* huber;
 *   losskit_loss_new("huber", &huber);
 *   losskit_loss_set(huber, "delta", 0.5);
 *   losskit_elementwise_f64 call = {.size = n, .input = pred, .target = y, .grad = g};
 *   double value;
 *   if (losskit_evaluate_f64(huber, &call, &value) != LOSSKIT_OK)
 *     fprintf(stderr, "%s\n", losskit_last_error());
 *   losskit_loss_free(huber);
 *
 * Link the library with `find_package(losskit CONFIG)` and `losskit::losskit` (a C++ library:
 * CMake links a C program with the C++ runtime and OpenMP it needs). Handles may be used from
 * several threads at once for evaluation; setting parameters or stepping an optimizer must not
 * race with other use of the same handle. */
#ifndef LOSSKIT_LOSSKIT_H
#define LOSSKIT_LOSSKIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum losskit_status {
  LOSSKIT_OK = 0,
  LOSSKIT_INVALID_ARGUMENT = 1, /* a parameter, size, pointer or value outside its domain */
  LOSSKIT_UNKNOWN_NAME = 2,     /* no loss, parameter, rule or state of that name */
  LOSSKIT_NOT_FINITE = 3,       /* clip_grad_norm with error_if_nonfinite and a NaN/inf norm */
  LOSSKIT_OUT_OF_MEMORY = 4,
  LOSSKIT_INTERNAL_ERROR = 5
} losskit_status;

/* The message of this thread's last failed call ("" before any failure). Valid until the
 * thread's next losskit call. */
const char* losskit_last_error(void);
/* The library's version, "MAJOR.MINOR.PATCH". */
const char* losskit_version(void);

/* ---- losses ------------------------------------------------------------------------------ */
typedef enum losskit_reduction {
  LOSSKIT_REDUCTION_NONE = 0,
  LOSSKIT_REDUCTION_SUM = 1,
  LOSSKIT_REDUCTION_MEAN = 2,
  LOSSKIT_REDUCTION_BATCHMEAN = 3
} losskit_reduction;

typedef enum losskit_hessian {
  LOSSKIT_HESSIAN_EXACT = 0,
  LOSSKIT_HESSIAN_IRLS = 1,
  LOSSKIT_HESSIAN_POSITIVE = 2
} losskit_hessian;

/* Every loss, by registry name (as losskit's Python registry names them). */
size_t losskit_num_losses(void);
const char* losskit_loss_name(size_t index); /* NULL past the end */

/* A loss with its parameters and reduction (the definition's defaults until set). */
typedef struct losskit_loss losskit_loss;
losskit_status losskit_loss_new(const char* name, losskit_loss** out);
void losskit_loss_free(losskit_loss* loss); /* NULL is ignored */
/* A real, integer or boolean (0/1) parameter, checked against its domain now. */
losskit_status losskit_loss_set(losskit_loss* loss, const char* param, double value);
/* A choice parameter by name (gaussian_nll's param: "var" or "precision"). */
losskit_status losskit_loss_set_choice(losskit_loss* loss, const char* param, const char* choice);
losskit_status losskit_loss_get(const losskit_loss* loss, const char* param, double* value);
losskit_status losskit_loss_set_reduction(losskit_loss* loss, losskit_reduction reduction);
/* Row-wise losses that take class weights: `classes` finite, non-negative weights (copied), or
 * NULL and 0 for none. */
losskit_status losskit_loss_set_class_weight(losskit_loss* loss, const double* weight, size_t classes);
/* 1 for row-wise losses (scores of rows x classes), 0 for elementwise ones. */
int losskit_loss_is_rowwise(const losskit_loss* loss);

/* One elementwise call over `size` elements (unused pointers NULL). What is computed: the
 * value when `value` (the reduced value) is not NULL, or into `values` (one per element) with
 * reduction none; the gradient into `grad`; with grad, the gradients in the third and fourth
 * arguments into grad_third / grad_fourth; or, with grad and hess (and no value), the
 * curvature under `hessian`. third (and fourth) are the loss's extra arguments (gaussian_nll's
 * var; barron's per-element alpha and scale, both or neither). An output may be exactly an
 * input, but may not overlap one otherwise or another output. */
typedef struct losskit_elementwise_f32 {
  size_t size;
  const float* input;
  const float* target;
  const float* third;
  const float* fourth;
  const float* sample_weight;
  float* values;
  float* grad;
  float* grad_third;
  float* grad_fourth;
  float* hess;
  losskit_hessian hessian;
  size_t batch_size; /* reduction batchmean: the divisor */
} losskit_elementwise_f32;
typedef struct losskit_elementwise_f64 {
  size_t size;
  const double* input;
  const double* target;
  const double* third;
  const double* fourth;
  const double* sample_weight;
  double* values;
  double* grad;
  double* grad_third;
  double* grad_fourth;
  double* hess;
  losskit_hessian hessian;
  size_t batch_size;
} losskit_elementwise_f64;
losskit_status losskit_evaluate_f32(const losskit_loss* loss, const losskit_elementwise_f32* call,
                                    double* value);
losskit_status losskit_evaluate_f64(const losskit_loss* loss, const losskit_elementwise_f64* call,
                                    double* value);

/* One row-wise call: input is rows x classes, row-major; labels (one class index per row) or,
 * where the loss takes them, target probabilities (rows x classes). values: one per row.
 * multilabel_margin: labels are rows x classes (each row's classes, ended by a negative entry);
 * multilabel_soft_margin: target is rows x classes of 0/1. Pairs and triplets of rows (classes
 * is then the number of columns): cosine_embedding's input2 in `second`, with target one +1/-1
 * per row; triplet_margin's positive and negative in `second` and `third`, no target. The
 * operands' gradients (optional, with grad) go to grad_second and grad_third. */
typedef struct losskit_rowwise_f32 {
  size_t rows;
  size_t classes;
  const float* input;
  const int64_t* labels;
  const float* target;
  const float* second;
  const float* third;
  const float* sample_weight;
  float* values;
  float* grad;
  float* grad_second;
  float* grad_third;
  float* hess;
  losskit_hessian hessian;
} losskit_rowwise_f32;
typedef struct losskit_rowwise_f64 {
  size_t rows;
  size_t classes;
  const double* input;
  const int64_t* labels;
  const double* target;
  const double* second;
  const double* third;
  const double* sample_weight;
  double* values;
  double* grad;
  double* grad_second;
  double* grad_third;
  double* hess;
  losskit_hessian hessian;
} losskit_rowwise_f64;
losskit_status losskit_evaluate_rowwise_f32(const losskit_loss* loss,
                                            const losskit_rowwise_f32* call, double* value);
losskit_status losskit_evaluate_rowwise_f64(const losskit_loss* loss,
                                            const losskit_rowwise_f64* call, double* value);

/* ---- update rules ------------------------------------------------------------------------ */
/* An optimizer for one parameter array of `size` float32 (`double_precision` 0) or float64
 * elements, owning its state: rule "sgd", "adam", "adamw" (Adam with decoupled weight decay),
 * "rmsprop" or "adagrad", with torch.optim's defaults until set. */
typedef struct losskit_optimizer losskit_optimizer;
losskit_status losskit_optimizer_new(const char* rule, int double_precision, size_t size,
                                     losskit_optimizer** out);
void losskit_optimizer_free(losskit_optimizer* optimizer);
/* A hyperparameter by torch.optim's name (lr, momentum, beta1, beta2, eps, weight_decay,
 * amsgrad, nesterov, ...; booleans as 0/1), checked with the others now. */
losskit_status losskit_optimizer_set(losskit_optimizer* optimizer, const char* hyperparameter,
                                     double value);
losskit_status losskit_optimizer_step_f32(losskit_optimizer* optimizer, float* param,
                                          const float* grad, size_t size);
losskit_status losskit_optimizer_step_f64(losskit_optimizer* optimizer, double* param,
                                          const double* grad, size_t size);
int64_t losskit_optimizer_steps(const losskit_optimizer* optimizer);
/* Saving and loading the state, one array at a time by PyTorch's name ("exp_avg", ...):
 * get copies `size` elements out (LOSSKIT_INVALID_ARGUMENT if the array holds no value),
 * set copies them in; set_steps sets the step count. */
losskit_status losskit_optimizer_get_state(const losskit_optimizer* optimizer, const char* name,
                                           void* out, size_t size);
losskit_status losskit_optimizer_set_state(losskit_optimizer* optimizer, const char* name,
                                           const void* values, size_t size);
losskit_status losskit_optimizer_set_steps(losskit_optimizer* optimizer, int64_t steps);

/* ---- gradient clipping (torch.nn.utils) ---------------------------------------------------- */
typedef enum losskit_norm {
  LOSSKIT_NORM_L1 = 1,
  LOSSKIT_NORM_L2 = 2,
  LOSSKIT_NORM_INF = 3
} losskit_norm;
/* clip_grad_norm_: the norm of the `count` arrays together (arrays[i] holds sizes[i] elements;
 * written to *total_norm when it is not NULL), then every array multiplied by
 * min(1, max_norm / (norm + 1e-6)). max_norm >= 0 (inf: no clipping). With error_if_nonfinite
 * and a NaN or infinite norm: LOSSKIT_NOT_FINITE, and nothing is written. The arrays must not
 * overlap. */
losskit_status losskit_clip_grad_norm_f32(float* const* arrays, const size_t* sizes, size_t count,
                                          double max_norm, losskit_norm norm,
                                          int error_if_nonfinite, double* total_norm);
losskit_status losskit_clip_grad_norm_f64(double* const* arrays, const size_t* sizes, size_t count,
                                          double max_norm, losskit_norm norm,
                                          int error_if_nonfinite, double* total_norm);
/* clip_grad_value_: x = clamp(x, -clip_value, clip_value) in place (NaN stays NaN),
 * clip_value >= 0. */
losskit_status losskit_clip_grad_value_f32(float* x, size_t size, double clip_value);
losskit_status losskit_clip_grad_value_f64(double* x, size_t size, double clip_value);

/* ---- threads and instruction sets ---------------------------------------------------------- */
losskit_status losskit_set_num_threads(int n); /* 1 <= n <= 1024 */
int losskit_get_num_threads(void);
losskit_status losskit_set_isa(const char* name); /* "sse2", "avx2", "avx512" */
const char* losskit_get_isa(void);

#ifdef __cplusplus
}
#endif

#endif /* LOSSKIT_LOSSKIT_H */
