// Robust linear regression with losskit alone: a Huber loss and its gradient in one pass,
// minibatches from the counter-based sampler gathered into reused buffers, gradient clipping,
// and Adam holding its own state.
//
// Data: y = X w* + b* + N(0, 0.05^2) with 10% of the targets replaced by gross outliers.
// Prints the loss per epoch and exits with status 1 unless the weights are recovered.
#include <losskit/losskit.hpp>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

int main() {
  constexpr std::size_t n = 4000, d = 8, batch = 64, epochs = 30;
  const std::vector<float> w_true = {0.5f, -1.0f, 2.0f, 0.0f, 1.5f, -0.5f, 0.25f, 1.0f};
  const float b_true = 0.3f;

  // Training data (std::mt19937 for the data only; the sampler below is losskit's).
  std::mt19937 rng(0);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  std::vector<float> X(n * d), y(n);
  for (std::size_t i = 0; i < n; ++i) {
    float t = b_true;
    for (std::size_t j = 0; j < d; ++j) {
      X[i * d + j] = normal(rng);
      t += X[i * d + j] * w_true[j];
    }
    y[i] = uniform(rng) < 0.1f ? 50.0f * (uniform(rng) - 0.5f) : t + 0.05f * normal(rng);
  }

  // The model: d weights and the intercept in one array. The loss and the optimizer are
  // objects with named parameters; every call checks its arguments and throws
  // std::invalid_argument before writing anything.
  std::vector<float> params(d + 1, 0.0f), grads(d + 1);
  losskit::Huber huber;
  huber.delta = 1.0;
  losskit::Adam rule;
  rule.lr = 0.05;
  losskit::Optimizer<losskit::Adam, float> adam(rule, params.size());

  std::vector<float> Xb(batch * d), yb(batch), pred(batch), dpred(batch);
  std::vector<std::int64_t> order(n);
  for (std::size_t epoch = 0; epoch < epochs; ++epoch) {
    adam.rule().lr = 0.05 / (1.0 + 0.5 * double(epoch));  // decaying: Adam's jitter shrinks
    losskit::random_permutation(/*seed=*/42, /*stream=*/epoch, order.data(), n);
    double epoch_loss = 0;
    for (std::size_t start = 0; start + batch <= n; start += batch) {
      const std::int64_t* idx = order.data() + start;
      losskit::gather_rows(X.data(), n, d * sizeof(float), idx, batch, Xb.data());
      losskit::gather_rows(y.data(), n, sizeof(float), idx, batch, yb.data());
      for (std::size_t i = 0; i < batch; ++i) {
        float p = params[d];
        for (std::size_t j = 0; j < d; ++j) p += Xb[i * d + j] * params[j];
        pred[i] = p;
      }
      // Mean Huber loss of the batch and d loss / d prediction, in one fused pass.
      epoch_loss += huber.value_and_grad(pred, yb, dpred);
      // Chain rule through the linear model.
      for (float& g : grads) g = 0.0f;
      for (std::size_t i = 0; i < batch; ++i) {
        for (std::size_t j = 0; j < d; ++j) grads[j] += dpred[i] * Xb[i * d + j];
        grads[d] += dpred[i];
      }
      float* arrays[] = {grads.data()};
      const std::size_t sizes[] = {grads.size()};
      losskit::clip_grad_norm(arrays, sizes, 1, /*max_norm=*/5.0, losskit::NormType::l2, false);
      adam.step(params, grads);
    }
    if (epoch % 5 == 4 || epoch + 1 == epochs)
      std::printf("epoch %2zu  mean Huber loss %.4f\n", epoch + 1, epoch_loss / double(n / batch));
  }

  double max_error = std::fabs(params[d] - b_true);
  for (std::size_t j = 0; j < d; ++j) max_error = std::fmax(max_error, std::fabs(params[j] - w_true[j]));
  std::printf("isa %s, %d threads, %lld Adam steps: max |w - w*| = %.4f\n",
              losskit::isa_name(losskit::get_isa()), losskit::get_num_threads(),
              static_cast<long long>(adam.steps()), max_error);
  return max_error < 0.05 ? 0 : 1;
}
