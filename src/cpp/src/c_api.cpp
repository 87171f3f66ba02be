// The C ABI (losskit/losskit.h): handles over the typed API's checked calls. Every exception
// becomes a status code and this thread's message; nothing escapes into C.
#include "losskit/losskit.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "losskit/losskit.hpp"

#ifndef LOSSKIT_VERSION
#error "the build defines LOSSKIT_VERSION"
#endif

namespace {

using namespace losskit;

thread_local std::string last_error;

// A name the library does not know (loss, parameter, rule, state).
struct UnknownName : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

template <class F> losskit_status guarded(F&& f) noexcept {
  try {
    f();
    return LOSSKIT_OK;
  } catch (const UnknownName& e) {
    last_error = e.what();
    return LOSSKIT_UNKNOWN_NAME;
  } catch (const std::invalid_argument& e) {
    last_error = e.what();
    return LOSSKIT_INVALID_ARGUMENT;
  } catch (const std::runtime_error& e) {
    last_error = e.what();
    return LOSSKIT_NOT_FINITE;
  } catch (const std::bad_alloc&) {
    last_error = "out of memory";
    return LOSSKIT_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    last_error = e.what();
    return LOSSKIT_INTERNAL_ERROR;
  } catch (...) {
    last_error = "unknown error";
    return LOSSKIT_INTERNAL_ERROR;
  }
}

void require_pointer(const void* p, const char* name) {
  if (!p) throw std::invalid_argument(std::string(name) + " is null");
}
const char* checked_name(const char* name, const char* what) {
  if (!name) throw std::invalid_argument(std::string(what) + " is null");
  return name;
}

template <class T> span<const T> in(const T* p, std::size_t n) { return {p, p ? n : 0}; }

// A C enum's value as the integer the caller stored: C lets any int through, and loading a value
// outside the enumerators as the C++ enum type would be undefined.
template <class Enum> int enum_value(const Enum& e) {
  std::underlying_type_t<Enum> v;
  std::memcpy(&v, &e, sizeof v);
  return static_cast<int>(v);
}
template <class T> span<T> out(T* p, std::size_t n) { return {p, p ? n : 0}; }

}  // namespace

struct losskit_loss {
  bool rowwise = false;
  ElementwiseLoss elementwise{};
  RowwiseLoss rows{};
  LossParams params;
  Reduction reduction = Reduction::mean;
  std::vector<double> class_weight;
  std::int64_t ignore_index = -100;

  const LossInfo& info() const { return rowwise ? losskit::info(rows) : losskit::info(elementwise); }
};

namespace {

const char* const kReductionNames[] = {"none", "sum", "mean", "batchmean"};  // by Reduction

// The definition's default reduction: the first it lists.
Reduction first_reduction(const LossInfo& d) {
  const std::string list = d.reductions;
  const std::string first = list.substr(0, list.find(','));
  for (int r = 0; r < 4; ++r)
    if (first == kReductionNames[r]) return static_cast<Reduction>(r);
  return Reduction::mean;
}

// The parameter `name` of a loss: its position among the kernel parameters, or -1 for
// ignore_index / class weights.
struct ParamSlot {
  const ParamInfo* info;
  int kernel_index;
};
ParamSlot find_param(const LossInfo& d, const char* name) {
  int k = 0;
  for (int i = 0; i < d.num_params; ++i) {
    const ParamInfo& p = d.params[i];
    const bool kernel = p.kind != ParamKind::class_weight && p.kind != ParamKind::ignore_index;
    if (std::strcmp(p.name, name) == 0) return {&p, kernel ? k : -1};
    if (kernel) ++k;
  }
  throw UnknownName(std::string(d.name) + " has no parameter '" + name + "'");
}

template <class T, class Call>
double evaluate_elementwise(const losskit_loss& loss, const Call& c, bool want_value) {
  ElementwiseArrays<T> a;
  const std::size_t n = c.size;
  a.input = {c.input, n};
  a.target = {c.target, n};
  a.third = in(c.third, n);
  a.fourth = in(c.fourth, n);
  a.sample_weight = in(c.sample_weight, n);
  a.values = out(c.values, n);
  a.grad = out(c.grad, n);
  a.grad_third = out(c.grad_third, n);
  a.grad_fourth = out(c.grad_fourth, n);
  a.hess = out(c.hess, n);
  a.reduction = loss.reduction;
  a.batch_size = c.batch_size;
  a.compute_value = want_value || (c.values && !c.hess);
  a.hessian = static_cast<Hessian>(enum_value(c.hessian));
  return evaluate_checked(loss.elementwise, loss.params, a);
}

template <class T, class Call>
double evaluate_rowwise(const losskit_loss& loss, const Call& c, bool want_value) {
  RowwiseArrays<T> a;
  if (c.classes && c.rows > std::size_t(-1) / c.classes)
    throw std::invalid_argument("rows x classes overflows");
  const std::size_t n = c.rows * c.classes;
  a.input = {c.input, n};
  a.classes = c.classes;
  const RowTarget kind = info(loss.rows).row_target;
  a.labels = in(c.labels, kind == RowTarget::label_lists ? n : c.rows);
  a.target = in(c.target, kind == RowTarget::signs ? c.rows : n);
  a.second = in(c.second, n);
  a.third = in(c.third, n);
  a.grad_second = out(c.grad_second, n);
  a.grad_third = out(c.grad_third, n);
  a.ignore_index = loss.ignore_index;
  a.class_weight = loss.class_weight;
  a.sample_weight = in(c.sample_weight, c.rows);
  a.values = out(c.values, c.rows);
  a.grad = out(c.grad, n);
  a.hess = out(c.hess, n);
  a.reduction = loss.reduction;
  a.compute_value = want_value || (c.values && !c.hess);
  a.hessian = static_cast<Hessian>(enum_value(c.hessian));
  return evaluate_checked(loss.rows, loss.params, a);
}

template <class Call> void check_call(const losskit_loss* loss, const Call* call) {
  require_pointer(loss, "loss");
  require_pointer(call, "call");
  const int h = enum_value(call->hessian);
  if (h < 0 || h > int(LOSSKIT_HESSIAN_POSITIVE))
    throw std::invalid_argument("unknown Hessian policy " + std::to_string(h));
}

// ---- optimizers -------------------------------------------------------------------------------
template <class T>
using AnyOptimizer = std::variant<Optimizer<Sgd, T>, Optimizer<Adam, T>, Optimizer<Rmsprop, T>,
                                  Optimizer<Adagrad, T>>;

template <class T> AnyOptimizer<T> make_optimizer(const std::string& rule, std::size_t n) {
  if (rule == "sgd") return Optimizer<Sgd, T>(Sgd{}, n);
  if (rule == "adam") return Optimizer<Adam, T>(Adam{}, n);
  if (rule == "adamw") {
    Adam adamw;
    adamw.weight_decay = 1e-2;  // torch.optim.AdamW's default
    adamw.decoupled_weight_decay = true;
    return Optimizer<Adam, T>(adamw, n);
  }
  if (rule == "rmsprop") return Optimizer<Rmsprop, T>(Rmsprop{}, n);
  if (rule == "adagrad") return Optimizer<Adagrad, T>(Adagrad{}, n);
  throw UnknownName("unknown update rule '" + rule + "' (sgd, adam, adamw, rmsprop, adagrad)");
}

StateName state_of(const char* name) {
  for (int k = 0; k < kNumStateNames; ++k)
    if (std::strcmp(state_name(StateName(k)), name) == 0) return StateName(k);
  throw UnknownName(std::string("unknown state '") + name + "'");
}

}  // namespace

struct losskit_optimizer {
  std::variant<AnyOptimizer<float>, AnyOptimizer<double>> any;
};

namespace {

template <class F> void visit_optimizer(losskit_optimizer* o, F&& f) {
  require_pointer(o, "optimizer");
  std::visit([&](auto& of_type) { std::visit(f, of_type); }, o->any);
}
template <class F> void visit_optimizer(const losskit_optimizer* o, F&& f) {
  require_pointer(o, "optimizer");
  std::visit([&](const auto& of_type) { std::visit(f, of_type); }, o->any);
}

template <class T> void step_optimizer(losskit_optimizer* o, T* param, const T* grad, std::size_t n) {
  require_pointer(o, "optimizer");
  auto* typed = std::get_if<AnyOptimizer<T>>(&o->any);
  if (!typed)
    throw std::invalid_argument(std::string("the optimizer was made for ") +
                                (std::is_same_v<T, float> ? "float64" : "float32") + " parameters");
  std::visit([&](auto& opt) { opt.step(out(param, n), in(grad, n)); }, *typed);
}

}  // namespace

extern "C" {

const char* losskit_last_error(void) { return last_error.c_str(); }
const char* losskit_version(void) { return LOSSKIT_VERSION; }

size_t losskit_num_losses(void) { return size_t(kNumElementwiseLosses + kNumRowwiseLosses); }
const char* losskit_loss_name(size_t i) {
  if (i < size_t(kNumElementwiseLosses)) return info(static_cast<ElementwiseLoss>(i)).name;
  if (i < losskit_num_losses()) return info(static_cast<RowwiseLoss>(i - kNumElementwiseLosses)).name;
  return nullptr;
}

losskit_status losskit_loss_new(const char* name, losskit_loss** out_loss) {
  return guarded([&] {
    require_pointer(out_loss, "out");
    const std::string n = checked_name(name, "name");
    auto loss = std::make_unique<losskit_loss>();
    bool found = false;
    for (int i = 0; i < kNumElementwiseLosses && !found; ++i)
      if (n == info(static_cast<ElementwiseLoss>(i)).name) {
        loss->elementwise = static_cast<ElementwiseLoss>(i);
        found = true;
      }
    for (int i = 0; i < kNumRowwiseLosses && !found; ++i)
      if (n == info(static_cast<RowwiseLoss>(i)).name) {
        loss->rows = static_cast<RowwiseLoss>(i);
        loss->rowwise = true;
        found = true;
      }
    if (!found) throw UnknownName("unknown loss '" + n + "'");
    const LossInfo& d = loss->info();
    int k = 0;
    for (int i = 0; i < d.num_params; ++i) {
      const ParamInfo& p = d.params[i];
      if (p.kind == ParamKind::ignore_index) loss->ignore_index = std::int64_t(p.default_value);
      else if (p.kind != ParamKind::class_weight) loss->params.values[k++] = p.default_value;
    }
    loss->reduction = first_reduction(d);
    *out_loss = loss.release();
  });
}

void losskit_loss_free(losskit_loss* loss) { delete loss; }

losskit_status losskit_loss_set(losskit_loss* loss, const char* param, double value) {
  return guarded([&] {
    require_pointer(loss, "loss");
    const ParamSlot slot = find_param(loss->info(), checked_name(param, "param"));
    if (slot.info->kind == ParamKind::class_weight)
      throw std::invalid_argument("set class weights with losskit_loss_set_class_weight");
    if (slot.info->kind == ParamKind::ignore_index) {
      if (!(value == std::int64_t(value) && value >= -9.2e18 && value <= 9.2e18))
        throw std::invalid_argument("ignore_index must be an integer, got " + format_real(value));
      loss->ignore_index = std::int64_t(value);
      return;
    }
    LossParams params = loss->params;
    params.values[slot.kernel_index] = value;
    check_params(loss->info(), params);
    loss->params = params;
  });
}

losskit_status losskit_loss_set_choice(losskit_loss* loss, const char* param, const char* choice) {
  return guarded([&] {
    require_pointer(loss, "loss");
    const ParamSlot slot = find_param(loss->info(), checked_name(param, "param"));
    const std::string c = checked_name(choice, "choice");
    if (slot.info->kind != ParamKind::choice)
      throw std::invalid_argument(std::string(slot.info->name) + " is not a choice");
    const std::string choices = slot.info->choices;
    std::size_t start = 0;
    for (int index = 0;; ++index) {
      const std::size_t end = choices.find(',', start);
      if (choices.substr(start, end - start) == c) {
        loss->params.values[slot.kernel_index] = index;
        return;
      }
      if (end == std::string::npos) break;
      start = end + 1;
    }
    throw std::invalid_argument(std::string(slot.info->name) + " must be one of " + choices +
                                ", got '" + c + "'");
  });
}

losskit_status losskit_loss_get(const losskit_loss* loss, const char* param, double* value) {
  return guarded([&] {
    require_pointer(loss, "loss");
    require_pointer(value, "value");
    const ParamSlot slot = find_param(loss->info(), checked_name(param, "param"));
    if (slot.info->kind == ParamKind::class_weight)
      throw std::invalid_argument("class weights are not a number");
    *value = slot.kernel_index < 0 ? double(loss->ignore_index) : loss->params.values[slot.kernel_index];
  });
}

losskit_status losskit_loss_set_reduction(losskit_loss* loss, losskit_reduction reduction) {
  return guarded([&] {
    require_pointer(loss, "loss");
    const int r = enum_value(reduction);
    if (r < 0 || r > 3) throw std::invalid_argument("unknown reduction " + std::to_string(r));
    if (!list_contains(loss->info().reductions, kReductionNames[r]))
      throw std::invalid_argument(std::string("reduction must be one of ") + loss->info().reductions +
                                  " for " + loss->info().name + ", got '" + kReductionNames[r] + "'");
    loss->reduction = static_cast<Reduction>(r);
  });
}

losskit_status losskit_loss_set_class_weight(losskit_loss* loss, const double* weight, size_t classes) {
  return guarded([&] {
    require_pointer(loss, "loss");
    const LossInfo& d = loss->info();
    bool takes = false;
    for (int i = 0; i < d.num_params; ++i) takes |= d.params[i].kind == ParamKind::class_weight;
    if (!takes) throw std::invalid_argument(std::string(d.name) + " takes no class weights");
    check_class_weight({weight, classes});
    loss->class_weight.assign(weight, weight + classes);
  });
}

int losskit_loss_is_rowwise(const losskit_loss* loss) { return loss && loss->rowwise ? 1 : 0; }

losskit_status losskit_evaluate_f32(const losskit_loss* loss, const losskit_elementwise_f32* call,
                                    double* value) {
  return guarded([&] {
    check_call(loss, call);
    if (loss->rowwise) throw std::invalid_argument(std::string(loss->info().name) + " is row-wise");
    const double v = evaluate_elementwise<float>(*loss, *call, value != nullptr);
    if (value) *value = v;
  });
}
losskit_status losskit_evaluate_f64(const losskit_loss* loss, const losskit_elementwise_f64* call,
                                    double* value) {
  return guarded([&] {
    check_call(loss, call);
    if (loss->rowwise) throw std::invalid_argument(std::string(loss->info().name) + " is row-wise");
    const double v = evaluate_elementwise<double>(*loss, *call, value != nullptr);
    if (value) *value = v;
  });
}
losskit_status losskit_evaluate_rowwise_f32(const losskit_loss* loss, const losskit_rowwise_f32* call,
                                            double* value) {
  return guarded([&] {
    check_call(loss, call);
    if (!loss->rowwise) throw std::invalid_argument(std::string(loss->info().name) + " is elementwise");
    const double v = evaluate_rowwise<float>(*loss, *call, value != nullptr);
    if (value) *value = v;
  });
}
losskit_status losskit_evaluate_rowwise_f64(const losskit_loss* loss, const losskit_rowwise_f64* call,
                                            double* value) {
  return guarded([&] {
    check_call(loss, call);
    if (!loss->rowwise) throw std::invalid_argument(std::string(loss->info().name) + " is elementwise");
    const double v = evaluate_rowwise<double>(*loss, *call, value != nullptr);
    if (value) *value = v;
  });
}

losskit_status losskit_optimizer_new(const char* rule, int double_precision, size_t size,
                                     losskit_optimizer** out_optimizer) {
  return guarded([&] {
    require_pointer(out_optimizer, "out");
    const std::string r = checked_name(rule, "rule");
    auto o = double_precision ? std::make_unique<losskit_optimizer>(
                                    losskit_optimizer{make_optimizer<double>(r, size)})
                              : std::make_unique<losskit_optimizer>(
                                    losskit_optimizer{make_optimizer<float>(r, size)});
    *out_optimizer = o.release();
  });
}

void losskit_optimizer_free(losskit_optimizer* optimizer) { delete optimizer; }

losskit_status losskit_optimizer_set(losskit_optimizer* optimizer, const char* hyperparameter,
                                     double value) {
  return guarded([&] {
    const std::string name = checked_name(hyperparameter, "hyperparameter");
    visit_optimizer(optimizer, [&](auto& opt) {
      auto rule = opt.rule();
      bool known = false;
      for_each_hyperparameter(&rule, [&](const char* field, auto member) {
        if (name != field) return;
        known = true;
        using Field = std::remove_reference_t<decltype(rule.*member)>;
        if constexpr (std::is_same_v<Field, bool>) {
          if (value != 0 && value != 1)
            throw std::invalid_argument(name + " must be 0 or 1, got " + format_real(value));
          rule.*member = value != 0;
        } else {
          rule.*member = value;
        }
      });
      if (!known) throw UnknownName("the rule has no hyperparameter '" + name + "'");
      check(rule);
      opt.rule() = rule;
    });
  });
}

losskit_status losskit_optimizer_step_f32(losskit_optimizer* optimizer, float* param,
                                          const float* grad, size_t size) {
  return guarded([&] { step_optimizer(optimizer, param, grad, size); });
}
losskit_status losskit_optimizer_step_f64(losskit_optimizer* optimizer, double* param,
                                          const double* grad, size_t size) {
  return guarded([&] { step_optimizer(optimizer, param, grad, size); });
}

int64_t losskit_optimizer_steps(const losskit_optimizer* optimizer) {
  std::int64_t steps = 0;
  if (optimizer) visit_optimizer(optimizer, [&](const auto& opt) { steps = opt.steps(); });
  return steps;
}

losskit_status losskit_optimizer_get_state(const losskit_optimizer* optimizer, const char* name,
                                           void* out_values, size_t size) {
  return guarded([&] {
    const StateName s = state_of(checked_name(name, "name"));
    visit_optimizer(optimizer, [&](const auto& opt) {
      const auto saved = opt.save_state();
      const auto& a = saved.arrays[int(s)];
      if (a.empty())
        throw std::invalid_argument(std::string("state '") + name + "' holds no value");
      if (size != a.size())
        throw std::invalid_argument("size is " + std::to_string(size) + ", the state has " +
                                    std::to_string(a.size()) + " elements");
      require_pointer(out_values, "out");
      std::memcpy(out_values, a.data(), a.size() * sizeof(a[0]));
    });
  });
}

losskit_status losskit_optimizer_set_state(losskit_optimizer* optimizer, const char* name,
                                           const void* values, size_t size) {
  return guarded([&] {
    const StateName s = state_of(checked_name(name, "name"));
    visit_optimizer(optimizer, [&](auto& opt) {
      if (!opt.rule().state_layout().has(s))
        throw std::invalid_argument(std::string("the rule keeps no state '") + name + "'");
      if (size != opt.size())
        throw std::invalid_argument("size is " + std::to_string(size) + ", the parameter has " +
                                    std::to_string(opt.size()) + " elements");
      if (size) require_pointer(values, "values");
      auto saved = opt.save_state();
      auto& a = saved.arrays[int(s)];
      a.resize(size);
      if (size) std::memcpy(a.data(), values, size * sizeof(a[0]));
      opt.load_state(saved);
    });
  });
}

losskit_status losskit_optimizer_set_steps(losskit_optimizer* optimizer, int64_t steps) {
  return guarded([&] {
    visit_optimizer(optimizer, [&](auto& opt) {
      auto saved = opt.save_state();
      saved.steps = steps;
      opt.load_state(saved);
    });
  });
}

losskit_status losskit_set_num_threads(int n) {
  return guarded([&] { losskit::set_num_threads(n); });
}
int losskit_get_num_threads(void) { return losskit::get_num_threads(); }

losskit_status losskit_set_isa(const char* name) {
  return guarded([&] {
    const std::string n = checked_name(name, "name");
    for (Isa isa : {Isa::sse2, Isa::avx2, Isa::avx512})
      if (n == isa_name(isa)) return losskit::set_isa(isa);
    throw UnknownName("unknown instruction set '" + n + "' (sse2, avx2, avx512)");
  });
}
const char* losskit_get_isa(void) { return isa_name(losskit::get_isa()); }

}  // extern "C"

namespace {

void check_clip_bound(const char* name, double bound) {
  if (!(bound >= 0))
    throw std::invalid_argument(std::string(name) + " must be non-negative, got " + format_real(bound));
}

// Every array present where it has elements, and no two overlapping (each would be scaled
// twice): sorted by address, each must end before the next begins.
template <class T>
void check_grad_arrays(T* const* arrays, const size_t* sizes, size_t count) {
  if (count == 0) return;
  require_pointer(arrays, "arrays");
  require_pointer(sizes, "sizes");
  std::vector<std::pair<const T*, size_t>> spans;
  for (size_t i = 0; i < count; ++i) {
    if (sizes[i] == 0) continue;
    if (!arrays[i]) throw std::invalid_argument("arrays[" + std::to_string(i) + "] is null");
    spans.emplace_back(arrays[i], i);
  }
  std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
    return std::less<const T*>()(a.first, b.first);
  });
  for (size_t k = 1; k < spans.size(); ++k) {
    const auto& prev = spans[k - 1];
    if (std::less<const T*>()(spans[k].first, prev.first + sizes[prev.second]))
      throw std::invalid_argument("arrays[" + std::to_string(spans[k].second) + "] overlaps arrays[" +
                                  std::to_string(prev.second) + "]");
  }
}

template <class T>
losskit_status clip_norm(T* const* arrays, const size_t* sizes, size_t count, double max_norm,
                         losskit_norm norm, int error_if_nonfinite, double* total_norm) {
  return guarded([&] {
    check_grad_arrays(arrays, sizes, count);
    check_clip_bound("max_norm", max_norm);
    const int kind = enum_value(norm);
    if (kind < 1 || kind > 3) throw std::invalid_argument("unknown norm " + std::to_string(kind));
    if (error_if_nonfinite != 0 && error_if_nonfinite != 1)
      throw std::invalid_argument("error_if_nonfinite must be 0 or 1, got " +
                                  std::to_string(error_if_nonfinite));
    const double n = clip_grad_norm(arrays, sizes, count, max_norm, static_cast<NormType>(kind),
                                    error_if_nonfinite != 0);
    if (total_norm) *total_norm = n;
  });
}

template <class T> losskit_status clip_by_value(T* x, size_t size, double clip_value) {
  return guarded([&] {
    if (size) require_pointer(x, "x");
    check_clip_bound("clip_value", clip_value);
    clip_grad_value(x, size, clip_value);
  });
}

}  // namespace

extern "C" {

losskit_status losskit_clip_grad_norm_f32(float* const* arrays, const size_t* sizes, size_t count,
                                          double max_norm, losskit_norm norm,
                                          int error_if_nonfinite, double* total_norm) {
  return clip_norm(arrays, sizes, count, max_norm, norm, error_if_nonfinite, total_norm);
}
losskit_status losskit_clip_grad_norm_f64(double* const* arrays, const size_t* sizes, size_t count,
                                          double max_norm, losskit_norm norm,
                                          int error_if_nonfinite, double* total_norm) {
  return clip_norm(arrays, sizes, count, max_norm, norm, error_if_nonfinite, total_norm);
}
losskit_status losskit_clip_grad_value_f32(float* x, size_t size, double clip_value) {
  return clip_by_value(x, size, clip_value);
}
losskit_status losskit_clip_grad_value_f64(double* x, size_t size, double clip_value) {
  return clip_by_value(x, size, clip_value);
}

}  // extern "C"
